/**
 * The eigenlearning curve that `ntk` and `nngp` draw as their theory on the sphere (kinds/ntk.ts
 * `deepKernelKind`, eigenlearning.ts): against measured kernel ridge with the same kernels, and none
 * drawn for Gaussian inputs with their norms.
 */
import { loadBlas, native } from '@regimes/backend-node';
import { Rng, type TheoryContext } from '@regimes/core';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neuralTangentKernel, nngp } from '../src/index.js';
import { eigenTargetOptions, measuredRisk } from './fixtures/eigenlearning.js';

const { blas } = loadBlas();
beforeAll(async () => {
  if (blas) await native.create({}).activate();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function context(d: number, xs: number[]): TheoryContext {
  const options = hermite.options.parse(eigenTargetOptions(d));
  const rng = Rng.fromSeed(0).child('target');
  return {
    xKey: 'n',
    xs,
    metric: 'risk',
    target: { kind: 'hermite', ...options },
    rng,
    targetStructure: () => {
      const t = hermite.create(options, { rng });
      return { dim: t.dim, structure: t.structure };
    },
  };
}

// Tolerance: |mean − predicted| ≤ 3·SE + 0.08·predicted, SE over 3 seeds (each its own u, training
// set and 2000 test points); the 8% for the theory's finite-n, finite-d corrections.
describe('ntk / nngp: measured kernel ridge against their eigenlearning curve', () => {
  const cells = [
    { factory: neuralTangentKernel, o: { layers: 2, weightVariance: 2 }, d: 8, ridge: 1e-3, n: 256 },
    { factory: neuralTangentKernel, o: { layers: 2, weightVariance: 2 }, d: 12, ridge: 0, n: 768 },
    {
      factory: neuralTangentKernel,
      o: { layers: 2, parametrization: 'standard', width: 64, biasVariance: 0.1 },
      d: 12,
      ridge: 1e-3,
      n: 512,
    },
    { factory: nngp, o: { activation: 'tanh', layers: 2, biasVariance: 0.1 }, d: 10, ridge: 1e-2, n: 512 },
  ];

  it('agrees within 3 SE + 8% (relu NTK L = 2 in both parametrizations, tanh NNGP L = 2; d = 8 … 12)', async () => {
    for (const cell of cells) {
      const options = { ...cell.o, sphere: true, ridge: cell.ridge };
      const curves = cell.factory.theory!(cell.factory.options.parse(options), context(cell.d, [cell.n]));
      const curve = curves.find((c) => c.label.startsWith('eigenlearning'))!;
      const predicted = curve.points.find((p) => p.x === cell.n)!.y;
      const risks: number[] = [];
      for (const seed of [1, 2, 3])
        risks.push(await measuredRisk(cell.factory, options, cell.d, cell.n, seed, 2000));
      const mean = risks.reduce((a, b) => a + b) / risks.length;
      const se = Math.sqrt(
        risks.reduce((a, b) => a + (b - mean) ** 2, 0) / (risks.length - 1) / risks.length,
      );

      expect(
        Math.abs(mean - predicted),
        `${cell.factory.kind} d=${cell.d} λ=${cell.ridge} n=${cell.n}: ${mean} ± ${se} vs ${predicted}`,
      ).toBeLessThan(3 * se + 0.08 * predicted);
    }
  });
});

describe('ntk / nngp: which theory curves', () => {
  it('the staircase and one eigenlearning curve per λ on the sphere; only the staircase with Gaussian inputs', () => {
    const labels = (o: Record<string, unknown>) =>
      neuralTangentKernel.theory!(neuralTangentKernel.options.parse(o), context(8, [64, 512])).map(
        (c) => c.label,
      );
    expect(labels({ layers: 2, sphere: true, ridge: [1e-3, 1e-1] })).toEqual([
      'its kernel’s staircase, radial part never learned',
      'eigenlearning, λ=0.001',
      'eigenlearning, λ=0.1',
    ]);
    expect(labels({ layers: 2, sphere: false, ridge: 1e-3 })).toEqual(['its kernel’s staircase']);
    const gcv = nngp.theory!(nngp.options.parse({ sphere: true }), context(8, [64, 512]));
    expect(gcv.map((c) => c.label)).toEqual([
      'its kernel’s staircase, radial part never learned',
      'eigenlearning, best λ of the gcv grid',
    ]);
  });
});
