/**
 * `ntk-dynamics`: the predicted training of an infinitely wide network in the kernel regime
 * (dynamics.ts): GD with learning rate η (or gradient flow) on the MSE loss, from one
 * eigen-decomposition of the train kernel — the analytic NTK of `ntk` (every layer, the first or
 * the readout trained), or the NNGP kernel (`kernel: nngp`: the readout trained, whose t = ∞ is
 * the NNGP posterior mean). Every `recordEvery` steps it records the predicted train and test risk
 * in the row's `trace`, as `nn` does for a trained network, so `regimes plot --curves` draws both;
 * the predictor is the network at `steps` (or at t = ∞ with `at: infinity`), and the diagnostics
 * hold the risks at t = ∞ (kernel regression, λ → 0). `init: random` adds the spread of the
 * network's random initialisation f_0 ~ GP(0, K) to the recorded risks (Lee et al. 2019, eq. 16);
 * `zero` is the mean, the network with f_0 ≡ 0 (nn's `symmetric: true`).
 * nn trains w = W/√d: its `lr: { first: η/d, readout: η }` is this GD on (W, a).
 */
import { defineLearnerKind, type LearnerFactory, options, type Predictor, z } from '@regimes/core';
import { hostValues } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { type DeepKernelSpec, deepKernel, type KernelFunction } from '../kernels.js';
import { decomposesOnHost, hostEigenBytes } from '../cost.js';
import { dualPredict } from '../readout/predictors.js';
import { kernelDiagonal } from '../readout/systems.js';
import {
  dualCoefficients,
  gainRow,
  type InitVariance,
  type KernelDynamics,
  kernelDynamics,
  pointVariance,
  testVariance,
  trainMean,
  trainVariance,
} from '../dynamics.js';
import { deepKernelFlops, deepKernelOptions, deepKernelSpec, refineDeepKernel } from './ntk.js';

export const ntkDynamicsOptions = options({
  ...deepKernelOptions,
  train: z
    .enum(['both', 'first', 'readout'])
    .default('both')
    .describe(
      'which layers train: every layer, the first hidden layer, or the readout (Θ = the NNGP kernel)',
    ),
  kernel: z
    .enum(['ntk', 'nngp'])
    .default('ntk')
    .describe('ntk: Θ of the trained layers; nngp: the readout alone trains (the same as train: readout)'),
  lr: z.number().positive().default(1).describe('η, the learning rate of GD on the parameters'),
  flow: z
    .enum(['gd', 'gradient-flow'])
    .default('gd')
    .describe('discrete GD, (I − cΘ)^t, or gradient flow, e^{−cΘt}, with c = 2η/(nk)'),
  steps: z.number().int().min(0).default(1000).describe('training steps t of the predictor'),
  recordEvery: z.number().int().min(1).default(50).describe('steps between recorded points of the curve'),
  at: z
    .enum(['steps', 'infinity'])
    .default('steps')
    .describe('the predictor: the network after `steps` steps, or at t = ∞ (kernel regression, λ → 0)'),
  init: z
    .enum(['zero', 'random'])
    .default('zero')
    .describe('zero: f_0 ≡ 0 (the mean); random: f_0 ~ GP(0, K), its variance added to the recorded risks'),
}).superRefine(refineDeepKernel);

export type NtkDynamicsOptions = z.output<typeof ntkDynamicsOptions>;

/** Θ, and K where the random init needs it. */
function kernelsOf(o: NtkDynamicsOptions): { theta: KernelFunction; prior: KernelFunction } {
  const spec: DeepKernelSpec = { ...deepKernelSpec(o), train: o.kernel === 'nngp' ? 'readout' : o.train };
  return { theta: deepKernel(spec, 'ntk'), prior: deepKernel(spec, 'nngp') };
}

