/**
 * `hermite`: the single-index model f*(x) = He_k(⟨u, x⟩)/√(k!), x ~ N(0, I_d), u a seeded unit
 * vector. He_k is the probabilists' Hermite polynomial, so f* has unit variance and all its
 * energy in Hermite degree k.
 */
import { defineTargetKind, options, randomNormal, type Target, z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

/** He_k(z)/√(k!) by the recurrence He_{j+1} = z·He_j − j·He_{j−1}, on a tensor. */
export function normalizedHermite(z: tf.Tensor, k: number): tf.Tensor {
  return tf.tidy(() => {
    let previous = tf.onesLike(z);
    if (k === 0) return previous;
    let current = z.clone();
    for (let j = 1; j < k; j++) {
      const next = tf.sub(tf.mul(z, current), tf.mul(previous, j));
      previous = current;
      current = next;
    }
    let factorial = 1;
    for (let j = 2; j <= k; j++) factorial *= j;
    return tf.div(current, Math.sqrt(factorial));
  });
}

export const hermiteOptions = options({
  d: z.number().int().min(1).describe('input dimension'),
  degree: z.number().int().min(0).max(12).default(2).describe('k, the Hermite degree of the link'),
  noise: z.number().min(0).default(0).describe('standard deviation of Gaussian label noise'),
});

export const hermite = defineTargetKind({
  kind: 'hermite',
  description: 'single-index f*(x) = He_k(<u,x>)/sqrt(k!), x ~ N(0, I_d), u a seeded unit vector',
  options: hermiteOptions,
  create({ d, degree, noise }, { rng }): Target {
    const u = Float64Array.from(rng.child('u').normal(d, new Float64Array(d)));
    const norm = Math.hypot(...u);
    for (let i = 0; i < d; i++) u[i]! /= norm;
    const direction = Float32Array.from(u);
    // u is uploaded per call (d floats), so the target owns no tensor and needs no disposal.
    const evaluate = (x: tf.Tensor2D) =>
      tf.tidy(() => normalizedHermite(tf.matMul(x, tf.tensor2d(direction, [d, 1])), degree) as tf.Tensor2D);
    const hermiteEnergy = Array.from({ length: degree + 1 }, (_, j) => (j === degree ? 1 : 0));
    return {
      dim: d,
      outputDim: 1,
      structure: { subspace: u, subspaceRank: 1, hermiteEnergy, noiseVariance: noise * noise },
      evaluate,
      sample(n, sampleRng) {
        const x = randomNormal(sampleRng.child('x'), n, d);
        if (noise === 0) return { x, y: evaluate(x) };
        const y = tf.tidy(() => {
          const eps = randomNormal(sampleRng.child('noise'), n, 1, noise);
          return tf.add(evaluate(x), eps) as tf.Tensor2D;
        });
        return { x, y };
      },
    };
  },
});
