/**
 * The named activations, each with what is known about it in one place (as neural-tangents pairs
 * a layer's apply function with its kernel function): σ and σ' on tensors, and where a closed
 * form exists its dual — the Gaussian expectations E[σ(u)σ(v)] and E[σ'(u)σ'(v)] for pre-activations
 * (u, v) with variances q, q' and covariance ρ, from which the NTK of a two-layer network is built
 * (kernels.ts) — and where the series is finite its Hermite coefficients (σ = Σ_k c_k h_k).
 * Adding an activation is one entry here: the option enums (`activationNames`, and `ntk`'s
 * activations with a dual) are read from this table.
 *
 * Duals: relu (arc-cosine kernels, Cho & Saul 2009), with cos θ = ρ/√(qq'),
 *   E[relu(u)relu(v)] = √(qq')(sin θ + (π − θ) cos θ)/(2π),  E[step(u)step(v)] = (π − θ)/(2π);
 * erf (Williams 1997): E[erf(u)erf(v)] = (2/π) arcsin(2ρ/√((1+2q)(1+2q'))),
 *   E[erf'(u)erf'(v)] = (4/π)((1+2q)(1+2q') − 4ρ²)^(−1/2);
 * quadratic σ = z²: E[u²v²] = qq' + 2ρ², E[σ'σ'] = 4ρ.
 */
import { erf } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';

/** E[σ(u)σ(v)] and E[σ'(u)σ'(v)]: ρ a matrix, q_a a column and q_b a row. Inside tidy. */
export type Dual = (
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
) => { value: tf.Tensor; derivative: tf.Tensor };

export interface ActivationEntry {
  /** σ(z). Inside tidy. */
  sigma(z: tf.Tensor): tf.Tensor;
  /** σ'(z). Inside tidy. */
  derivative(z: tf.Tensor): tf.Tensor;
  /** σ(z) in float64 on the host, for quadratures (the kernel's Hermite coefficients). */
  scalar(z: number): number;
  /** Where σ is not smooth: quadratures split their panels there. */
  readonly kinks?: readonly number[];
  /** The closed-form dual, where there is one. */
  readonly dual?: Dual;
  /** c_k of σ = Σ_k c_k h_k (h_k = He_k/√k!), where the series is finite. */
  readonly hermite?: readonly number[];
}

export const activationTable = {
  relu: {
    sigma: (z) => tf.relu(z),
    derivative: (z) => tf.step(z),
    scalar: (z) => Math.max(z, 0),
    kinks: [0],
    dual: (rho, qa, qb) => {
      const scale = tf.sqrt(tf.mul(qa, qb));
      const cos = tf.clipByValue(tf.div(rho, tf.maximum(scale, 1e-12)), -1, 1);
      const theta = tf.acos(cos);
      const sin = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cos)), 0));
      const value = tf.div(tf.mul(scale, tf.add(sin, tf.mul(tf.sub(Math.PI, theta), cos))), 2 * Math.PI);
      const derivative = tf.div(tf.sub(Math.PI, theta), 2 * Math.PI);
      return { value, derivative };
    },
  },
  tanh: {
    sigma: (z) => tf.tanh(z),
    derivative: (z) => tf.sub(1, tf.square(tf.tanh(z))),
    scalar: (z) => Math.tanh(z),
  },
  erf: {
    sigma: (z) => tf.erf(z),
    derivative: (z) => tf.mul(tf.exp(tf.neg(tf.square(z))), 2 / Math.sqrt(Math.PI)),
    scalar: (z) => erf(z),
    dual: (rho, qa, qb) => {
      const a = tf.add(1, tf.mul(qa, 2));
      const b = tf.add(1, tf.mul(qb, 2));
      const denominator = tf.sqrt(tf.mul(a, b));
      const value = tf.mul(tf.asin(tf.clipByValue(tf.div(tf.mul(rho, 2), denominator), -1, 1)), 2 / Math.PI);
      const derivative = tf.div(4 / Math.PI, tf.sqrt(tf.sub(tf.mul(a, b), tf.mul(tf.square(rho), 4))));
      return { value, derivative };
    },
  },
  quadratic: {
    sigma: (z) => tf.square(z),
    derivative: (z) => tf.mul(z, 2),
    scalar: (z) => z * z,
    dual: (rho, qa, qb) => ({
      value: tf.add(tf.mul(qa, qb), tf.mul(tf.square(rho), 2)),
      derivative: tf.mul(rho, 4),
    }),
    // z² = h_0 + √2 h_2
    hermite: [1, 0, Math.SQRT2],
  },
} as const satisfies Record<string, ActivationEntry>;

export type ActivationName = keyof typeof activationTable;

/** The named activations whose dual has a closed form. */
export type DualActivation = {
  [K in ActivationName]: (typeof activationTable)[K] extends { dual: Dual } ? K : never;
}[ActivationName];

/** Every named activation, in the table's order. */
export const activationNames = Object.keys(activationTable) as readonly ActivationName[];

/** The named activations with a closed-form dual, in the table's order. */
export const dualActivationNames = activationNames.filter(
  (name): name is DualActivation => 'dual' in activationTable[name],
);

/** The closed-form dual of `name`. */
export function dualOf(name: DualActivation): Dual {
  return activationTable[name].dual;
}
