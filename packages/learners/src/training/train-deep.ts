/**
 * Training a deep network (`deep`): `joint` trains every layer at once; `layerwise` trains layer ℓ
 * (with the readouts of layers ≤ ℓ) for steps/L steps, freezes it and goes up — one stage of the
 * training loop per layer. Besides the loop's learning curve it records, for a target that exposes
 * its levels (hierarchical), how well each layer's features linearly predict the target's level ℓ
 * (R² on the probe set).
 */
import type { Dataset, FitContext } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { type Activation, activation, type ActivationSpec } from '../activations/index.js';
import { linearFit } from '../probes/linear-fit.js';
import { type DeepParams, deepForward, deepGradients, disposeDeep, initDeep, reads } from './deep.js';
import type { Loss } from './loss.js';
import { type LoopOptions, type Stage, type Trainee, trainLoop } from './loop.js';
import { descend, ParameterUpdate } from './update.js';

/** The options of `deep` that training reads. */
export interface DeepTraining extends LoopOptions {
  readonly layers: number;
  readonly width: number;
  readonly activation: ActivationSpec;
  readonly skip: boolean;
  readonly training: 'joint' | 'layerwise';
  readonly lr: number;
  readonly weightDecay: number;
  readonly loss: Loss;
  readonly steps: number;
}

/** Layers 1..depth in view, those from `lowest` up trained, the output reading `out`. */
interface DeepStage extends Stage {
  readonly depth: number;
  readonly lowest: number;
  readonly out: number[];
}

function stagesOf(o: DeepTraining): DeepStage[] {
  const stage = (depth: number, lowest: number, steps: number) => ({
    depth,
    lowest,
    steps,
    out: reads(o, depth),
    label: { depth },
  });
  return o.training === 'joint'
    ? [stage(o.layers, 0, o.steps)]
    : // `steps` in all: ⌊steps/L⌋ a layer, the remainder to the first ones (⌈steps/L⌉ each ran more)
      Array.from({ length: o.layers }, (_, l) =>
        stage(l + 1, l, Math.floor(o.steps / o.layers) + (l < o.steps % o.layers ? 1 : 0)),
      );
}

/** R² of each layer's features for the target's levels, on the probe set. */
async function levelFits(
  params: DeepParams,
  sigma: Activation,
  stage: DeepStage,
  test: tf.Tensor2D,
  levels: readonly tf.Tensor2D[],
  entry: Record<string, number>,
): Promise<void> {
  const hidden = tf.tidy(() => deepForward(params, test, sigma, stage.depth, stage.out).h);
  try {
    for (let l = 0; l < Math.min(stage.depth, levels.length); l++)
      entry[`level-fit.${l + 1}`] = await linearFit(hidden[l]!, levels[l]!);
  } finally {
    tf.dispose(hidden);
  }
}

/** Train from W_ℓ ~ N(0, 1/fan-in) and zero readouts; returns the parameters and the steps taken. */
export async function trainDeep(
  train: Dataset,
  o: DeepTraining,
  ctx: FitContext,
): Promise<{ params: DeepParams; steps: number }> {
  const sigma = activation(o.activation);
  const [, d] = train.x.shape;
  const params = initDeep(ctx.rng, o, d, train.y.shape[1]);
  const L = o.layers;
  const updates = [...params.w, ...params.v].map(() => new ParameterUpdate(o.optimizer, o.weightDecay));
  const monitor = ctx.monitor;
  const trainee: Trainee<DeepStage> = {
    predict: (x, stage) => deepForward(params, x, sigma, stage.depth, stage.out).f,
    firstLayer: () => params.w[0]!,
    update(batch, stage) {
      const next = descend(
        [...params.w, ...params.v],
        () => {
          const g = deepGradients(
            params,
            batch.x,
            batch.y,
            sigma,
            stage.depth,
            stage.out,
            stage.lowest,
            o.loss,
          );
          return [...params.w.map((_, l) => g.dw.get(l)), ...params.v.map((_, l) => g.dv.get(l))];
        },
        updates,
        updates.map(() => o.lr),
      ) as tf.Tensor2D[];
      params.w = next.slice(0, L);
      params.v = next.slice(L);
    },
    ...(monitor?.levels
      ? {
          probe: (entry, stage) => levelFits(params, sigma, stage, monitor.test.x, monitor.levels!, entry),
        }
      : {}),
  };
  try {
    const { steps } = await trainLoop(train, stagesOf(o), trainee, o, ctx);
    return { params, steps };
  } catch (error) {
    disposeDeep(params);
    throw error;
  } finally {
    for (const update of updates) update.dispose();
  }
}
