/**
 * The kernel staircase (Ghorbani, Mei, Misiakiewicz, Montanari 2021; Mei, Misiakiewicz,
 * Montanari 2022): with n ≍ d^ℓ samples, kernel ridge regression learns the degree-≤ℓ Hermite part
 * of f* and its test risk tends to ‖P_{>ℓ} f*‖². Drawn over measured risks as a theory curve.
 */
import type { TargetStructure, TheoryContext, TheoryCurve } from '@regimes/core';
import { staircasePoints as staircaseSteps } from '@regimes/numerics';

export { staircaseLevel } from '@regimes/numerics';

/** ‖P_{>ℓ} f*‖²: the energy above degree ℓ, the tail beyond the listed degrees included. */
export function energyAbove(structure: TargetStructure, level: number): number {
  const energy = structure.hermiteEnergy ?? [];
  let sum = structure.hermiteTail ?? 0;
  for (let k = Math.floor(level) + 1; k < energy.length; k++) sum += energy[k]!;
  return sum;
}

/** Var f* = Σ_{k≥1} ‖P_k f*‖² (+ the tail). */
export function varianceOf(structure: TargetStructure): number {
  return energyAbove(structure, 0);
}

/** The staircase ‖P_{>ℓ(n)} f*‖² (× scale) over [min xs, max xs], a jump at every n = d^ℓ inside. */
export function staircasePoints(
  structure: TargetStructure,
  d: number,
  xs: readonly number[],
  scale = 1,
): { x: number; y: number }[] {
  return staircaseSteps((level) => energyAbove(structure, level) * scale, d, xs);
}

/**
 * The staircase curve of a target with exact Hermite energies, for `-x n` and the metrics it
 * predicts: `risk` and `excess-risk` (whose expectation is the risk; both exclude label noise),
 * and `normalized-risk` (divided by Var f*). Empty for any other axis.
 */
export function staircaseTheory(
  structure: TargetStructure,
  d: number,
  context: Pick<TheoryContext, 'xKey' | 'xs' | 'metric'>,
): TheoryCurve[] {
  if (context.xKey !== 'n' || !structure.hermiteEnergy) return [];
  const label = 'kernel staircase ‖P>ℓ f*‖², ℓ = ⌊log_d n⌋';
  switch (context.metric) {
    case 'risk':
    case 'excess-risk':
      return [{ label, metric: context.metric, points: staircasePoints(structure, d, context.xs) }];
    case 'normalized-risk': {
      const variance = varianceOf(structure);
      if (!(variance > 0)) return [];
      return [
        {
          label: `${label}, / Var f*`,
          metric: context.metric,
          points: staircasePoints(structure, d, context.xs, 1 / variance),
        },
      ];
    }
    default:
      return [];
  }
}
