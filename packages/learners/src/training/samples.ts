/**
 * Parts of a training set: the split of the two-stage learners, the held-out part of early stopping,
 * and the mini-batches of a training run.
 */
import { type Dataset, RegimesError, type Rng, type Target } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import type { Optimizer } from './update.js';

/** The first `fraction` of the samples and the rest, as two datasets the caller disposes. */
export function splitSample(train: Dataset, fraction: number) {
  const [n, d] = train.x.shape;
  const k = train.y.shape[1];
  if (n < 2)
    throw new RegimesError(`split ${fraction} shares n = ${n} sample between two stages: each needs one`, {
      hint: 'use n >= 2, or split: reuse (both stages on all samples)',
    });
  const n1 = Math.max(1, Math.min(n - 1, Math.round(n * fraction)));
  // one tidy: a slice that throws frees those made before it
  const { first, second } = tf.tidy(() => ({
    first: { x: tf.slice(train.x, [0, 0], [n1, d]), y: tf.slice(train.y, [0, 0], [n1, k]) },
    second: { x: tf.slice(train.x, [n1, 0], [n - n1, d]), y: tf.slice(train.y, [n1, 0], [n - n1, k]) },
  }));
  return { first, second, dispose: () => tf.dispose([first.x, first.y, second.x, second.y]) };
}

/**
 * The last `fraction` of the samples held out (at least one held out and one kept), as two datasets
 * freed by `dispose`. Of fewer than two samples nothing can be held out: refused (an empty held-out
 * set had early stopping read a mean of nothing: uninitialised memory on wasm and native).
 */
export function holdOut(train: Dataset, fraction: number) {
  const n = train.x.shape[0];
  if (n < 2)
    throw new RegimesError(
      `earlyStopping holds out a fraction ${fraction} of n = ${n} sample(s): it needs one held out and one to train on`,
      { hint: 'use n >= 2, or leave earlyStopping out' },
    );
  const keep = Math.max(1, Math.min(n - 1, Math.round(n * (1 - fraction))));
  // one tidy: a slice that throws frees those made before it
  const { held, kept } = tf.tidy(() => ({
    held: {
      x: tf.slice(train.x, [keep, 0], [-1, -1]) as tf.Tensor2D,
      y: tf.slice(train.y, [keep, 0], [-1, -1]) as tf.Tensor2D,
    },
    kept: {
      x: tf.slice(train.x, [0, 0], [keep, -1]) as tf.Tensor2D,
      y: tf.slice(train.y, [0, 0], [keep, -1]) as tf.Tensor2D,
    },
  }));
  return { kept, held, dispose: () => tf.dispose([held.x, held.y, kept.x, kept.y]) };
}

/** Where a run's batches come from: the training set, or fresh draws from the target every step. */
export const sampleModes = ['data', 'online'] as const;
export type SampleMode = (typeof sampleModes)[number];

/** How a run batches: an optimizer (full-batch for gd), a mini-batch size, and where samples come from. */
export interface Batching {
  readonly optimizer: Optimizer;
  readonly batchSize: number;
  /** `online`: every step a fresh batch of `batchSize` from the target (absent: `data`). */
  readonly samples?: SampleMode;
}

/**
 * The samples in one step's batch out of n: all of them for gd or a batch no smaller than n;
 * `batchSize` fresh ones in online mode.
 */
export function batchSize(o: Batching, n: number): number {
  if (o.samples === 'online') return o.batchSize;
  return o.optimizer !== 'gd' && o.batchSize < n ? o.batchSize : n;
}

/** Steps per pass over n samples. */
export function stepsPerEpoch(o: Batching, n: number): number {
  return Math.ceil(n / batchSize(o, n));
}

/**
 * The batch of each step: the whole training set, or mini-batches that walk through a fresh
 * permutation of it each epoch (drawn from the learner's stream, `batches`, epoch), or in online
 * mode `batchSize` fresh samples of the target (drawn from the learner's stream, `online`, step:
 * the same seed gives the same batches).
 */
export class Batches {
  private readonly size: number;
  private readonly perEpoch: number;
  private order: Int32Array | undefined;
  private readonly online: Target | undefined;

  constructor(
    private readonly data: Dataset,
    o: Batching,
    private readonly rng: Rng,
    target?: Target,
  ) {
    this.size = batchSize(o, data.x.shape[0]);
    this.perEpoch = stepsPerEpoch(o, data.x.shape[0]);
    if (o.samples === 'online') {
      if (!target)
        throw new RegimesError(
          'samples: online draws fresh samples from the target, and this fit was given none',
          {
            hint: 'run it through the runner (which passes the cell’s target in FitContext.target), or use samples: data',
          },
        );
      this.online = target;
    }
  }

  /** The batch of `step` (from 1) and what frees it. */
  take(step: number): { batch: Dataset; release(): void } {
    if (this.online) {
      const batch = this.online.sample(this.size, this.rng.child('online', step));
      return { batch, release: () => tf.dispose([batch.x, batch.y]) };
    }
    const n = this.data.x.shape[0];
    if (this.size === n) return { batch: this.data, release: () => {} };
    const within = (step - 1) % this.perEpoch;
    if (within === 0)
      this.order = this.rng.child('batches', Math.floor((step - 1) / this.perEpoch)).permutation(n);
    const order = this.order!.subarray(within * this.size, Math.min(n, (within + 1) * this.size));
    // one tidy: frees the indices, and x when y's gather throws
    const batch = tf.tidy(() => {
      const indices = tf.tensor1d(order, 'int32');
      return { x: tf.gather(this.data.x, indices), y: tf.gather(this.data.y, indices) };
    });
    return { batch, release: () => tf.dispose([batch.x, batch.y]) };
  }
}
