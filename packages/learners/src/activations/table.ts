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
 * quadratic σ = z²: E[u²v²] = qq' + 2ρ², E[σ'σ'] = 4ρ. gelu (z·Φ(z)), softplus and sigmoid have no
 * closed form here: deep kernels take theirs from Hermite coefficients (activations/gaussian-dual.ts).
 */
import { erf, reluDual } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

/**
 * E[σ(u)σ(v)] and E[σ'(u)σ'(v)]: ρ a matrix, q_a a column and q_b a row. `snap`: cosines within it of
 * ±1 are ±1 where the dual has a cusp there (relu's, numerics' reluDualSnap of the input dimension);
 * the smooth duals ignore it. Inside tidy.
 */
export type Dual = (
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
  snap?: number,
) => { value: tf.Tensor; derivative: tf.Tensor };

export interface ActivationEntry {
  /** σ(z). Inside tidy. */
  sigma(z: tf.Tensor): tf.Tensor;
  /** σ'(z). Inside tidy. */
  derivative(z: tf.Tensor): tf.Tensor;
  /**
   * [σ(z), σ'(z)] sharing their work (the device Mehler path evaluates both at the same points), the
   * same numbers as `sigma` and `derivative`. Absent: those two. Inside tidy.
   */
  both?(z: tf.Tensor): [tf.Tensor, tf.Tensor];
  /** σ(z) in float64 on the host, for quadratures (the kernel's Hermite coefficients). */
  scalar(z: number): number;
  /** σ'(z) in float64 on the host, for quadratures of E[σ'(u)σ'(v)] (gaussian-dual.ts). */
  slope(z: number): number;
  /** Where σ is not smooth: quadratures split their panels there. */
  readonly kinks?: readonly number[];
  /** The closed-form dual, where there is one. */
  readonly dual?: Dual;
  /** The same closed form in float64 on the host: ρ the covariance, q_a, q_b the variances. */
  readonly scalarDual?: (qa: number, qb: number, rho: number) => { value: number; derivative: number };
  /** c_k of σ = Σ_k c_k h_k (h_k = He_k/√k!), where the series is finite. */
  readonly hermite?: readonly number[];
}

export const activationTable = {
  relu: {
    sigma: (z) => tf.relu(z),
    derivative: (z) => tf.step(z),
    scalar: (z) => Math.max(z, 0),
    slope: (z) => (z > 0 ? 1 : 0),
    kinks: [0],
    scalarDual: (qa, qb, rho) => {
      const scale = Math.sqrt(qa * qb);
      const cos = Math.min(1, Math.max(-1, rho / Math.max(scale, 1e-300)));
      const theta = Math.acos(cos);
      const sin = Math.sqrt(Math.max(1 - cos * cos, 0));
      return {
        value: (scale * (sin + (Math.PI - theta) * cos)) / (2 * Math.PI),
        derivative: (Math.PI - theta) / (2 * Math.PI),
      };
    },
    // one pass where the backend has the kernel (wasm, native), else as tfjs ops
    dual: reluDual,
  },
  tanh: {
    sigma: (z) => tf.tanh(z),
    derivative: (z) => tf.sub(1, tf.square(tf.tanh(z))),
    both: (z) => {
      const value = tf.tanh(z);
      return [value, tf.sub(1, tf.square(value))];
    },
    scalar: (z) => Math.tanh(z),
    slope: (z) => 1 - Math.tanh(z) ** 2,
  },
  erf: {
    sigma: (z) => tf.erf(z),
    derivative: (z) => tf.mul(tf.exp(tf.neg(tf.square(z))), 2 / Math.sqrt(Math.PI)),
    scalar: (z) => erf(z),
    slope: (z) => (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z),
    scalarDual: (qa, qb, rho) => {
      const a = 1 + 2 * qa;
      const b = 1 + 2 * qb;
      return {
        value: (2 / Math.PI) * Math.asin(Math.min(1, Math.max(-1, (2 * rho) / Math.sqrt(a * b)))),
        derivative: 4 / Math.PI / Math.sqrt(a * b - 4 * rho * rho),
      };
    },
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
    slope: (z) => 2 * z,
    scalarDual: (qa, qb, rho) => ({ value: qa * qb + 2 * rho * rho, derivative: 4 * rho }),
    dual: (rho, qa, qb) => ({
      value: tf.add(tf.mul(qa, qb), tf.mul(tf.square(rho), 2)),
      derivative: tf.mul(rho, 4),
    }),
    // z² = h_0 + √2 h_2
    hermite: [1, 0, Math.SQRT2],
  },
  // No closed-form duals: their kernels come from the Hermite coefficients of σ(√q·) (gaussian-dual.ts).
  gelu: {
    sigma: (z) => geluValue(z, twicePhi(z)),
    derivative: (z) => geluSlope(z, twicePhi(z)),
    both: (z) => {
      const twice = twicePhi(z);
      return [geluValue(z, twice), geluSlope(z, twice)];
    },
    scalar: (z) => 0.5 * z * (1 + erf(z * Math.SQRT1_2)),
    slope: (z) => 0.5 * (1 + erf(z * Math.SQRT1_2)) + (z * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI),
  },
  softplus: {
    sigma: (z) => tf.softplus(z),
    derivative: (z) => tf.sigmoid(z),
    scalar: (z) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))),
    slope: (z) => 1 / (1 + Math.exp(-z)),
  },
  sigmoid: {
    sigma: (z) => tf.sigmoid(z),
    derivative: (z) => {
      const s = tf.sigmoid(z);
      return tf.mul(s, tf.sub(1, s));
    },
    both: (z) => {
      const s = tf.sigmoid(z);
      return [s, tf.mul(s, tf.sub(1, s))];
    },
    scalar: (z) => 1 / (1 + Math.exp(-z)),
    slope: (z) => {
      const s = 1 / (1 + Math.exp(-z));
      return s * (1 - s);
    },
  },
} as const satisfies Record<string, ActivationEntry>;

export type ActivationName = keyof typeof activationTable;

/** 2Φ(z) = 1 + erf(z/√2), which gelu's σ and σ' share. Inside tidy. */
function twicePhi(z: tf.Tensor): tf.Tensor {
  return tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2)));
}

/** gelu's σ(z) = zΦ(z) from 2Φ(z). Inside tidy. */
function geluValue(z: tf.Tensor, twice: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(z, 0.5), twice);
}

/** gelu's σ'(z) = Φ(z) + zφ(z) from 2Φ(z). Inside tidy. */
function geluSlope(z: tf.Tensor, twice: tf.Tensor): tf.Tensor {
  return tf.add(
    tf.mul(0.5, twice),
    tf.mul(tf.mul(z, tf.exp(tf.mul(tf.square(z), -0.5))), 1 / Math.sqrt(2 * Math.PI)),
  );
}

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
