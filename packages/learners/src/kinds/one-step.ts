/**
 * `one-step`: one large gradient step on the first layer, then ridge on the readout (Ba et al.
 * 2022; Cui et al. 2024; Moniri et al. 2023). f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩), w ~ N(0, I/d),
 * a_j ~ N(0, 1/N) (`readoutScale: small`, Ba et al.: f₀ ≈ 0, so the gradient carries the target
 * alone) or N(0, 1) (`unit`: f₀ = O(1), and the step also subtracts f₀'s own linear part); the step is
 *   W₁ = W₀ − η·√N·∇_W L̂(W₀),  η = η₀·n^α,
 * n being the samples of the step (Ba et al.'s n; the readout gets a fresh set, `split`). α = 0 is
 * the constant-step regime (one spike, the target's linear part) and α > 0 lets η grow with n (more
 * spikes, non-linear features); Ba et al.'s large step is η ≍ √N. The readout is fitted by ridge on
 * σ(W₁x)/√N. Records the spike: the top singular values of W₁ − W₀ (`spike.j`), how much of their
 * right singular vectors lies in span U (`delta-alignment.j`), and the same for W₁'s top right
 * singular vectors (`spike-alignment.j`), which rises with η.
 */
import {
  type Dataset,
  defineLearnerKind,
  type FitContext,
  type LearnerFactory,
  options,
  type Rng,
  z,
} from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { twoStageEstimate } from '../cost.js';
import { type Activation, activationOption } from '../activations/index.js';
import { overlaps, topSingular } from '../probes/subspace.js';
import { stageSplit, twoStageLearner } from '../readout/first-layer.js';
import { refineRidge, ridgeOptions } from '../readout/options.js';
import { gradients, initTwoLayer } from '../training/two-layer.js';

export const oneStepOptions = options({
  width: z.number().int().min(1).default(1024).describe('N, neurons'),
  activation: activationOption.default('tanh'),
  eta0: z.number().min(0).default(1).describe('η₀ in η = η₀·n^α'),
  alpha: z.number().min(0).max(1).default(0).describe('α in η = η₀·n^α (0: constant step)'),
  readoutScale: z
    .enum(['small', 'unit'])
    .default('small')
    .describe('initial readout a_j ~ N(0, 1/N) (small: f₀ ≈ 0, Ba et al.) or N(0, 1) (unit: f₀ = O(1))'),
  split: stageSplit
    .default(0.5)
    .describe(
      'share of the sample used by the gradient step (its n in η), the rest for the readout; reuse: all for both',
    ),
  spikes: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe('how many top singular values of W₁ − W₀ to record'),
  ...ridgeOptions,
  ridge: ridgeOptions.ridge
    .unwrap()
    .default(1e-3)
    .describe(
      'λ of the readout: a fixed 1e-3 by default (our runs of Ba et al.’s setting; at η₀ = 20, N = 512 it costs 0.36 against loo’s 0.22, docs/learners.md), gcv / loo, or a list',
    ),
}).superRefine(refineRidge(false));

export const oneStep: LearnerFactory = defineLearnerKind({
  kind: 'one-step',
  representation: true, // its predictors expose the features the readout reads (transfer's base)
  description:
    'one large first-layer gradient step (η = η₀·n^α), then ridge on the readout; records the spike',
  options: oneStepOptions,
  estimate: (o, s) => twoStageEstimate(o, s),
  create: (o) =>
    twoStageLearner(
      o,
      async (first, ctx, sigma) => {
        const eta = o.eta0 * first.x.shape[0] ** o.alpha;
        const { w, delta } = largeStep(first, ctx.rng.child('init'), o, eta, sigma);
        try {
          return { layer: { w, b: undefined }, extra: { eta, ...(await spikes(w, delta, o.spikes, ctx)) } };
        } catch (error) {
          w.dispose();
          throw error;
        } finally {
          delta.dispose();
        }
      },
      'eta0 (or alpha)',
    ),
});

/** W₁ = W₀ + ΔW with ΔW = −η·√N·∇_W L̂(W₀), from f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩). */
function largeStep(
  first: Dataset,
  rng: Rng,
  o: { width: number; readoutScale: 'small' | 'unit' },
  eta: number,
  sigma: Activation,
) {
  const [, d] = first.x.shape;
  const k = first.y.shape[1];
  const N = o.width;
  const readoutInit = o.readoutScale === 'small' ? 1 / Math.sqrt(N) : 1;
  const init = initTwoLayer(rng, { width: N, bias: 0, symmetric: false }, d, k, readoutInit);
  try {
    // one tidy: the add that throws frees ΔW
    return tf.tidy(() => {
      const delta = tf.mul(
        gradients(init, first.x, first.y, sigma, 1 / Math.sqrt(N), 'mse').w,
        -eta * Math.sqrt(N),
      ) as tf.Tensor2D;
      return { w: tf.add(init.w, delta) as tf.Tensor2D, delta };
    });
  } finally {
    tf.dispose([init.w, init.a]);
  }
}

/** The spike's singular values and, when the target has a subspace U, how much of it lies in U. */
async function spikes(w: tf.Tensor2D, delta: tf.Tensor2D, count: number, ctx: FitContext) {
  const extra: Record<string, number> = {};
  const spike = await topSingular(delta, count);
  spike.values.forEach((v, j) => {
    extra[`spike.${j + 1}`] = v;
  });
  if (ctx.monitor?.subspace) {
    const { u, rank } = ctx.monitor.subspace;
    const d = w.shape[1];
    // ΔW's directions do not depend on η (ΔW is linear in it); W₁'s do: its top singular vectors
    // turn towards U as the spike outgrows the bulk of W₀.
    overlaps(u, rank, spike.vectors, spike.values.length, d).forEach((v, j) => {
      extra[`delta-alignment.${j + 1}`] = v;
    });
    const top = await topSingular(w, count);
    overlaps(u, rank, top.vectors, top.values.length, d).forEach((v, j) => {
      extra[`spike-alignment.${j + 1}`] = v;
    });
  }
  return extra;
}
