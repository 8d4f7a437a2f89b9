/**
 * Gaussian expectations of any activation, in float64 on the host — what the deep kernels'
 * layer recursion needs where the activation table has no closed-form dual (kernels.ts):
 * for (u, v) centred Gaussian with variances q_a, q_b and covariance c,
 *   E[σ(u)σ(v)] and E[σ'(u)σ'(v)].
 *
 * Two ways:
 * - `quadratureDual`: the 2-D Gaussian integral directly, u = √q_a z₁, v = √q_b(t z₁ + √(1−t²) z₂)
 *   (t = c/√(q_a q_b)), as nested composite Gauss–Legendre rules over [−12, 12] (panels of 1/2,
 *   16 nodes each) split at σ's kinks in each variable — Gauss–Hermite converges slowly across a
 *   kink (relu, its step derivative), panels split there are exact to rounding. The reference.
 * - the Mehler series E[σ(u)σ(v)] = Σ_k μ_k(q_a) μ_k(q_b) t^k with μ_k(q) = E[σ(√q z) h_k(z)], and
 *   E[σ'(u)σ'(v)] = Σ_k μ'_k(q_a) μ'_k(q_b) t^k with μ'_k(q) = √((k+1)/q) μ_{k+1}(q) (Gaussian
 *   integration by parts): separable, so the tensor kernel is a short sum of rank-one terms times
 *   t^k. The μ_k(q) by composite Gauss–Legendre (`scaledHermite`, to rounding), the series cut
 *   after degree 80 and what the omitted degrees hold at t = ±1 (E[σ_p²] − Σ μ_k² of each parity p,
 *   1-D quadratures) lumped at the next degree of that parity, so that the diagonal t = 1 is exact.
 *   Exact for polynomial σ; for σ analytic in a strip (tanh, sigmoid, softplus) and entire σ (gelu,
 *   erf) the tail decays fast at moderate variance (tanh at q = 3, t = 0.97: 2e-9 in E[σσ], 5e-8 in
 *   E[σ′σ′]), more slowly as q grows, and it shows only near t = 1: tanh's E[σ′σ′] at q = 30 is exact
 *   at t = 0.5 and 1, 1e-5 off at 0.9, 3e-3 at 0.97, 1e-2 at 0.99 (docs/kernels.md has the table).
 */
import { gaussLegendre, hermiteValues } from '@regimes/numerics';
import { hermiteDerivative } from './hermite.js';

/** σ and σ' on the host, and where they are not smooth. */
export interface HostActivation {
  scalar(z: number): number;
  slope(z: number): number;
  readonly kinks?: readonly number[];
  /**
   * c_k of σ = Σ_k c_k h_k where the series is finite (a polynomial σ): its μ_k(q) and moments then
   * come in closed form (`polynomialHermite`), with no rule, at any degree.
   */
  readonly hermite?: readonly number[];
}

/**
 * σ' on the host as an activation of its own (its moments and coefficients): kinks kept, and for a
 * polynomial σ = Σ c_k h_k its coefficients √(k+1) c_{k+1} (h_k' = √k h_{k−1}).
 */
export function slopeActivation(activation: HostActivation): HostActivation {
  const c = activation.hermite;
  return {
    scalar: activation.slope,
    slope: () => 0,
    ...(activation.kinks ? { kinks: activation.kinks } : {}),
    ...(c ? { hermite: hermiteDerivative(c) } : {}),
  };
}

/**
 * μ_0(q)..μ_top(q) of a polynomial σ = Σ_j c_j h_j in closed form, in float64: from
 * He_n(γx) = Σ_i n!/(i!(n − 2i)!) γ^{n−2i} ((γ² − 1)/2)^i He_{n−2i}(x),
 *   μ_k(q) = E[σ(√q z) h_k(z)] = γ^k Σ_i c_{k+2i} √((k+2i)!/k!)/i! · s^i,   γ = √q, s = (q − 1)/2
 * (0 past σ's degree; at q = 0, μ_0 = σ(0)). The device path has the same sums in float32
 * (kernels.ts `hermiteScaling`). A 1-D rule over [−12, 12] had lost the mass of h_k² e^{−z²/2} past
 * it from degree ~25: E[h_40(z)²] came out 0.78 (review, 2026-12-06).
 */
export function polynomialHermite(c: readonly number[], q: number, top: number): Float64Array {
  const out = new Float64Array(top + 1);
  const s = (q - 1) / 2;
  const gamma = Math.sqrt(q);
  for (let k = 0; k <= top && k < c.length; k++)
    out[k] = gamma ** k * hermiteScalingRow(c, k).reduceRight((sum, b) => sum * s + b, 0);
  return out;
}

