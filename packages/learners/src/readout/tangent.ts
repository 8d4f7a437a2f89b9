/**
 * The neural tangent model of Ghorbani, Mei, Misiakiewicz & Montanari 2019 — the linearization of a
 * two-layer network around a frozen random first layer W:
 *   f(x) = Σ_j σ'(⟨w_j, x⟩ + b_j)⟨g_j, x⟩/√(Nd)  [+ Σ_j a_j σ(⟨w_j, x⟩ + b_j)/√N with layers: both],
 * linear in (G, a), fitted by ridge. Its features x ⊗ σ'(Wx) number N·d: solved in the primal when
 * N·d ≤ n, else in the dual with K(x, x') = (⟨x,x'⟩/d)·(Σ_j σ'_j(x)σ'_j(x')/N) [+ Σ_j σ_jσ_j/N],
 * then G = Σ_i α_i σ'(Wx_i)x_iᵀ/√(Nd) is formed, so prediction needs no training data.
 */
import type { Dataset, FitContext, Predictor } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import type { Activation } from '../activations/index.js';
import type { KernelFunction } from '../kernels.js';
import { drawFirstLayer, type FirstLayer, preActivation } from './first-layer.js';
import { predictorFromFits, solveSystem, withIntercept } from './predictors.js';
import type { RidgeOptions } from './options.js';
import { disposeFit, type RidgeFit } from './ridge.js';
import { dualSystem, primalSystem, withoutOffsets } from './systems.js';

export type TangentOptions = RidgeOptions & {
  width: number;
  weights: 'sphere' | 'gaussian';
  bias: number;
  layers: 'first' | 'both';
};

/**
 * The fitted directions G (one N×d per output), with layers: both the readout a (N×k), and the
 * intercept b (1×k) when one is fitted.
 */
type TangentWeights = {
  gs: tf.Tensor[];
  a: tf.Tensor2D | undefined;
  b?: tf.Tensor2D | undefined;
};

/** The linearized network around one first layer. Its methods work inside tidy. */
class Tangent {
  readonly scale: number;
  constructor(
    readonly layer: FirstLayer,
    readonly sigma: Activation,
    readonly d: number,
    readonly both: boolean,
  ) {
    this.scale = 1 / Math.sqrt(this.width * d);
  }

  get width(): number {
    return this.layer.w.shape[0];
  }

  /** The number of features: N·d, plus N with the readout. */
  get size(): number {
    return this.width * this.d + (this.both ? this.width : 0);
  }

  slopes(x: tf.Tensor2D): tf.Tensor2D {
    return this.sigma.derivative(preActivation(x, this.layer.w, this.layer.b)) as tf.Tensor2D;
  }

  values(x: tf.Tensor2D): tf.Tensor {
    return this.sigma.sigma(preActivation(x, this.layer.w, this.layer.b));
  }

  /** Φ = [vec(σ'(Wx+b) ⊗ x)/√(Nd), σ(Wx+b)/√N]. */
  features(x: tf.Tensor2D): tf.Tensor2D {
    const [n, N, d] = [x.shape[0], this.width, this.d];
    const outer = tf.reshape(tf.mul(tf.expandDims(this.slopes(x), 2), tf.expandDims(x, 1)), [n, N * d]);
    const parts = [tf.mul(outer, this.scale)];
    if (this.both) parts.push(tf.div(this.values(x), Math.sqrt(N)));
    return tf.concat(parts, 1) as tf.Tensor2D;
  }

  /** Φ Φᵀ without forming Φ. */
  kernel(): KernelFunction {
    const N = this.width;
    return (a1, a2) =>
      tf.tidy(() => {
        const linear = tf.div(tf.matMul(a1, a2, false, true), this.d);
        let out = tf.mul(linear, tf.div(tf.matMul(this.slopes(a1), this.slopes(a2), false, true), N));
        if (this.both) out = tf.add(out, tf.div(tf.matMul(this.values(a1), this.values(a2), false, true), N));
        return out as tf.Tensor2D;
      });
  }

  /** G and a from primal coefficients (N·d [+ N] × k). */
  fromPrimal(c: tf.Tensor2D): TangentWeights {
    const [N, d, k] = [this.width, this.d, c.shape[1]];
    const gs = Array.from({ length: k }, (_, j) => tf.reshape(tf.slice(c, [0, j], [N * d, 1]), [N, d]));
    const a = this.both ? (tf.slice(c, [N * d, 0], [N, k]) as tf.Tensor2D) : undefined;
    return { gs, a };
  }

