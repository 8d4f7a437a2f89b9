/**
 * Functions of z = Ux in the orthonormal Hermite basis: energies per degree, evaluation on
 * tensors, quadrature and Monte-Carlo projections for non-polynomial g.
 */
import { type Rng } from '@regimes/core';
import { type Expr, evaluateExpression, hermiteValues, gaussLegendre, multiIndices } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { combineTerms, degreeOf, type HermiteTerm } from './polynomial.js';

/** ‖P_k g‖² = Σ_{|α|=k} c_α², for k = 0..max degree (a repeated α counts once, its coefficients summed). */
export function hermiteEnergies(terms: readonly HermiteTerm[]): number[] {
  const top = Math.max(0, ...terms.map((t) => degreeOf(t.alpha)));
  const energy = new Array(top + 1).fill(0);
  for (const t of combineTerms(terms)) energy[degreeOf(t.alpha)] += t.coef ** 2;
  return energy;
}

/** h_0..h_m of a column tensor, by the orthonormal recurrence h_{k+1} = (z h_k − √k h_{k−1})/√(k+1). Inside tidy. */
export function hermiteColumns(z: tf.Tensor, m: number): tf.Tensor[] {
  const out = [tf.onesLike(z)];
  if (m >= 1) out.push(z);
  for (let k = 1; k < m; k++) {
    out.push(tf.div(tf.sub(tf.mul(z, out[k]!), tf.mul(out[k - 1]!, Math.sqrt(k))), Math.sqrt(k + 1)));
  }
  return out;
}

/** He_k(z)/√(k!) on a tensor. */
export function normalizedHermite(z: tf.Tensor, k: number): tf.Tensor {
  return tf.tidy(() => hermiteColumns(z, k)[k]!.clone());
}

/** Σ_α c_α h_α(z) for z of shape n×r; returns n×1. */
export function evaluateHermiteTerms(terms: readonly HermiteTerm[], z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, r] = z.shape;
    const columns = Array.from({ length: r }, (_, i) => {
      const top = Math.max(0, ...terms.map((t) => t.alpha[i] ?? 0));
      return hermiteColumns(tf.slice(z, [0, i], [n, 1]), top);
    });
    // the sum starts at its first term, not at zeros: tf.zeros fills a new host array first, whose
    // fresh pages cost ~0.1 ms a call here (207 ms of a 15-s sweep of 288 small cells)
    let sum: tf.Tensor | undefined;
    for (const t of terms) {
      let product: tf.Tensor | undefined;
      t.alpha.forEach((a, i) => {
        if (a > 0) product = product ? tf.mul(product, columns[i]![a]!) : columns[i]![a]!;
      });
      const term = product ? tf.mul(product, t.coef) : tf.fill([n, 1], t.coef);
      sum = sum ? tf.add(sum, term) : term;
    }
    return (sum ?? tf.zeros([n, 1])) as tf.Tensor2D;
  });
}

export { gaussHermite, gaussLegendre } from '@regimes/numerics';

/**
 * A rule for E f(Z), Z ~ N(0, 1): composite Gauss–Legendre on [−10, 10] (panels × order points)
 * with the normal density folded into the weights. Unlike Gauss–Hermite it converges fast for
 * g with kinks (relu, abs) along an axis, since such a kink spoils one panel only (relu(z1) +
 * abs(z2) + tanh(z3): energies within 2.5e-7). A slanted kink crosses every panel on its way:
 * relu(z1 + z2 + z3) at 96³ points has per-degree errors of 0.07–0.5% (tail 1.7%), Var f* 3e-4
 * relative. Mass beyond ±10 is below 1e-22.
 */
export function normalRule(panels: number, order: number): { nodes: Float64Array; weights: Float64Array } {
  const { nodes: gl, weights: glw } = gaussLegendre(order);
  const half = 10;
  const width = (2 * half) / panels;
  const nodes = new Float64Array(panels * order);
  const weights = new Float64Array(panels * order);
  for (let p = 0; p < panels; p++) {
    const center = -half + (p + 0.5) * width;
    for (let j = 0; j < order; j++) {
      const z = center + (gl[j]! * width) / 2;
      nodes[p * order + j] = z;
      weights[p * order + j] = (((glw[j]! * width) / 2) * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI);
    }
  }
  return { nodes, weights };
}

