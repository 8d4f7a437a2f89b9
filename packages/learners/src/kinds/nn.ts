/**
 * `nn`: a two-layer network f(x) = s·Σ_j a_j σ(⟨w_j, x⟩ + b_j) trained by gradient descent —
 * full-batch GD, mini-batch SGD or Adam — with a parametrization (standard | ntk | mean-field),
 * optional symmetric init (f₀ ≡ 0), per-layer learning rates, schedules and weight decay, MSE or
 * logistic loss, and early stopping on a held-out split. Every `recordEvery` steps it records
 * train loss, test risk and (when the target has a subspace U) the alignment ‖WUᵀ‖²/‖W‖² in the
 * row's `trace`; values are read back only then, never inside a step.
 */
import {
  defineLearnerKind,
  type FitContext,
  type LearnerFactory,
  options,
  type Predictor,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { activation, activationOption } from '../activations/index.js';
import {
  checkDivergence,
  cloneTwoLayer,
  disposeTwoLayer,
  forward,
  gradients,
  initTwoLayer,
  lossOption,
  ParameterUpdate,
  parametrizations,
  scales,
  scheduleFactor,
  scheduleOption,
  subspaceEnergy,
  type TwoLayer,
} from '../training/two-layer.js';
import { trainingEstimate } from '../cost.js';

const perLayer = z.union([
  z.number().min(0),
  z.strictObject({ first: z.number().min(0), readout: z.number().min(0) }),
]);

export const networkOptions = options({
  width: z.number().int().min(1).default(512).describe('N, the number of neurons'),
  activation: activationOption,
  parametrization: z
    .enum(parametrizations)
    .default('ntk')
    .describe('sets the output scale s, the init and the lr scale'),
  bias: z.number().min(0).default(0).describe('init std of trained biases b (0: no biases)'),
  symmetric: z.boolean().default(false).describe('paired neurons with opposite a, so f₀ ≡ 0 (width even)'),
  train: z.enum(['both', 'first', 'readout']).default('both').describe('which layers train'),
  optimizer: z
    .enum(['gd', 'sgd', 'adam'])
    .default('gd')
    .describe('full-batch GD, mini-batch SGD, or Adam (mini-batch)'),
  batchSize: z.number().int().min(1).default(256).describe('mini-batch size for sgd and adam'),
  lr: perLayer.default(0.1).describe('learning rate, or { first, readout }'),
  schedule: scheduleOption,
  stepEvery: z.number().int().min(1).default(1000).describe('steps between ×0.1 drops for schedule: step'),
  weightDecay: perLayer.default(0).describe('weight decay, or { first, readout }'),
  loss: lossOption,
  steps: z.number().int().min(1).optional().describe('training steps (default 1000)'),
  epochs: z.number().int().min(1).optional().describe('passes over the data (instead of steps)'),
  recordEvery: z
    .number()
    .int()
    .min(1)
    .default(50)
    .describe('steps between recorded points of the learning curve'),
  earlyStopping: z
    .strictObject({
      fraction: z.number().gt(0).lt(1).default(0.1).describe('share of the training set held out'),
      patience: z.number().int().min(1).default(5).describe('records without improvement before stopping'),
    })
    .optional()
    .describe('stop when the held-out loss stops improving, and keep the best weights'),
  divergence: z
    .number()
    .positive()
    .default(1e6)
    .describe('a recorded loss above this (or NaN) stops the run as diverged'),
}).superRefine((o, ctx) => {
  const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (o.steps !== undefined && o.epochs !== undefined) fail('epochs', 'give steps or epochs, not both');
  if (o.symmetric && o.width % 2)
    fail('width', `symmetric init pairs neurons: width must be even, got ${o.width}`);
  const wd =
    typeof o.weightDecay === 'number' ? { first: o.weightDecay, readout: o.weightDecay } : o.weightDecay;
  if (o.train === 'readout' && wd.first > 0 && typeof o.weightDecay !== 'number')
    fail('weightDecay', 'weight decay on the first layer, which does not train (train: readout)');
  if (o.train === 'first' && wd.readout > 0 && typeof o.weightDecay !== 'number')
    fail('weightDecay', 'weight decay on the readout, which does not train (train: first)');
  if (o.optimizer === 'gd' && o.epochs !== undefined) fail('epochs', 'full-batch gd counts steps; use steps');
});

export type NetworkOptions = z.output<typeof networkOptions>;

const pair = (v: number | { first: number; readout: number }) =>
  typeof v === 'number' ? { first: v, readout: v } : v;

/** Train a two-layer network from `initial` (consumed); returns the trained parameters. */
export async function trainTwoLayer(
  initial: TwoLayer,
  train: { x: tf.Tensor2D; y: tf.Tensor2D },
  o: NetworkOptions,
  ctx: FitContext,
): Promise<{ params: TwoLayer; steps: number; stopped: boolean }> {
  const sigma = activation(o.activation);
  const { output: s, lr: lrScale } = scales(o.parametrization, o.width);
  const lr = pair(o.lr);
  const wd = pair(o.weightDecay);
  const trainFirst = o.train !== 'readout';
  const trainReadout = o.train !== 'first';
  let [x, y] = [train.x, train.y];
  let held: { x: tf.Tensor2D; y: tf.Tensor2D } | undefined;
  const n0 = x.shape[0];
  if (o.earlyStopping) {
    const keep = Math.max(1, Math.round(n0 * (1 - o.earlyStopping.fraction)));
    held = { x: tf.slice(x, [keep, 0], [-1, -1]), y: tf.slice(y, [keep, 0], [-1, -1]) };
    [x, y] = [tf.slice(x, [0, 0], [keep, -1]), tf.slice(y, [0, 0], [keep, -1])];
  }
  const n = x.shape[0];
  const minibatch = o.optimizer !== 'gd' && o.batchSize < n;
  const stepsPerEpoch = minibatch ? Math.ceil(n / o.batchSize) : 1;
  const total = o.steps ?? (o.epochs !== undefined ? o.epochs * stepsPerEpoch : 1000);
  const updates = {
    w: new ParameterUpdate(o.optimizer, wd.first),
    b: new ParameterUpdate(o.optimizer, wd.first),
    a: new ParameterUpdate(o.optimizer, wd.readout),
  };
  const monitor = ctx.monitor;
  const u = monitor?.subspace
    ? tf.tensor2d(Float32Array.from(monitor.subspace.u), [monitor.subspace.rank, x.shape[1]])
    : undefined;
  let params = initial;
  let best: { loss: number; params: TwoLayer } | undefined;
  let sinceBest = 0;
  let lastFinite: number | undefined;
  let order: Int32Array | undefined;
  let stopped = false;
  let step = 1;
  try {
    const record = async (at: number) => {
      const values = tf.tidy(() => {
        const trainLoss = tf.mean(tf.square(tf.sub(forward(params, x, sigma, s), y)));
        const parts: tf.Tensor[] = [trainLoss];
        if (monitor)
          parts.push(tf.mean(tf.square(tf.sub(forward(params, monitor.test.x, sigma, s), monitor.test.f))));
        if (u) parts.push(subspaceEnergy(params.w, u));
        if (held) parts.push(tf.mean(tf.square(tf.sub(forward(params, held.x, sigma, s), held.y))));
        return tf.stack(parts.map((t) => tf.reshape(t, [])));
      });
      const v = await values.data();
      values.dispose();
      let i = 0;
      const trainLoss = v[i++]!;
      checkDivergence(trainLoss, at, lastFinite, o.divergence);
      lastFinite = trainLoss;
      const entry: { step: number } & Record<string, number> = { step: at, 'train-risk': trainLoss };
      if (monitor) entry['test-risk'] = v[i++]!;
      if (u) entry.alignment = v[i++]!;
      if (held) {
        const heldLoss = v[i]!;
        entry['held-out-risk'] = heldLoss;
        if (!best || heldLoss < best.loss) {
          if (best) disposeTwoLayer(best.params);
          best = { loss: heldLoss, params: cloneTwoLayer(params) };
          sinceBest = 0;
        } else if (++sinceBest >= o.earlyStopping!.patience) stopped = true;
      }
      monitor?.record(entry);
      ctx.progress(at, total);
    };

    await record(0);
    for (; step <= total && !stopped; step++) {
      ctx.signal.throwIfAborted();
      let bx = x;
      let by = y;
      if (minibatch) {
        const within = (step - 1) % stepsPerEpoch;
        if (within === 0)
          order = ctx.rng.child('batches', Math.floor((step - 1) / stepsPerEpoch)).permutation(n);
        const idx = order!.subarray(within * o.batchSize, Math.min(n, (within + 1) * o.batchSize));
        const indices = tf.tensor1d(idx, 'int32');
        bx = tf.gather(x, indices);
        by = tf.gather(y, indices);
        indices.dispose();
      }
      const factor = scheduleFactor(o.schedule, step - 1, total, o.stepEvery) * lrScale;
      const next = tf.tidy(() => {
        const g = gradients(params, bx, by, sigma, s, o.loss);
        return {
          w: trainFirst
            ? (tf.keep(updates.w.step(params.w, g.w, lr.first * factor)) as tf.Tensor2D)
            : params.w,
          b:
            trainFirst && params.b
              ? (tf.keep(updates.b.step(params.b, g.b!, lr.first * factor)) as tf.Tensor2D)
              : params.b,
          a: trainReadout
            ? (tf.keep(updates.a.step(params.a, g.a, lr.readout * factor)) as tf.Tensor2D)
            : params.a,
        };
      });
      if (minibatch) tf.dispose([bx, by]);
      if (next.w !== params.w) params.w.dispose();
      if (next.b !== params.b) params.b?.dispose();
      if (next.a !== params.a) params.a.dispose();
      params = next;
      if (step % o.recordEvery === 0 || step === total) await record(step);
    }
  } catch (error) {
    disposeTwoLayer(params);
    if (best) disposeTwoLayer(best.params);
    throw error;
  } finally {
    for (const up of Object.values(updates)) up.dispose();
    u?.dispose();
    if (held) tf.dispose([held.x, held.y, x, y]);
  }
  if (best) {
    disposeTwoLayer(params);
    params = best.params;
  }
  return { params, steps: Math.min(step - 1, total), stopped };
}

export function twoLayerPredictor(
  params: TwoLayer,
  o: { activation: NetworkOptions['activation'] },
  s: number,
): Predictor {
  const sigma = activation(o.activation);
  return {
    features: params.w,
    representation: (x) =>
      tf.tidy(() => {
        const pre = tf.matMul(x, params.w, false, true);
        return tf.mul(sigma.sigma(params.b ? tf.add(pre, params.b) : pre), s) as tf.Tensor2D;
      }),
    predict: (x) => tf.tidy(() => forward(params, x, sigma, s)),
    dispose: () => disposeTwoLayer(params),
  };
}

export const network: LearnerFactory = defineLearnerKind({
  kind: 'nn',
  description:
    'two-layer network trained by GD / SGD / Adam (standard, ntk or mean-field parametrization); records learning curves',
  options: networkOptions,
  estimate: (o, s) => {
    const batch = o.optimizer !== 'gd' && o.batchSize < s.n ? o.batchSize : s.n;
    const steps = o.steps ?? (o.epochs !== undefined ? o.epochs * Math.ceil(s.n / batch) : 1000);
    return trainingEstimate(steps, batch, 2 * o.width * (s.d + s.k), o.width, s);
  },
  create(o) {
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const [, d] = train.x.shape;
        const { output: s, readoutInit } = scales(o.parametrization, o.width);
        const initial = initTwoLayer(ctx.rng.child('init'), o, d, train.y.shape[1], readoutInit);
        const { params, steps, stopped } = await trainTwoLayer(initial, train, o, ctx);
        const predictor = twoLayerPredictor(params, o, s);
        return { ...predictor, diagnostics: { steps, 'early-stopped': stopped ? 1 : 0 } };
      },
    };
  },
});