  /** G = Σ_i α_i σ'(Wx_i)x_iᵀ/√(Nd) and a = Σ_i α_i σ(Wx_i)/√N from dual coefficients α (n×k). */
  fromDual(x: tf.Tensor2D, alpha: tf.Tensor2D): TangentWeights {
    const n = x.shape[0];
    const s = this.slopes(x); // n×N
    const gs = Array.from({ length: alpha.shape[1] }, (_, c) => {
      const column = tf.slice(alpha, [0, c], [n, 1]);
      return tf.mul(tf.matMul(tf.mul(s, column), x, true, false), this.scale); // N×d
    });
    const a = this.both
      ? (tf.div(tf.matMul(this.values(x), alpha, true, false), Math.sqrt(this.width)) as tf.Tensor2D)
      : undefined;
    return { gs, a };
  }

  predict(x: tf.Tensor2D, { gs, a, b }: TangentWeights): tf.Tensor2D {
    const s = this.slopes(x);
    const columns = gs.map((g) => tf.sum(tf.mul(s, tf.matMul(x, g as tf.Tensor2D, false, true)), 1, true));
    let out: tf.Tensor = tf.mul(tf.concat(columns, 1), this.scale);
    if (a) out = tf.add(out, tf.matMul(tf.div(this.values(x), Math.sqrt(this.width)), a));
    return withIntercept(out as tf.Tensor2D, b);
  }
}

/** Ridge fits of the tangent model (primal or dual) and the weights G, a of each. */
async function fitTangent(
  model: Tangent,
  train: Dataset,
  o: RidgeOptions,
  signal: AbortSignal,
  primal: boolean,
): Promise<{ fits: RidgeFit[]; weights: TangentWeights[] }> {
  let fits: RidgeFit[];
  const intercept = o.intercept ?? false;
  if (primal) {
    const phi = tf.tidy(() => model.features(train.x));
    try {
      fits = await solveSystem(primalSystem(phi, train.y, intercept), o, signal);
    } finally {
      phi.dispose();
    }
  } else
    fits = withoutOffsets(
      await solveSystem(dualSystem(train.x, train.y, model.kernel(), intercept), o, signal),
    );
  // the dual's coefficients are β = Cα with an intercept, so G and a below are Φ_cᵀα (systems.ts)
  const weights: TangentWeights[] = [];
  try {
    for (const fit of fits)
      weights.push({
        ...tf.tidy(() =>
          primal ? model.fromPrimal(fit.coefficients) : model.fromDual(train.x, fit.coefficients),
        ),
        b: fit.intercept,
      });
  } catch (error) {
    for (const w of weights) tf.dispose([...w.gs, ...(w.a ? [w.a] : [])]);
    for (const fit of fits) disposeFit(fit);
    throw error;
  }
  for (const fit of fits) fit.coefficients.dispose();
  return { fits, weights };
}

/** Fit the neural tangent model; the learned directions G are the predictor's first layer. */
export async function fitNeuralTangent(
  o: TangentOptions,
  sigma: Activation,
  train: Dataset,
  ctx: FitContext,
): Promise<Predictor> {
  ctx.signal.throwIfAborted();
  const [n, d] = train.x.shape;
  const layer = drawFirstLayer(ctx.rng.child('init'), o, d);
  const model = new Tangent(layer, sigma, d, o.layers === 'both');
  const primal = model.size <= n;
  const owned = layer.b ? [layer.w, layer.b] : [layer.w];
  let fitted: Awaited<ReturnType<typeof fitTangent>>;
  try {
    fitted = await fitTangent(model, train, o, ctx.signal, primal);
  } catch (error) {
    tf.dispose(owned);
    throw error;
  }
  const { fits, weights } = fitted;
  return predictorFromFits(
    fits,
    (fit) => {
      const w = weights[fits.indexOf(fit)]!;
      return {
        features: w.gs[0] as tf.Tensor2D,
        predict: (x) => tf.tidy(() => model.predict(x, w)),
        dispose: () => tf.dispose([...w.gs, ...(w.a ? [w.a] : []), ...(w.b ? [w.b] : [])]),
      };
    },
    owned,
    { dual: primal ? 0 : 1 },
  );
}
