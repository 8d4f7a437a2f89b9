/**
 * `deep`: fully connected networks of L hidden layers for compositions of quadratics (Allen-Zhu &
 * Li, backward feature correction): h_0 = x, h_ℓ = σ(h_{ℓ−1}W_ℓᵀ) with W_ℓ ~ N(0, 1/fan-in), and
 * an output f = Σ_{ℓ∈S} h_ℓ v_ℓ that reads every layer (`skip: true`, DenseNet-like as in their
 * learner) or the last one. σ defaults to h_2(z) = (z² − 1)/√2, the centred quadratic.
 * `training: joint` trains every layer at once; `layerwise` trains layer ℓ (with the readouts of
 * layers ≤ ℓ) for steps/L steps, freezes it and goes up — the comparison of the paper. Backward
 * passes are written by hand. Records, per layer, the alignment of W_1 with the target's U and, for
 * a target that exposes its levels (hierarchical), how well each layer's features linearly
 * predict the target's level ℓ (R² of a least-squares fit on the probe set).
 */
import {
  type FitContext,
  defineLearnerKind,
  type LearnerFactory,
  options,
  type Predictor,
  randomNormal,
  z,
} from '@regimes/core';
import { solveShiftedSPD } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { activation, activationOption } from '../activations/index.js';
import {
  checkDivergence,
  lossAndSlope,
  lossOption,
  ParameterUpdate,
  subspaceEnergy,
} from '../training/two-layer.js';
import { trainingEstimate } from '../cost.js';

export const deepOptions = options({
  layers: z.number().int().min(1).max(8).default(3).describe('L, hidden layers'),
  width: z.number().int().min(1).default(64).describe('neurons per hidden layer'),
  activation: activationOption.default({ he: 2 }),
  skip: z.boolean().default(true).describe('the output reads every layer (true) or the last one'),
  training: z
    .enum(['joint', 'layerwise'])
    .default('joint')
    .describe('all layers at once, or one layer at a time, bottom up'),
  optimizer: z.enum(['gd', 'sgd', 'adam']).default('adam'),
  batchSize: z.number().int().min(1).default(256),
  lr: z.number().positive().default(1e-3),
  weightDecay: z.number().min(0).default(0),
  loss: lossOption,
  steps: z.number().int().min(1).default(2000).describe('total steps (layerwise: split evenly over layers)'),
  recordEvery: z.number().int().min(1).default(100),
  divergence: z.number().positive().default(1e6),
}).superRefine((o, ctx) => {
  if (o.training === 'layerwise' && o.layers < 2)
    ctx.addIssue({
      code: 'custom',
      path: ['training'],
      message:
        'layerwise training of a two-layer net (one hidden layer) is the same as joint: use layers ≥ 2 or training: joint',
    });
});

type DeepOptions = z.output<typeof deepOptions>;

interface DeepParams {
  w: tf.Tensor2D[]; // W_ℓ: width × fan-in
  v: tf.Tensor2D[]; // v_ℓ: width × k
}

function reads(o: DeepOptions, depth: number): number[] {
  return o.skip ? Array.from({ length: depth }, (_, l) => l) : [depth - 1];
}

/** Hidden layers 1..depth and the output reading `reads`. Inside tidy. */
export function deepForward(
  p: DeepParams,
  x: tf.Tensor2D,
  sigma: ReturnType<typeof activation>,
  depth: number,
  out: number[],
) {
  const h: tf.Tensor2D[] = [];
  const zs: tf.Tensor2D[] = [];
  let input = x;
  for (let l = 0; l < depth; l++) {
    const zl = tf.matMul(input, p.w[l]!, false, true) as tf.Tensor2D;
    zs.push(zl);
    input = sigma.sigma(zl) as tf.Tensor2D;
    h.push(input);
  }
  let f: tf.Tensor = tf.zeros([x.shape[0], p.v[0]!.shape[1]]);
  for (const l of out) f = tf.add(f, tf.matMul(h[l]!, p.v[l]!));
  return { f: f as tf.Tensor2D, h, zs };
}

