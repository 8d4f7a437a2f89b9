/**
 * Training a two-layer network (`nn`): per-layer learning rates and weight decay, a
 * parametrization's learning-rate scale, a schedule, which layers train, and early stopping on a
 * held-out part of the training set that keeps the best weights — over the one training loop.
 */
import type { Dataset, FitContext } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { activation, type ActivationSpec } from '../activations/index.js';
import type { Loss } from './loss.js';
import { type LoopOptions, trainLoop, type Trainee, type Stage } from './loop.js';
import { holdOut, stepsPerEpoch } from './samples.js';
import { type Drop, scheduleFactor, type Schedule } from './schedules.js';
import {
  cloneTwoLayer,
  disposeTwoLayer,
  forward,
  gradients,
  type Parametrization,
  plainStep,
  scales,
  type TwoLayer,
} from './two-layer.js';
import { descend, ParameterUpdate } from './update.js';

type PerLayer = number | { first: number; readout: number };

export const lrScales = ['parametrization', 'width', 'none'] as const;
export type LrScale = (typeof lrScales)[number];

/** The factor on the learning rates of W, b and a (never on c's). */
export function lrFactor(o: { lrScale?: LrScale; parametrization: Parametrization; width: number }): number {
  switch (o.lrScale ?? 'parametrization') {
    case 'parametrization':
      return scales(o.parametrization, o.width).lr;
    case 'width':
      return o.width;
    case 'none':
      return 1;
  }
}

/** The options of `nn` that training reads. */
export interface TwoLayerTraining extends LoopOptions {
  readonly width: number;
  readonly activation: ActivationSpec;
  readonly parametrization: Parametrization;
  readonly train: 'both' | 'first' | 'readout';
  readonly lr: PerLayer;
  readonly schedule: Schedule;
  readonly stepEvery: number;
  /** The drops of schedule `end-decay`. */
  readonly decay?: readonly Drop[];
  /**
   * The factor on W's, b's and a's learning rates: the parametrization's (default), `width` (× N
   * whatever the parametrization, as in Ghorbani et al.'s NN runs) or `none` (× 1).
   */
  readonly lrScale?: LrScale;
  readonly weightDecay: PerLayer;
  /** The output bias c's learning rate as a factor on the readout's, without the parametrization's factor. */
  readonly outputBiasLr?: number;
  readonly loss: Loss;
  readonly steps?: number | undefined;
  readonly epochs?: number | undefined;
  readonly earlyStopping?: { fraction: number; patience: number } | undefined;
}

const pair = (v: PerLayer) => (typeof v === 'number' ? { first: v, readout: v } : v);

/** The run's length: `steps`, or `epochs` passes over n samples, or 1000 steps (epochs do not go with online samples). */
export function totalSteps(o: TwoLayerTraining, n: number): number {
  return o.steps ?? (o.epochs !== undefined ? o.epochs * stepsPerEpoch(o, n) : 1000);
}

/** The update of one step: gradients by hand, then each trained layer by its own rule and rate. */
function twoLayerTrainee(
  o: TwoLayerTraining,
  initial: TwoLayer,
  total: number,
): Trainee<Stage> & { readonly params: TwoLayer; dispose(): void } {
  const sigma = activation(o.activation);
  const { output: s } = scales(o.parametrization, o.width);
  const lrScale = lrFactor(o);
  const lr = pair(o.lr);
  const wd = pair(o.weightDecay);
  const trainFirst = o.train !== 'readout';
  const trainReadout = o.train !== 'first';
  // w, b, a, c (the output bias is not decayed: unpenalised, like the ridge intercept)
  const updates = [wd.first, wd.first, wd.readout, 0].map((decay) => new ParameterUpdate(o.optimizer, decay));
  // plain steps with no decay fold their rates into the loss's residual (plainStep: 17 kernels a step
  // of the default network against 21); Adam and weight decay step each gradient by its update
  const plain = o.optimizer !== 'adam' && wd.first === 0 && wd.readout === 0;
  let params = initial;
  return {
    get params() {
      return params;
    },
    predict: (x) => forward(params, x, sigma, s),
    firstLayer: () => params.w,
    update(batch, _stage, step) {
      const schedule = scheduleFactor(o.schedule, step - 1, total, { every: o.stepEvery, decay: o.decay });
      const factor = schedule * lrScale;
      const p = params;
      if (plain) {
        // c's rate as below (no parametrization factor); spread: tidy takes an object of tensors, which
        // the TwoLayer interface does not declare itself
        const next: TwoLayer = tf.tidy(() => ({
          ...plainStep(p, batch.x, batch.y, sigma, s, o.loss, {
            first: trainFirst ? lr.first * factor : 0,
            readout: trainReadout ? lr.readout * factor : 0,
            bias: trainReadout ? lr.readout * schedule * (o.outputBiasLr ?? 1) : 0,
          }),
        }));
        for (const key of ['w', 'b', 'a', 'c'] as const) if (p[key] && next[key] !== p[key]) p[key].dispose();
        params = next;
        return;
      }
      const [w, b, a, c] = descend(
        [p.w, p.b, p.a, p.c],
        () => {
          const g = gradients(p, batch.x, batch.y, sigma, s, o.loss);
          return [
            trainFirst ? g.w : undefined,
            trainFirst ? g.b : undefined,
            trainReadout ? g.a : undefined,
            trainReadout ? g.c : undefined, // c belongs to the readout: frozen with it
          ];
        },
        updates,
        // c sits outside the output scale s, so it takes no parametrization factor (Ghorbani et al.'s
        // code: W and a step with lr·N, c with lr)
        [
          lr.first * factor,
          lr.first * factor,
          lr.readout * factor,
          lr.readout * schedule * (o.outputBiasLr ?? 1),
        ],
      );
      params = { w: w!, b, a: a!, c, shared: p.shared };
    },
    dispose: () => {
      for (const update of updates) update.dispose();
    },
  };
}

/** Train a two-layer network from `initial` (consumed); returns the trained parameters. */
export async function trainTwoLayer(
  initial: TwoLayer,
  train: Dataset,
  o: TwoLayerTraining,
  ctx: FitContext,
): Promise<{ params: TwoLayer; steps: number; stopped: boolean }> {
  let split: ReturnType<typeof holdOut> | undefined;
  try {
    split = o.earlyStopping ? holdOut(train, o.earlyStopping.fraction) : undefined;
  } catch (error) {
    disposeTwoLayer(initial);
    throw error;
  }
  const data = split?.kept ?? train;
  const total = totalSteps(o, data.x.shape[0]);
  const trainee = twoLayerTrainee(o, initial, total);
  let best: TwoLayer | undefined;
  const early = split && {
    held: split.held,
    patience: o.earlyStopping!.patience,
    improved: () => {
      if (best) disposeTwoLayer(best);
      best = cloneTwoLayer(trainee.params);
    },
  };
  try {
    const { steps, stopped } = await trainLoop(data, [{ steps: total }], trainee, o, ctx, early);
    if (!best) return { params: trainee.params, steps, stopped };
    disposeTwoLayer(trainee.params);
    return { params: best, steps, stopped };
  } catch (error) {
    disposeTwoLayer(trainee.params);
    if (best) disposeTwoLayer(best);
    throw error;
  } finally {
    trainee.dispose();
    split?.dispose();
  }
}
