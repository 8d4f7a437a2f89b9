/**
 * `ntk`: kernel ridge with the analytic infinite-width neural tangent kernel of a fully connected
 * network with `layers` hidden layers (1: the two-layer net f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d)),
 * by the layer recursion of kernels.ts (`deepKernel`; docs/kernels.md): every layer trained, the
 * first hidden layer only, or the readout only (the NNGP, the limit kernel of random features).
 * σ is any activation: the table's closed-form duals (relu, erf, quadratic) or the Mehler series of
 * σ's Hermite coefficients (tanh, gelu, softplus, sigmoid, { he: k }, { hermite: [...] }).
 * `biasVariance` σ_b² adds b ~ N(0, σ_b²) to every hidden pre-activation (`bias` is its square root,
 * the older option), which fills in the degrees a bias-free kernel cannot reach (relu's odd
 * degrees ≥ 3); `theory` is the staircase of the kernel's own coefficients (kernel-staircase.ts).
 */
import {
  defineLearnerKind,
  type FitSize,
  type LearnerFactory,
  options,
  type TheoryContext,
  z,
} from '@regimes/core';
import { type ActivationSpec, activationOption, dualTaylor, ntkTaylor } from '../activations/index.js';
import { kernelRidgeEstimate } from '../cost.js';
import { eigenlearningTheory } from '../eigenlearning.js';
import { kernelStaircaseTheory } from '../kernel-staircase.js';
import {
  type DeepKernelSpec,
  deepDiagonal,
  deepKernel,
  deepKernelLessConstant,
  deepTaylor,
  kernelActivation,
} from '../kernels.js';
import { kernelRidgeLearner } from '../readout/predictors.js';
import { interceptOption, type RidgeOptions, refineRidge, ridgeOptions } from '../readout/options.js';

/** The deep kernels' architecture options, shared by `ntk` and `nngp`. */
export const deepKernelOptions = {
  layers: z
    .number({
      error: (issue) =>
        typeof issue.input === 'string'
          ? `layers is now the number of hidden layers (a number, 1 for a two-layer net); which layers train is \`train: ${issue.input}\` (was \`layers: ${issue.input}\`)`
          : undefined,
    })
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe('L, hidden layers (as deep counts them): 1 is the two-layer net'),
  activation: activationOption,
  weightVariance: z
    .number()
    .positive()
    .default(1)
    .describe("σ_w², every layer's weights (the readout's too)"),
  biasVariance: z
    .number()
    .min(0)
    .optional()
    .describe("σ_b², every hidden layer's biases (default 0; the readout has none)"),
  bias: z.number().min(0).optional().describe('σ_b, the same as biasVariance: σ_b² (the older option)'),
  sphere: z
    .boolean()
    .default(false)
    .describe('inputs on the sphere: ρ = cosine, q = 1 (default: ρ = ⟨x,x′⟩/d with the norms q = ‖x‖²/d)'),
  parametrization: z
    .enum(['ntk', 'standard'])
    .default('ntk')
    .describe(
      'ntk: W ~ N(0, 1) scaled by σ_w/√fan-in; standard: W ~ N(0, σ_w²/fan-in) trained as is, the NTK ÷ width (the NNGP is the same)',
    ),
  width: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("N, the hidden width the standard parametrization's NTK depends on (default 512, as nn's)"),
};

/** σ_b² from `biasVariance` or `bias` (σ_b). */
export function biasVarianceOf(o: { biasVariance?: number | undefined; bias?: number | undefined }): number {
  return o.biasVariance ?? (o.bias ?? 0) ** 2;
}

/** The hidden width of the standard parametrization when none is given: nn's default. */
export const STANDARD_WIDTH = 512;

/** The bias is given once: `biasVariance` or `bias`. */
export function refineBias(
  o: { biasVariance?: number | undefined; bias?: number | undefined },
  ctx: z.RefinementCtx,
) {
  if (o.biasVariance !== undefined && o.bias !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['bias'],
      message: 'give the bias once: biasVariance σ_b² or bias σ_b (bias: s is biasVariance: s²), not both',
    });
}

export function refineDeepKernel(
  o: {
    biasVariance?: number | undefined;
    bias?: number | undefined;
    parametrization: 'ntk' | 'standard';
    width?: number | undefined;
  },
  ctx: z.RefinementCtx,
) {
  refineBias(o, ctx);
  if (o.width !== undefined && o.parametrization !== 'standard')
    ctx.addIssue({
      code: 'custom',
      path: ['width'],
      message:
        "width changes only the standard parametrization's NTK: add `parametrization: standard`, or drop width",
    });
}

export const neuralTangentKernelOptions = options({
  ...deepKernelOptions,
  train: z
    .enum(['both', 'first', 'readout'])
    .default('both')
    .describe('which layers the kernel trains: both (every layer), the first hidden layer, or the readout'),
  ...ridgeOptions,
  ...interceptOption,
}).superRefine((o, ctx) => {
  refineDeepKernel(o, ctx);
  refineRidge(true)(o, ctx);
});