/** Loss and gradients for W_ℓ (ℓ ≥ lowest) and the read v's, by hand. Inside tidy. */
export function deepGradients(
  p: DeepParams,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  sigma: ReturnType<typeof activation>,
  depth: number,
  out: number[],
  lowest: number,
  loss: 'mse' | 'logistic',
) {
  const { f, h, zs } = deepForward(p, x, sigma, depth, out);
  const { value, slope } = lossAndSlope(loss, f, y);
  const dv = new Map<number, tf.Tensor2D>();
  for (const l of out) dv.set(l, tf.matMul(h[l]!, slope, true, false) as tf.Tensor2D);
  const dw = new Map<number, tf.Tensor2D>();
  let fromAbove: tf.Tensor2D | undefined; // dz_{ℓ+1} W_{ℓ+1}
  for (let l = depth - 1; l >= lowest; l--) {
    let dh: tf.Tensor = fromAbove ?? tf.zerosLike(h[l]!);
    if (out.includes(l)) dh = tf.add(dh, tf.matMul(slope, p.v[l]!, false, true));
    const dz = tf.mul(dh, sigma.derivative(zs[l]!)) as tf.Tensor2D;
    dw.set(l, tf.matMul(dz, l === 0 ? x : h[l - 1]!, true, false) as tf.Tensor2D);
    if (l > lowest) fromAbove = tf.matMul(dz, p.w[l]!) as tf.Tensor2D;
  }
  return { loss: value, dv, dw };
}

/** R² of the least-squares prediction of `target` (m×k) from `features` (m×w), on the host. */
async function linearFit(features: tf.Tensor2D, target: tf.Tensor2D): Promise<number> {
  const [m, w] = features.shape;
  const k = target.shape[1];
  const [gram, cross, centred] = tf.tidy(() => {
    const a = tf.concat([features, tf.ones([m, 1])], 1);
    return [
      tf.matMul(a, a, true, false),
      tf.matMul(a, target, true, false),
      tf.sub(target, tf.mean(target, 0, true)),
    ];
  });
  const g = Float64Array.from(await gram!.data());
  const c = Float64Array.from(await cross!.data());
  const beta = solveShiftedSPD(
    g,
    w + 1,
    1e-6 * (g.reduce((s, v, i) => (i % (w + 2) === 0 ? s + v : s), 0) / (w + 1)),
    c,
    k,
  );
  const residual = tf.tidy(() => {
    const a = tf.concat([features, tf.ones([m, 1])], 1);
    const fitted = tf.matMul(a, tf.tensor2d(Float32Array.from(beta), [w + 1, k]));
    return tf.stack([tf.sum(tf.square(tf.sub(target, fitted))), tf.sum(tf.square(centred!))]);
  });
  const [sse, sst] = await residual.data();
  tf.dispose([gram!, cross!, centred!, residual]);
  return 1 - sse! / Math.max(sst!, 1e-30);
}

