/**
 * `damian`: the algorithm of Damian, Lee & Soltanolkotabi 2022 for f*(x) = g(Ux), with the defaults
 * of the authors' reference code (He₂/√2, d = 100, n = 10⁴, width 1000; docs/papers/damian.md).
 *  0. the linear part of y removed (`linearPart`): y ← y − c₀ − xᵀc₁, c₀ = mean(y), c₁ = mean(y x),
 *     and added back to the predictions; without it the step's top direction is E[yx]'s noise;
 *  1. symmetric init: pairs of neurons with the same w_j ~ N(0, I/d), the same b_j ~ N(0,
 *     `biasScale`²) and opposite a_j = ±1, so f₀ ≡ 0 and the first gradient is the target's signal;
 *  2. `firstSteps` full-batch gradient steps on W with weight decay λ₁ = 1/η₁, so that one step gives
 *     W₁ = −η₁∇_W L̂(W₀): the initialisation is cancelled and W₁ is the gradient, whose rows lie (to
 *     leading order) in span U through E[∇²f*] — the degree-2 Hermite part of the target;
 *  3. W₁'s scale fixed (`normalize`): divided by its root-mean-square row norm (the authors' code),
 *     or each row to unit norm; the biases kept from the init (`biases: keep`, the code) or re-drawn;
 *  4. the readout fitted by ridge on σ(W₁x + b)/√N, λ chosen by leave-one-out over a wide grid (the
 *     code: a validation set over geomspace(1e-10, 1e15)), on the same samples (`split: reuse`, the
 *     code) or a fresh part of them (the paper's analysis).
 * Ours: the ridge in closed form with λ by LOO rather than a validation set; ReLU is also the code's.
 */
import {
  type Dataset,
  defineLearnerKind,
  DivergenceError,
  type FitContext,
  type LearnerFactory,
  options,
  randomNormal,
  z,
} from '@regimes/core';
import { hostScalar, hostValues } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { twoStageEstimate } from '../cost.js';
import { type Activation, activationOption } from '../activations/index.js';
import { overlaps, subspaceEnergy, topSingular } from '../probes/subspace.js';
import { stageSplit, twoStageLearner } from '../readout/first-layer.js';
import { refineRidge, ridgeOptions } from '../readout/options.js';
import { gradients, initTwoLayer } from '../training/two-layer.js';

/** 10^from … 10^to by quarter decades. */
const quarterDecades = (from: number, to: number) =>
  Array.from({ length: 4 * (to - from) + 1 }, (_, i) => Number((10 ** (from + i / 4)).toPrecision(6)));

export const damianOptions = options({
  width: z.number().int().min(2).default(1000).describe('N, neurons (even: symmetric pairs)'),
  activation: activationOption,
  firstSteps: z.number().int().min(1).default(1).describe('gradient steps on W in the first stage'),
  eta: z.number().positive().default(1).describe('η₁, first-stage step size (λ₁ = 1/η₁)'),
  biasScale: z.number().min(0).default(1).describe('std of the biases b ~ N(0, biasScale²) (0: none)'),
  biases: z
    .enum(['keep', 'redraw'])
    .default('keep')
    .describe(
      'keep: the init biases (same within a pair) are used by the step and kept; redraw: none in the step, fresh ones after',
    ),
  normalize: z
    .enum(['rms', 'rows'])
    .default('rms')
    .describe('W₁ scaled by its root-mean-square row norm (authors’ code), or each row to unit norm'),
  linearPart: z
    .enum(['remove', 'keep'])
    .default('remove')
    .describe('remove: subtract mean(y) + xᵀmean(yx) from y before both stages, add it back to predictions'),
  split: stageSplit
    .default('reuse')
    .describe('reuse: both stages on all n samples (authors’ code); a number: the first stage’s share'),
  ...ridgeOptions,
  ridge: ridgeOptions.ridge
    .unwrap()
    .default('loo')
    .describe('λ of the readout: loo (default, as the authors tune it), gcv, a number or a list'),
  ridgeGrid: ridgeOptions.ridgeGrid
    .unwrap()
    .default(quarterDecades(-9, 4))
    .describe('candidate λ for gcv / loo (default 1e-9 … 1e4 by quarter decades)'),
}).superRefine((o, ctx) => {
  refineRidge(false)(o, ctx);
  if (o.width % 2)
    ctx.addIssue({
      code: 'custom',
      path: ['width'],
      message: `symmetric init pairs neurons: width must be even, got ${o.width}`,
    });
});

type DamianOptions = z.output<typeof damianOptions>;

