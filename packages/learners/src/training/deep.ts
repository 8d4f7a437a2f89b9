/**
 * Fully connected networks of L hidden layers with hand-written backward passes: h_0 = x,
 * h_ℓ = σ(h_{ℓ−1}W_ℓᵀ), and an output f = Σ_{ℓ∈S} h_ℓ v_ℓ that reads every layer (skip) or the
 * last one.
 */
import { type Predictor, randomNormal, type Rng } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import type { Activation } from '../activations/index.js';
import { type Loss, lossSlope } from './loss.js';

export interface DeepParams {
  w: tf.Tensor2D[]; // W_ℓ: width × fan-in
  v: tf.Tensor2D[]; // v_ℓ: width × k
}

/** The layers the output reads at `depth`: all of them (skip) or the last one. */
export function reads(o: { skip: boolean }, depth: number): number[] {
  return o.skip ? Array.from({ length: depth }, (_, l) => l) : [depth - 1];
}

/** Hidden layers 1..depth and the output reading `reads`. Inside tidy. */
export function deepForward(p: DeepParams, x: tf.Tensor2D, sigma: Activation, depth: number, out: number[]) {
  const h: tf.Tensor2D[] = [];
  const zs: tf.Tensor2D[] = [];
  let input = x;
  for (let l = 0; l < depth; l++) {
    const zl = tf.matMul(input, p.w[l]!, false, true) as tf.Tensor2D;
    zs.push(zl);
    input = sigma.sigma(zl) as tf.Tensor2D;
    h.push(input);
  }
  let f: tf.Tensor = tf.zeros([x.shape[0], p.v[0]!.shape[1]]);
  for (const l of out) f = tf.add(f, tf.matMul(h[l]!, p.v[l]!));
  return { f: f as tf.Tensor2D, h, zs };
}

/** The loss's gradients for W_ℓ (ℓ ≥ lowest) and the read v's, by hand. Inside tidy. */
export function deepGradients(
  p: DeepParams,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  sigma: Activation,
  depth: number,
  out: number[],
  lowest: number,
  loss: Loss,
) {
  const { f, h, zs } = deepForward(p, x, sigma, depth, out);
  const slope = lossSlope(loss, f, y);
  const dv = new Map<number, tf.Tensor2D>();
  for (const l of out) dv.set(l, tf.matMul(h[l]!, slope, true, false) as tf.Tensor2D);
  const dw = new Map<number, tf.Tensor2D>();
  let fromAbove: tf.Tensor2D | undefined; // dz_{ℓ+1} W_{ℓ+1}
  for (let l = depth - 1; l >= lowest; l--) {
    // the output's part, added to what comes from above (the top layer has only the first)
    const read = out.includes(l) ? tf.matMul(slope, p.v[l]!, false, true) : undefined;
    const dh = fromAbove && read ? tf.add(fromAbove, read) : (fromAbove ?? read ?? tf.zerosLike(h[l]!));
    const dz = tf.mul(dh, sigma.derivative(zs[l]!)) as tf.Tensor2D;
    dw.set(l, tf.matMul(dz, l === 0 ? x : h[l - 1]!, true, false) as tf.Tensor2D);
    if (l > lowest) fromAbove = tf.matMul(dz, p.w[l]!) as tf.Tensor2D;
  }
  return { dv, dw };
}

/** W_ℓ ~ N(0, 1/fan-in) from the stream (`W`, ℓ); readouts v_ℓ = 0. */
export function initDeep(rng: Rng, o: { layers: number; width: number }, d: number, k: number): DeepParams {
  // one tidy: a draw that throws frees the layers drawn before it
  return tf.tidy(() => ({
    w: Array.from({ length: o.layers }, (_, l) =>
      randomNormal(rng.child('W', l), o.width, l ? o.width : d, 1 / Math.sqrt(l ? o.width : d)),
    ),
    v: Array.from({ length: o.layers }, () => tf.zeros([o.width, k]) as tf.Tensor2D),
  }));
}

export function disposeDeep(p: DeepParams): void {
  tf.dispose([...p.w, ...p.v]);
}

/** The trained network as a predictor; its representation is the layers the output reads, side by side. */
export function deepPredictor(p: DeepParams, sigma: Activation, out: number[]): Predictor {
  const depth = p.w.length;
  return {
    features: p.w[0]!,
    representation: (x) =>
      tf.tidy(() => {
        const { h } = deepForward(p, x, sigma, depth, out);
        return tf.concat(
          out.map((l) => h[l]!),
          1,
        ) as tf.Tensor2D;
      }),
    predict: (x) => tf.tidy(() => deepForward(p, x, sigma, depth, out).f),
    dispose: () => disposeDeep(p),
  };
}
