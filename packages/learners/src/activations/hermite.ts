/**
 * Activations given by their Hermite coefficients, σ = Σ_k c_k h_k with h_k = He_k/√k! the
 * probabilists' Hermite polynomials normalized — the form in which kernel theory states everything —
 * and the dot-product kernel such an activation induces.
 */
import { hermiteValues } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

/** σ' = Σ_k √(k+1) c_{k+1} h_k of σ = Σ_k c_k h_k (h_k' = √k h_{k−1}); [0] for a constant σ. */
export function hermiteDerivative(c: readonly number[]): number[] {
  return c.length > 1 ? c.slice(1).map((ck, k) => ck * Math.sqrt(k + 1)) : [0];
}

/** Σ_k c_k h_k(z) and its derivative Σ_k c_k √k h_{k−1}(z), by the orthonormal recurrence. Inside tidy. */
export function hermiteSeries(coefficients: readonly number[], derivative: boolean) {
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

/**
 * The Taylor coefficients of σ's dual on unit-variance pre-activations with correlation ρ:
 * E[σ(u)σ(v)] = Σ_k c_k² ρ^k (the h_k are orthonormal and E[h_j(u)h_k(v)] = δ_jk ρ^k).
 */
export function hermiteDualTaylor(coefficients: readonly number[]): number[] {
  return coefficients.map((c) => c * c);
}

/** σ = Σ_k c_k h_k(z) in float64 on the host (for quadratures). */
export function hermiteScalar(coefficients: readonly number[]): (z: number) => number {
  return (z) => {
    const h = hermiteValues(z, coefficients.length - 1);
    return coefficients.reduce((sum, c, k) => sum + c * h[k]!, 0);
  };
}
