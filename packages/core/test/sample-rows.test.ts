// Rows of one draw, drawn alone: the test set drawn chunk by chunk reproduces the one big draw.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type Dataset,
  defineTarget,
  disposeDataset,
  type MetricContext,
  normalsAt,
  options,
  Registry,
  Rng,
  runExperiment,
  sampledChunks,
  TEST_CHUNK,
} from '../src/index.js';
import { silentLogger } from '../src/testing/index.js';
import { testPlugin } from './helpers.js';

describe('rows of one draw', () => {
  it('normalsAt(offset, count) equals that slice of one long normal draw, odd offsets included', () => {
    const whole = Rng.fromSeed(3).child('x').normal(101);
    for (const [offset, count] of [
      [0, 101],
      [7, 10],
      [8, 93],
      [99, 2],
    ] as const)
      expect(Array.from(normalsAt(Rng.fromSeed(3).child('x'), offset, count))).toEqual(
        Array.from(whole.subarray(offset, offset + count)),
      );
  });

  it('a noisy target of odd d drawn in chunks of 7 rows equals its one sample, bit for bit', async () => {
    const target = defineTarget({
      name: 'odd',
      d: 3,
      f: (x) => tf.tidy(() => tf.sum(tf.square(x), 1, true) as tf.Tensor2D),
    }).create({ noise: 0.3 }, { rng: Rng.fromSeed(0) });
    const rng = Rng.fromSeed(1).child('data', 'test');
    const whole = target.sample(50, rng);
    const expected = [Array.from(await whole.x.data()), Array.from(await whole.y.data())];
    disposeDataset(whole);
    const got: number[][] = [[], []];
    const chunks = sampledChunks((start, count) => target.sampleRows!(start, count, rng), 50, 7);
    await chunks.forEachChunk(async (chunk, start) => {
      expect(start % 7).toBe(0);
      got[0]!.push(...(await chunk.x.data()));
      got[1]!.push(...(await chunk.y.data()));
    });
    expect(got).toEqual(expected);
  });
});

describe('the runner draws the test set in chunks when the target has sampleRows', () => {
  const base = defineTarget({
    name: 'first-coordinate',
    d: 3,
    f: (x) => tf.slice(x, [0, 0], [-1, 1]) as tf.Tensor2D,
    structure: { hermiteEnergy: [0, 1] },
  });
  // the sizes of the whole draws, and how many draws of rows
  const sampled: number[] = [];
  let rowDraws = 0;
  const counted = {
    ...base,
    kind: 'counted',
    create(o: { noise: number }, c: { rng: Rng }) {
      const t = base.create(o, c);
      return {
        ...t,
        sample: (n: number, rng: Rng) => {
          sampled.push(n);
          return t.sample(n, rng);
        },
        sampleRows: (start: number, count: number, rng: Rng) => {
          rowDraws++;
          return t.sampleRows!(start, count, rng);
        },
      };
    },
  };
  /** mean of x_1² over the test set read through the context's chunks, and the largest chunk. */
  const chunkMetric = {
    kind: 'chunk-mean',
    description: 'mean of x_1² over the chunks of the test set',
    options: options({}),
    create: () => ({
      async compute(_p: unknown, _test: Dataset, _t: unknown, context: MetricContext) {
        let sum = 0;
        let largest = 0;
        await context.test!.forEachChunk(async (chunk) => {
          largest = Math.max(largest, chunk.x.shape[0]);
          const x = await chunk.x.data();
          for (let i = 0; i < x.length; i += 3) sum += x[i]! ** 2;
        });
        return { 'chunk-mean': sum / context.test!.n, largest };
      },
    }),
  };

  it('never draws it whole for a metric reading chunks; a metric reading test.x still gets it, the same rows', async () => {
    const spec = (metrics: unknown[]) =>
      ({
        target: counted,
        learners: [{ kind: 'ridge' }],
        metrics,
        sweep: { n: [16] },
        test: { n: 20000 },
      }) as never;
    const run = (metrics: unknown[]) =>
      runExperiment(spec(metrics), { registry: Registry.with(testPlugin), log: silentLogger });
    sampled.length = 0;
    const chunked = await run([chunkMetric]);
    expect(sampled).toEqual([16]); // the training set only
    expect(chunked.rows[0]!.metrics.largest).toBe(TEST_CHUNK);
    const both = await run([chunkMetric, { kind: 'mse' }]);
    expect(sampled).toEqual([16, 16, 20000]); // drawn whole once, for `mse`
    expect(both.rows[0]!.metrics['chunk-mean']).toBe(chunked.rows[0]!.metrics['chunk-mean']);
    expect(both.rows[0]!.metrics.mse).toBeGreaterThan(0);
  });

  it('holds a test set of one chunk: drawn once for every learner and metric, the rows of the cell’s stream', async () => {
    sampled.length = 0;
    rowDraws = 0;
    const { rows } = await runExperiment(
      {
        target: counted,
        learners: [{ kind: 'ridge' }, { kind: 'ridge', id: 'again' }],
        metrics: [chunkMetric, { kind: 'mse' }],
        sweep: { n: [16] },
        test: { n: 100 },
      } as never,
      { registry: Registry.with(testPlugin), log: silentLogger },
    );
    // the training set, then the test set once: two learners read it, each through two metrics
    expect(sampled).toEqual([16, 100]);
    expect(rowDraws).toBe(0);
    // the mean of x_1² over the rows of the cell's test stream (seed 0), computed here from one draw
    const own = base.create({ noise: 0 }, { rng: Rng.fromSeed(0).child('target') });
    const test = own.sample(100, Rng.fromSeed(0).child('data', 'test'));
    const x = await test.x.data();
    disposeDataset(test);
    let sum = 0;
    for (let i = 0; i < x.length; i += 3) sum += x[i]! ** 2;
    for (const row of rows) {
      expect(row.metrics['chunk-mean']).toBe(sum / 100);
      expect(row.metrics.largest).toBe(100);
    }
  });
});
