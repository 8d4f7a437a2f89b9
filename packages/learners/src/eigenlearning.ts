/**
 * Predicted learning curves of kernel ridge: the omniscient-risk / eigenlearning equations
 * (Bordelon, Canatar & Pehlevan 2020, ICML, eq. 6–8; Canatar, Bordelon & Pehlevan 2021, Nat. Commun.
 * 12:2914; Simon, Dickens, Karkada & DeWeese 2023, TMLR, "The eigenlearning framework") fed with a
 * dot-product kernel's eigenvalues on the sphere and a target's energies by degree.
 *
 * Ridge as our learners solve it: min (1/n)‖y − f(X)‖² + λ‖f‖²_K, i.e. α = (K + nλI)⁻¹y. With the
 * kernel's Mercer decomposition K(x, x') = Σ_i μ_i φ_i(x)φ_i(x') (φ_i orthonormal in L² of the data),
 * the effective ridge κ > 0 solves
 *     n = Σ_i μ_i/(μ_i + κ) + nλ/κ,
 * the learnabilities are L_i = μ_i/(μ_i + κ), E_0 = n/(n − Σ_i L_i²), and for f* = Σ_i v_i φ_i + r
 * (r orthogonal to every φ_i with μ_i > 0) and label noise σ², the expected test error against the
 * noiseless f* is
 *     risk = E_0 (Σ_i (1 − L_i)² v_i² + ε²) − σ²,   ε² = σ² + ‖r‖²
 * (the part of f* no eigenfunction reaches enters the fit as noise and stays in the risk). An
 * unpenalised intercept is an infinite eigenvalue on the constant: L_0 = 1. λ = 0 with n above the
 * kernel's rank gives κ = 0 (interpolation: E_0 = n/(n − rank)).
 *
 * Sphere (`sphere: true`): h(⟨x̂, x̂'⟩) of the directions x̂ = x/‖x‖, uniform on S^{d−1} also for
 * Gaussian x. Its eigenfunctions are the spherical harmonics, degree l with multiplicity N(d, l) and
 * eigenvalue (Funk–Hecke) μ_l = E_t[h(t) P_l(t)], t = ⟨x̂, e⟩, P_l the degree-l Gegenbauer polynomial
 * normalised P_l(1) = 1. Computed exactly, without quadrature: t^k = Σ_l a_{k,l} P_l(t) with a_{k,l} ≥ 0
 * from t P_l = ((l + d − 2) P_{l+1} + l P_{l−1})/(2l + d − 2), and E_t[P_l²] = 1/N(d, l), so
 * μ_l = Σ_k c_k a_{k,l}/N(d, l) — sums of non-negative terms, no cancellation.
 *
 * Target on Gaussian x (`hermite` targets): the kernel sees only x̂, so what it can learn is
 * F(x̂) = E[f*(x) | x̂] = E_ρ[f*(ρ x̂)], ρ = ‖x‖ ~ χ_d; the rest, f* − F, is radial and unlearnable
 * (for h_2(⟨u, x⟩): 3/(d + 2) of its energy). For a single-index polynomial f* = g(⟨u, x⟩) this is
 * exact: F(t) = Σ_m g_m E[ρ^m] t^m (g_m the monomial coefficients of g), energy in degree l
 * (Σ_m F_m a_{m,l})²/N(d, l). For other targets the Hermite energies stand in for the spherical ones
 * (exact as d → ∞, where the radial part vanishes), and the curve's label says so.
 */
import type { TargetStructure, TheoryContext, TheoryCurve } from '@regimes/core';
import { logGamma } from '@regimes/numerics';

/** N(d, l): the dimension of the degree-l spherical harmonics on S^{d−1}. */
export function harmonicMultiplicity(d: number, l: number): number {
  if (l === 0) return 1;
  if (d === 2) return 2;
  // (2l + d − 2)/l · C(l + d − 3, l − 1)
  const binomial = Math.exp(logGamma(l + d - 2) - logGamma(l) - logGamma(d - 1));
  return Math.round(((2 * l + d - 2) / l) * binomial);
}

/** a_{k,l} of t^k = Σ_l a_{k,l} P_l(t) on S^{d−1}, k = 0..top (rows), l = 0..top (columns). */
export function powersInGegenbauer(d: number, top: number): number[][] {
  if (!(d >= 2)) throw new Error(`the sphere's dimension d must be at least 2 (got ${d})`);
  const rows: number[][] = [[1, ...new Array<number>(top).fill(0)]];
  for (let k = 1; k <= top; k++) {
    const previous = rows[k - 1]!;
    const row = new Array<number>(top + 1).fill(0);
    previous.forEach((a, l) => {
      if (a === 0) return;
      if (l === 0) {
        row[1]! += a; // t P_0 = P_1
        return;
      }
      const denominator = 2 * l + d - 2;
      if (l + 1 <= top) row[l + 1]! += (a * (l + d - 2)) / denominator;
      row[l - 1]! += (a * l) / denominator;
    });
    rows.push(row);
  }
  return rows;
}