export const damian: LearnerFactory = defineLearnerKind({
  kind: 'damian',
  representation: true, // its predictors expose the features the readout reads (transfer's base)
  description:
    'Damian, Lee & Soltanolkotabi 2022: linear part removed, symmetric init, one normalized gradient step on W, ridge readout (λ by LOO)',
  options: damianOptions,
  estimate: (o, s) => twoStageEstimate(o, s),
  create: (o) =>
    twoStageLearner(
      o,
      async (first, ctx, sigma) => {
        const { w, b } = await firstStage(first, ctx, o, sigma);
        const extra: Record<string, number> = {};
        try {
          if (ctx.monitor?.subspace) {
            const { u, rank } = ctx.monitor.subspace;
            const d = first.x.shape[1];
            const top = await topSingular(w, rank);
            const fractions = overlaps(u, rank, top.vectors, top.values.length, d);
            extra['first-stage-alignment'] = fractions.reduce((a, v) => a + v, 0) / fractions.length;
            const energy = tf.tidy(() => subspaceEnergy(w, tf.tensor2d(Float32Array.from(u), [rank, d])));
            extra['first-stage-energy'] = await hostScalar(energy);
          }
        } catch (error) {
          tf.dispose([w, ...(b ? [b] : [])]);
          throw error;
        }
        return { layer: { w, b }, extra };
      },
      'biasScale (W is normalized)',
    ),
});

/**
 * Steps 1–3 on the first stage's samples: from the symmetric init, `firstSteps` steps
 * W ← W − η(∇L + λW) with λ = 1/η, that is W ← −η∇L; then W's scale fixed, and the biases.
 * The scale is taken on W/max|W|, so that a large η (which the normalisation cancels after one
 * step) does not overflow float32's squares; a W that is itself not finite is a DivergenceError.
 */
async function firstStage(first: Dataset, ctx: FitContext, o: DamianOptions, sigma: Activation) {
  const [, d] = first.x.shape;
  const k = first.y.shape[1];
  const keep = o.biases === 'keep' && o.biasScale > 0;
  // f(x) = (1/N) Σ a_j σ(⟨w_j, x⟩ + b_j), a_j = ±1 in pairs sharing w_j and b_j
  const init = initTwoLayer(
    ctx.rng.child('init'),
    { width: o.width, bias: keep ? o.biasScale : 0, symmetric: true },
    d,
    k,
    1,
  );
  let params = { w: init.w, b: init.b, a: init.a };
  let w: tf.Tensor2D;
  try {
    const signs = tf.tidy(() => tf.sign(params.a)) as tf.Tensor2D;
    params.a.dispose();
    params = { ...params, a: signs };
    for (let step = 0; step < o.firstSteps; step++) {
      ctx.signal.throwIfAborted();
      const next = tf.tidy(
        () =>
          tf.mul(
            gradients(params, first.x, first.y, sigma, 1 / o.width, 'mse').w,
            -o.eta * o.width,
          ) as tf.Tensor2D,
      );
      params.w.dispose();
      params = { ...params, w: next };
    }
    // max|W|, and Σ 0·W: NaN when an entry is not finite
    const probe = tf.tidy(() => tf.stack([tf.max(tf.abs(params.w)), tf.sum(tf.mul(params.w, 0))]));
    const [peak, zero] = await hostValues(probe);
    if (!Number.isFinite(peak!) || !Number.isFinite(zero!))
      throw new DivergenceError(
        `damian's first stage left W non-finite after ${o.firstSteps} step(s) of eta ${o.eta} (float32 overflow): lower eta or firstSteps`,
        o.firstSteps,
      );
    const top = peak! > 0 ? peak! : 1;
    w = tf.tidy(() => {
      const scaled = tf.div(params.w, top);
      const norms = tf.norm(scaled, 'euclidean', 1, true);
      // the authors' code: W₁ = −∇/sqrt(mean_j ‖∇_j‖²); ours before: every row to unit norm
      const scale = o.normalize === 'rms' ? tf.sqrt(tf.mean(tf.square(norms))) : norms;
      // a row of zeros (a dead unit) stays 0: the floor is in W/max|W|'s units, far above float32's
      // smallest normal number (1e-12/max|W| underflowed to 0 past max|W| ≈ 1e33, giving 0/0)
      return tf.div(scaled, tf.maximum(scale, 1e-30)) as tf.Tensor2D;
    });
  } catch (error) {
    tf.dispose([params.w, params.a, ...(params.b ? [params.b] : [])]);
    throw error;
  }
  tf.dispose([params.w, params.a]);
  try {
    const b =
      params.b ??
      (o.biasScale > 0 ? randomNormal(ctx.rng.child('bias'), 1, o.width, o.biasScale) : undefined);
    return { w, b };
  } catch (error) {
    w.dispose();
    throw error;
  }
}