export const ntkDynamics: LearnerFactory = defineLearnerKind({
  kind: 'ntk-dynamics',
  representation: false, // a kernel predictor: no features for a transfer to keep
  description:
    'predicted GD / gradient-flow training of the infinitely wide net (NTK or NNGP kernel): risk against time in the trace',
  options: ntkDynamicsOptions,
  // kernel: nngp is the readout trained alone, whatever `train` says; a spec that writes another
  // `train` beside it is refused at planning rather than silently overridden
  unused: (o): Record<string, string> =>
    o.kernel === 'nngp' && o.train !== 'readout'
      ? { train: 'under kernel: nngp, where the readout alone trains (train: readout)' }
      : {},
  // the kernels (train, test × train; twice with a random init), one n³ eigen-decomposition, and
  // per recorded time a test × n product; without a backend eigen kernel the host's decomposition
  // holds three float64 n×n arrays and the float32 copy it reads
  estimate: (o, s) => {
    const kernels = o.init === 'random' ? 2 : 1;
    const perEntry = deepKernelFlops({ ...deepKernelSpec(o), train: o.train }, s.d);
    const records = Math.floor(o.steps / o.recordEvery) + 2;
    return {
      flops:
        kernels * (s.n * s.n + 2 * s.testN * s.n) * perEntry +
        10 * s.n ** 3 +
        records * s.testN * s.n * (2 * s.k + (o.init === 'random' ? 2 * s.n : 0)),
      bytes: 4 * (3 * s.n * s.n + 3 * s.testN * s.n) + (decomposesOnHost(s.n) ? hostEigenBytes(s.n) : 0),
    };
  },
  create(o) {
    const { theta, prior } = kernelsOf(o);
    /** eq. 16's terms at the points q, given M = VᵀKV and Θ(q, X) (not freed here). */
    const initVarianceAt = (
      m: tf.Tensor2D,
      vectors: tf.Tensor2D,
      thetaQ: tf.Tensor2D,
      q: tf.Tensor2D,
      x: tf.Tensor2D,
    ): InitVariance =>
      tf.tidy(() => ({
        m,
        p: tf.matMul(thetaQ, vectors) as tf.Tensor2D,
        q: tf.matMul(prior(q, x), vectors) as tf.Tensor2D,
        prior: tf.reshape(kernelDiagonal(prior, q), [-1]) as tf.Tensor1D,
      }));
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const x = train.x.clone();
        let kTrain: tf.Tensor2D | undefined;
        let dyn: KernelDynamics;
        try {
          kTrain = theta(train.x, train.x);
          dyn = await kernelDynamics(kTrain, train.y, o);
        } catch (error) {
          tf.dispose([x, ...(kTrain ? [kTrain] : [])]);
          throw error;
        }
        const owned: tf.Tensor[] = [x];
        // what the monitor needs while the fit runs: freed before the predictor is made, and on
        // every way out (an abort between two records, a throw)
        const transient: tf.Tensor[] = [];
        try {
          const monitor = ctx.monitor;
          const random = o.init === 'random';
          const thetaTest = monitor ? theta(monitor.test.x, train.x) : undefined;
          if (thetaTest) transient.push(thetaTest);
          // a random init: M = VᵀKV on the train points (K the NNGP kernel), for the monitor's
          // variances and the predictor's
          let m: tf.Tensor2D | undefined;
          if (random) {
            const kt = o.kernel === 'nngp' || o.train === 'readout' ? kTrain : prior(train.x, train.x);
            try {
              m = tf.tidy(
                () => tf.matMul(tf.matMul(dyn.vectors, kt, true, false), dyn.vectors) as tf.Tensor2D,
              );
            } finally {
              if (kt !== kTrain) kt.dispose();
            }
            transient.push(m);
          }
          let iv: InitVariance | undefined;
          let diagonalM: Float32Array | undefined;
          if (monitor && m) {
            iv = initVarianceAt(m, dyn.vectors, thetaTest!, monitor.test.x, train.x);
            transient.push(iv.p, iv.q, iv.prior);
            const diagonal = tf.tidy(() => tf.sum(tf.mul(m!, tf.eye(m!.shape[0])), 1));
            transient.push(diagonal);
            diagonalM = (await diagonal.data()) as Float32Array;
          }
          const record = async (t: number) => {
            const values = tf.tidy(() => {
              const parts: tf.Tensor[] = [tf.mean(tf.square(tf.sub(trainMean(dyn, t), train.y)))];
              if (monitor) {
                const alpha = dualCoefficients(dyn, t);
                parts.push(tf.mean(tf.square(tf.sub(tf.matMul(thetaTest!, alpha), monitor.test.f))));
                if (iv) parts.push(testVariance(dyn, iv, t));
              }
              return tf.stack(parts.map((p) => tf.reshape(p, [])));
            });
            const v = await hostValues(values);
            const extra = diagonalM ? trainVariance(dyn, diagonalM, t) : 0;
            return { train: v[0]! + extra, test: monitor ? v[1]! + (iv ? v[2]! : 0) : undefined };
          };
          if (monitor) {
            for (let t = 0; t <= o.steps; t += o.recordEvery) {
              ctx.signal.throwIfAborted();
              const r = await record(t);
              monitor.record({ step: t, 'train-risk': r.train, 'test-risk': r.test! });
              ctx.progress(t, o.steps);
              if (t < o.steps && t + o.recordEvery > o.steps) t = o.steps - o.recordEvery;
            }
          }
          const limit = await record(Infinity);
          const time = o.at === 'infinity' ? Infinity : o.steps;
          // a random init: the predictor is the mean network, and its variance at any point is
          // eq. 16's with the gains at the predictor's time (the risk metrics add it: expected risks)
          let variance: { m: tf.Tensor2D; v: tf.Tensor2D; g: tf.Tensor2D } | undefined;
          if (m) {
            // owned as made: a throw in gainRow frees the copy of V
            const v = dyn.vectors.clone();
            owned.push(v);
            const g = gainRow(dyn, time);
            owned.push(g);
            variance = { m, v, g };
            transient.splice(transient.indexOf(m), 1);
            owned.push(m);
          }
          tf.dispose(transient.splice(0));
          const alpha = dualCoefficients(dyn, time);
          owned.push(alpha);
          const lambda = dyn.values;
          return {
            predict: (q) => dualPredict(theta, x, alpha, q),
            ...(variance
              ? {
                  predictVariance: (q: tf.Tensor2D) =>
                    tf.tidy(() => {
                      const iv = initVarianceAt(variance.m, variance.v, theta(q, x), q, x);
                      return pointVariance(iv, variance.g);
                    }),
                }
              : {}),
            dispose: () => tf.dispose(owned),
            diagnostics: {
              'limit-train-risk': limit.train,
              ...(limit.test !== undefined ? { 'limit-test-risk': limit.test } : {}),
              'kernel-top-eigenvalue': lambda[0]!,
              'slowest-time': 1 / (dyn.rate * Math.max(lambda[lambda.length - 1]!, dyn.cutoff)),
            },
          };
        } catch (error) {
          tf.dispose(owned);
          throw error;
        } finally {
          tf.dispose(transient);
          kTrain.dispose();
          dyn.dispose();
        }
      },
    };
  },
});
