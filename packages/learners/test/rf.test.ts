import { disposeDataset, parseOptions, Rng } from '@regimes/core';
import {
  createTarget,
  describeLearnerConformance,
  expectNoLeak,
  makeFitContext,
} from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { featureKernel, kernelPanels, randomFeatures } from '../src/index.js';

const target = { factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } };
describeLearnerConformance('rf (primal, N < n)', {
  factory: randomFeatures,
  options: { width: 32 },
  target,
  n: 128,
});
describeLearnerConformance('rf (dual, N > n)', {
  factory: randomFeatures,
  options: { width: 256, activation: 'tanh' },
  target,
  n: 64,
});

/** Float64 reference: ridge readout by Gaussian elimination on (ΦᵀΦ/n + λI)a = Φᵀy/n. */
function referenceRidge(
  phi: Float64Array,
  y: Float64Array,
  n: number,
  width: number,
  lambda: number,
): Float64Array {
  const a = new Float64Array(width * width);
  const b = new Float64Array(width);
  for (let i = 0; i < width; i++) {
    for (let j = 0; j < width; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += phi[r * width + i]! * phi[r * width + j]!;
      a[i * width + j] = s / n + (i === j ? lambda : 0);
    }
    for (let r = 0; r < n; r++) b[i]! += (phi[r * width + i]! * y[r]!) / n;
  }
  for (let c = 0; c < width; c++) {
    for (let r = c + 1; r < width; r++) {
      const f = a[r * width + c]! / a[c * width + c]!;
      for (let k = c; k < width; k++) a[r * width + k]! -= f * a[c * width + k]!;
      b[r]! -= f * b[c]!;
    }
  }
  for (let r = width - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < width; k++) s -= a[r * width + k]! * b[k]!;
    b[r] = s / a[r * width + r]!;
  }
  return b;
}

function features(x: Float32Array, w: Float32Array, n: number, d: number, width: number): Float64Array {
  const phi = new Float64Array(n * width);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < width; j++) {
      let z = 0;
      for (let c = 0; c < d; c++) z += x[r * d + c]! * w[j * d + c]!;
      phi[r * width + j] = Math.max(z, 0) / Math.sqrt(width);
    }
  return phi;
}

