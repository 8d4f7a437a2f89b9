/**
 * Activations σ and their derivatives σ' on tensors: by name, He_k (the probabilists' Hermite
 * polynomial normalized, h_k = He_k/√k!), or any σ = Σ_k c_k h_k given by its Hermite
 * coefficients — the form in which kernel theory states everything.
 */
import { z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const activationNames = ['relu', 'tanh', 'erf', 'quadratic'] as const;

export const activationOption = z
  .union([
    z.enum(activationNames),
    z.strictObject({ he: z.number().int().min(0).max(12).describe('σ = h_k') }),
    z.strictObject({ hermite: z.array(z.number()).min(1).describe('σ = Σ_k c_k h_k') }),
  ])
  .default('relu')
  .describe('σ: relu | tanh | erf | quadratic (z²) | { he: k } | { hermite: [c_0, c_1, ...] }');

export type ActivationSpec = z.output<typeof activationOption>;

export interface Activation {
  readonly name: string;
  sigma(z: tf.Tensor): tf.Tensor;
  derivative(z: tf.Tensor): tf.Tensor;
}

/** Σ_k c_k h_k(z) and its derivative Σ_k c_k √k h_{k−1}(z), by the orthonormal recurrence. Inside tidy. */
function hermiteSeries(coefficients: readonly number[], derivative: boolean) {
  return (z: tf.Tensor) => {
    const top = coefficients.length - 1;
    const h: tf.Tensor[] = [tf.onesLike(z)];
    if (top >= 1) h.push(z);
    for (let k = 1; k < top; k++)
      h.push(tf.div(tf.sub(tf.mul(z, h[k]!), tf.mul(h[k - 1]!, Math.sqrt(k))), Math.sqrt(k + 1)));
    let out: tf.Tensor = tf.zerosLike(z);
    coefficients.forEach((c, k) => {
      if (c === 0) return;
      if (!derivative) out = tf.add(out, tf.mul(h[k]!, c));
      else if (k > 0) out = tf.add(out, tf.mul(h[k - 1]!, c * Math.sqrt(k)));
    });
    return out;
  };
}

export function activation(spec: ActivationSpec): Activation {
  if (typeof spec === 'object') {
    const coefficients =
      'he' in spec ? Array.from({ length: spec.he + 1 }, (_, k) => (k === spec.he ? 1 : 0)) : spec.hermite;
    const name = 'he' in spec ? `he${spec.he}` : `hermite[${spec.hermite.join(',')}]`;
    return { name, sigma: hermiteSeries(coefficients, false), derivative: hermiteSeries(coefficients, true) };
  }
  switch (spec) {
    case 'relu':
      return { name: spec, sigma: (x) => tf.relu(x), derivative: (x) => tf.step(x) };
    case 'tanh':
      return { name: spec, sigma: (x) => tf.tanh(x), derivative: (x) => tf.sub(1, tf.square(tf.tanh(x))) };
    case 'erf':
      return {
        name: spec,
        sigma: (x) => tf.erf(x),
        derivative: (x) => tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)),
      };
    case 'quadratic':
      return { name: spec, sigma: (x) => tf.square(x), derivative: (x) => tf.mul(x, 2) };
  }
}
