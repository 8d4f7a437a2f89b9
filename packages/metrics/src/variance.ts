/** Var f* from the target's exact structure when it has one, else from f* on the test set. */
import { type Dataset, type MetricContext, type Target, testChunks } from '@regimes/core';
import { testMoments } from './moments.js';

/**
 * Σ_{k≥1} ‖P_k f*‖² + tail, when the target knows its Hermite energies exactly or by quadrature.
 * Energies from Monte Carlo (`hermiteMethod: 'monte-carlo'`: a hermite target with a non-polynomial
 * g of r ≥ 4 inputs, 2¹⁶ draws) carry an error of their own, fixed for the target and a few percent
 * for heavy-tailed g (|z1|z2z3z4: 0.93–1.11 over six seeds, against 1), which a ratio taken as
 * exact would pass on as bias with no standard error: they give undefined, and the metrics estimate
 * Var f* on the test set instead (the delta method then counts its error).
 */
export function exactTargetVariance(target: Target): number | undefined {
  const { hermiteEnergy, hermiteTail, hermiteMethod } = target.structure;
  if (!hermiteEnergy || hermiteMethod === 'monte-carlo') return undefined;
  return hermiteEnergy.slice(1).reduce((a, b) => a + b, 0) + (hermiteTail ?? 0);
}

/** Var f*, averaged over outputs: exact when known, else on the test set (read in chunks). */
export async function targetVariance(
  target: Target,
  test: Dataset,
  context?: Partial<MetricContext>,
): Promise<number> {
  const exact = exactTargetVariance(target);
  if (exact !== undefined) return exact;
  const k = target.outputDim;
  const m = await testMoments(testChunks(test, context), k, (chunk) => target.evaluate(chunk.x));
  let v = 0;
  for (let j = 0; j < k; j++) v += (m.covariance(j, j) * (m.count - 1)) / m.count;
  return v / k;
}
