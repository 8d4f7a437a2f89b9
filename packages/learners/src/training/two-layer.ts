/**
 * Two-layer networks f(x) = s · Σ_j a_j σ(⟨w_j, x⟩ + b_j) [+ c], or with a shared scalar readout
 * f(x) = s · a · Σ_j σ(⟨w_j, x⟩ + b_j) [+ c], with hand-written backward passes
 * (a few matMuls, like a numpy implementation), so a training step is one tf.tidy with no tape.
 * The gradients are tested against finite differences of a float64 reference.
 */
import { type Predictor, type Rng, randomNormal } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import type { Activation } from '../activations/index.js';
import { type Loss, lossResidual, lossSlope } from './loss.js';

export interface TwoLayer {
  w: tf.Tensor2D; // N×d
  b: tf.Tensor2D | undefined; // 1×N
  a: tf.Tensor2D; // N×k, or 1×k when `shared`
  /** One readout a shared by all neurons (Ghorbani et al.'s `constant_a`): f = s·a·Σ_j σ_j + c. */
  shared?: boolean;
  /** The output bias c (1×k), outside the output scale s; absent: none. */
  c?: tf.Tensor2D | undefined;
}

export const parametrizations = ['standard', 'ntk', 'mean-field'] as const;
export type Parametrization = (typeof parametrizations)[number];

/**
 * Output scale s, readout init scale, and the factor on the learning rate:
 *   standard:   s = 1,    a ~ N(0, 1/N)
 *   ntk:        s = 1/√N, a ~ N(0, 1)
 *   mean-field: s = 1/N,  a ~ N(0, 1), learning rates × N (so that features move by O(1))
 * First-layer rows w ~ N(0, I/d) in all three.
 */
export function scales(p: Parametrization, width: number) {
  switch (p) {
    case 'standard':
      return { output: 1, readoutInit: 1 / Math.sqrt(width), lr: 1 };
    case 'ntk':
      return { output: 1 / Math.sqrt(width), readoutInit: 1, lr: 1 };
    case 'mean-field':
      return { output: 1 / width, readoutInit: 1, lr: width };
  }
}

/**
 * Draw the parameters; `symmetric` pairs neuron j with j + N/2 (same w, b; opposite a), so f₀ ≡ 0.
 * The output bias c (with `outputBias`) starts at 0, as in Ghorbani et al.'s code, so f₀ is unchanged.
 */
export function initTwoLayer(
  rng: Rng,
  o: { width: number; bias: number; symmetric: boolean; outputBias?: boolean; readout?: 'vector' | 'scalar' },
  d: number,
  k: number,
  readoutInit: number,
): TwoLayer {
  // one tidy: a draw or concat that throws frees what was made before it
  return tf.tidy(() => {
    const half = o.symmetric ? o.width / 2 : o.width;
    const wHalf = randomNormal(rng.child('W'), half, d, 1 / Math.sqrt(d));
    if (o.readout === 'scalar') {
      // the shared readout starts at 0, as in Ghorbani et al.'s NN runs (so f₀ ≡ c = 0)
      const b = o.bias > 0 ? randomNormal(rng.child('b'), 1, o.width, o.bias) : undefined;
      const c = o.outputBias ? (tf.zeros([1, k]) as tf.Tensor2D) : undefined;
      return { w: wHalf, a: tf.zeros([1, k]) as tf.Tensor2D, b, c, shared: true };
    }
    const aHalf = randomNormal(rng.child('a'), half, k, readoutInit);
    const bHalf = o.bias > 0 ? randomNormal(rng.child('b'), 1, half, o.bias) : undefined;
    const c = o.outputBias ? (tf.zeros([1, k]) as tf.Tensor2D) : undefined;
    if (!o.symmetric) return { w: wHalf, a: aHalf, b: bHalf, c };
    const w = tf.concat([wHalf, wHalf], 0);
    const a = tf.concat([aHalf, tf.neg(aHalf)], 0);
    const b = bHalf ? tf.concat([bHalf, bHalf], 1) : undefined;
    return { w, a, b, c };
  });
}

export function disposeTwoLayer(p: TwoLayer): void {
  tf.dispose([p.w, p.a, ...(p.b ? [p.b] : []), ...(p.c ? [p.c] : [])]);
}

export function cloneTwoLayer(p: TwoLayer): TwoLayer {
  // one tidy: a clone that throws frees those made before it
  return tf.tidy(() => ({
    w: p.w.clone(),
    a: p.a.clone(),
    b: p.b?.clone(),
    c: p.c?.clone(),
    shared: p.shared,
  }));
}

/** Pre-activations xWᵀ + b. Inside tidy. */
export const preActivation = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor2D | undefined) => {
  const z0 = tf.matMul(x, w, false, true);
  return b ? tf.add(z0, b) : z0;
};

/** hᵀg (N×k) from the hidden layer h and an n×k g; shared: (h·1)ᵀg (1×k). Inside tidy. */
const readoutProduct = (p: TwoLayer, h: tf.Tensor2D, g: tf.Tensor2D): tf.Tensor2D =>
  (p.shared ? tf.sum(tf.mul(tf.sum(h, 1, true), g), 0, true) : tf.matMul(h, g, true, false)) as tf.Tensor2D;

/** g aᵀ (n×N), or with a shared readout g·a (n×1, broadcast over the neurons). Inside tidy. */
const backProduct = (p: TwoLayer, g: tf.Tensor2D): tf.Tensor =>
  p.shared ? tf.sum(tf.mul(g, p.a), 1, true) : tf.matMul(g, p.a, false, true);