describe('rf', () => {
  // Both solves must give the ridge readout of the float64 reference on the same features (a
  // reference without intercept, so intercept: false; the intercept has its own tests in intercept.test.ts);
  // float32 Gram matrices with λ = 1e-2 keep the condition number below ~1e3: tolerance 1e-3 relative.
  it.each([
    ['primal', 24, 100],
    ['dual', 200, 50],
  ])('matches a float64 ridge reference in the %s (width %i, n %i)', async (_mode, width, n) => {
    const lambda = 1e-2;
    const t = createTarget(target);
    const train = t.sample(n, Rng.fromSeed(1));
    const test = t.sample(40, Rng.fromSeed(2));
    await expectNoLeak(async () => {
      const predictor = await randomFeatures
        .create(randomFeatures.options.parse({ width, ridge: lambda, intercept: false }))
        .fit(train, makeFitContext(Rng.fromSeed(3)));
      const w = predictor.features!.dataSync() as Float32Array;
      const phi = features(train.x.dataSync() as Float32Array, w, n, 5, width);
      const readout = referenceRidge(phi, Float64Array.from(train.y.dataSync()), n, width, lambda);
      const phiTest = features(test.x.dataSync() as Float32Array, w, 40, 5, width);
      const expected = Array.from({ length: 40 }, (_, r) =>
        readout.reduce((s, a, j) => s + a * phiTest[r * width + j]!, 0),
      );
      const prediction = predictor.predict(test.x);
      const got = prediction.dataSync();
      prediction.dispose();
      const scale = Math.max(...expected.map(Math.abs));
      expected.forEach((e, i) => {
        expect(Math.abs(got[i]! - e)).toBeLessThan(1e-3 * scale);
      });
      expect(predictor.diagnostics!['solve-residual']).toBeLessThan(1e-5); // float32, after one refinement
      expect(predictor.diagnostics!.dual).toBe(width > n ? 1 : 0);
      predictor.dispose();
    });
    disposeDataset(train);
    disposeDataset(test);
  });

  it('the dual kernel’s panels and diagonal are products of the training features Φ: the first layer is not run again for them', async () => {
    const [n, d, width] = [600, 5, 40];
    const x = tf.randomNormal([n, d], 0, 1, 'float32', 7) as tf.Tensor2D;
    const w = tf.randomNormal([d, width], 0, 1, 'float32', 8) as tf.Tensor2D;
    let calls = 0;
    const featurize = (a: tf.Tensor2D) => {
      calls++;
      return tf.relu(tf.matMul(a, w)) as tf.Tensor2D;
    };
    const phi = featurize(x);
    await expectNoLeak(async () => {
      const source = kernelPanels(x, featureKernel(featurize, { x, features: phi }));
      calls = 0;
      // the third panel (rows 512.., columns 512..599) and the diagonal, against Φ in float64
      const tensors = [source.panels(512, 88), source.diagonal!()];
      const [panel, diagonal] = await Promise.all(tensors.map((t) => t.data()));
      tf.dispose(tensors);
      expect(calls).toBe(0);
      const f = await phi.data();
      const dot = (i: number, j: number) => {
        let sum = 0;
        for (let c = 0; c < width; c++) sum += f[i * width + c]! * f[j * width + c]!;
        return sum;
      };
      for (const [i, j] of [
        [512, 512],
        [599, 530],
        [550, 599],
      ] as const)
        expect(Math.abs(panel![(i - 512) * 88 + (j - 512)]! - dot(i, j))).toBeLessThan(1e-5 * dot(i, i));
      for (const i of [0, 300, 599])
        expect(Math.abs(diagonal![i]! - dot(i, i))).toBeLessThan(1e-5 * dot(i, i));
      tf.dispose(source.panels(0, 256)); // freed by its caller, as any panel
      source.release();
    });
    // other rows than the training set's: the kernel itself, through the first layer
    const other = tf.slice(x, [0, 0], [10, -1]) as tf.Tensor2D;
    const source = kernelPanels(other, featureKernel(featurize, { x, features: phi }));
    calls = 0;
    const panel = source.panels(0, 10);
    expect(calls).toBe(2);
    source.release();
    tf.dispose([x, w, phi, other, panel]);
  });

  it('draws its first layer from its rng: same rng, same W; rows on the unit sphere', async () => {
    const t = createTarget(target);
    const train = t.sample(16, Rng.fromSeed(1));
    const fit = (seed: number) =>
      randomFeatures
        .create(randomFeatures.options.parse({ width: 8 }))
        .fit(train, makeFitContext(Rng.fromSeed(seed)));
    const [a, b, c] = await Promise.all([fit(1), fit(1), fit(2)]);
    const wa = Array.from(a.features!.dataSync());
    expect(Array.from(b.features!.dataSync())).toEqual(wa);
    expect(Array.from(c.features!.dataSync())).not.toEqual(wa);
    for (let j = 0; j < 8; j++) expect(Math.hypot(...wa.slice(j * 5, j * 5 + 5))).toBeCloseTo(1, 5);
    for (const p of [a, b, c]) p.dispose();
    disposeDataset(train);
  });

  it('rejects unknown activations with the allowed ones', () => {
    const result = parseOptions(randomFeatures.options, { activation: 'rleu' }, 'learners[0]');
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems[0]).toMatch(
        /learners\[0\]\.activation: expected 'relu' \| .*\{ he: an integer in \[0, 12\] \}.*\(did you mean 'relu'\?\), got "rleu"$/,
      );
  });

  // bad-input: 3
  it('rejects a λ that overflows float32 once multiplied by n, alone or in a list', () => {
    for (const ridge of [1e40, [0.1, 1e40]]) {
      const result = parseOptions(randomFeatures.options, { ridge }, 'learners[0]');
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.problems[0]).toContain('λ above 1e30 overflows float32 once multiplied by n');
    }
    expect(parseOptions(randomFeatures.options, { ridge: 1e12 }, 'learners[0]').ok).toBe(true);
  });
});
