/**
 * Kernels as data: a function of two row blocks of inputs giving their kernel matrix. With
 * inputs x ~ N(0, I_d) the natural scales are q = ‖x‖²/d ≈ 1 and ρ = ⟨x, x'⟩/d.
 *
 * Two-layer network in the NTK parametrization f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d), w_j ~ N(0, I_d),
 * a_j ~ N(0, 1): the pre-activations (u, v) = (⟨w,x⟩/√d, ⟨w,x'⟩/√d) are Gaussian with variances
 * q, q' and covariance ρ, and the infinite-width NTK (the limit of Σ_θ ∂f/∂θ(x) ∂f/∂θ(x')) is
 *   readout part     Σ^(1)(x, x') = E[σ(u)σ(v)],
 *   first-layer part Σ̇(x, x')·ρ    with Σ̇ = E[σ'(u)σ'(v)],
 * with the closed-form expectations each activation carries (activations/table.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  activationTable,
  type DualActivation,
  dualActivationNames,
  dualOf,
  dualTaylor,
  hermiteDualTaylor,
  hermiteScalar,
  type NtkLayers,
  ntkTaylor,
} from './activations/index.js';

export type KernelFunction = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** ρ = ⟨a_i, b_j⟩/d and the squared norms q_a, q_b (as a column and a row). Inside tidy. */
export function scaledProducts(a: tf.Tensor2D, b: tf.Tensor2D) {
  const d = a.shape[1];
  const rho = tf.div(tf.matMul(a, b, false, true), d);
  const qa = tf.div(tf.sum(tf.square(a), 1, true), d);
  const qb = tf.reshape(tf.div(tf.sum(tf.square(b), 1), d), [1, -1]);
  return { rho, qa, qb };
}

/** The activations whose NTK has a closed form: those with a dual in the activation table. */
export const ntkActivations = dualActivationNames;
export type NtkActivation = DualActivation;

/** E[σ(u)σ(v)] and E[σ'(u)σ'(v)] for the activations with closed forms. Inside tidy. */
export function gaussianExpectations(
  activation: NtkActivation,
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
) {
  return dualOf(activation)(rho, qa, qb);
}

export type { NtkLayers };

/**
 * The infinite-width NTK of the two-layer network, one or both layers trained. With `bias` σ_b the
 * pre-activation is ⟨w,x⟩/√d + σ_b·β, β ~ N(0, 1) trained with w (as neural-tangents' `b_std`): the
 * expectations see variances q + σ_b², covariance ρ + σ_b², and the first layer's part is
 * Σ̇·(ρ + σ_b²). Without a bias the kernel is computed as before, op for op.
 */
export function ntkKernel(activation: NtkActivation, layers: NtkLayers, bias = 0): KernelFunction {
  const dual = dualOf(activation);
  const s = bias * bias;
  return (a, b) =>
    tf.tidy(() => {
      const scaled = scaledProducts(a, b);
      const { rho, qa, qb } = s === 0 ? scaled : shifted(scaled, s);
      const { value, derivative } = dual(rho, qa, qb);
      const first = tf.mul(derivative, rho);
      if (layers === 'first') return first as tf.Tensor2D;
      if (layers === 'readout') return value as tf.Tensor2D;
      return tf.add(value, first) as tf.Tensor2D;
    });
}

/** The scaled products with a bias variance s added to each: ρ + s, q_a + s, q_b + s. Inside tidy. */
function shifted(p: ReturnType<typeof scaledProducts>, s: number) {
  return { rho: tf.add(p.rho, s), qa: tf.add(p.qa, s), qb: tf.add(p.qb, s) };
}

/** h(ρ) = Σ_k c_k ρ^k with ρ = ⟨x,x'⟩/d, or with the cosine ⟨x,x'⟩/(‖x‖‖x'‖) on the sphere. */
export function dotProductKernel(taylor: readonly number[], sphere: boolean): KernelFunction {
  return (a, b) =>
    tf.tidy(() => {
      const { rho, qa, qb } = scaledProducts(a, b);
      const t = sphere ? tf.div(rho, tf.sqrt(tf.mul(qa, qb))) : rho;
      let out: tf.Tensor = tf.zerosLike(t);
      let power: tf.Tensor = tf.onesLike(t);
      taylor.forEach((c, k) => {
        if (k > 0) power = tf.mul(power, t);
        if (c !== 0) out = tf.add(out, tf.mul(power, c));
      });
      return out as tf.Tensor2D;
    });
}

/** exp(−‖x − x'‖²/(2ℓ²d)). */
export function rbfKernel(bandwidth: number): KernelFunction {
  return (a, b) =>
    tf.tidy(() => {
      const { rho, qa, qb } = scaledProducts(a, b);
      const squared = tf.maximum(tf.sub(tf.add(qa, qb), tf.mul(rho, 2)), 0);
      return tf.exp(tf.div(squared, -2 * bandwidth * bandwidth)) as tf.Tensor2D;
    });
}

/**
 * The kernels' own coefficients c_0..c_top of h(ρ) = Σ_k c_k ρ^k on unit-variance inputs (q = 1),
 * for their staircase theory (kernel-staircase.ts).
 */
export const kernelTaylor = {
  /** The NTK of `ntkKernel(activation, layers, bias)`, by quadrature of its dual (dual-taylor.ts). */
  ntk: (activation: NtkActivation, layers: NtkLayers, bias: number, top: number): number[] =>
    ntkTaylor(dualTaylor(activationTable[activation], bias, top + 1), layers, bias),
  /** E[σ(z + b)σ(z' + b)] for σ = Σ_k μ_k h_k and b ~ N(0, bias²): μ_k² without a bias. */
  hermite: (mu: readonly number[], bias: number): number[] =>
    bias === 0 ? hermiteDualTaylor(mu) : dualTaylor({ scalar: hermiteScalar(mu) }, bias, mu.length - 1),
  /** exp(−(q + q' − 2ρ)/(2ℓ²)) at q = q' = 1: c_k = e^{−1/ℓ²}/(ℓ^{2k} k!). */
  rbf: (bandwidth: number, top: number): number[] => {
    const inverse = 1 / (bandwidth * bandwidth);
    const out = [Math.exp(-inverse)];
    for (let k = 1; k <= top; k++) out.push((out[k - 1]! * inverse) / k);
    return out;
  },
};
