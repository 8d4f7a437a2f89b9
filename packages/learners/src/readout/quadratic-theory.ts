/**
 * Population risks (n → ∞) of RF, NT and NN with σ(z) = z² on the quadratic target
 * f*(x) = xᵀBx − tr B (+ ⟨β, x⟩), x ~ N(0, I_d), against the width N (Ghorbani, Mei, Misiakiewicz &
 * Montanari 2019). With an output intercept every model is xᵀMx + c, c takes the mean and the risk
 * is 2‖M − B‖²_F (+ ‖β‖²: no even model fits a linear part). Write B = B̃ + (tr B/d)·I, B̃ its
 * traceless part, ρ = N/d, and D = d(d + 1)/2 the dimension of the symmetric matrices; rows of W
 * Gaussian, independent of B:
 *
 * - RF (M in span{w_j w_jᵀ}): each w_j w_jᵀ is |w_j|²/d·I plus a traceless part, and the traceless
 *   parts are isotropic in their D − 1 dimensions (E⟨wwᵀ, A⟩² = 2‖A‖² for traceless A). Their span
 *   captures the share γ = min(1, N/(D − 1)) of ‖B̃‖²; the identity part, as a least-squares problem
 *   whose Gram is Wishart-like (the mean of its inverse 1/(1 − γ) times the diagonal's), leaves
 *   1/(1 + s) of itself with s = ρ/(1 − γ):
 *     risk ≈ 2[‖B̃‖²(1 − γ) + (tr B)²/d · (1 − γ)/(1 − γ + ρ)],   0 once N ≥ D.
 *   A large-d form: against the numpy mean of the exact projections at d = 40 it is within 0.011
 *   of the normalized risk from N = 1 to N = D (its first order, (1 − 2N/d²)₊ and 1/(1 + ρ), was
 *   0.027 off for the `ghorbani` spectrum and 0.041 for B = I at N = 10d, and 0.027–0.047 at N = D,
 *   where the risk is 0); at d = 6–12 within 0.02 mostly, 0.066 at worst (`ghorbani`, d = 6, N = 12:
 *   2.3 SE of a 40-draw mean).
 * - NT (M with (I − P)M(I − P) = 0, P the projector on span W, rank r = min(N, d)): risk =
 *   2‖QBQ‖²_F, Q = I − P, a uniformly random projector of rank k = d − r. Its mean, from the moments
 *   E Q_ii² = k(k + 2)/(d(d + 2)) and E Q_ij² = k(d − k)/(d(d + 2)(d − 1)) (i ≠ j), is exact at any d:
 *     2[(a − c)‖B‖² + c(tr B)²],   a = k(k + 2)/(d(d + 2)),  c = k(d − k)/(d(d + 2)(d − 1)).
 *   Without the intercept the model's mean is tr M = tr(PMP), and the best PMP is PBP − τP with
 *   τ = tr(PBP)/(r + 2), which adds 2·tr(PBP)²/(r + 2), r + 2 whatever N beyond d (not N + 2: past
 *   N = d the floor stays); its mean E tr(PBP)² = e‖B‖² + f((tr B)² − ‖B‖²) with e = r(r + 2)/(d(d + 2)),
 *   f = r(rd + r − 2)/(d(d + 2)(d − 1)), also exact.
 * - NN (M of rank ≤ N; with a shared scalar readout M = a·WᵀW, all eigenvalues of one sign): the
 *   best such fit, 2Σ_{i>N} λ_i² with |λ| sorted (of one sign: the N largest of that sign kept).
 *
 * The RF and NT forms are means over W; the test compares them with the numpy mean of the exact
 * projections over random W (test/reference/ghorbani_population.py). One W at d = 40 scatters by
 * 0.01–0.03 around them. Normalized by Var f* = 2‖B‖²_F + ‖β‖².
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

/** tr B, ‖B‖², ‖B̃‖², (tr B)²/d and Var f* = 2‖B‖² + ‖β‖². */
function parts(b: QuadraticForm) {
  const trace = b.eigenvalues.reduce((s, l) => s + l, 0);
  const squares = b.eigenvalues.reduce((s, l) => s + l * l, 0);
  const identity = (trace * trace) / b.d;
  return { trace, squares, traceless: squares - identity, identity, variance: 2 * squares + b.linear };
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
  const { trace, squares, traceless, identity } = parts(b);
  const rho = n / d;
  switch (model) {
    case 'rf': {
      const rest = 1 - Math.min(1, n / ((d * (d + 1)) / 2 - 1)); // 1 − γ
      return 2 * (traceless * rest + (identity * rest) / (rest + rho)) + b.linear;
    }
    case 'nt': {
      const r = Math.min(n, d);
      const k = d - r;
      const z = d * (d + 2);
      // d = 1: Q is 0 or 1 and has no off-diagonal entries (c and f multiply nothing)
      const a = (k * (k + 2)) / z;
      const c = d > 1 ? (k * (d - k)) / (z * (d - 1)) : 0;
      const e = (r * (r + 2)) / z;
      const f = d > 1 ? (r * (r * d + r - 2)) / (z * (d - 1)) : 0;
      const mean = o.intercept ? 0 : (2 * (e * squares + f * (trace * trace - squares))) / (r + 2);
      return 2 * ((a - c) * squares + c * trace * trace) + mean + b.linear;
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
