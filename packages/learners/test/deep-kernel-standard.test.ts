/**
 * The standard parametrization's NTK (kernels.ts `deepKernel`, `parametrization: standard`;
 * docs/kernels.md): against Monte-Carlo averages of the empirical NTK of finite random networks in
 * that parametrization (numpy float64, test/reference/deep_kernel_mc.py), against the relu
 * arc-cosine recursion written out here in float64, its power series (`deepTaylor`) and diagonal
 * (`deepDiagonal`) against the tensor kernel, and the options.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeLearnerConformance, numpyMissing } from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  deepDiagonal,
  deepKernel,
  type DeepKernelSpec,
  deepTaylor,
  neuralTangentKernel,
  nngp,
} from '../src/index.js';
import { deepKernelSpec } from '../src/kinds/ntk.js';
import { d, spec as deepSpec, X } from './fixtures/deep-kernel.js';

const spec = (o: Partial<DeepKernelSpec>): DeepKernelSpec =>
  deepSpec({ parametrization: 'standard', width: 256, ...o });

function gram(kernel: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D, rows = X): number[][] {
  return tf.tidy(() => {
    const x = tf.tensor2d(rows);
    return kernel(x, x).arraySync();
  });
}

/** The standard NTK ÷ N of a relu net in float64: arc-cosine closed forms, the recursion by hand. */
function reluStandard(x: number[], y: number[], layers: number, w: number, s: number, width: number) {
  const dot = (a: number[], b: number[]) => a.reduce((t, v, i) => t + v * b[i]!, 0) / a.length;
  const expect2 = (qa: number, qb: number, c: number) => {
    const cos = Math.max(-1, Math.min(1, c / Math.sqrt(qa * qb)));
    const theta = Math.acos(cos);
    return {
      value: (Math.sqrt(qa * qb) * (Math.sin(theta) + (Math.PI - theta) * cos)) / (2 * Math.PI),
      slope: (Math.PI - theta) / (2 * Math.PI),
    };
  };
  const beta = s > 0 ? 1 / width : 0;
  let [qa, qb, c] = [w * dot(x, x) + s, w * dot(y, y) + s, w * dot(x, y) + s];
  let ntk = (x.length / width) * dot(x, y) + beta;
  for (let l = 1; l <= layers; l++) {
    const last = l === layers;
    const e = expect2(qa, qb, c);
    ntk = e.value + (last ? 0 : beta) + w * e.slope * ntk;
    [qa, qb, c] = [
      w * expect2(qa, qa, qa).value + (last ? 0 : s),
      w * expect2(qb, qb, qb).value + (last ? 0 : s),
      w * e.value + (last ? 0 : s),
    ];
  }
  return ntk;
}

