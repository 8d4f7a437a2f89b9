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
  type LearnerFactory,
  options,
  type Predictor,
  RegimesError,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { featurePredictor } from '../readout/predictors.js';
import { ridgeOptions } from '../readout/options.js';

export const transferOptions = options({
  base: z
    .looseObject({ kind: z.string() })
    .default({ kind: 'damian' })
    .describe(
      'the learner fitted on the source task, with its options: any kind with a representation (damian, one-step, nn, rf, a plugin’s)',
    ),
  sourceN: z.number().int().min(1).default(4096).describe('source samples for the base learner'),
  ...ridgeOptions,
});

export const transfer: LearnerFactory = defineLearnerKind({
  kind: 'transfer',
  description:
    'fit a first-layer learner on the source task, keep its features, ridge a new readout on the destination',
  options: transferOptions,
  // the plan resolves `base` through the registry and parses it with that kind's own schema
  entries: { base: 'learner' },
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
        } finally {
          tf.dispose([data.x, data.y]);
        }
        if (!base.representation) {
          base.dispose();
          throw new RegimesError(`base learner ${kind} exposes no representation to transfer`);
        }
        const represent = (x: tf.Tensor2D) => base.representation!(x);
        const width = tf.tidy(() => represent(tf.zeros([1, train.x.shape[1]])).shape[1]);
        let predictor: Predictor;
        try {
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