/**
 * The closed form's row of degree k: B_i = c_{k+2i} √((k+2i)!/k!)/i! for i = 0, 1, … while k + 2i
 * stays within σ's degree (at most `count` of them), so that μ_k(q) = γ^k Σ_i B_i s^i. The host sums
 * it in float64 (`polynomialHermite`); the device takes it as float32 tables (kernels.ts
 * `hermiteScaling`).
 */
export function hermiteScalingRow(c: readonly number[], k: number, count = Infinity): number[] {
  const row: number[] = [];
  // √((k+2i)!/k!)/i!, built up from i = 0
  let factor = 1;
  for (let i = 0; k + 2 * i < c.length && i < count; i++) {
    if (i > 0) factor *= Math.sqrt((k + 2 * i - 1) * (k + 2 * i)) / i;
    row.push(c[k + 2 * i]! * factor);
  }
  return row;
}

/** E[σ_e(√q z)²] and E[σ_o(√q z)²] of a polynomial σ: Σ μ_k(q)² over its even and its odd degrees. */
function polynomialMoments(c: readonly number[], q: number): [number, number] {
  const mu = polynomialHermite(c, q, c.length - 1);
  let [even, odd] = [0, 0];
  mu.forEach((m, k) => {
    if (k % 2 === 0) even += m * m;
    else odd += m * m;
  });
  return [even, odd];
}

const HALF_WIDTH = 12;
const PANEL = 0.5;
const ORDER = 16;
let legendre: { nodes: Float64Array; weights: Float64Array } | undefined;

/**
 * Composite Gauss–Legendre nodes and weights (times the N(0,1) density) over [−12, 12] in panels of
 * `panel` (at most 2¹⁴ of them), split at `cuts`.
 */
function gaussianNodes(cuts: readonly number[], panel = PANEL): { nodes: number[]; weights: number[] } {
  const count = Math.min(2 ** 14, Math.ceil((2 * HALF_WIDTH) / panel));
  const set = new Set<number>();
  for (let p = 0; p < count; p++) set.add(-HALF_WIDTH + (2 * HALF_WIDTH * p) / count);
  for (const c of cuts) if (Number.isFinite(c) && c > -HALF_WIDTH && c < HALF_WIDTH) set.add(c);
  const edges = [...set, HALF_WIDTH].sort((x, y) => x - y);
  legendre ??= gaussLegendre(ORDER);
  const rule = legendre;
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let p = 0; p + 1 < edges.length; p++) {
    const half = (edges[p + 1]! - edges[p]!) / 2;
    if (half <= 0) continue;
    const middle = (edges[p + 1]! + edges[p]!) / 2;
    for (let j = 0; j < ORDER; j++) {
      const z = middle + half * rule.nodes[j]!;
      nodes.push(z);
      weights.push((half * rule.weights[j]! * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI));
    }
  }
  return { nodes, weights };
}

/**
 * The 1-D rules' panel at variance q: 1/4 up to q = 100, then 1/4·√(100/q), since σ(√q z) changes on
 * a scale of 1/√q in z. Measured against panels of 0.02 (tanh, sigmoid, gelu; degrees ≤ 81): the
 * coefficients to 1e-15 of their norm from q = 0.01 to 1000, where the fixed 160-node Gauss–Hermite
 * rule used before was off by 3e-7 at q = 3, 9e-5 at 10, 1e-3 at 30 and 7e-3 at 1000 (tanh).
 */
function panelAt(q: number): number {
  return q > 100 ? 0.25 * Math.sqrt(100 / q) : 0.25;
}

/** The 1-D rule for E[f(√q z)…]: composite Gauss–Legendre split at σ's kinks (and their mirrors). */
function scaledNodes(activation: HostActivation, q: number) {
  const s = Math.sqrt(q);
  return gaussianNodes(
    (activation.kinks ?? []).flatMap((k) => [k / s, -k / s]),
    panelAt(q),
  );
}

/**
 * E[σ(u)σ(v)] and E[σ'(u)σ'(v)] for variances q_a, q_b and covariance c, by nested composite
 * Gauss–Legendre quadrature split at the kinks (float64; ~2·10⁶ evaluations per call).
 */