describe('the standard parametrization: closed forms and series', () => {
  it('relu L = 1, 3 equals the arc-cosine recursion in float64 (float32 kernel, 2e-6 relative)', () => {
    for (const [layers, w, s] of [
      [1, 1, 0],
      [3, 2, 0.1],
    ] as const) {
      const k = gram(deepKernel(spec({ layers, weightVariance: w, biasVariance: s }), 'ntk'));
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 4; j++) {
          const exact = reluStandard(X[i]!, X[j]!, layers, w, s, 256);
          expect(Math.abs(k[i]![j]! - exact)).toBeLessThan(2e-6 * Math.abs(exact));
        }
    }
  });

  it('the power series (120 degrees) and the diagonal equal the tensor kernel on the sphere', () => {
    for (const ours of [
      spec({ layers: 3, weightVariance: 2, biasVariance: 0.1, sphere: true }),
      spec({
        activation: 'tanh',
        layers: 2,
        weightVariance: 1.5,
        biasVariance: 0.05,
        sphere: true,
        width: 64,
      }),
      spec({ activation: 'erf', layers: 2, sphere: true, train: 'first' }),
      spec({ layers: 2, weightVariance: 2, sphere: true, train: 'readout' }),
    ]) {
      const c = deepTaylor(ours, 'ntk', 120, d);
      for (const r of [-0.5, 0, 0.3, 0.6]) {
        const k = gram(deepKernel(ours, 'ntk'), [
          [1, 0, 0, 0, 0, 0],
          [r, Math.sqrt(1 - r * r), 0, 0, 0, 0],
        ]);
        const series = c.reduce((sum, ck, i) => sum + ck * r ** i, 0);
        expect(Math.abs(k[0]![1]! - series)).toBeLessThan(2e-6 * Math.max(1, Math.abs(series)));
        expect(Math.abs(k[0]![0]! - deepDiagonal(ours, 'ntk', d))).toBeLessThan(2e-6 * k[0]![0]!);
      }
    }
  });

  it('the NNGP is the same in both parametrizations; train: readout is the NNGP ÷ σ_w²', () => {
    const x = tf.randomNormal([20, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
    const ours = spec({ activation: 'tanh', layers: 2, weightVariance: 1.7, biasVariance: 0.2 });
    const standard = tf.tidy(() => deepKernel(ours, 'nngp')(x, x).arraySync());
    const ntk = tf.tidy(() => deepKernel({ ...ours, parametrization: 'ntk' }, 'nngp')(x, x).arraySync());
    expect(standard).toEqual(ntk);
    const readout = tf.tidy(() => deepKernel({ ...ours, train: 'readout' }, 'ntk')(x, x).arraySync());
    readout.forEach((row, i) =>
      row.forEach((v, j) => expect(Math.abs(v - ntk[i]![j]! / 1.7)).toBeLessThan(1e-6 * Math.abs(v) + 1e-7)),
    );
    x.dispose();
  });
});

describe('the standard parametrization: options', () => {
  it('width needs parametrization: standard, which defaults it to 512; nngp takes the same options', () => {
    expect(() => neuralTangentKernel.options.parse({ width: 100 })).toThrow(/parametrization: standard/);
    expect(deepKernelSpec(neuralTangentKernel.options.parse({ parametrization: 'standard' })).width).toBe(
      512,
    );
    expect(deepKernelSpec(nngp.options.parse({ parametrization: 'standard', width: 64 })).width).toBe(64);
    expect(deepKernelSpec(neuralTangentKernel.options.parse({})).width).toBeUndefined();
  });
});

const reference = fileURLToPath(new URL('./reference/deep_kernel_mc.py', import.meta.url));

interface Estimate {
  mean: number[][];
  se: number[][];
}

describe.skipIf(numpyMissing() !== undefined)('the standard NTK against finite random networks', () => {
  // width 256, 200 networks per case; the kernel at N = 256 (its d/N and 1/N terms are the finite
  // net's), every pair within 4 standard errors (+1e-5 for float32)
  // and one two-layer net (L = 1: its empirical NTK averages i.i.d. neurons, unbiased at any width) of
  // width 16 on d = 48, where the first layer's d/N = 3 and a bias's 1/N weigh in
  const wide = tf.tidy(() => (tf.randomNormal([4, 48], 0, 1, 'float32', 11) as tf.Tensor2D).arraySync());
  const cases = [
    { activation: 'relu', layers: 1, w: 1, s: 0, sphere: false, width: 256, x: X },
    { activation: 'relu', layers: 2, w: 2, s: 0.1, sphere: false, width: 256, x: X },
    { activation: 'tanh', layers: 3, w: 1.5, s: 0.05, sphere: true, width: 256, x: X },
    { activation: 'relu', layers: 1, w: 1.3, s: 0.3, sphere: false, width: 16, x: wide },
  ] as const;

  it('relu L = 1, 2 and tanh L = 3 (N = 256), relu L = 1 (N = 16, d = 48): every pair within 4 standard errors', async () => {
    const inputs = (rows: readonly (readonly number[])[], sphere: boolean) =>
      sphere
        ? rows.map((row) => {
            const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length);
            return row.map((v) => v / norm);
          })
        : rows;
    const config = cases.map((c, i) => ({
      x: inputs(c.x, c.sphere),
      activation: c.activation,
      layers: c.layers,
      w: c.w,
      s: c.s,
      width: c.width,
      nets: 200,
      seed: 300 + i,
    }));
    const { stdout } = await promisify(execFile)('python3', [reference, JSON.stringify(config)], {
      maxBuffer: 1 << 24,
    });
    const estimates = JSON.parse(stdout) as { ntk_standard: Estimate }[];
    cases.forEach((c, index) => {
      const ours = spec({
        activation: c.activation,
        layers: c.layers,
        weightVariance: c.w,
        biasVariance: c.s,
        sphere: c.sphere,
        width: c.width,
      });
      const k = gram(deepKernel(ours, 'ntk'), c.x as number[][]);
      const mc = estimates[index]!.ntk_standard;
      for (let i = 0; i < 4; i++)
        for (let j = i; j < 4; j++)
          expect(
            Math.abs(k[i]![j]! - mc.mean[i]![j]!),
            `${c.activation} L=${c.layers} (${i},${j}): ${k[i]![j]} against ${mc.mean[i]![j]} ± ${mc.se[i]![j]}`,
          ).toBeLessThan(4 * mc.se[i]![j]! + 1e-5);
    });
  });
});

describeLearnerConformance('ntk (standard parametrization, relu L = 2, width 64, bias)', {
  factory: neuralTangentKernel,
  options: { layers: 2, parametrization: 'standard', width: 64, biasVariance: 0.1 },
  target: { factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } },
  n: 64,
});
