/**
 * `transfer`: learn a representation on a source task, keep it, and fit only a new readout on the
 * destination task (Damian et al. 2022: with U learnt, a new head g' on the same U needs a number of
 * samples independent of d). The target must be of kind `transfer` (it exposes its source task);
 * `sourceN` source samples are drawn from the learner's own stream, the base learner — any
 * registered learner kind that exposes a representation (`damian`, `one-step`, `nn`, `rf`, or a
 * plugin's), resolved through the registry by `FitContext.createLearner` — is fitted on them, and
 * ridge on its representation is fitted on the destination training set (the cell's n).
 */
import {
  defineLearnerKind,
  type FitSize,
  type LearnerFactory,
  options,
  type Predictor,
  RegimesError,
  type WorkEstimate,
  z,
} from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { featureRidgeEstimate } from '../cost.js';
import { featurePredictor } from '../readout/predictors.js';
import { damian } from './damian.js';
import { network } from './nn.js';
import { oneStep } from './one-step.js';
import { randomFeatures } from './rf.js';
import { refineRidge, ridgeOptions } from '../readout/options.js';

export const transferOptions = options({
  base: z
    .looseObject({ kind: z.string() })
    .default({ kind: 'damian' })
    .describe(
      'the learner fitted on the source task, with its options: any kind with a representation (damian, one-step, nn, rf, a plugin’s)',
    ),
  sourceN: z.number().int().min(1).default(4096).describe('source samples for the base learner'),
  ...ridgeOptions,
}).superRefine(refineRidge(false));

export const transfer: LearnerFactory = defineLearnerKind({
  kind: 'transfer',
  representation: true, // its predictors expose the features the readout reads (transfer's base)
  description:
    'fit a first-layer learner on the source task, keep its features, ridge a new readout on the destination',
  options: transferOptions,
  // the plan resolves `base` through the registry and parses it with that kind's own schema
  entries: { base: 'learner' },
  entryNeeds: { base: 'representation' },
  needsTasks: ['source'], // the base learner is fitted on the target's source task
  estimate: (o, s) => transferEstimate(o, s),
  create(o) {
    const { kind } = o.base;
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const source = ctx.tasks?.source;
        if (!source)
          throw new RegimesError('learner transfer needs a target with a source task', {
            hint: 'use target kind transfer, which gives a source and a destination task on one U',
          });
        if (!ctx.createLearner)
          throw new RegimesError('learner transfer needs FitContext.createLearner to make its base learner', {
            hint: 'run it through runExperiment (or give makeFitContext a registry)',
          });
        const baseLearner = ctx.createLearner(o.base);
        const data = source.sample(o.sourceN, ctx.rng.child('source-data'));
        let base: Predictor;
        try {
          base = await baseLearner.fit(data, { ...ctx, rng: ctx.rng.child('base'), monitor: undefined });
        } catch (error) {
          // its n is sourceN, not the cell's: a message about "n" would point at the wrong option
          if (error instanceof RegimesError)
            throw new RegimesError(
              `the base learner's fit on the source task (n = sourceN = ${o.sourceN}): ${error.message}`,
              {
                ...(error.hint ? { hint: `${error.hint} (for the source fit: raise sourceN)` } : {}),
                cause: error,
              },
            );
          throw error;
        } finally {
          tf.dispose([data.x, data.y]);
        }
        if (!base.representation) {
          base.dispose();
          throw new RegimesError(`base learner ${kind} exposes no representation to transfer`);
        }
        const represent = (x: tf.Tensor2D) => base.representation!(x);
        let predictor: Predictor;
        try {
          const width = tf.tidy(() => represent(tf.zeros([1, train.x.shape[1]])).shape[1]);
          predictor = await featurePredictor(
            { featurize: represent, width, train, options: o, signal: ctx.signal },
            { owned: [], extra: { 'source-n': o.sourceN }, features: base.features },
          );
        } catch (error) {
          base.dispose();
          throw error;
        }
        // the base learner's tensors (its representation) live as long as this predictor
        return {
          ...predictor,
          dispose: () => {
            predictor.dispose();
            base.dispose();
          },
        };
      },
    };
  },
});

/**
 * The base learner's fit on `sourceN` source samples (for the built-in kinds with a representation
 * of `width` features), then ridge on those features at the destination's n. A plugin's base kind:
 * no estimate (this factory cannot reach the registry), and the dry run says so.
 */
function transferEstimate(o: z.output<typeof transferOptions>, s: FitSize): WorkEstimate | undefined {
  const base = o.base as { kind: string; width?: number } & Record<string, unknown>;
  const builtIn: Record<string, LearnerFactory> = {
    damian,
    'one-step': oneStep,
    rf: randomFeatures,
    nn: network,
  };
  const factory = builtIn[base.kind];
  const width = base.width;
  if (!factory?.estimate || typeof width !== 'number') return undefined;
  const first = factory.estimate(base, { ...s, n: o.sourceN, testN: 0 });
  if (!first) return undefined;
  const readout = featureRidgeEstimate(width, 2 * (s.n + s.testN) * width * s.d, o, s);
  return { flops: first.flops + readout.flops, bytes: Math.max(first.bytes, readout.bytes) };
}
