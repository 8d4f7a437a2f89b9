/**
 * Two-layer networks f(x) = s · Σ_j a_j σ(⟨w_j, x⟩ + b_j) with hand-written backward passes
 * (a few matMuls, like a numpy implementation), so a training step is one tf.tidy with no tape.
 * The gradients are tested against finite differences of a float64 reference.
 */
import { DivergenceError, type Rng, randomNormal, z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from '../activations/index.js';

export interface TwoLayer {
  w: tf.Tensor2D; // N×d
  b: tf.Tensor2D | undefined; // 1×N
  a: tf.Tensor2D; // N×k
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

/** Draw the parameters; `symmetric` pairs neuron j with j + N/2 (same w, b; opposite a), so f₀ ≡ 0. */
export function initTwoLayer(
  rng: Rng,
  o: { width: number; bias: number; symmetric: boolean },
  d: number,
  k: number,
  readoutInit: number,
): TwoLayer {
  const half = o.symmetric ? o.width / 2 : o.width;
  const wHalf = randomNormal(rng.child('W'), half, d, 1 / Math.sqrt(d));
  const aHalf = randomNormal(rng.child('a'), half, k, readoutInit);
  const bHalf = o.bias > 0 ? randomNormal(rng.child('b'), 1, half, o.bias) : undefined;
  if (!o.symmetric) return { w: wHalf, a: aHalf, b: bHalf };
  const w = tf.concat([wHalf, wHalf], 0);
  const a = tf.tidy(() => tf.concat([aHalf, tf.neg(aHalf)], 0));
  const b = bHalf ? tf.concat([bHalf, bHalf], 1) : undefined;
  tf.dispose([wHalf, aHalf, ...(bHalf ? [bHalf] : [])]);
  return { w, a, b };
}

export function disposeTwoLayer(p: TwoLayer): void {
  tf.dispose([p.w, p.a, ...(p.b ? [p.b] : [])]);
}

export function cloneTwoLayer(p: TwoLayer): TwoLayer {
  return { w: p.w.clone(), a: p.a.clone(), b: p.b?.clone() };
}

/** f(x). Inside tidy. */
export function forward(p: TwoLayer, x: tf.Tensor2D, sigma: Activation, s: number): tf.Tensor2D {
  const pre = tf.matMul(x, p.w, false, true);
  const h = sigma.sigma(p.b ? tf.add(pre, p.b) : pre);
  return tf.mul(tf.matMul(h, p.a), s) as tf.Tensor2D;
}

export type Loss = 'mse' | 'logistic';
export const lossOption = z
  .enum(['mse', 'logistic'])
  .default('mse')
  .describe('mse, or logistic for ±1 labels');

/** Mean loss over samples and outputs, and its derivative in f. Inside tidy. */
export function lossAndSlope(loss: Loss, f: tf.Tensor2D, y: tf.Tensor2D) {
  const count = f.shape[0] * f.shape[1];
  if (loss === 'mse') {
    const r = tf.sub(f, y);
    return { value: tf.mean(tf.square(r)), slope: tf.mul(r, 2 / count) };
  }
  const margin = tf.mul(y, f);
  // log(1 + e^{−m}) = softplus(−m); d/df = −y·sigmoid(−m)
  return {
    value: tf.mean(tf.softplus(tf.neg(margin))),
    slope: tf.mul(tf.mul(y, tf.sigmoid(tf.neg(margin))), -1 / count),
  };
}

export interface Gradients {
  loss: tf.Scalar;
  w: tf.Tensor2D;
  b: tf.Tensor2D | undefined;
  a: tf.Tensor2D;
}

/** The loss and its gradients by hand: da = s·hᵀ∂f, dz = s·(∂f aᵀ) ⊙ σ'(z), dW = dzᵀx, db = Σ_i dz. Inside tidy. */
export function gradients(
  p: TwoLayer,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  sigma: Activation,
  s: number,
  loss: Loss,
): Gradients {
  const pre0 = tf.matMul(x, p.w, false, true);
  const pre = p.b ? tf.add(pre0, p.b) : pre0;
  const h = sigma.sigma(pre) as tf.Tensor2D;
  const f = tf.mul(tf.matMul(h, p.a), s) as tf.Tensor2D;
  const { value, slope } = lossAndSlope(loss, f, y);
  const a = tf.mul(tf.matMul(h, slope, true, false), s) as tf.Tensor2D;
  const dz = tf.mul(tf.mul(tf.matMul(slope, p.a, false, true), s), sigma.derivative(pre)) as tf.Tensor2D;
  const w = tf.matMul(dz, x, true, false) as tf.Tensor2D;
  const b = p.b ? (tf.sum(dz, 0, true) as tf.Tensor2D) : undefined;
  return { loss: value as tf.Scalar, w, b, a };
}

/** Learning-rate schedules over the steps of a run. */
export const scheduleOption = z
  .enum(['constant', 'cosine', 'step', 'inverse-sqrt'])
  .default('constant')
  .describe('learning rate over steps: constant, cosine to 0, ×0.1 every stepEvery steps, or 1/√(1 + t/100)');

export function scheduleFactor(
  kind: z.output<typeof scheduleOption>,
  step: number,
  total: number,
  every: number,
): number {
  switch (kind) {
    case 'constant':
      return 1;
    case 'cosine':
      return 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, total)));
    case 'step':
      return 0.1 ** Math.floor(step / every);
    case 'inverse-sqrt':
      return 1 / Math.sqrt(1 + step / 100);
  }
}

