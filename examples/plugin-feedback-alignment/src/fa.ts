/**
 * `fa`: a network with `hidden` tanh/relu layers and a linear readout, trained by SGD on the
 * squared loss where the error reaches the hidden layers through fixed random matrices instead
 * of the transposes of the forward weights.
 *
 * Forward: z₀ = x, h_l = z_{l-1} W_lᵀ + c_l, z_l = σ(h_l) (l = 1..L), f = z_L A, error e = f − y.
 *
 * - backprop (for reference): δ_L = (e Aᵀ) ⊙ σ'(h_L), δ_l = (δ_{l+1} W_{l+1}) ⊙ σ'(h_l);
 * - feedback alignment (Lillicrap et al. 2016): δ_L = (e B_L) ⊙ σ'(h_L) with B_L (k×width) fixed
 *   and random, and δ_l = (δ_{l+1} B_l) ⊙ σ'(h_l) with B_l (width×width) in place of W_{l+1};
 * - direct feedback alignment (Nøkland 2016, `direct: true`): every hidden layer gets the output
 *   error straight through its own fixed B_l (k×width): δ_l = (e B_l) ⊙ σ'(h_l).
 *
 * With one hidden layer (the two-layer net, `hidden: 1`) FA and DFA are the same algorithm: the
 * only hidden layer is next to the output, so both send e through one k×width matrix B. They
 * differ from `hidden: 2` on, where FA chains the error through B_L then B_{L-1}, ... and DFA
 * does not chain. Updates: ΔA = −η z_Lᵀe/b, ΔW_l = −η δ_lᵀ z_{l-1}/b, Δc_l = −η Σ_i δ_l/b (b the batch size); B never changes.
 *
 * Lillicrap et al.'s observation, which the tests check: the readout A comes to align with the
 * feedback matrix Bᵀ (the angle between vec(A) and vec(B_Lᵀ), 90° in expectation at init,
 * falls), so that the error signal B delivers points within 90° of the one backprop would.
 */
