/**
 * The empirical NTK of a finite fully connected network in the NTK parametrization — the network
 * whose width → ∞ limit is kernels.ts `deepKernel`:
 *   h¹ = σ_w W¹x/√d + σ_b β¹,  h^{ℓ+1} = σ_w W^{ℓ+1}σ(h^ℓ)/√N + σ_b β^{ℓ+1},  f = σ_w aᵀσ(h^L)/√N,
 * all entries N(0, 1) at initialisation. Θ̂(x, x′) = Σ_θ ∂f/∂θ(x) ∂f/∂θ(x′) without the Jacobian:
 * with δ^ℓ = ∂f/∂h^ℓ (δ^L = σ'(h^L) ⊙ σ_w a/√N, δ^ℓ = σ'(h^ℓ) ⊙ (σ_w/√N) W^{ℓ+1}ᵀδ^{ℓ+1}) and
 * a^ℓ = σ(h^ℓ) (a⁰ = x), the weights of layer ℓ contribute (δ^ℓ·δ^ℓ′)(σ_w²/fan_ℓ)(a^{ℓ−1}·a^{ℓ−1}′),
 * its biases σ_b²(δ^ℓ·δ^ℓ′), the readout (σ_w²/N)(a^L·a^L′) — exact, at O(N) per point and layer
 * instead of the O(N²) of a Jacobian row. `train` keeps the parameters that train, as `deepKernel`'s:
 * every layer, the first hidden layer (W¹, β¹), or the readout (the NNGP's empirical counterpart).
 * With k outputs the readout has k columns and the kernel is that of output 1.
 */
import { randomNormal, type Rng } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { type Activation, activation, type ActivationSpec } from './activations/index.js';
import type { KernelFunction } from './kernels.js';

/** The raw parameters, entries N(0, 1) at initialisation. */
export interface FullyConnected {
  /** W^ℓ, N × fan-in (d for ℓ = 1), ℓ = 1..L. */
  readonly weights: tf.Tensor2D[];
  /** β^ℓ (1 × N), ℓ = 1..L; absent without biases. */
  readonly biases?: tf.Tensor2D[];
  /** a (N × k). */
  readonly readout: tf.Tensor2D;
}

export interface EmpiricalSpec {
  readonly activation: ActivationSpec;
  readonly weightVariance: number;
  readonly biasVariance: number;
  readonly train: 'both' | 'first' | 'readout';
}

/** Draw W^ℓ, β^ℓ (where σ_b > 0) and a from the stream: (`W`, ℓ), (`beta`, ℓ), `a`. */
export function initFullyConnected(
  rng: Rng,
  o: { layers: number; width: number; biasVariance: number },
  d: number,
  k: number,
): FullyConnected {
  const n = o.width;
  return {
    weights: Array.from({ length: o.layers }, (_, l) => randomNormal(rng.child('W', l), n, l ? n : d)),
    ...(o.biasVariance > 0
      ? { biases: Array.from({ length: o.layers }, (_, l) => randomNormal(rng.child('beta', l), 1, n)) }
      : {}),
    readout: randomNormal(rng.child('a'), n, k),
  };
}

export function disposeFullyConnected(p: FullyConnected): void {
  tf.dispose([...p.weights, ...(p.biases ?? []), p.readout]);
}

/** f(x) (n×k). Inside tidy. */
export function fullyConnectedForward(p: FullyConnected, x: tf.Tensor2D, spec: EmpiricalSpec): tf.Tensor2D {
  const sigma = activation(spec.activation);
  return tf.matMul(forwardLayers(p, x, spec, sigma).top, effectiveReadout(p, spec)) as tf.Tensor2D;
}

/** σ_w a/√N. Inside tidy. */
const effectiveReadout = (p: FullyConnected, spec: EmpiricalSpec) =>
  tf.mul(p.readout, Math.sqrt(spec.weightVariance / p.readout.shape[0]));

