/**
 * `sparse-parity`: x uniform on the hypercube {±1}^d, f*(x) = Π_{i∈S} x_i for a subset S of k
 * coordinates drawn from the target's rng (or given), labels y = f*(x) + noise·ε. E f* = 0 and
 * E f*² = 1 for k ≥ 1; f* is orthogonal to every polynomial of degree < k, the classic hard case
 * for gradient methods (n·d^{k−1} samples or steps for SGD on two-layer nets).
 */
import { defineTargetKind, type Dataset, options, type Rng, type TargetFactory, z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const sparseParityOptions = options({
  d: z.number().int().min(1).default(20).describe('input dimension'),
  k: z.number().int().min(1).default(3).describe('parity order |S|'),
  support: z
    .array(z.number().int().min(0))
    .optional()
    .describe('the coordinates S (0-based); absent: k drawn from the target rng'),
  noise: z.number().min(0).default(0).describe('standard deviation of Gaussian label noise'),
});

/** S: `k` distinct coordinates of 0..d-1, sorted; the first k of a permutation drawn from `rng`. */
export function drawSupport(d: number, k: number, rng: Rng): number[] {
  return Array.from(rng.permutation(d).subarray(0, k)).sort((a, b) => a - b);
}

export const sparseParity: TargetFactory = defineTargetKind({
  kind: 'sparse-parity',
  description: 'f*(x) = product of k coordinates of x uniform on {±1}^d (a random k-subset S)',
  options: sparseParityOptions,
  dims: (o) => ({ d: o.d, k: 1 }),
  create(o, { rng }) {
    if (o.k > o.d) throw new Error(`sparse-parity: k (${o.k}) exceeds d (${o.d}); lower k or raise d`);
    const support = o.support ?? drawSupport(o.d, o.k, rng.child('support'));
    if (support.length !== o.k || support.some((i) => i >= o.d) || new Set(support).size !== o.k)
      throw new Error(`sparse-parity: support must be ${o.k} distinct coordinates below d = ${o.d}`);
    const indices = Int32Array.from(support);
    const evaluate = (x: tf.Tensor2D) =>
      tf.tidy(() => tf.prod(tf.gather(x, tf.tensor1d(indices, 'int32'), 1), 1, true) as tf.Tensor2D);
    const sample = (n: number, sampleRng: Rng): Dataset => {
      const u = sampleRng.child('x').uniform(n * o.d);
      const x = tf.tensor2d(
        Float32Array.from(u, (v) => (v < 0.5 ? -1 : 1)),
        [n, o.d],
      );
      const f = evaluate(x);
      if (o.noise === 0) return { x, y: f };
      const eps = sampleRng.child('noise').normal(n);
      const y = tf.tidy(() => tf.add(f, tf.mul(tf.tensor2d(eps, [n, 1]), o.noise)) as tf.Tensor2D);
      f.dispose();
      return { x, y };
    };
    return {
      dim: o.d,
      outputDim: 1,
      structure: { noiseVariance: o.noise * o.noise, details: { support } },
      evaluate,
      sample,
    };
  },
});
