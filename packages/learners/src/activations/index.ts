/**
 * Activations σ and their derivatives σ' on tensors: by name (the table, with their duals), He_k
 * (the probabilists' Hermite polynomial normalized, h_k = He_k/√k!), or any σ = Σ_k c_k h_k given
 * by its Hermite coefficients.
 */
import { z } from '@regimes/core';
import type * as tf from '@tensorflow/tfjs-core';
import { activationNames, activationTable } from './table.js';
import { hermiteSeries } from './hermite.js';

export {
  type ActivationName,
  activationNames,
  activationTable,
  type Dual,
  type DualActivation,
  dualActivationNames,
  dualOf,
} from './table.js';
export { hermiteDerivative, hermiteDualTaylor, hermiteScalar } from './hermite.js';
export { dualTaylor, type NtkLayers, ntkTaylor, type ScalarActivation } from './dual-taylor.js';

export const activationOption = z
  .union([
    z.enum(activationNames),
    z.strictObject({ he: z.number().int().min(0).max(12).describe('σ = h_k') }),
    z.strictObject({ hermite: z.array(z.number()).min(1).describe('σ = Σ_k c_k h_k') }),
  ])
  .default('relu')
  .describe(
    'σ: relu | tanh | erf | quadratic (z²) | gelu | softplus | sigmoid | { he: k } | { hermite: [c_0, c_1, ...] }',
  );

export type ActivationSpec = z.output<typeof activationOption>;

export interface Activation {
  readonly name: string;
  sigma(z: tf.Tensor): tf.Tensor;
  derivative(z: tf.Tensor): tf.Tensor;
  /** c_k of σ = Σ_k c_k h_k, where the series is finite. */
  readonly hermite?: readonly number[];
}

export function activation(spec: ActivationSpec): Activation {
  if (typeof spec === 'object') {
    const coefficients =
      'he' in spec ? Array.from({ length: spec.he + 1 }, (_, k) => (k === spec.he ? 1 : 0)) : spec.hermite;
    const name = 'he' in spec ? `he${spec.he}` : `hermite[${spec.hermite.join(',')}]`;
    return {
      name,
      sigma: hermiteSeries(coefficients, false),
      derivative: hermiteSeries(coefficients, true),
      hermite: coefficients,
    };
  }
  const entry: {
    sigma: Activation['sigma'];
    derivative: Activation['derivative'];
    hermite?: readonly number[];
  } = activationTable[spec];
  return {
    name: spec,
    sigma: entry.sigma,
    derivative: entry.derivative,
    ...(entry.hermite ? { hermite: entry.hermite } : {}),
  };
}
