// The deep kernels' own column panels (kernels.ts `KernelFunction.panels`): off the sphere without a
// closed-form dual, each layer's variances and Mehler coefficients of every point are computed once
// for all of X, and a panel only slices them. Against the kernel called on the panel's slices (which
// computes them again for its rows and columns), on cpu and native, with σ evaluated in no panel.
import { loadBlas, native } from '@regimes/backend-node';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { deepKernel, type DeepKernelSpec, kernelPanels } from '../src/index.js';
import { deepKernelPointFloats } from '../src/kinds/ntk.js';
import { spec } from './fixtures/deep-kernel.js';

const cases: [string, DeepKernelSpec, 'ntk' | 'nngp'][] = [
  [
    'tanh (odd), L = 2',
    spec({ activation: 'tanh', layers: 2, weightVariance: 1.3, biasVariance: 0.1 }),
    'ntk',
  ],
  ['gelu (no parity), L = 1', spec({ activation: 'gelu', biasVariance: 0.2 }), 'ntk'],
  [
    'a polynomial σ, L = 3, nngp',
    spec({ activation: { hermite: [0.1, 0.6, 0.5, 0, 0.3] }, layers: 3, weightVariance: 0.8 }),
    'nngp',
  ],
  [
    'tanh, standard parametrization, first layer, L = 2',
    spec({ activation: 'tanh', layers: 2, parametrization: 'standard', width: 64, train: 'first' }),
    'ntk',
  ],
];

const backends = [
  { name: 'cpu', activate: () => tf.setBackend('cpu') },
  ...(loadBlas().blas?.mehlerSeries
    ? [{ name: 'native', activate: () => native.create({}).activate() }]
    : []),
];

describe('deep kernels serve their own panels off the sphere', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(backends.flatMap((b) => cases.map((c) => [b.name, ...c] as const)))(
    '%s, %s: panels and diagonal equal to the kernel on the slices (2e-6 of the largest entry), σ evaluated before them only, nothing left after release',
    async (backend, _label, s, output) => {
      await backends.find((b) => b.name === backend)!.activate();
      const n = 70;
      const x = tf.tidy(() =>
        tf.mul(tf.randomNormal([n, 5], 0, 1, 'float32', 5), tf.reshape(tf.linspace(0.4, 1.6, n), [n, 1])),
      ) as tf.Tensor2D;
      const kernel = deepKernel(s, output);
      expect(kernel.panels).toBeDefined();
      const before = tf.memory().numTensors;
      const engine = tf.engine();
      const runKernel = engine.runKernel.bind(engine);
      let sigma = 0;
      const spy = vi.spyOn(engine, 'runKernel').mockImplementation((name, inputs, attrs) => {
        if (name === 'Tanh' || name === 'Erf') sigma++;
        return runKernel(name, inputs, attrs);
      });
      try {
        const source = kernelPanels(x, kernel);
        const built = sigma;
        let inPanels = 0;
        // the diagonal, from the source's rows (first: the panels below then check they are intact)
        // and from the kernel's own, against the diagonal of K(X, X) by the kernel on X
        const counted = sigma;
        const fromSource = source.diagonal!();
        inPanels += sigma - counted;
        const own = kernel.diagonal!(x);
        const full = tf.tidy(() => kernel(x, x));
        const [sourceValues, ownValues, fullValues] = await Promise.all(
          [fromSource, own, full].map((t) => t.data()),
        );
        tf.dispose([fromSource, own, full]);
        expect([fromSource.shape, own.shape]).toEqual([
          [n, 1],
          [n, 1],
        ]);
        const diagonal = Array.from({ length: n }, (_, i) => fullValues[i * n + i]!);
        const top = Math.max(...diagonal.map(Math.abs));
        for (const [i, v] of diagonal.entries()) {
          expect(Math.abs(sourceValues[i]! - v), `source's diagonal ${i}`).toBeLessThanOrEqual(2e-6 * top);
          expect(Math.abs(ownValues[i]! - v), `kernel's diagonal ${i}`).toBeLessThanOrEqual(2e-6 * top);
        }
        for (const [start, size] of [
          [0, 32],
          [32, 32],
          [64, 6],
        ] as const) {
          const counted = sigma;
          const panel = source.panels(start, size);
          inPanels += sigma - counted;
          const got = (await panel.array()) as number[][];
          panel.dispose();
          const want = tf.tidy(() =>
            kernel(tf.slice(x, [start, 0], [-1, -1]), tf.slice(x, [start, 0], [size, -1])),
          );
          const expected = (await want.array()) as number[][];
          want.dispose();
          expect([got.length, got[0]!.length]).toEqual([n - start, size]);
          const scale = Math.max(...expected.flat().map(Math.abs));
          const gap = Math.max(...expected.flat().map((v, i) => Math.abs(v - got.flat()[i]!)));
          expect(gap, `panel ${start}:${size}`).toBeLessThanOrEqual(2e-6 * scale);
        }
        // tanh and gelu (through erf) evaluate σ on the device: once per layer for all of X, when the
        // panels are made, and in no panel (the calls on the slices evaluate it for each)
        if (typeof s.activation !== 'object') expect(built).toBeGreaterThan(0);
        expect(inPanels).toBe(0);
        source.release();
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        spy.mockRestore();
        x.dispose();
      }
    },
  );

  it('holds per point no more than the dry run counts (deepKernelPointFloats), as much for a σ without parity', async () => {
    await tf.setBackend('cpu');
    const x = tf.randomNormal([50, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
    for (const activation of [
      'tanh',
      'gelu',
      'sigmoid',
      { hermite: [0.1, 0.6, 0.5, 0, 0.3] },
      { he: 12 },
    ] as const)
      for (const layers of [1, 3]) {
        const s = spec({ activation, layers, biasVariance: 0.1 });
        const before = tf.memory().numBytes;
        const source = deepKernel(s, 'ntk').panels!(x);
        const held = (tf.memory().numBytes - before) / 4 / 50;
        source.release();
        const counted = deepKernelPointFloats(s);
        expect(held, `${JSON.stringify(activation)}, L = ${layers}`).toBeLessThanOrEqual(counted);
        // gelu has both parities of σ and σ': every column counted is held
        if (activation === 'gelu') expect(held).toBe(counted);
      }
    expect(deepKernelPointFloats(spec({ activation: 'relu' }))).toBe(0);
    expect(deepKernelPointFloats(spec({ activation: 'tanh', sphere: true }))).toBe(0);
    x.dispose();
  });

  it('gives empty panels for an X with no rows (tfjs cpu cannot slice its empty tensors)', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const x = tf.zeros([0, 4]) as tf.Tensor2D;
    const source = kernelPanels(x, deepKernel(spec({ activation: 'tanh', layers: 2 }), 'ntk'));
    const panel = source.panels(0, 0);
    expect(panel.shape).toEqual([0, 0]);
    tf.dispose([panel, x]);
    source.release();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves the panels to the slices where nothing depends on one point alone (closed-form duals, the sphere)', () => {
    expect(deepKernel(spec({ activation: 'relu', layers: 2 }), 'ntk').panels).toBeUndefined();
    expect(deepKernel(spec({ activation: 'tanh', sphere: true }), 'ntk').panels).toBeUndefined();
  });
});
