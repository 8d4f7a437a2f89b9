/**
 * Population risks (n → ∞) of RF, NT and NN with σ(z) = z² on the quadratic target
 * f*(x) = xᵀBx − tr B (+ ⟨β, x⟩), x ~ N(0, I_d), against the width N (Ghorbani, Mei, Misiakiewicz &
 * Montanari 2019). With an output intercept every model is xᵀMx + c, c takes the mean and the risk
 * is 2‖M − B‖²_F (+ ‖β‖²: no even model fits a linear part). Write B = B̃ + (tr B/d)·I, B̃ its
 * traceless part, ρ = N/d; for rows of W independent of B and d large:
 *
 * - RF (M in span{w_j w_jᵀ}): the N random rank-one matrices capture ≈ 2N/d² of ‖B̃‖² and, since
 *   Σ_j w_j w_jᵀ = WᵀW has tr ≈ N and ‖WᵀW‖²_F ≈ N + N²/d, the share ρ/(1 + ρ) of the identity part:
 *   risk ≈ 2[‖B̃‖²(1 − 2N/d²) + (tr B)²/d · 1/(1 + ρ)].
 * - NT (M with (I − P)M(I − P) = 0, P the projector on span W): risk = 2‖(I − P)B(I − P)‖²_F ≈
 *   2[(1 − ρ)₊²‖B̃‖² + (1 − ρ)₊(tr B)²/d]; without the intercept + 2(ρ·tr B)²/(N + 2) (the mean
 *   tr(PB) it cannot remove).
 * - NN (M of rank ≤ N; with a shared scalar readout M = a·WᵀW, all eigenvalues of one sign): the
 *   best such fit, 2Σ_{i>N} λ_i² with |λ| sorted (of one sign: the N largest of that sign kept).
 *
 * The RF and NT forms are averages over W: against the numpy mean of the exact projections over 12
 * random W at d = 40 (test/reference/ghorbani_population.py) they are within 0.02 of the normalized
 * risk; one W at d = 40 scatters by 0.01–0.03 around them. Normalized by Var f* = 2‖B‖²_F + ‖β‖².
 */
import type { TheoryContext, TheoryCurve } from '@regimes/core';

export type QuadraticModel = 'rf' | 'nt' | 'nn';

/** Traces of the target's B (from its eigenvalues) that the curves need. */
export interface QuadraticForm {
  readonly d: number;
  /** The nonzero eigenvalues of B (any order). */
  readonly eigenvalues: readonly number[];
  /** ‖β‖² of the linear part. */
  readonly linear: number;
}

/** 2‖B̃‖², 2(tr B)²/d and Var f* = 2‖B‖² + ‖β‖². */
function parts(b: QuadraticForm) {
  const trace = b.eigenvalues.reduce((s, l) => s + l, 0);
  const squares = b.eigenvalues.reduce((s, l) => s + l * l, 0);
  const identity = (trace * trace) / b.d;
  return { trace, traceless: squares - identity, identity, variance: 2 * squares + b.linear };
}

/** Σ of the squared eigenvalues left out of the best fit of rank ≤ N (scalar: of one sign). */
export function rankTail(eigenvalues: readonly number[], n: number, scalar: boolean): number {
  const squares = (list: readonly number[]) => list.reduce((s, l) => s + l * l, 0);
  const total = squares(eigenvalues);
  const kept = (list: number[]) => squares(list.sort((a, b) => Math.abs(b) - Math.abs(a)).slice(0, n));
  if (!scalar) return total - kept([...eigenvalues]);
  const positive = kept(eigenvalues.filter((l) => l > 0));
  const negative = kept(eigenvalues.filter((l) => l < 0));
  return total - Math.max(positive, negative);
}

/**
 * The population risk (not normalized) of a model of width N on the target.
 * `intercept`: whether the model has an output intercept (rf/nt `intercept`, nn `outputBias`).
 */
export function quadraticPopulationRisk(
  model: QuadraticModel,
  b: QuadraticForm,
  n: number,
  o: { intercept: boolean; scalar?: boolean },
): number {
  const { d } = b;
  const { trace, traceless, identity } = parts(b);
  const rho = n / d;
  switch (model) {
    case 'rf':
      return 2 * (traceless * Math.max(0, 1 - (2 * n) / (d * d)) + identity / (1 + rho)) + b.linear;
    case 'nt': {
      const rest = Math.max(0, 1 - rho);
      const mean = o.intercept ? 0 : (2 * (Math.min(rho, 1) * trace) ** 2) / (n + 2);
      return 2 * (rest * rest * traceless + rest * identity) + mean + b.linear;
    }
    case 'nn':
      return 2 * rankTail(b.eigenvalues, n, o.scalar ?? false) + b.linear;
  }
}

const labels: Record<QuadraticModel, string> = {
  rf: 'RF population risk (n → ∞)',
  nt: 'NT population risk (n → ∞)',
  nn: 'NN best fit of rank ≤ N',
};

/**
 * The curve of one learner over the widths of a plot whose x is the width (`learners.width`,
 * `learners[id].width` or `width`) on a `quadratic` target; [] where it does not apply (another
 * target, activation or x, biases in the first layer, rf without an intercept).
 */
export function quadraticWidthTheory(
  model: QuadraticModel,
  o: { activation: unknown; bias: number; intercept: boolean; scalar?: boolean },
  context: TheoryContext,
): TheoryCurve[] {
  const metric = context.metric;
  const xIsWidth = context.xKey === 'width' || context.xKey.endsWith('.width');
  if (context.target.kind !== 'quadratic' || !xIsWidth || o.activation !== 'quadratic' || o.bias > 0)
    return [];
  if (!['risk', 'normalized-risk'].includes(metric) || context.xs.length === 0) return [];
  if (model === 'rf' && !o.intercept) return [];
  if (model === 'nn' && !o.intercept) return [];
  const built = context.targetStructure?.();
  const eigenvalues = built?.structure.details?.eigenvalues;
  if (!built || !Array.isArray(eigenvalues)) return [];
  // the target's own (normalized, if it is) eigenvalues and linear energy ‖β‖²
  const form: QuadraticForm = {
    d: built.dim,
    eigenvalues: eigenvalues as number[],
    linear: built.structure.hermiteEnergy?.[1] ?? 0,
  };
  const variance = parts(form).variance;
  const lo = Math.max(1, Math.floor(context.xs[0]!));
  const hi = Math.ceil(context.xs[context.xs.length - 1]!);
  const step = Math.max(1, Math.ceil((hi - lo) / 200));
  const widths: number[] = [];
  for (let n = lo; n <= hi; n += step) widths.push(n);
  if (widths[widths.length - 1] !== hi) widths.push(hi);
  const points = widths.map((n) => {
    const r = quadraticPopulationRisk(model, form, n, o);
    return { x: n, y: metric === 'risk' ? r : r / variance };
  });
  return [{ label: labels[model], metric, points }];
}
