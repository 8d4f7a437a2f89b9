/** Parameter updates: plain gradient steps or Adam, and one step of a list of parameters. */
import tf from '@regimes/numerics/tfjs';

export const optimizers = ['gd', 'sgd', 'adam'] as const;
export type Optimizer = (typeof optimizers)[number];

/** Plain or Adam (decoupled weight decay) updates of one parameter tensor. */
export class ParameterUpdate {
  private m: tf.Tensor | undefined;
  private v: tf.Tensor | undefined;
  private t = 0;
  constructor(
    private readonly optimizer: Optimizer,
    private readonly weightDecay: number,
  ) {}

  /** The new value of p; disposes nothing the caller owns. Inside tidy: keep its result. */
  step(p: tf.Tensor, g: tf.Tensor, lr: number): tf.Tensor {
    if (this.optimizer !== 'adam') {
      const decayed = this.weightDecay ? tf.add(g, tf.mul(p, this.weightDecay)) : g;
      return tf.sub(p, tf.mul(decayed, lr));
    }
    this.t++;
    const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
    const m = tf.add(tf.mul(this.m ?? tf.zerosLike(g), beta1), tf.mul(g, 1 - beta1));
    const v = tf.add(tf.mul(this.v ?? tf.zerosLike(g), beta2), tf.mul(tf.square(g), 1 - beta2));
    this.m?.dispose();
    this.v?.dispose();
    this.m = tf.keep(m);
    this.v = tf.keep(v);
    const mHat = tf.div(m, 1 - beta1 ** this.t);
    const vHat = tf.div(v, 1 - beta2 ** this.t);
    let update = tf.div(mHat, tf.add(tf.sqrt(vHat), eps));
    if (this.weightDecay) update = tf.add(update, tf.mul(p, this.weightDecay));
    return tf.sub(p, tf.mul(update, lr));
  }

  dispose(): void {
    tf.dispose([...(this.m ? [this.m] : []), ...(this.v ? [this.v] : [])]);
  }
}

/**
 * One update of a list of parameters inside one tidy: those given a gradient move by their own
 * update rule and rate, the rest stay; the tensors replaced are disposed.
 */
export function descend<T extends tf.Tensor>(
  params: readonly (T | undefined)[],
  gradients: () => readonly (tf.Tensor | undefined)[],
  updates: readonly ParameterUpdate[],
  rates: readonly number[],
): (T | undefined)[] {
  // the new values kept so far, freed when a later parameter's step throws
  const made: tf.Tensor[] = [];
  let next: (T | undefined)[];
  try {
    next = tf.tidy(() => {
      const g = gradients();
      return params.map((p, i) => {
        if (!p || !g[i]) return p;
        const q = tf.keep(updates[i]!.step(p, g[i], rates[i]!)) as T;
        made.push(q);
        return q;
      });
    });
  } catch (error) {
    tf.dispose(made);
    throw error;
  }
  params.forEach((p, i) => {
    if (p && next[i] !== p) p.dispose();
  });
  return next;
}
