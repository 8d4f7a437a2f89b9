/**
 * Kernels as data: a function of two row blocks of inputs giving their kernel matrix. With
 * inputs x ~ N(0, I_d) the natural scales are q = ‖x‖²/d ≈ 1 and ρ = ⟨x, x'⟩/d.
 *
 * Two-layer network in the NTK parametrization f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d), w_j ~ N(0, I_d),
 * a_j ~ N(0, 1): the pre-activations (u, v) = (⟨w,x⟩/√d, ⟨w,x'⟩/√d) are Gaussian with variances
 * q, q' and covariance ρ, and the infinite-width NTK (the limit of Σ_θ ∂f/∂θ(x) ∂f/∂θ(x')) is
 *   readout part     Σ^(1)(x, x') = E[σ(u)σ(v)],
 *   first-layer part Σ̇(x, x')·ρ    with Σ̇ = E[σ'(u)σ'(v)],
 * in closed form for relu (arc-cosine kernels, Cho & Saul 2009): with cos θ = ρ/√(qq'),
 *   E[relu(u)relu(v)] = √(qq')(sin θ + (π − θ) cos θ)/(2π),  E[step(u)step(v)] = (π − θ)/(2π);
 * erf (Williams 1997): E[erf(u)erf(v)] = (2/π) arcsin(2ρ/√((1+2q)(1+2q'))),
 *   E[erf'(u)erf'(v)] = (4/π)((1+2q)(1+2q') − 4ρ²)^(−1/2);
 * quadratic σ = z²: E[u²v²] = qq' + 2ρ², E[σ'σ'] = 4ρ.
 */
import * as tf from '@tensorflow/tfjs-core';

export type KernelFunction = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** ρ = ⟨a_i, b_j⟩/d and the squared norms q_a, q_b (as a column and a row). Inside tidy. */
export function scaledProducts(a: tf.Tensor2D, b: tf.Tensor2D) {
  const d = a.shape[1];
  const rho = tf.div(tf.matMul(a, b, false, true), d);
  const qa = tf.div(tf.sum(tf.square(a), 1, true), d);
  const qb = tf.reshape(tf.div(tf.sum(tf.square(b), 1), d), [1, -1]);
  return { rho, qa, qb };
}

export const ntkActivations = ['relu', 'erf', 'quadratic'] as const;
export type NtkActivation = (typeof ntkActivations)[number];

/** E[σ(u)σ(v)] and E[σ'(u)σ'(v)] for the activations with closed forms. Inside tidy. */
export function gaussianExpectations(
  activation: NtkActivation,
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
) {
  switch (activation) {
    case 'relu': {
      const scale = tf.sqrt(tf.mul(qa, qb));
      const cos = tf.clipByValue(tf.div(rho, tf.maximum(scale, 1e-12)), -1, 1);
      const theta = tf.acos(cos);
      const sin = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cos)), 0));
      const value = tf.div(tf.mul(scale, tf.add(sin, tf.mul(tf.sub(Math.PI, theta), cos))), 2 * Math.PI);
      const derivative = tf.div(tf.sub(Math.PI, theta), 2 * Math.PI);
      return { value, derivative };
    }
    case 'erf': {
      const a = tf.add(1, tf.mul(qa, 2));
      const b = tf.add(1, tf.mul(qb, 2));
      const denominator = tf.sqrt(tf.mul(a, b));
      const value = tf.mul(tf.asin(tf.clipByValue(tf.div(tf.mul(rho, 2), denominator), -1, 1)), 2 / Math.PI);
      const derivative = tf.div(4 / Math.PI, tf.sqrt(tf.sub(tf.mul(a, b), tf.mul(tf.square(rho), 4))));
      return { value, derivative };
    }
    case 'quadratic':
      return { value: tf.add(tf.mul(qa, qb), tf.mul(tf.square(rho), 2)), derivative: tf.mul(rho, 4) };
  }
}

export type NtkLayers = 'both' | 'first' | 'readout';

/** The infinite-width NTK of the two-layer network, one or both layers trained. */
export function ntkKernel(activation: NtkActivation, layers: NtkLayers): KernelFunction {
  return (a, b) =>
    tf.tidy(() => {
      const { rho, qa, qb } = scaledProducts(a, b);
      const { value, derivative } = gaussianExpectations(activation, rho, qa, qb);
      const first = tf.mul(derivative, rho);
      if (layers === 'first') return first as tf.Tensor2D;
      if (layers === 'readout') return value as tf.Tensor2D;
      return tf.add(value, first) as tf.Tensor2D;
    });
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

/** Column panels of K(X, X): rows start..n of columns start..start+size. */
export function kernelPanels(x: tf.Tensor2D, kernel: KernelFunction) {
  return (start: number, size: number) =>
    tf.tidy(() => kernel(tf.slice(x, [start, 0], [-1, -1]), tf.slice(x, [start, 0], [size, -1])));
}

/** Σ_i α_i K(x, x_i), over blocks of training points so only |x|×block of K is alive. */
export function dualPredict(
  kernel: KernelFunction,
  train: tf.Tensor2D,
  alpha: tf.Tensor2D,
  x: tf.Tensor2D,
  block = 2048,
): tf.Tensor2D {
  return tf.tidy(() => {
    const n = train.shape[0];
    let out: tf.Tensor = tf.zeros([x.shape[0], alpha.shape[1]]);
    for (let s = 0; s < n; s += block) {
      const size = Math.min(block, n - s);
      out = tf.add(
        out,
        tf.matMul(kernel(x, tf.slice(train, [s, 0], [size, -1])), tf.slice(alpha, [s, 0], [size, -1])),
      );
    }
    return out as tf.Tensor2D;
  });
}
