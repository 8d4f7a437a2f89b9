/**
 * The training loop of every learner that takes gradient steps (nn, deep): stages of steps over
 * the batches of the training set, each step an update the learner supplies. Every `recordEvery`
 * steps of a stage (and at its last) it records a point of the learning curve — train loss, test
 * risk and, when the target has a subspace U, the alignment ‖WUᵀ‖²/‖W‖² of the first layer —
 * into the monitor, reading values back only then, never inside a step; stops the run with a
 * DivergenceError (step and last finite loss) when the train loss is not finite or exceeds the
 * bound; reports progress; and with early stopping records the held-out loss and stops when it has
 * not improved for `patience` records.
 */
import type { Dataset, FitContext, TrainingMonitor } from '@regimes/core';
import { hostValues } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { subspaceEnergy } from '../probes/subspace.js';
import { checkDivergence } from './divergence.js';
import { Batches, type Batching } from './samples.js';

export interface LoopOptions extends Batching {
  /** Steps between recorded points within a stage. */
  readonly recordEvery: number;
  /** A recorded train loss above this (or NaN) stops the run as diverged. */
  readonly divergence: number;
}

/** A stretch of steps with one view of the network (deep's layerwise training has one per layer). */
export interface Stage {
  readonly steps: number;
  /** Entries recorded with every point of this stage, after its step (deep: the depth). */
  readonly label?: Readonly<Record<string, number>>;
}

/** What the loop trains. */
export interface Trainee<S extends Stage> {
  /** f(x) at the current parameters, as the stage sees the network. Inside tidy. */
  predict(x: tf.Tensor2D, stage: S): tf.Tensor2D;
  /** The first layer W (N×d), whose alignment with the target's U is recorded. */
  firstLayer(): tf.Tensor2D;
  /** One update on a batch; `step` counts from 1 over the whole run. */
  update(batch: Dataset, stage: S, step: number): void;
  /** More entries of a recorded point, once it has passed the divergence check. */
  probe?(entry: Record<string, number>, stage: S): Promise<void>;
}

/** Early stopping on a held-out set: `improved` is called at each new best held-out loss. */
export interface EarlyStopping {
  readonly held: Dataset;
  readonly patience: number;
  improved(): void;
}

/** mean((f(x) − y)²). Inside tidy. */
const meanSquared = (f: tf.Tensor, y: tf.Tensor) => tf.mean(tf.square(tf.sub(f, y)));

/** The recorded points of one run: what they measure, the last finite loss, the early-stopping state. */
class Recorder<S extends Stage> {
  private readonly monitor: TrainingMonitor | undefined;
  private readonly u: tf.Tensor2D | undefined;
  private lastFinite: number | undefined;
  private best: number | undefined;
  private sinceBest = 0;
  stopped = false;

  constructor(
    private readonly train: Dataset,
    private readonly trainee: Trainee<S>,
    private readonly o: LoopOptions,
    private readonly ctx: FitContext,
    private readonly total: number,
    private readonly early: EarlyStopping | undefined,
  ) {
    this.monitor = ctx.monitor;
    const subspace = this.monitor?.subspace;
    this.u = subspace
      ? tf.tensor2d(Float32Array.from(subspace.u), [subspace.rank, train.x.shape[1]])
      : undefined;
  }

  /** Train loss, then test risk, alignment and held-out loss where they apply, in one read. */
  private async measure(stage: S): Promise<Float32Array | Int32Array | Uint8Array> {
    const { trainee, monitor, u, early } = this;
    const values = tf.tidy(() => {
      const parts: tf.Tensor[] = [meanSquared(trainee.predict(this.train.x, stage), this.train.y)];
      if (monitor) parts.push(meanSquared(trainee.predict(monitor.test.x, stage), monitor.test.f));
      if (u) parts.push(subspaceEnergy(trainee.firstLayer(), u));
      if (early) parts.push(meanSquared(trainee.predict(early.held.x, stage), early.held.y));
      return tf.stack(parts.map((t) => tf.reshape(t, [])));
    });
    return hostValues(values);
  }

  async record(stage: S, at: number): Promise<void> {
    const v = await this.measure(stage);
    let i = 0;
    const trainLoss = v[i++]!;
    checkDivergence(trainLoss, at, this.lastFinite, this.o.divergence);
    this.lastFinite = trainLoss;
    const entry: { step: number } & Record<string, number> = {
      step: at,
      ...stage.label,
      'train-risk': trainLoss,
    };
    if (this.monitor) entry['test-risk'] = v[i++]!;
    if (this.u) entry.alignment = v[i++]!;
    if (this.early) this.watch((entry['held-out-risk'] = v[i]!));
    await this.trainee.probe?.(entry, stage);
    this.monitor?.record(entry);
    this.ctx.progress(at, this.total);
  }

  private watch(heldLoss: number): void {
    if (this.best === undefined || heldLoss < this.best) {
      this.best = heldLoss;
      this.sinceBest = 0;
      this.early!.improved();
    } else if (++this.sinceBest >= this.early!.patience) this.stopped = true;
  }

  dispose(): void {
    this.u?.dispose();
  }
}

/** Run the stages in order; returns the steps taken and whether early stopping ended the run. */
export async function trainLoop<S extends Stage>(
  train: Dataset,
  stages: readonly S[],
  trainee: Trainee<S>,
  o: LoopOptions,
  ctx: FitContext,
  early?: EarlyStopping,
): Promise<{ steps: number; stopped: boolean }> {
  const total = stages.reduce((sum, stage) => sum + stage.steps, 0);
  const batches = new Batches(train, o, ctx.rng, ctx.target);
  const recorder = new Recorder(train, trainee, o, ctx, total, early);
  let step = 0;
  try {
    await recorder.record(stages[0]!, 0);
    for (const stage of stages) {
      for (let s = 1; s <= stage.steps && !recorder.stopped; s++) {
        ctx.signal.throwIfAborted();
        step++;
        const { batch, release } = batches.take(step);
        try {
          trainee.update(batch, stage, step);
        } finally {
          release();
        }
        if (s % o.recordEvery === 0 || s === stage.steps) await recorder.record(stage, step);
      }
    }
  } finally {
    recorder.dispose();
  }
  return { steps: step, stopped: recorder.stopped };
}
