/**
 * The separable power series of the deep kernels' Mehler path (learners' kernels.ts): for
 * coefficients a (m×K), b (K×n) and t (m×n),
 *   S_ij = t_ij^offset · Σ_{k<K} a_ik b_kj u_ij^k,   u = t (step 1) or t² (step 2),
 * a sum of K rank-one matrices, each scaled by a power of t entry by entry. As tfjs ops (Horner in u)
 * it is three passes over the m×n matrix per degree (the rank-one product, the product with u, the
 * sum), each writing a new float32 array: 41 degrees make ~120 passes, the most of an off-sphere tanh
 * kernel. A backend may register one kernel under `MehlerSeriesKernel` that makes a single pass; the
 * `native` backend does (backend-node's mehler-series.ts), and it accumulates in float64 where the ops
 * round every step to float32.
 */
import tf from '@regimes/numerics/tfjs';
import { singlePassKernel } from './tape.js';

/**
 * The kernel a backend registers: inputs `a` (m×K), `b` (K×n), `t` (m×n), all float32, attributes
 * `step` (1 or 2) and `offset` (0 or 1); output S (m×n float32) as `mehlerSeriesOps` defines it.
 */
export const MehlerSeriesKernel = 'RegimesMehlerSeries';

/** The series' form: powers of u = t^step, and the whole times t^offset. */
export interface MehlerSeriesForm {
  readonly step: 1 | 2;
  readonly offset: 0 | 1;
}

/**
 * The series as tfjs ops, on any backend: Horner in u over the K degrees, each step's temporaries
 * freed before the next (an m×n matrix per degree would otherwise stay until the end). Inside tidy.
 */
export function mehlerSeriesOps(a: tf.Tensor, b: tf.Tensor, t: tf.Tensor, form: MehlerSeriesForm): tf.Tensor {
  // no entries (a side with no points): tfjs cpu's slice throws on an empty tensor that its concat
  // made (a plain empty array there, not a typed array)
  if (t.size === 0) return tf.zeros(t.shape);
  const [m, count] = a.shape as [number, number];
  const u = form.step === 2 ? tf.square(t) : t;
  // a's columns as rows of aᵀ: a row is one contiguous slice, a column of a m strided ones (wasm's
  // Slice copies row by row: 42 degrees × 4096 rows cost 0.5–0.8 s of a 4096-point tanh kernel)
  const columns = tf.transpose(a);
  let out: tf.Tensor | undefined;
  for (let k = count - 1; k >= 0; k--) {
    const previous = out;
    out = tf.tidy(() => {
      const own = tf.mul(
        tf.reshape(tf.slice(columns, [k, 0], [1, -1]), [m, 1]),
        tf.slice(b, [k, 0], [1, -1]),
      );
      return previous ? tf.add(tf.mul(previous, u), own) : own;
    });
    previous?.dispose();
  }
  columns.dispose();
  const sum = out ?? tf.zerosLike(t);
  return form.offset === 1 ? tf.mul(sum, t) : sum;
}

/** Whether the kernel's shapes hold: a m×K, b K×n, t m×n, all float32, K ≥ 1. */
function kernelShapes(a: tf.Tensor, b: tf.Tensor, t: tf.Tensor): boolean {
  if (a.rank !== 2 || b.rank !== 2 || t.rank !== 2) return false;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || t.dtype !== 'float32') return false;
  const [m, n] = t.shape as [number, number];
  return a.shape[0] === m && b.shape[1] === n && a.shape[1] === b.shape[0] && a.shape[1]! >= 1;
}

/**
 * S = t^offset Σ_k a_k b_k u^k: the backend's single-pass kernel where it has one and the shapes are
 * the kernel's, else `mehlerSeriesOps` (also under `tf.grad` and kin: the kernel has no gradient, the
 * ops do). Inside tidy.
 */
export function mehlerSeries(a: tf.Tensor, b: tf.Tensor, t: tf.Tensor, form: MehlerSeriesForm): tf.Tensor {
  if (kernelShapes(a, b, t) && singlePassKernel(MehlerSeriesKernel))
    return tf
      .engine()
      .runKernel(
        MehlerSeriesKernel,
        { a, b, t },
        { step: form.step, offset: form.offset },
      ) as unknown as tf.Tensor;
  return mehlerSeriesOps(a, b, t, form);
}