export function quadratureDual(
  activation: HostActivation,
  qa: number,
  qb: number,
  c: number,
): { value: number; derivative: number } {
  const kinks = activation.kinks ?? [];
  const sa = Math.sqrt(qa);
  const sb = Math.sqrt(qb);
  const t = Math.min(1, Math.max(-1, c / (sa * sb)));
  const along = sb * t; // v = along·z₁ + across·z₂
  const across = sb * Math.sqrt(Math.max(0, 1 - t * t));
  const outer = gaussianNodes(kinks.flatMap((k) => [k / sa, along !== 0 ? k / along : NaN]));
  let value = 0;
  let derivative = 0;
  for (let i = 0; i < outer.nodes.length; i++) {
    const z1 = outer.nodes[i]!;
    const u = sa * z1;
    const su = activation.scalar(u);
    const du = activation.slope(u);
    let gv = 0;
    let gd = 0;
    if (across === 0) {
      gv = activation.scalar(along * z1);
      gd = activation.slope(along * z1);
    } else {
      const inner = gaussianNodes(kinks.map((k) => (k - along * z1) / across));
      for (let j = 0; j < inner.nodes.length; j++) {
        const v = along * z1 + across * inner.nodes[j]!;
        gv += inner.weights[j]! * activation.scalar(v);
        gd += inner.weights[j]! * activation.slope(v);
      }
    }
    value += outer.weights[i]! * su * gv;
    derivative += outer.weights[i]! * du * gd;
  }
  return { value, derivative };
}

const DEVICE_HALF_WIDTH = 9;
const DEVICE_ORDER = 8;
/** Panels halving toward 0 below 1/2: 1/2·2⁻ʲ for j = 10..1. */
const DEVICE_GRADING = 10;
let deviceNodes: { nodes: Float64Array; weights: Float64Array } | undefined;

/**
 * The device Mehler path's rule (kernels.ts): 8-point Gauss–Legendre on panels of 1/2 over [1/2, 9],
 * and below 1/2 on panels halving toward 0 (edges 1/2·2⁻ʲ, j = 10..1), mirrored: 448 nodes (weights
 * times the N(0,1) density), given by the 224 positive ones, so σ's even and odd parts come from σ
 * at z and −z. One rule for every point's variance: σ(√q z) changes on a scale 1/√q, near z = 0 only
 * for the table's σ (saturating or linear away from it), where the panels shrink to 5e-4. Measured
 * against a rule of 16 points on ~4000 panels (geometric from 1e-7; tanh, sigmoid, gelu): μ_k(q)
 * (degrees ≤ 81) within 1e-9 of their norm, and E[σ(√q z)²], E[σ'(√q z)²] within 2e-11, from q = 1
 * to 1e5. Equal panels of 1/2 (12 points, 432 nodes) gave E[tanh'²] 2e-6 off at q = 100, 3e-3 at
 * 1000 and 0.2 at 1e4; the 160-node Gauss–Hermite rule before them had μ_k 9e-5 off at q = 10.
 */
export function deviceRule(): { nodes: Float64Array; weights: Float64Array } {
  if (deviceNodes) return deviceNodes;
  const rule = gaussLegendre(DEVICE_ORDER);
  const edges = [0];
  for (let j = DEVICE_GRADING; j >= 1; j--) edges.push(PANEL * 2 ** -j);
  for (let e = PANEL; e <= DEVICE_HALF_WIDTH; e += PANEL) edges.push(e);
  const count = (edges.length - 1) * DEVICE_ORDER;
  const nodes = new Float64Array(count);
  const weights = new Float64Array(count);
  for (let p = 0; p + 1 < edges.length; p++) {
    const half = (edges[p + 1]! - edges[p]!) / 2;
    const middle = (edges[p + 1]! + edges[p]!) / 2;
    for (let j = 0; j < DEVICE_ORDER; j++) {
      const z = middle + half * rule.nodes[j]!;
      nodes[p * DEVICE_ORDER + j] = z;
      weights[p * DEVICE_ORDER + j] =
        (half * rule.weights[j]! * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI);
    }
  }
  deviceNodes = { nodes, weights };
  return deviceNodes;
}

/**
 * μ_0(q)..μ_top(q) = E[σ(√q z) h_k(z)], by the composite Gauss–Legendre rule of `scaledNodes` (to
 * rounding from q = 0.01 to 1000, kinks or not); a polynomial σ's in closed form.
 */
export function scaledHermite(activation: HostActivation, q: number, top: number): Float64Array {
  if (activation.hermite) return polynomialHermite(activation.hermite, q, top);
  const s = Math.sqrt(q);
  const { nodes, weights } = scaledNodes(activation, q);
  const out = new Float64Array(top + 1);
  for (let i = 0; i < nodes.length; i++) {
    const z = nodes[i]!;
    const f = weights[i]! * activation.scalar(s * z);
    if (f === 0) continue;
    const h = hermiteValues(z, top);
    for (let k = 0; k <= top; k++) out[k] = out[k]! + f * h[k]!;
  }
  return out;
}

/**
 * The Mehler series' coefficients at variance q, k ≤ top: μ_k(q) (value) and √((k+1)/q)·μ_{k+1}(q)
 * (derivative), and what the degrees above top hold, by parity: `remainder[p]` = E[f_p(√q z)²] −
 * Σ_{k ≤ top, k ≡ p} c_k², f_p the even (p = 0) or odd (p = 1) part of σ (value) or σ' (derivative),
 * taken as 0 below 1e-12 of the moment (rounding) — the series' tail at t = ±1.
 */