/** The architecture options as parsed (`train` absent for `nngp`). */
export interface DeepKernelOptions {
  readonly activation: ActivationSpec;
  readonly layers: number;
  readonly weightVariance: number;
  readonly biasVariance?: number | undefined;
  readonly bias?: number | undefined;
  readonly sphere: boolean;
  readonly parametrization: 'ntk' | 'standard';
  readonly width?: number | undefined;
  readonly train?: DeepKernelSpec['train'];
}

/** The spec of `deepKernel` from the options. */
export function deepKernelSpec(o: DeepKernelOptions): DeepKernelSpec {
  return {
    activation: o.activation,
    layers: o.layers,
    weightVariance: o.weightVariance,
    biasVariance: biasVarianceOf(o),
    train: o.train ?? 'readout',
    sphere: o.sphere,
    parametrization: o.parametrization,
    ...(o.parametrization === 'standard' ? { width: o.width ?? STANDARD_WIDTH } : {}),
  };
}

/** Flops per kernel entry: the dot product, then per layer the closed form (~20) or 2×(top + 1) Mehler terms. */
export function deepKernelFlops(o: DeepKernelSpec, d: number): number {
  const closed = kernelActivation(o.activation).dual !== undefined;
  return 2 * d + o.layers * (closed ? 20 : 6 * 81);
}

/**
 * Floats the deep kernel holds per point of X while it serves its panels (`KernelFunction.panels`):
 * off the sphere without a closed-form dual, per layer its variance, E[σ²] and the Mehler
 * coefficients of σ and σ' (at most 2 × 83 columns: both parities of degrees ≤ 80 and their
 * remainders; a polynomial σ's own degree + 1 each); else none.
 */
export function deepKernelPointFloats(o: DeepKernelSpec): number {
  const act = kernelActivation(o.activation);
  if (act.dual || o.sphere) return 0;
  const columns = act.hermite ? 2 * act.hermite.length : 2 * 83;
  return o.layers * (2 + columns);
}

/**
 * The kernel's coefficients c_0..c_top on the sphere at input dimension d: for one hidden layer with
 * σ_w² = 1 in the ntk parametrization as always (the bias averaged Hermite coefficients,
 * dual-taylor.ts), otherwise the layer recursion on power series (kernels.ts `deepTaylor`).
 */
export function deepKernelTaylor(
  spec: DeepKernelSpec,
  output: 'ntk' | 'nngp',
  top: number,
  d?: number,
): number[] {
  const standard = spec.parametrization === 'standard' && output === 'ntk';
  if (spec.layers !== 1 || spec.weightVariance !== 1 || standard) return deepTaylor(spec, output, top, d);
  const bias = Math.sqrt(spec.biasVariance);
  const train = output === 'nngp' ? 'readout' : spec.train;
  return ntkTaylor(dualTaylor(kernelActivation(spec.activation), bias, top + 1), train, bias);
}

/** Degrees of the series the eigenlearning curve sums (the rest of the trace is lumped: eigenlearning.ts). */
const EIGENLEARNING_TOP = 40;

/**
 * What `ntk` and `nngp` share: the cost estimate, the kernel ridge learner and the theory — the
 * staircase of the kernel's coefficients, and the eigenlearning curve at the learner's λ from the
 * kernel's series on the sphere (`sphere: true`; with Gaussian inputs the kernel also sees the
 * norms, and no curve is drawn: docs/kernels.md).
 */
export function deepKernelKind(output: 'ntk' | 'nngp') {
  type Parsed = DeepKernelOptions & RidgeOptions & { intercept: boolean };
  return {
    estimate: (o: Parsed, s: FitSize) => {
      const spec = deepKernelSpec(o);
      return kernelRidgeEstimate(deepKernelFlops(spec, s.d), o, s, deepKernelPointFloats(spec));
    },
    create: (o: Parsed) => {
      const spec = deepKernelSpec(o);
      // the direct solve with the intercept takes the kernel less the biases' constant (relu, σ_b² > 0)
      return kernelRidgeLearner(deepKernel(spec, output), o, deepKernelLessConstant(spec, output));
    },
    theory: (o: Parsed, context: TheoryContext) => {
      const spec = deepKernelSpec(o);
      return [
        ...kernelStaircaseTheory(
          (top, d) => deepKernelTaylor(spec, output, top, d),
          context,
          o.intercept,
          o.sphere, // a kernel of the cosine never learns f*'s radial part
        ),
        ...(o.sphere
          ? eigenlearningTheory(
              (d) => ({
                taylor: deepKernelTaylor(spec, output, EIGENLEARNING_TOP, d),
                total: deepDiagonal(spec, output, d),
              }),
              o.ridge,
              context,
              o.intercept,
              o.ridgeGrid,
            )
          : []),
      ];
    },
  };
}

export const neuralTangentKernel: LearnerFactory = defineLearnerKind({
  kind: 'ntk',
  representation: false, // a kernel predictor: no features for a transfer to keep
  description:
    'kernel ridge with the analytic infinite-width NTK of a fully connected net of L hidden layers (any activation)',
  options: neuralTangentKernelOptions,
  ...deepKernelKind('ntk'),
});