/** One group of kernel eigenmodes: a degree with its eigenvalue, multiplicity and target energy. */
export interface EigenDegree {
  /** μ_l (Infinity: an unpenalised direction, the intercept). */
  readonly eigenvalue: number;
  readonly multiplicity: number;
  /** Σ v_i² of the target over the group's eigenfunctions. */
  readonly energy: number;
}

/**
 * Eigenvalues μ_0..μ_top of h(t) = Σ_k c_k t^k on S^{d−1} (Funk–Hecke, exact): `top` defaults to
 * the last coefficient (a polynomial kernel has no eigenvalue above its degree).
 */
export function sphereEigenvalues(taylor: readonly number[], d: number, top = taylor.length - 1): number[] {
  const a = powersInGegenbauer(d, Math.max(top, taylor.length - 1));
  return Array.from({ length: top + 1 }, (_, l) => {
    let sum = 0;
    taylor.forEach((c, k) => (sum += c * a[k]![l]!));
    return sum / harmonicMultiplicity(d, l);
  });
}

/** Monomial coefficients of h_k = He_k/√k!, k = 0..top. */
function hermiteMonomials(top: number): number[][] {
  const he: number[][] = [[1], [0, 1]];
  for (let k = 1; k < top; k++) {
    const next = new Array<number>(k + 2).fill(0);
    he[k]!.forEach((c, m) => (next[m + 1]! += c));
    he[k - 1]!.forEach((c, m) => (next[m]! -= k * c));
    he.push(next);
  }
  let factorial = 1;
  return he.slice(0, top + 1).map((row, k) => {
    if (k > 0) factorial *= k;
    return row.map((c) => c / Math.sqrt(factorial));
  });
}

/** E[ρ^m] for ρ ~ χ_d: 2^{m/2} Γ((d + m)/2)/Γ(d/2). */
const chiMoment = (d: number, m: number) =>
  Math.exp((m / 2) * Math.LN2 + logGamma((d + m) / 2) - logGamma(d / 2));

/** A target's energies by spherical degree, as a direction-only kernel sees Gaussian x. */
export interface SphereEnergies {
  /** ‖Π_l F‖², F = E[f* | x̂], l = 0, 1, … */
  readonly energy: number[];
  /** Energy no direction-only kernel reaches: the radial part ‖f* − F‖² and an unlisted tail. */
  readonly unlearnable: number;
  /** exact (single-index polynomial) or hermite (Hermite energies stand in: d → ∞). */
  readonly method: 'exact' | 'hermite';
}

/**
 * The energies of f* by spherical degree on S^{d−1} for Gaussian inputs: exact for a single-index
 * polynomial target given by Hermite terms, else its Hermite energies (and tail as unlearnable).
 */
export function sphereTargetEnergies(structure: TargetStructure, d: number): SphereEnergies | undefined {
  const terms = structure.hermiteTerms;
  const tail = structure.hermiteTail ?? 0;
  if (terms && structure.subspaceRank === 1 && terms.every((t) => t.alpha.length === 1)) {
    const top = Math.max(...terms.map((t) => t.alpha[0]!));
    const monomials = hermiteMonomials(top);
    const g = new Array<number>(top + 1).fill(0);
    for (const t of terms) monomials[t.alpha[0]!]!.forEach((c, m) => (g[m]! += t.coef * c));
    const a = powersInGegenbauer(d, top);
    const energy = Array.from({ length: top + 1 }, (_, l) => {
      let coefficient = 0;
      g.forEach((gm, m) => (coefficient += gm * chiMoment(d, m) * a[m]![l]!));
      return (coefficient * coefficient) / harmonicMultiplicity(d, l);
    });
    // ‖f*‖² in the orthonormal Hermite basis (terms of one variable with distinct degrees add up)
    const byDegree = new Array<number>(top + 1).fill(0);
    for (const t of terms) byDegree[t.alpha[0]!]! += t.coef;
    const total = byDegree.reduce((s, c) => s + c * c, 0);
    const reached = energy.reduce((s, e) => s + e, 0);
    return { energy, unlearnable: Math.max(total - reached, 0) + tail, method: 'exact' };
  }
  if (!structure.hermiteEnergy) return undefined;
  return { energy: [...structure.hermiteEnergy], unlearnable: tail, method: 'hermite' };
}

