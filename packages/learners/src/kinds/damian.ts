/**
 * `damian`: the algorithm of Damian, Lee & Soltanolkotabi 2022 for f*(x) = g(Ux).
 *  1. symmetric init: pairs of neurons with the same w_j ~ N(0, I/d) and opposite a_j = ±1, biases 0,
 *     so f₀ ≡ 0 and the first gradient is the target's signal alone;
 *  2. `firstSteps` full-batch gradient steps on W with weight decay λ₁ = 1/η₁, so that one step gives
 *     W₁ = −η₁∇_W L̂(W₀): the initialisation is cancelled and W₁ is the gradient, whose rows lie (to
 *     leading order) in span U through E[∇²f*] — the degree-2 Hermite part of the target;
 *  3. the rows of W₁ are normalized (ours: the scale of W₁ is arbitrary once λ₁η₁ = 1), biases
 *     re-drawn b_j ~ N(0, `biasScale`²);
 *  4. the readout fitted by ridge on σ(W₁x + b), on a fresh part of the sample (`split`).
 * The paper's choices: symmetric init, λ₁ = 1/η₁, re-initialised biases, a convex second stage.
 * Ours: the row normalization, ReLU by default, the ridge (closed form) for the second stage, and
 * the sample split (the paper's analysis uses independent samples per stage).
 */
import {
  type Dataset,
  defineLearnerKind,
  type FitContext,
  type LearnerFactory,
  options,
  randomNormal,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Activation, activationOption } from '../activations/index.js';
import { overlaps, topSingular } from '../probes/subspace.js';
import { twoStageLearner } from '../readout/first-layer.js';
import { ridgeOptions } from '../readout/options.js';
import { gradients, initTwoLayer } from '../training/two-layer.js';

export const damianOptions = options({
  width: z.number().int().min(2).default(1024).describe('N, neurons (even: symmetric pairs)'),
  activation: activationOption,
  firstSteps: z.number().int().min(1).default(1).describe('gradient steps on W in the first stage'),
  eta: z.number().positive().default(1).describe('η₁, first-stage step size (λ₁ = 1/η₁)'),
  biasScale: z.number().min(0).default(1).describe('std of the re-drawn biases'),
  split: z.number().gt(0).lt(1).default(0.5).describe('share of the sample used by the first stage'),
  ...ridgeOptions,
}).superRefine((o, ctx) => {
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
  description:
    'Damian, Lee & Soltanolkotabi 2022: symmetric init, a weight-decayed gradient step on W, new biases, ridge readout',
  options: damianOptions,
  create: (o) =>
    twoStageLearner(o, async (first, ctx, sigma) => {
      const w = firstStage(first, ctx, o, sigma);
      const b = o.biasScale > 0 ? randomNormal(ctx.rng.child('bias'), 1, o.width, o.biasScale) : undefined;
      const extra: Record<string, number> = {};
      if (ctx.monitor?.subspace) {
        const { u, rank } = ctx.monitor.subspace;
        const top = await topSingular(w, rank);
        const fractions = overlaps(u, rank, top.vectors, top.values.length, first.x.shape[1]);
        extra['first-stage-alignment'] = fractions.reduce((a, v) => a + v, 0) / fractions.length;
      }
      return { layer: { w, b }, extra };
    }),
});

/**
 * Steps 1–3 on the first part of the sample: from the symmetric init, `firstSteps` steps
 * W ← W − η(∇L + λW) with λ = 1/η, that is W ← −η∇L; then the rows of W normalized.
 */
function firstStage(first: Dataset, ctx: FitContext, o: DamianOptions, sigma: Activation): tf.Tensor2D {
  const [, d] = first.x.shape;
  const k = first.y.shape[1];
  // f(x) = (1/N) Σ a_j σ(⟨w_j, x⟩), a_j = ±1 in pairs
  const init = initTwoLayer(ctx.rng.child('init'), { width: o.width, bias: 0, symmetric: true }, d, k, 1);
  const signs = tf.tidy(() => tf.sign(init.a));
  init.a.dispose();
  let params = { w: init.w, b: undefined, a: signs as tf.Tensor2D };
  for (let step = 0; step < o.firstSteps; step++) {
    ctx.signal.throwIfAborted();
    const w = tf.tidy(
      () =>
        tf.mul(
          gradients(params, first.x, first.y, sigma, 1 / o.width, 'mse').w,
          -o.eta * o.width,
        ) as tf.Tensor2D,
    );
    params.w.dispose();
    params = { ...params, w };
  }
  const w = tf.tidy(
    () => tf.div(params.w, tf.maximum(tf.norm(params.w, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D,
  );
  tf.dispose([params.w, params.a]);
  return w;
}