/** h^ℓ and a^ℓ per layer. Inside tidy. */
function forwardLayers(p: FullyConnected, x: tf.Tensor2D, spec: EmpiricalSpec, sigma: Activation) {
  const sw = Math.sqrt(spec.weightVariance);
  const sb = Math.sqrt(spec.biasVariance);
  const inputs: tf.Tensor2D[] = [];
  const pre: tf.Tensor2D[] = [];
  let a = x;
  p.weights.forEach((w, l) => {
    inputs.push(a);
    let h = tf.mul(tf.matMul(a, w, false, true), sw / Math.sqrt(w.shape[1]));
    if (p.biases && sb > 0) h = tf.add(h, tf.mul(p.biases[l]!, sb));
    pre.push(h as tf.Tensor2D);
    a = sigma.sigma(h) as tf.Tensor2D;
  });
  return { inputs, pre, top: a };
}

/**
 * The factors of Θ̂ for a block of points: per trained layer the back-propagated δ^ℓ and the
 * layer's input a^{ℓ−1}, and the top features a^L for the readout. Inside tidy.
 */
function factors(p: FullyConnected, x: tf.Tensor2D, spec: EmpiricalSpec, sigma: Activation) {
  const { inputs, pre, top } = forwardLayers(p, x, spec, sigma);
  const L = p.weights.length;
  const sw = Math.sqrt(spec.weightVariance);
  const layers: { delta: tf.Tensor2D; input: tf.Tensor2D }[] = [];
  if (spec.train !== 'readout') {
    // δ^L = σ'(h^L) ⊙ σ_w a₁ᵀ/√N (output 1), then down to layer 1
    const a1 = tf.reshape(tf.slice(effectiveReadout(p, spec), [0, 0], [-1, 1]), [1, -1]);
    let delta = tf.mul(sigma.derivative(pre[L - 1]!), a1) as tf.Tensor2D;
    for (let l = L - 1; l >= 0; l--) {
      if (spec.train === 'both' || l === 0) layers.push({ delta, input: inputs[l]! });
      if (l > 0) {
        const w = p.weights[l]!;
        const back = tf.mul(tf.matMul(delta, w), sw / Math.sqrt(w.shape[1]));
        delta = tf.mul(back, sigma.derivative(pre[l - 1]!)) as tf.Tensor2D;
      }
    }
  }
  return { layers, top: spec.train === 'first' ? undefined : top };
}

/** Θ̂ of two factor sets. Inside tidy. */
function gram(
  u: ReturnType<typeof factors>,
  v: ReturnType<typeof factors>,
  spec: EmpiricalSpec,
  width: number,
): tf.Tensor2D {
  const w = spec.weightVariance;
  const s = spec.biasVariance;
  let out: tf.Tensor | undefined;
  const add = (t: tf.Tensor) => (out = out ? tf.add(out, t) : t);
  u.layers.forEach(({ delta, input }, i) => {
    const other = v.layers[i]!;
    const inputs = tf.mul(tf.matMul(input, other.input, false, true), w / input.shape[1]);
    add(tf.mul(tf.matMul(delta, other.delta, false, true), s > 0 ? tf.add(inputs, s) : inputs));
  });
  if (u.top && v.top) add(tf.mul(tf.matMul(u.top, v.top, false, true), w / width));
  return out as tf.Tensor2D;
}

/**
 * Θ̂ as a kernel function: the factors of `block` rows at a time (each block's δ^ℓ, a^{ℓ−1}: O(N)
 * numbers per point and layer), every pair of blocks one matrix product per layer.
 */
export function empiricalNtk(p: FullyConnected, spec: EmpiricalSpec, block = 512): KernelFunction {
  const sigma = activation(spec.activation);
  const width = p.readout.shape[0];
  return (a, b) =>
    tf.tidy(() => {
      const blocks = (x: tf.Tensor2D) =>
        Array.from({ length: Math.ceil(x.shape[0] / block) }, (_, i) =>
          factors(p, tf.slice(x, [i * block, 0], [Math.min(block, x.shape[0] - i * block), -1]), spec, sigma),
        );
      const left = blocks(a);
      const right = a === b ? left : blocks(b);
      const rows = left.map((u) => {
        const parts = right.map((v) => gram(u, v, spec, width));
        return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
      });
      return (rows.length === 1 ? rows[0]! : tf.concat(rows, 0)) as tf.Tensor2D;
    });
}