/** The solution of the eigenlearning equations at one n and λ. */
export interface EigenlearningPoint {
  /** Predicted E[(f̂ − f*)²] against the noiseless target. */
  readonly risk: number;
  /** The effective ridge κ (0: interpolation above the kernel's rank). */
  readonly kappa: number;
  /** E_0 = n/(n − Σ L_i²), the overfitting coefficient. */
  readonly e0: number;
  /** L_l = μ_l/(μ_l + κ) per degree group. */
  readonly learnability: number[];
}

/**
 * κ, the learnabilities and the predicted risk of kernel ridge (K + nλI)α = y on n samples, for
 * the kernel's eigenmodes grouped by degree, label noise σ² and energy no mode reaches
 * (`unlearnable`). Infinite risk where n ≤ the rank at λ = 0 with κ = 0 (n = rank).
 */
export function eigenlearningRisk(
  degrees: readonly EigenDegree[],
  n: number,
  ridge: number,
  noise = 0,
  unlearnable = 0,
): EigenlearningPoint {
  if (!(n > 0)) throw new Error(`n must be positive (got ${n})`);
  if (!(ridge >= 0)) throw new Error(`the ridge λ must be ≥ 0 (got ${ridge})`);
  const modes = degrees.filter((g) => g.multiplicity > 0 && g.eigenvalue > 0);
  const learn = (mu: number, kappa: number) => (mu === Number.POSITIVE_INFINITY ? 1 : mu / (mu + kappa));
  const df = (kappa: number) => modes.reduce((s, g) => s + g.multiplicity * learn(g.eigenvalue, kappa), 0);
  const rank = df(0);
  let kappa = 0;
  if (ridge > 0 || n < rank) {
    // n = df(κ) + nλ/κ: the right side falls from +∞ (or rank > n) to 0 as κ grows; bisect in log κ
    const excess = (k: number) => df(k) + (n * ridge) / k - n;
    let lo = -690; // log κ: e^−690 ≈ 1e−300
    let hi = 0;
    // (κ = e^700 stands for ∞: n no more than the unpenalised directions leaves E₀ infinite)
    while (hi < 700 && excess(Math.exp(hi)) > 0) hi += 2;
    for (let i = 0; i < 200 && hi - lo > 1e-14; i++) {
      const mid = (lo + hi) / 2;
      if (excess(Math.exp(mid)) > 0) lo = mid;
      else hi = mid;
    }
    kappa = Math.exp((lo + hi) / 2);
  }
  const learnability = degrees.map((g) => (g.eigenvalue > 0 ? learn(g.eigenvalue, kappa) : 0));
  const squares = degrees.reduce((s, g, i) => s + g.multiplicity * learnability[i]! ** 2, 0);
  const e0 = n > squares ? n / (n - squares) : Number.POSITIVE_INFINITY;
  const bias = degrees.reduce((s, g, i) => s + (1 - learnability[i]!) ** 2 * g.energy, 0);
  const effectiveNoise = noise + unlearnable;
  // E₀ = ∞ with nothing to amplify (n = rank at λ = 0, a noiseless target inside the span): the
  // limit λ → 0⁺ is 0 (E₀ grows as 1/κ, the bias as κ²), where ∞·0 would be NaN
  const total = bias + effectiveNoise;
  const risk = total === 0 ? 0 : e0 * total - noise;
  return { risk, kappa, e0, learnability };
}

/** How many degrees past the target's are kept (a polynomial kernel's own degree caps it). */
const EXTRA_DEGREES = 24;

/**
 * The degree groups of a dot-product kernel h(t) = Σ c_k t^k on S^{d−1} and a target's spherical
 * energies: degrees 0..max(kernel's, target's), at most `EXTRA_DEGREES` past the target's top degree
 * (the eigenvalues from every coefficient; the modes above are left out), degree 0 unpenalised with
 * an intercept. For `ntk` / `nngp` as for `kernel`.
 */
export function sphereDegrees(
  taylor: readonly number[],
  d: number,
  energies: SphereEnergies,
  intercept: boolean,
): EigenDegree[] {
  const top = Math.max(
    Math.min(taylor.length - 1, energies.energy.length - 1 + EXTRA_DEGREES),
    energies.energy.length - 1,
  );
  const mu = sphereEigenvalues(taylor, d, top);
  return mu.map((m, l) => ({
    eigenvalue: l === 0 && intercept ? Number.POSITIVE_INFINITY : m,
    multiplicity: harmonicMultiplicity(d, l),
    energy: energies.energy[l] ?? 0,
  }));
}

