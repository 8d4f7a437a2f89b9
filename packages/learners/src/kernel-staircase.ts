/**
 * A kernel learner's own staircase (Ghorbani, Mei, Misiakiewicz & Montanari 2021, Ann. Statist.
 * 49(2), Thm. 4; Mei, Misiakiewicz & Montanari 2022, ACHA 59, Thm. 4): kernel ridge with a
 * dot-product kernel h(ρ) = Σ_k c_k ρ^k and n ≍ d^ℓ samples learns the degrees its kernel reaches
 * by order ℓ, and its risk tends to the target's energy in the others.
 *
 * The rule drawn: on the sphere the degree-k eigenvalue is ≍ c_{k+2j}/d^{k+j} for the first j ≥ 0
 * with c_{k+2j} > 0 (ρ^{k+2j} projects onto degree k with a factor d^{−j}), so degree k is learned
 * from n = d^{k+j} on — from d^k when c_k > 0, never when every c_{k+2j} is 0 (bias-free relu at odd
 * k ≥ 3, erf at even k, the quadratic kernel above 2). The risk at n is the energy of the degrees
 * not yet learned, plus the target's energy beyond its listed degrees.
 *
 * A kernel of the direction x̂ = x/‖x‖ alone (`kernel` and `ntk` / `nngp` with `sphere: true`) on
 * Gaussian x sees F = E[f* | x̂] and never the rest, the radial part u = ‖f* − F‖² (eigenlearning.ts):
 * its staircase counts the degrees of F by spherical degree and keeps u as a floor at every n
 * (for (h₁ + h₂ + h₃)(⟨u, x⟩)/√3: u = 0.378 at d = 8, 0.225 at d = 16; → 0 as d → ∞, where the
 * two staircases meet).
 */
import type { TargetStructure, TheoryContext, TheoryCurve } from '@regimes/core';
import { staircasePoints } from '@regimes/numerics';
import { sphereTargetEnergies } from './eigenlearning.js';

/** How far past the target's top degree the coefficients are looked at for c_{k+2j} > 0. */
export const STAIRCASE_LOOKAHEAD = 8;

/** A coefficient below this fraction of the largest counts as 0 (float64 quadrature is ~1e-15). */
const ZERO = 1e-10;

/** The exponent e_k with degree k learned from n = d^{e_k} on (∞: never), for k = 0..top. */
export function onsetExponents(taylor: readonly number[], top: number): number[] {
  const scale = Math.max(...taylor.map(Math.abs));
  const reaches = (k: number) => k < taylor.length && Math.abs(taylor[k]!) > ZERO * scale;
  return Array.from({ length: top + 1 }, (_, k) => {
    for (let j = 0; k + 2 * j < taylor.length; j++) if (reaches(k + 2 * j)) return k + j;
    return Number.POSITIVE_INFINITY;
  });
}

/** The risk at level ℓ (d^ℓ ≤ n < d^(ℓ+1)): the energy of the degrees with onset above ℓ, and the tail. */
export function kernelRiskAt(structure: TargetStructure, onset: readonly number[], level: number): number {
  const energy = structure.hermiteEnergy ?? [];
  let sum = structure.hermiteTail ?? 0;
  energy.forEach((e, k) => {
    if (!(onset[k]! <= level)) sum += e;
  });
  return sum;
}

/**
 * The learner's staircase for `-x n` and `risk`, `excess-risk`, `normalized-risk` (÷ Var f*), from
 * its kernel's coefficients (`taylorUpTo(top, d)`: c_0..c_top at least, d the input dimension) and the
 * target the context builds; with the learner's intercept, degree 0 is learned from the start.
 * `directionOnly`: the kernel sees x only through x/‖x‖ — the degrees are those of E[f* | x̂] on the
 * sphere and the radial part of f* is a floor no n removes (exact for a single-index polynomial
 * target; for others the Hermite energies stand in, as d → ∞). Empty for another axis or metric, or
 * a target without energies by degree.
 */
export function kernelStaircaseTheory(
  taylorUpTo: (top: number, d: number) => readonly number[],
  context: TheoryContext,
  intercept = false,
  directionOnly = false,
): TheoryCurve[] {
  const metric = context.metric;
  if (context.xKey !== 'n' || !['risk', 'excess-risk', 'normalized-risk'].includes(metric)) return [];
  const built = context.targetStructure?.();
  const hermiteEnergy = built?.structure.hermiteEnergy;
  if (!built || !hermiteEnergy) return [];
  const sphere = directionOnly ? sphereTargetEnergies(built.structure, built.dim) : undefined;
  // the energies the kernel's degrees reach, and what none of them does (the Hermite tail; the radial part)
  const structure: TargetStructure = sphere
    ? { hermiteEnergy: sphere.energy, hermiteTail: sphere.unlearnable }
    : built.structure;
  const energy = structure.hermiteEnergy!;
  const top = energy.length - 1;
  const onset = onsetExponents(taylorUpTo(top + STAIRCASE_LOOKAHEAD, built.dim), top);
  // an unpenalised intercept fits the mean (degree 0) at any n, whatever c_0 is
  if (intercept) onset[0] = 0;
  // Var f*
  const variance = hermiteEnergy.slice(1).reduce((sum, e) => sum + e, built.structure.hermiteTail ?? 0);
  const scale = metric === 'normalized-risk' ? 1 / variance : 1;
  if (!Number.isFinite(scale)) return [];
  const never = energy.flatMap((e, k) => (e > 0 && !Number.isFinite(onset[k]!) ? [k] : []));
  const late = energy.flatMap((e, k) => (e > 0 && Number.isFinite(onset[k]!) && onset[k]! > k ? [k] : []));
  const radial = sphere?.method === 'exact' ? sphere.unlearnable - (built.structure.hermiteTail ?? 0) : 0;
  const label = [
    'its kernel’s staircase',
    never.length ? `degree ${never.join(', ')} never learned` : '',
    late.length ? `degree ${late.join(', ')} late` : '',
    radial > 1e-12 ? 'radial part never learned' : '',
    sphere?.method === 'hermite' ? 'Hermite energies (d→∞)' : '',
    metric === 'normalized-risk' ? '/ Var f*' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return [
    {
      label,
      metric,
      points: staircasePoints(
        (level) => kernelRiskAt(structure, onset, level) * scale,
        built.dim,
        context.xs,
      ),
    },
  ];
}
