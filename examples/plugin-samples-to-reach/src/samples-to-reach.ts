/**
 * "Samples needed to reach risk ε". A metric sees one fit (predictor, test set, target), never the
 * sweep, so the answer comes in two parts:
 *
 * - the metric `risk-reached` (per fit): 1 when the test risk E(f − f*)² ≤ ε, else 0, so each row
 *   of a sweep says whether its n sufficed (the risk itself is the built-in metric `risk`'s);
 * - `samplesToReach(rows, { eps })` (across the sweep, on the results rows): per learner, the mean
 *   risk over seeds at each n, and the n where that mean first falls to ε, interpolated linearly
 *   in (log n, log risk) between the two bracketing n (exact for risk = C·n^(−α)).
 */
import { defineMetricKind, type MetricFactory, options, type ResultRow, testChunks, z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const riskReached: MetricFactory = defineMetricKind({
  kind: 'risk-reached',
  description: 'whether the test risk E(f − f*)² is at most eps: 1, or 0',
  options: options({ eps: z.number().positive().default(0.1).describe('the risk to reach') }),
  create: (o) => ({
    async compute(predictor, test, target, context) {
      const chunks = testChunks(test, context);
      let sum = 0;
      await chunks.forEachChunk(async (chunk) => {
        const total = tf.tidy(() =>
          tf.sum(tf.square(tf.sub(predictor.predict(chunk.x), target.evaluate(chunk.x)))),
        );
        sum += (await total.data())[0]!;
        total.dispose();
      });
      const risk = sum / chunks.n;
      // one number, written under the metric's kind; a metric that returns { name: value } writes
      // each under its name, which must not be another metric's (`risk` is the built-in's)
      return risk <= o.eps ? 1 : 0;
    },
  }),
});

export interface SamplesToReach {
  readonly learner: string;
  /** Interpolated n where the mean risk reaches eps; null when no swept n reaches it. */
  readonly n: number | null;
  /** The smallest swept n whose mean risk is ≤ eps, or null. */
  readonly firstSwept: number | null;
  /** Mean risk over seeds at each swept n, by n ascending. */
  readonly curve: readonly { readonly n: number; readonly risk: number; readonly seeds: number }[];
}

/** Per learner id, the samples needed to reach mean risk `eps` over a sweep of n (rows with status ok). */
export function samplesToReach(
  rows: readonly Pick<ResultRow, 'cell' | 'learner' | 'metrics' | 'status'>[],
  settings: { eps: number; metric?: string },
): SamplesToReach[] {
  const metric = settings.metric ?? 'risk';
  const byLearner = new Map<string, Map<number, number[]>>();
  for (const row of rows) {
    const n = Number(row.cell.n);
    const value = row.metrics[metric];
    if (row.status !== 'ok' || !Number.isFinite(n) || value === undefined || !Number.isFinite(value))
      continue;
    const curve = byLearner.get(row.learner.id) ?? new Map<number, number[]>();
    curve.set(n, [...(curve.get(n) ?? []), value]);
    byLearner.set(row.learner.id, curve);
  }
  return [...byLearner].map(([learner, points]) => {
    const curve = [...points]
      .map(([n, risks]) => ({
        n,
        risk: risks.reduce((a, b) => a + b, 0) / risks.length,
        seeds: risks.length,
      }))
      .sort((a, b) => a.n - b.n);
    const i = curve.findIndex((p) => p.risk <= settings.eps);
    if (i < 0) return { learner, n: null, firstSwept: null, curve };
    if (i === 0) return { learner, n: curve[0]!.n, firstSwept: curve[0]!.n, curve };
    const [a, b] = [curve[i - 1]!, curve[i]!];
    const t = (Math.log(a.risk) - Math.log(settings.eps)) / (Math.log(a.risk) - Math.log(b.risk));
    const n = Math.exp(Math.log(a.n) + t * (Math.log(b.n) - Math.log(a.n)));
    return { learner, n, firstSwept: b.n, curve };
  });
}