/** Points on a log grid of n across [lo, hi] (and the measured xs), for a smooth curve. */
function curveXs(xs: readonly number[]): number[] {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const steps = 48;
  const grid = Array.from({ length: steps + 1 }, (_, i) => lo * (hi / lo) ** (i / steps));
  return [...new Set([...grid, ...xs])].sort((x, y) => x - y);
}

/**
 * A kernel's series for the prediction at input dimension d: c_0..c_top, and its total h(1) = Σ_k c_k
 * over all k when the series goes on past top (the deep kernels). Degrees beyond those kept carry
 * the rest of the trace, h(1) − Σ_l N(d, l)μ_l, with eigenvalues far below κ: one group of tiny
 * eigenvalues standing for them (it acts as the ridge λ + rest/n, the limit of many small modes).
 */
export type KernelSeries = (d: number) => { taylor: readonly number[]; total?: number };

/** Multiplicity of the group that stands for a kernel's unlisted tail (its eigenvalue rest/this). */
const TAIL_MULTIPLICITY = 1e15;

/**
 * The predicted kernel ridge risk against n (`-x n`, metrics risk, excess-risk, normalized-risk) of a
 * direction-only dot-product kernel with Taylor coefficients `taylor` (c_0, c_1, … on the cosine),
 * one curve per λ in `ridge`; for gcv / loo one curve at the best λ of `grid` at each n (the
 * oracle choice, which GCV and LOO approach as n grows); on the context's target: what `kernel`
 * draws from its coefficients, and `ntk` / `nngp` from their series at the target's d (`KernelSeries`).
 */
export function eigenlearningTheory(
  taylor: readonly number[] | KernelSeries,
  ridge: number | readonly number[] | string,
  context: TheoryContext,
  intercept: boolean,
  grid: readonly number[] = [],
): TheoryCurve[] {
  const metric = context.metric;
  if (context.xKey !== 'n' || !['risk', 'excess-risk', 'normalized-risk'].includes(metric)) return [];
  if (!context.xs.length || !(Math.min(...context.xs) > 0)) return [];
  if (typeof ridge === 'string' && !grid.length) return [];
  const built = context.targetStructure?.();
  if (!built) return [];
  const energies = sphereTargetEnergies(built.structure, built.dim);
  if (!energies) return [];
  const full = built.structure.hermiteEnergy;
  const variance = full
    ? full.slice(1).reduce((s, e) => s + e, built.structure.hermiteTail ?? 0)
    : Number.NaN;
  const scale = metric === 'normalized-risk' ? 1 / variance : 1;
  if (!Number.isFinite(scale)) return [];
  const series = typeof taylor === 'function' ? taylor(built.dim) : { taylor };
  const degrees = sphereDegrees(series.taylor, built.dim, energies, intercept);
  if (series.total !== undefined) {
    const listed = degrees.reduce(
      (sum, g) => sum + g.multiplicity * (Number.isFinite(g.eigenvalue) ? g.eigenvalue : 0),
      0,
    );
    // with an intercept degree 0's eigenvalue is Infinity: its finite part counts as listed
    const zero = intercept ? sphereEigenvalues(series.taylor, built.dim, 0)[0]! : 0;
    const rest = series.total - listed - zero;
    if (rest > 1e-12 * series.total)
      degrees.push({ eigenvalue: rest / TAIL_MULTIPLICITY, multiplicity: TAIL_MULTIPLICITY, energy: 0 });
  }
  const noise = built.structure.noiseVariance ?? 0;
  const xs = curveXs(context.xs);
  const risk = (x: number, lambda: number) =>
    eigenlearningRisk(degrees, x, lambda, noise, energies.unlearnable).risk * scale;
  if (typeof ridge === 'string')
    return [
      {
        label: [
          'eigenlearning',
          `best λ of the ${ridge} grid`,
          energies.method === 'hermite' ? 'Hermite energies (d→∞)' : '',
          metric === 'normalized-risk' ? '/ Var f*' : '',
        ]
          .filter(Boolean)
          .join(', '),
        metric,
        points: xs.map((x) => ({ x, y: Math.min(...grid.map((lambda) => risk(x, lambda))) })),
      },
    ];
  const lambdas = typeof ridge === 'number' ? [ridge] : [...ridge];
  return lambdas.map((lambda) => ({
    label: [
      'eigenlearning',
      `λ=${lambda}`,
      energies.method === 'hermite' ? 'Hermite energies (d→∞)' : '',
      metric === 'normalized-risk' ? '/ Var f*' : '',
    ]
      .filter(Boolean)
      .join(', '),
    metric,
    points: xs.map((x) => ({
      x,
      y: eigenlearningRisk(degrees, x, lambda, noise, energies.unlearnable).risk * scale,
    })),
  }));
}
