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
 *   t^k. Exact for polynomial σ; for σ analytic in a strip (tanh, sigmoid, softplus) and entire σ
 *   (gelu, erf) μ_k decays fast enough at moderate variance that 80 terms reach 1e-7 or better
 *   against the quadrature (tanh at variance 3 and correlation 0.97: 4e-9 in E[σσ], 1.3e-7 in
 *   E[σ′σ′]), but more slowly as the variance grows and t nears 1: tanh's E[σ′σ′] at t = 1 is off
 *   by 1e-5 at q = 3, 3.7e-3 at q = 10, 4.8e-2 at q = 30 (docs/kernels.md has the table).
 */
import { gaussHermite, gaussLegendre, hermiteValues } from '@regimes/numerics';
import { shiftedHermite } from './dual-taylor.js';

/** σ and σ' on the host, and where they are not smooth. */
export interface HostActivation {
  scalar(z: number): number;
  slope(z: number): number;
  readonly kinks?: readonly number[];
}

const HALF_WIDTH = 12;
const PANEL = 0.5;
const ORDER = 16;
let legendre: { nodes: Float64Array; weights: Float64Array } | undefined;

/** Composite Gauss–Legendre nodes and weights (times the N(0,1) density) over [−12, 12], split at `cuts`. */
function gaussianNodes(cuts: readonly number[]): { nodes: number[]; weights: number[] } {
  const set = new Set<number>();
  for (let t = -HALF_WIDTH; t < HALF_WIDTH; t += PANEL) set.add(t);
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

const HERMITE_NODES = 160;
let rule: { nodes: Float64Array; weights: Float64Array } | undefined;

/** The 160-node Gauss–Hermite rule (numerics' Christoffel weights: the tails' ~1e-60 accurate), made once. */
export function hermiteRule(): { nodes: Float64Array; weights: Float64Array } {
  rule ??= gaussHermite(HERMITE_NODES);
  return rule;
}

/**
 * μ_0(q)..μ_top(q) = E[σ(√q z) h_k(z)]: Gauss–Hermite with 160 nodes for smooth σ, composite
 * Gauss–Legendre split at the kinks otherwise.
 */
export function scaledHermite(activation: HostActivation, q: number, top: number): Float64Array {
  const s = Math.sqrt(q);
  if (activation.kinks?.length)
    return shiftedHermite(
      { scalar: (z) => activation.scalar(s * z), kinks: activation.kinks.map((k) => k / s) },
      0,
      top,
    );
  const { nodes, weights } = hermiteRule();
  const out = new Float64Array(top + 1);
  for (let i = 0; i < HERMITE_NODES; i++) {
    const z = nodes[i]!;
    const f = weights[i]! * activation.scalar(s * z);
    if (f === 0) continue;
    const h = hermiteValues(z, top);
    for (let k = 0; k <= top; k++) out[k] = out[k]! + f * h[k]!;
  }
  return out;
}

/** The Mehler series' coefficients at variance q: μ_k(q) (value) and √((k+1)/q)·μ_{k+1}(q) (derivative), k ≤ top. */
export function mehlerCoefficients(
  activation: HostActivation,
  q: number,
  top: number,
): { value: Float64Array; derivative: Float64Array } {
  const mu = scaledHermite(activation, q, top + 1);
  return {
    value: mu.slice(0, top + 1),
    derivative: Float64Array.from({ length: top + 1 }, (_, k) => Math.sqrt((k + 1) / q) * mu[k + 1]!),
  };
}

/** E[σ(√q z)²] by the same 1-D rules (the next layer's variance). */
export function secondMoment(activation: HostActivation, q: number): number {
  const s = Math.sqrt(q);
  if (activation.kinks?.length) {
    const { nodes, weights } = gaussianNodes(activation.kinks.map((k) => k / s));
    return nodes.reduce((sum, z, i) => sum + weights[i]! * activation.scalar(s * z) ** 2, 0);
  }
  const { nodes, weights } = hermiteRule();
  let sum = 0;
  for (let i = 0; i < HERMITE_NODES; i++) sum += weights[i]! * activation.scalar(s * nodes[i]!) ** 2;
  return sum;
}

/** The dual by the Mehler series truncated after degree `top` (float64). */
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
  let value = 0;
  let derivative = 0;
  let power = 1;
  for (let k = 0; k <= top; k++) {
    value += a.value[k]! * b.value[k]! * power;
    derivative += a.derivative[k]! * b.derivative[k]! * power;
    power *= t;
  }
  return { value, derivative };
}

/** Degrees kept in the Mehler series of the tensor kernels. */
export const MEHLER_TOP = 80;