export interface Projection {
  terms: HermiteTerm[];
  /**
   * ‖P_k g‖² for k = 0..maxDegree. By quadrature Σ_{|α|=k} c_α²; by Monte Carlo Σ c_α⁽¹⁾c_α⁽²⁾ over
   * the two halves of the points (each c_α² alone is biased up by Var(g h_α)/m, which summed over
   * the many α of a high degree outweighs its energy), clamped at 0.
   */
  energy: number[];
  /** E[g²], so that E[g²] − Σ c_α² is the energy above the projected degrees. */
  total: number;
  /**
   * Quadrature: the share of E[g²] at points with a coordinate beyond ±9, the last tenth of the rule's
   * ±10; what lies beyond ±10 is lost, and a share above ~1e-6 says it is not negligible (g grows as
   * fast as e^{3|z|} or z^{30}). 0 by Monte Carlo.
   */
  edge: number;
  /**
   * Quadrature: E[g²] on a second rule of ¾ the panels, whose nodes fall elsewhere; one that differs
   * from `total` by more than a few percent says E[g²] does not settle, a pole whose square is not
   * integrable (1/z1: 25%, tan(z1): 72%, |z1|^−0.6: 6.5%; |z1|^−0.45 and log|z1|, integrable:
   * 1.7% and 0.03%; smooth g and kinks: below 1e-8). `total` by Monte Carlo.
   */
  check: number;
  method: 'quadrature' | 'monte-carlo';
  points: number;
}

/**
 * Hermite coefficients c_α = E[g(Z) h_α(Z)] for |α| ≤ maxDegree, Z ~ N(0, I_r): by a tensor
 * product of composite Gauss–Legendre rules when r ≤ 3 (16000, 720² or 96³ points), else by
 * seeded Monte Carlo with 2^16 points.
 */
export function projectOnHermite(expr: Expr, r: number, maxDegree: number, rng: Rng): Projection {
  const alphas = multiIndices(r, maxDegree);
  // the sums of each half of the points apart (Monte Carlo's unbiased energies; quadrature uses one)
  const halves = [new Float64Array(alphas.length), new Float64Array(alphas.length)];
  let total = 0;
  let edge = 0;
  const accumulate = (z: Float64Array, weight: number, half = 0) => {
    const g = evaluateExpression(expr, z);
    total += weight * g * g;
    if (z.some((v) => Math.abs(v) > 9)) edge += weight * g * g;
    const h = Array.from(z, (v) => hermiteValues(v, maxDegree));
    const into = halves[half]!;
    alphas.forEach((alpha, j) => {
      let basis = 1;
      for (let i = 0; i < r; i++) basis *= h[i]![alpha[i]!]!;
      into[j]! += weight * g * basis;
    });
  };
  let method: Projection['method'];
  let points: number;
  let check = 0; // E[g²] on the second rule (quadrature only)
  if (r <= 3) {
    const [panels, order] = (
      [
        [2000, 8],
        [120, 6],
        [24, 4],
      ] as const
    )[r - 1]!;
    points = onProductRule(normalRule(panels, order), r, accumulate);
    onProductRule(normalRule(Math.round((panels * 3) / 4), order), r, (z, weight) => {
      check += weight * evaluateExpression(expr, z) ** 2;
    });
    method = 'quadrature';
  } else {
    points = 1 << 16;
    const draws = rng.normal(points * r, new Float64Array(points * r));
    for (let s = 0; s < points; s++)
      accumulate(draws.subarray(s * r, (s + 1) * r), 1 / points, s < points / 2 ? 0 : 1);
    method = 'monte-carlo';
  }
  const sums = halves[0]!.map((v, j) => v + halves[1]![j]!);
  // the terms kept: |c| above 1e-12 of g's scale √E[g²] (relative: `1e-13*tanh(z1)` had lost every term)
  const floor = 1e-12 * Math.sqrt(total);
  const terms = alphas.map((alpha, j) => ({ coef: sums[j]!, alpha })).filter((t) => Math.abs(t.coef) > floor);
  const energy = new Array<number>(maxDegree + 1).fill(0);
  alphas.forEach((alpha, j) => {
    // each half's sum has weight 1/points: 2·sum is that half's mean
    energy[degreeOf(alpha)]! += method === 'quadrature' ? sums[j]! ** 2 : 4 * halves[0]![j]! * halves[1]![j]!;
  });
  return {
    terms,
    energy: energy.map((e) => Math.max(0, e)),
    total,
    edge: method === 'quadrature' && total > 0 ? edge / total : 0,
    check: method === 'quadrature' ? check : total,
    method,
    points,
  };
}

/**
 * Visit every node z of the r-fold tensor product of a 1-D rule with its weight (z is reused: the
 * visitor reads it before the next); returns the number of nodes.
 */
function onProductRule(
  rule: { nodes: Float64Array; weights: Float64Array },
  r: number,
  visit: (z: Float64Array, weight: number) => void,
): number {
  const { nodes, weights } = rule;
  const m = nodes.length;
  const z = new Float64Array(r);
  const count = m ** r;
  for (let flat = 0; flat < count; flat++) {
    let weight = 1;
    for (let i = 0, rest = flat; i < r; i++, rest = Math.floor(rest / m)) {
      z[i] = nodes[rest % m]!;
      weight *= weights[rest % m]!;
    }
    visit(z, weight);
  }
  return count;
}