/** s·σ(xWᵀ + b)a [+ c] (shared: s·(Σ_j h_j)·a) from the hidden layer h = σ(xWᵀ + b). Inside tidy. */
const output = (p: TwoLayer, h: tf.Tensor2D, s: number): tf.Tensor2D => {
  // shared: (Σ_j h_j)·a by broadcasting (n×1 times 1×k), no matMul with an inner size of 1
  const f = tf.mul(p.shared ? tf.mul(tf.sum(h, 1, true), p.a) : tf.matMul(h, p.a), s) as tf.Tensor2D;
  return p.c ? (tf.add(f, p.c) as tf.Tensor2D) : f;
};

/** f(x). Inside tidy. */
export function forward(p: TwoLayer, x: tf.Tensor2D, sigma: Activation, s: number): tf.Tensor2D {
  return output(p, sigma.sigma(preActivation(x, p.w, p.b)) as tf.Tensor2D, s);
}

export interface Gradients {
  w: tf.Tensor2D;
  b: tf.Tensor2D | undefined;
  a: tf.Tensor2D;
  c: tf.Tensor2D | undefined;
}

/**
 * The loss's gradients by hand: da = s·hᵀ∂f, dz = s·(∂f aᵀ) ⊙ σ'(z), dW = dzᵀx, db = Σ_i dz,
 * dc = Σ_i ∂f; with a shared readout da = s·(h·1)ᵀ∂f and ∂f aᵀ (n×1) broadcasts over the neurons.
 * Inside tidy.
 */
export function gradients(
  p: TwoLayer,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  sigma: Activation,
  s: number,
  loss: Loss,
): Gradients {
  const pre = preActivation(x, p.w, p.b);
  const h = sigma.sigma(pre) as tf.Tensor2D;
  const f = output(p, h, s);
  const slope = lossSlope(loss, f, y);
  const a = tf.mul(readoutProduct(p, h, slope), s) as tf.Tensor2D;
  const dz = tf.mul(tf.mul(backProduct(p, slope), s), sigma.derivative(pre)) as tf.Tensor2D;
  const w = tf.matMul(dz, x, true, false) as tf.Tensor2D;
  const b = p.b ? (tf.sum(dz, 0, true) as tf.Tensor2D) : undefined;
  const c = p.c ? (tf.sum(slope, 0, true) as tf.Tensor2D) : undefined;
  return { w, b, a, c };
}

/** The rates of a plain gradient step: W and b at `first`, a at `readout`, c at `bias`; 0 leaves that layer as it is. */
export interface PlainRates {
  readonly first: number;
  readonly readout: number;
  readonly bias: number;
}

/**
 * One plain gradient step, p − rate·∇L (no weight decay, no optimizer state), with each rate folded
 * into the n×k loss residual before the products: hᵀ(κ r_a s·e) for a, and (κ r_W s·e)aᵀ ⊙ σ'(z) for
 * W and b, where `gradients` scales the n×N matrix ∂f aᵀ by s and each gradient by its rate after.
 * The same step up to float32 rounding in another order, in 17 kernels against 21 for the default
 * network (relu, c, both layers; 20 against 25 with biases). A new TwoLayer; `p`'s tensors are kept
 * (a frozen layer's is the same tensor). Inside tidy.
 */
export function plainStep(
  p: TwoLayer,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  sigma: Activation,
  s: number,
  loss: Loss,
  rates: PlainRates,
): TwoLayer {
  const pre = preActivation(x, p.w, p.b);
  const h = sigma.sigma(pre) as tf.Tensor2D;
  const { residual, factor } = lossResidual(loss, output(p, h, s), y);
  // the residual scaled for a layer: κ·rate·s (one tensor where the two layers share a rate)
  const scaled = new Map<number, tf.Tensor2D>();
  const times = (rate: number) => {
    let t = scaled.get(rate);
    if (!t) scaled.set(rate, (t = tf.mul(residual, factor * rate * s) as tf.Tensor2D));
    return t;
  };
  let { w, b, a, c } = p;
  if (rates.first) {
    const dz = tf.mul(backProduct(p, times(rates.first)), sigma.derivative(pre)) as tf.Tensor2D;
    w = tf.sub(p.w, tf.matMul(dz, x, true, false)) as tf.Tensor2D;
    if (p.b) b = tf.sub(p.b, tf.sum(dz, 0, true)) as tf.Tensor2D;
  }
  if (rates.readout) {
    a = tf.sub(p.a, readoutProduct(p, h, times(rates.readout))) as tf.Tensor2D;
  }
  if (p.c && rates.bias)
    c = tf.sub(p.c, tf.mul(tf.sum(residual, 0, true), factor * rates.bias)) as tf.Tensor2D;
  return { w, b, a, c, shared: p.shared };
}

/** The trained network as a predictor; its representation is the hidden layer s·σ(Wx + b). */
export function twoLayerPredictor(params: TwoLayer, sigma: Activation, s: number): Predictor {
  return {
    features: params.w,
    representation: (x) =>
      tf.tidy(() => {
        return tf.mul(sigma.sigma(preActivation(x, params.w, params.b)), s) as tf.Tensor2D;
      }),
    predict: (x) => tf.tidy(() => forward(params, x, sigma, s)),
    dispose: () => disposeTwoLayer(params),
  };
}
