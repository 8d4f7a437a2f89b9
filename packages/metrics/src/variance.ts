/** Var f* from the target's exact structure when it has one, else from f* on the test set. */
import { type Dataset, type MetricContext, type Target, testChunks } from '@regimes/core';
import { testMoments } from './moments.js';

/** Σ_{k≥1} ‖P_k f*‖² + tail, when the target knows its Hermite energies. */
export function exactTargetVariance(target: Target): number | undefined {
  const { hermiteEnergy, hermiteTail } = target.structure;
  if (!hermiteEnergy) return undefined;
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