import {
  defineLearnerKind,
  type Dataset,
  type FitContext,
  type LearnerFactory,
  options,
  type Predictor,
  type Rng,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const faOptions = options({
  width: z.number().int().min(1).default(128).describe('neurons per hidden layer'),
  hidden: z
    .number()
    .int()
    .min(1)
    .max(6)
    .default(1)
    .describe('number of hidden layers L (1: a two-layer net)'),
  activation: z.enum(['tanh', 'relu']).default('tanh').describe('σ of the hidden layers'),
  direct: z
    .boolean()
    .default(false)
    .describe(
      'direct feedback alignment: each hidden layer gets e through its own B (differs from FA for hidden ≥ 2)',
    ),
  bias: z
    .number()
    .min(0)
    .default(0.5)
    .describe('init std of the hidden biases c_l (trained; 0: no biases — a bias-free tanh net is odd)'),
  lr: z.number().positive().default(0.05).describe('SGD learning rate η'),
  steps: z.number().int().min(1).default(2000).describe('SGD steps'),
  batchSize: z.number().int().min(1).default(32).describe('mini-batch size (capped at n)'),
  feedbackScale: z.number().positive().default(1).describe('B entries ~ N(0, feedbackScale²/width)'),
});
export type FaOptions = z.output<typeof faOptions>;

/** A fitted network's weights as host arrays (row-major), for checks outside tfjs. */
export interface FaWeights {
  /** W_l, width × fan-in, l = 1..L. */
  readonly w: Float32Array[];
  /** The hidden biases c_l (width each; empty when `bias` is 0). */
  readonly c: Float32Array[];
  /** The readout A, width × k. */
  readonly a: Float32Array;
  /** The feedback matrices B_l in the order of `w` (k × width for the last, and for all under DFA). */
  readonly b: Float32Array[];
  readonly dims: { readonly d: number; readonly width: number; readonly k: number };
}

/** The fitted network: a predictor plus its weights and the alignment angle. */
export interface FaPredictor extends Predictor {
  weights(): Promise<FaWeights>;
}

function gaussian(rng: Rng, rows: number, cols: number, std: number): tf.Tensor2D {
  const v = rng.normal(rows * cols);
  for (let i = 0; i < v.length; i++) v[i]! *= std;
  return tf.tensor2d(v, [rows, cols]);
}

/** Angle in degrees between vec(A) (width×k) and vec(Bᵀ) for B (k×width). */
/** A trainable copy of a fresh tensor; the tensor itself is freed (a variable holds its own). */
function variableOf(t: tf.Tensor2D): tf.Variable<tf.Rank.R2> {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function angleDegrees(a: tf.Tensor2D, b: tf.Tensor2D): number {
  const cos = tf.tidy(() => {
    const bt = tf.transpose(b);
    return tf.div(tf.sum(tf.mul(a, bt)), tf.mul(tf.norm(a), tf.norm(bt)));
  });
  const value = cos.dataSync()[0]!;
  cos.dispose();
  return (Math.acos(Math.max(-1, Math.min(1, value))) * 180) / Math.PI;
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('fa: fit aborted');
}

export async function fitFa(o: FaOptions, train: Dataset, ctx: FitContext): Promise<FaPredictor> {
  if (ctx.signal.aborted) throw aborted(ctx.signal);
  const [n, d] = train.x.shape;
  const k = train.y.shape[1];
  const L = o.hidden;
  const sigma = (h: tf.Tensor2D) => (o.activation === 'tanh' ? tf.tanh(h) : tf.relu(h)) as tf.Tensor2D;
  const dsigma = (h: tf.Tensor2D) =>
    (o.activation === 'tanh' ? tf.sub(1, tf.square(tf.tanh(h))) : tf.step(h)) as tf.Tensor2D;

  const init = ctx.rng.child('init');
  const w: tf.Variable<tf.Rank.R2>[] = [];
  for (let l = 0; l < L; l++) {
    const fanIn = l === 0 ? d : o.width;
    w.push(variableOf(gaussian(init.child('w', l), o.width, fanIn, 1 / Math.sqrt(fanIn))));
  }
  const c: tf.Variable<tf.Rank.R2>[] = [];
  if (o.bias > 0)
    for (let l = 0; l < L; l++) c.push(variableOf(gaussian(init.child('c', l), 1, o.width, o.bias)));
  const a = variableOf(gaussian(init.child('a'), o.width, k, 1 / Math.sqrt(o.width)));
  // b[l] replaces what backprop would send to layer l: k×width straight from e (the last layer,
  // and every layer under DFA), or width×width in place of W_{l+1} (FA below the last layer).
  const fb = ctx.rng.child('feedback');
  const b: tf.Tensor2D[] = [];
  for (let l = 0; l < L; l++) {
    const rows = l === L - 1 || o.direct ? k : o.width;
    b.push(gaussian(fb.child(l), rows, o.width, o.feedbackScale / Math.sqrt(o.width)));
  }
  const angleInit = angleDegrees(a, b[L - 1]!);

  const forward = (x: tf.Tensor2D) => {
    const hs: tf.Tensor2D[] = [];
    const zs: tf.Tensor2D[] = [x];
    for (let l = 0; l < L; l++) {
      const pre = tf.matMul(zs[l]!, w[l]!, false, true) as tf.Tensor2D;
      const h = c[l] ? (tf.add(pre, c[l]!) as tf.Tensor2D) : pre;
      hs.push(h);
      zs.push(sigma(h));
    }
    return { hs, zs, f: tf.matMul(zs[L]!, a) };
  };

  const batch = Math.min(o.batchSize, n);
  const order = ctx.rng.child('batches');
  let perm = order.permutation(n);
  let cursor = 0;
  let loss = NaN;
  try {
    for (let step = 0; step < o.steps; step++) {
      if (ctx.signal.aborted) throw aborted(ctx.signal);
      if (cursor + batch > n) {
        perm = order.permutation(n);
        cursor = 0;
      }
      const rows = perm.slice(cursor, cursor + batch);
      cursor += batch;
      const last = step === o.steps - 1;
      const stepLoss = tf.tidy(() => {
        const idx = tf.tensor1d(rows, 'int32');
        const xb = tf.gather(train.x, idx) as tf.Tensor2D;
        const yb = tf.gather(train.y, idx) as tf.Tensor2D;
        const { hs, zs, f } = forward(xb);
        const e = tf.sub(f, yb) as tf.Tensor2D;
        const deltas: tf.Tensor2D[] = new Array(L);
        for (let l = L - 1; l >= 0; l--) {
          const incoming = l === L - 1 || o.direct ? tf.matMul(e, b[l]!) : tf.matMul(deltas[l + 1]!, b[l]!);
          deltas[l] = tf.mul(incoming, dsigma(hs[l]!)) as tf.Tensor2D;
        }
        const scale = o.lr / batch;
        a.assign(tf.sub(a, tf.mul(tf.matMul(zs[L]!, e, true, false), scale)));
        for (let l = 0; l < L; l++) {
          w[l]!.assign(tf.sub(w[l]!, tf.mul(tf.matMul(deltas[l]!, zs[l]!, true, false), scale)));
          c[l]?.assign(tf.sub(c[l]!, tf.mul(tf.sum(deltas[l]!, 0, true), scale)));
        }
        return last ? tf.mean(tf.sum(tf.square(e), 1)) : undefined;
      });
      if (stepLoss) {
        loss = (await stepLoss.data())[0]!;
        stepLoss.dispose();
      }
      ctx.progress(step + 1, o.steps);
      if (step % 100 === 99) await new Promise((r) => setImmediate(r)); // let an abort arrive
    }
    if (!Number.isFinite(loss)) throw new Error(`fa: the loss diverged (${loss}); lower lr (now ${o.lr})`);
  } catch (error) {
    tf.dispose([...w, ...c, a, ...b]);
    throw error;
  }

  const angle = angleDegrees(a, b[L - 1]!);
  const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
  return {
    features: w[0]!,
    predict: (x) => tf.tidy(() => forward(x).f as tf.Tensor2D),
    diagnostics: { 'alignment-angle': angle, 'alignment-angle-init': angleInit, 'batch-loss': loss },
    weights: async () => ({
      w: await Promise.all(w.map(read)),
      c: await Promise.all(c.map(read)),
      a: await read(a),
      b: await Promise.all(b.map(read)),
      dims: { d, width: o.width, k },
    }),
    dispose: () => tf.dispose([...w, ...c, a, ...b]),
  };
}

export const fa: LearnerFactory = defineLearnerKind({
  kind: 'fa',
  description:
    'a network trained by feedback alignment (fixed random feedback matrices instead of the transposed weights; direct: DFA)',
  options: faOptions,
  create: (o) => ({ fit: (train, ctx) => fitFa(o, train, ctx) }),
});
