/**
 * `kernel`: kernel ridge with a dot-product kernel h(⟨x,x'⟩/d) = Σ_k c_k ρ^k given by its Taylor
 * coefficients, or by the Hermite coefficients μ_k of an activation (then c_k = μ_k², the kernel
 * E[σ(u)σ(v)] of unit-variance pre-activations with correlation ρ) — the object of the staircase
 * theory; on the sphere (default) ρ is the cosine ⟨x,x'⟩/(‖x‖‖x'‖). Also the RBF kernel
 * exp(−‖x − x'‖²/(2ℓ²d)). With `hermite`, `bias` σ_b shifts the pre-activations by a shared
 * b ~ N(0, σ_b²) (c_k = E_b[μ_k(b)²]); `theory` is the staircase of the kernel's coefficients and,
 * on the sphere, the eigenlearning curve at its λ (eigenlearning.ts).
 */
import { defineLearnerKind, type LearnerFactory, options, z } from '@regimes/core';
import { eigenlearningTheory } from '../eigenlearning.js';
import { kernelStaircaseTheory } from '../kernel-staircase.js';
import { dotProductKernel, kernelTaylor, rbfKernel } from '../kernels.js';
import { kernelRidgeEstimate } from '../cost.js';
import { kernelRidgeLearner } from '../readout/predictors.js';
import { interceptOption, refineRidge, ridgeOptions } from '../readout/options.js';

export const kernelRidgeOptions = options({
  type: z.enum(['dot', 'rbf']).default('dot').describe('dot-product kernel or RBF'),
  taylor: z.array(z.number().min(0)).min(1).optional().describe('c_k of h(ρ) = Σ c_k ρ^k (dot)'),
  hermite: z.array(z.number()).min(1).optional().describe('μ_k of an activation: c_k = μ_k² (dot)'),
  sphere: z.boolean().default(true).describe('ρ = cosine (inputs on the sphere) instead of ⟨x,x′⟩/d'),
  bandwidth: z.number().positive().default(1).describe('ℓ of the RBF kernel'),
  bias: z.number().min(0).default(0).describe("std σ_b of a bias added to the activation's input (hermite)"),
  ...ridgeOptions,
  ...interceptOption,
}).superRefine((o, ctx) => {
  refineRidge(true)(o, ctx);
  if (o.type === 'dot' && !o.taylor === !o.hermite)
    ctx.addIssue({
      code: 'custom',
      path: ['taylor'],
      message: 'a dot-product kernel needs exactly one of taylor or hermite coefficients',
    });
  if (o.type === 'rbf' && (o.taylor || o.hermite))
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: 'taylor / hermite coefficients go with type: dot',
    });
  if (o.bias > 0 && !o.hermite)
    ctx.addIssue({
      code: 'custom',
      path: ['bias'],
      message: 'bias goes with hermite coefficients (an activation)',
    });
});

/**
 * The coefficients of the kernel the direct solve may evaluate instead (kernelRidgeLearner's
 * `direct`: with the intercept and without `posteriorVariance`, whose prior is the kernel as given):
 * c₀ dropped, or undefined where that changes nothing or leaves no kernel. c₀11ᵀ is what the centring of the exact dual annihilates, so
 * the fit and its predictions are the same in exact arithmetic; in float32 a large c₀ rounded away
 * the rest of K: taylor [10000, 1, 1] (sphere: false, d = 8, n = 512) had K's varying part resolved
 * to ~6e-4 only, df −24.6 under jitter 4× nλ, and gcv chose by unresolved scores (a helper's audit,
 * 2026-12-07). Not FALKON's: its penalty αᵀK_mmα on m < n centres is not centred, and c₀ enters it
 * (a review: predictions 8.8% apart at m = 100, n = 600).
 */
function directTaylor(taylor: readonly number[]): number[] | undefined {
  if (!taylor[0] || !taylor.slice(1).some((c) => c !== 0)) return undefined;
  return [0, ...taylor.slice(1)];
}

export const kernelRidge: LearnerFactory = defineLearnerKind({
  kind: 'kernel',
  representation: false, // a kernel predictor: no features for a transfer to keep
  description: 'kernel ridge with a dot-product kernel from Taylor or Hermite coefficients, or RBF',
  options: kernelRidgeOptions,
  estimate: (o, s) => kernelRidgeEstimate(2 * s.d + 20, o, s),
  create(o) {
    if (o.type === 'rbf') return kernelRidgeLearner(rbfKernel(o.bandwidth), o);
    const taylor = o.taylor ?? kernelTaylor.hermite(o.hermite!, o.bias);
    const direct = directTaylor(taylor);
    return kernelRidgeLearner(
      dotProductKernel(taylor, o.sphere),
      o,
      direct ? dotProductKernel(direct, o.sphere) : undefined,
    );
  },
  theory: (o, context) => [
    ...kernelStaircaseTheory(
      (top) =>
        o.type === 'rbf'
          ? kernelTaylor.rbf(o.bandwidth, top)
          : (o.taylor ?? kernelTaylor.hermite(o.hermite!, o.bias)),
      context,
      o.intercept,
      // a kernel of the cosine never learns f*'s radial part: the staircase keeps it as a floor
      o.type === 'dot' && o.sphere,
    ),
    // the predicted curve at the learner's λ: exact eigenvalues for a kernel of the cosine
    ...(o.type === 'dot' && o.sphere
      ? eigenlearningTheory(
          o.taylor ?? kernelTaylor.hermite(o.hermite!, o.bias),
          o.ridge,
          context,
          o.intercept,
          o.ridgeGrid,
        )
      : []),
  ],
});
