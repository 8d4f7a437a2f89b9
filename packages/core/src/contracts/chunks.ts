/** The test set in row chunks: slices of a held dataset (what a metric reads through its context). */
import tf from '@regimes/numerics/tfjs';
import { type Dataset, disposeDataset, type MetricContext, type TestChunks } from './contracts.js';

/** Rows per chunk of the test set: bounds e.g. an n × chunk kernel in a kernel predictor. */
export const TEST_CHUNK = 8192;

/** A held dataset as chunks: row slices of `rows` rows (the last one shorter). */
export function datasetChunks(data: Dataset, rows = TEST_CHUNK): TestChunks {
  const n = data.x.shape[0];
  return {
    n,
    async forEachChunk(fn) {
      if (n <= rows) return fn(data, 0);
      for (let start = 0; start < n; start += rows) {
        const size = Math.min(rows, n - start);
        const chunk = {
          x: tf.slice(data.x, [start, 0], [size, -1]),
          y: tf.slice(data.y, [start, 0], [size, -1]),
        };
        try {
          await fn(chunk, start);
        } finally {
          disposeDataset(chunk);
        }
      }
    },
  };
}

/** The test set of a metric call in chunks: the runner's, else `test` sliced. */
export function testChunks(test: Dataset, context: Partial<MetricContext> | undefined): TestChunks {
  return context?.test ?? datasetChunks(test);
}

/**
 * The test set of `n` rows drawn chunk by chunk with `target.sampleRows` from `rng` (the same rows
 * as `target.sample(n, rng)`), each chunk freed after use: it is never held whole.
 */
export function sampledChunks(
  sampleRows: (start: number, count: number) => Dataset,
  n: number,
  rows = TEST_CHUNK,
): TestChunks {
  return {
    n,
    async forEachChunk(fn) {
      for (let start = 0; start < n; start += rows) {
        const chunk = sampleRows(start, Math.min(rows, n - start));
        try {
          await fn(chunk, start);
        } finally {
          disposeDataset(chunk);
        }
      }
    },
  };
}