export const deep: LearnerFactory = defineLearnerKind({
  kind: 'deep',
  description:
    'fully connected deep net (quadratic-type activations, skip outputs) trained joint or layerwise',
  options: deepOptions,
  estimate: (o, s) => {
    const batch = o.optimizer !== 'gd' && o.batchSize < s.n ? o.batchSize : s.n;
    const perPoint = 2 * o.width * (s.d + (o.layers - 1) * o.width + o.layers * s.k);
    return trainingEstimate(o.steps, batch, perPoint, o.layers * o.width, s);
  },
  create(o) {
    const sigma = activation(o.activation);
    return {
      async fit(train, ctx: FitContext): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const [n, d] = train.x.shape;
        const k = train.y.shape[1];
        const L = o.layers;
        const params: DeepParams = {
          w: Array.from({ length: L }, (_, l) =>
            randomNormal(ctx.rng.child('W', l), o.width, l ? o.width : d, 1 / Math.sqrt(l ? o.width : d)),
          ),
          v: Array.from({ length: L }, () => tf.zeros([o.width, k]) as tf.Tensor2D),
        };
        const updates = {
          w: params.w.map(() => new ParameterUpdate(o.optimizer, o.weightDecay)),
          v: params.v.map(() => new ParameterUpdate(o.optimizer, o.weightDecay)),
        };
        const monitor = ctx.monitor;
        const u = monitor?.subspace
          ? tf.tensor2d(Float32Array.from(monitor.subspace.u), [monitor.subspace.rank, d])
          : undefined;
        const minibatch = o.optimizer !== 'gd' && o.batchSize < n;
        const stepsPerEpoch = minibatch ? Math.ceil(n / o.batchSize) : 1;
        const stages =
          o.training === 'joint'
            ? [{ depth: L, lowest: 0, steps: o.steps }]
            : Array.from({ length: L }, (_, l) => ({
                depth: l + 1,
                lowest: l,
                steps: Math.ceil(o.steps / L),
              }));
        let lastFinite: number | undefined;
        let order: Int32Array | undefined;
        let global = 0;
        const record = async (depth: number) => {
          const out = reads(o, depth);
          const values = tf.tidy(() => {
            const parts: tf.Tensor[] = [
              tf.mean(tf.square(tf.sub(deepForward(params, train.x, sigma, depth, out).f, train.y))),
            ];
            if (monitor)
              parts.push(
                tf.mean(
                  tf.square(tf.sub(deepForward(params, monitor.test.x, sigma, depth, out).f, monitor.test.f)),
                ),
              );
            if (u) parts.push(subspaceEnergy(params.w[0]!, u));
            return tf.stack(parts.map((t) => tf.reshape(t, [])));
          });
          const v = await values.data();
          values.dispose();
          checkDivergence(v[0]!, global, lastFinite, o.divergence);
          lastFinite = v[0]!;
          const entry: { step: number } & Record<string, number> = {
            step: global,
            depth,
            'train-risk': v[0]!,
          };
          if (monitor) entry['test-risk'] = v[1]!;
          if (u) entry.alignment = v[2]!;
          if (monitor?.levels) {
            const hidden = tf.tidy(() => deepForward(params, monitor.test.x, sigma, depth, out).h);
            for (let l = 0; l < Math.min(depth, monitor.levels.length); l++) {
              entry[`level-fit.${l + 1}`] = await linearFit(hidden[l]!, monitor.levels[l]!);
            }
            tf.dispose(hidden);
          }
          monitor?.record(entry);
          ctx.progress(global, totalSteps);
        };
        const totalSteps = stages.reduce((sum, st) => sum + st.steps, 0);
        try {
          await record(stages[0]!.depth);
          for (const stage of stages) {
            const out = reads(o, stage.depth);
            for (let s = 1; s <= stage.steps; s++) {
              ctx.signal.throwIfAborted();
              global++;
              let bx = train.x;
              let by = train.y;
              if (minibatch) {
                const within = (global - 1) % stepsPerEpoch;
                if (within === 0)
                  order = ctx.rng.child('batches', Math.floor((global - 1) / stepsPerEpoch)).permutation(n);
                const indices = tf.tensor1d(
                  order!.subarray(within * o.batchSize, Math.min(n, (within + 1) * o.batchSize)),
                  'int32',
                );
                bx = tf.gather(train.x, indices);
                by = tf.gather(train.y, indices);
                indices.dispose();
              }
              const next = tf.tidy(() => {
                const g = deepGradients(params, bx, by, sigma, stage.depth, out, stage.lowest, o.loss);
                const w = params.w.map((wl, l) =>
                  g.dw.has(l) ? (tf.keep(updates.w[l]!.step(wl, g.dw.get(l)!, o.lr)) as tf.Tensor2D) : wl,
                );
                const v = params.v.map((vl, l) =>
                  g.dv.has(l) ? (tf.keep(updates.v[l]!.step(vl, g.dv.get(l)!, o.lr)) as tf.Tensor2D) : vl,
                );
                return { w, v };
              });
              if (minibatch) tf.dispose([bx, by]);
              params.w.forEach((wl, l) => wl !== next.w[l] && wl.dispose());
              params.v.forEach((vl, l) => vl !== next.v[l] && vl.dispose());
              params.w = next.w;
              params.v = next.v;
              if (s % o.recordEvery === 0 || s === stage.steps) await record(stage.depth);
            }
          }
        } catch (error) {
          tf.dispose([...params.w, ...params.v]);
          throw error;
        } finally {
          for (const up of [...updates.w, ...updates.v]) up.dispose();
          u?.dispose();
        }
        const out = reads(o, L);
        return {
          features: params.w[0]!,
          representation: (x) =>
            tf.tidy(
              () =>
                tf.concat(
                  out.map((l) => deepForward(params, x, sigma, L, out).h[l]!),
                  1,
                ) as tf.Tensor2D,
            ),
          predict: (x) => tf.tidy(() => deepForward(params, x, sigma, L, out).f),
          diagnostics: { steps: global },
          dispose: () => tf.dispose([...params.w, ...params.v]),
        };
      },
    };
  },
});