export function mehlerCoefficients(
  activation: HostActivation,
  q: number,
  top: number,
): { value: Float64Array; derivative: Float64Array; remainder: { value: number[]; derivative: number[] } } {
  const mu = scaledHermite(activation, q, top + 1);
  const value = mu.slice(0, top + 1);
  const slopes = slopeActivation(activation);
  // a polynomial σ' has its own closed form (defined at q = 0 too)
  const derivative = slopes.hermite
    ? scaledHermite(slopes, q, top)
    : Float64Array.from({ length: top + 1 }, (_, k) => Math.sqrt((k + 1) / q) * mu[k + 1]!);
  const tail = (f: HostActivation, c: Float64Array) =>
    parityMoments(f, q).map((moment, p) => {
      let sum = 0;
      for (let k = p; k <= top; k += 2) sum += c[k]! ** 2;
      // below 1e-12 of the moment the difference is rounding (5.9e-16 of it for gelu's at q = 1,
      // against 5e-27 true), and its √ would reach into a product with a large remainder
      return moment - sum > REMAINDER_FLOOR * moment ? moment - sum : 0;
    });
  return {
    value,
    derivative,
    remainder: { value: tail(activation, value), derivative: tail(slopes, derivative) },
  };
}

/** The part of a moment below which its remainder is taken as 0 (float64). */
const REMAINDER_FLOOR = 1e-12;

/** E[σ(√q z)²] by the same 1-D rule (the next layer's variance); a polynomial σ's as Σ μ_k(q)². */
export function secondMoment(activation: HostActivation, q: number): number {
  if (activation.hermite) {
    const [even, odd] = polynomialMoments(activation.hermite, q);
    return even + odd;
  }
  const s = Math.sqrt(q);
  const { nodes, weights } = scaledNodes(activation, q);
  return nodes.reduce((sum, z, i) => sum + weights[i]! * activation.scalar(s * z) ** 2, 0);
}

/**
 * E[σ_e(√q z)²] and E[σ_o(√q z)²] of σ's even and odd parts σ_e(x) = (σ(x) + σ(−x))/2, σ_o = σ − σ_e
 * (a polynomial σ's in closed form).
 */
export function parityMoments(activation: HostActivation, q: number): [number, number] {
  if (activation.hermite) return polynomialMoments(activation.hermite, q);
  const s = Math.sqrt(q);
  const { nodes, weights } = scaledNodes(activation, q);
  let even = 0;
  let odd = 0;
  for (let i = 0; i < nodes.length; i++) {
    const plus = activation.scalar(s * nodes[i]!);
    const minus = activation.scalar(-s * nodes[i]!);
    even += weights[i]! * ((plus + minus) / 2) ** 2;
    odd += weights[i]! * ((plus - minus) / 2) ** 2;
  }
  return [even, odd];
}

/** The first degree above `top` of parity p: where a series' remainder is lumped. */
export function remainderDegree(top: number, p: number): number {
  return (top + 1) % 2 === p ? top + 1 : top + 2;
}

/**
 * The dual by the Mehler series truncated after degree `top`, its remainder lumped at the first
 * omitted degree of each parity: Σ_{k ≤ top} a_k b_k t^k + Σ_p √(R_p(q_a) R_p(q_b)) t^{k_p} (float64).
 * Exact at t = ±1 when q_a = q_b (the kernel's diagonal), where for 0 ≤ t ≤ 1 the error is at most
 * R·t^{top+1} (the true tail and the lumped term both lie in [0, R t^{top+1}]); for q_a ≠ q_b
 * Cauchy–Schwarz bounds it by 2√(R_a R_b)·|t|^{top+1} only (docs/kernels.md has measurements).
 */
export function mehlerDual(
  activation: HostActivation,
  qa: number,
  qb: number,
  c: number,
  top = MEHLER_TOP,
): { value: number; derivative: number } {
  const a = mehlerCoefficients(activation, qa, top);
  const b = qa === qb ? a : mehlerCoefficients(activation, qb, top);
  const t = Math.min(1, Math.max(-1, c / Math.sqrt(qa * qb)));
  const series = (part: 'value' | 'derivative') => {
    let sum = 0;
    let power = 1;
    for (let k = 0; k <= top; k++) {
      sum += a[part][k]! * b[part][k]! * power;
      power *= t;
    }
    for (const p of [0, 1])
      sum += Math.sqrt(a.remainder[part][p]! * b.remainder[part][p]!) * t ** remainderDegree(top, p);
    return sum;
  };
  return { value: series('value'), derivative: series('derivative') };
}

/** Degrees kept in the Mehler series of the tensor kernels. */
export const MEHLER_TOP = 80;