/** Plain or Adam (decoupled weight decay) updates of one parameter tensor. */
export class ParameterUpdate {
  private m: tf.Tensor | undefined;
  private v: tf.Tensor | undefined;
  private t = 0;
  constructor(
    private readonly optimizer: 'gd' | 'sgd' | 'adam',
    private readonly weightDecay: number,
  ) {}

  /** The new value of p; disposes nothing the caller owns. Inside tidy: keep its result. */
  step(p: tf.Tensor, g: tf.Tensor, lr: number): tf.Tensor {
    if (this.optimizer !== 'adam') {
      const decayed = this.weightDecay ? tf.add(g, tf.mul(p, this.weightDecay)) : g;
      return tf.sub(p, tf.mul(decayed, lr));
    }
    this.t++;
    const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
    const m = tf.add(tf.mul(this.m ?? tf.zerosLike(g), beta1), tf.mul(g, 1 - beta1));
    const v = tf.add(tf.mul(this.v ?? tf.zerosLike(g), beta2), tf.mul(tf.square(g), 1 - beta2));
    this.m?.dispose();
    this.v?.dispose();
    this.m = tf.keep(m);
    this.v = tf.keep(v);
    const mHat = tf.div(m, 1 - beta1 ** this.t);
    const vHat = tf.div(v, 1 - beta2 ** this.t);
    let update = tf.div(mHat, tf.add(tf.sqrt(vHat), eps));
    if (this.weightDecay) update = tf.add(update, tf.mul(p, this.weightDecay));
    return tf.sub(p, tf.mul(update, lr));
  }

  dispose(): void {
    tf.dispose([...(this.m ? [this.m] : []), ...(this.v ? [this.v] : [])]);
  }
}

/** Throws DivergenceError when a recorded loss is not finite or exceeds the bound. */
export function checkDivergence(
  loss: number,
  step: number,
  lastFinite: number | undefined,
  bound: number,
): void {
  if (!Number.isFinite(loss) || loss > bound) {
    throw new DivergenceError(
      `training diverged at step ${step}: loss ${loss} (bound ${bound.toExponential(1)}); lower the learning rate`,
      step,
      lastFinite,
    );
  }
}

/** ‖W Uᵀ‖²_F / ‖W‖²_F on tensors. Inside tidy. */
export function subspaceEnergy(w: tf.Tensor2D, u: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.sum(tf.square(tf.matMul(w, u, false, true))), tf.sum(tf.square(w))) as tf.Scalar;
}
