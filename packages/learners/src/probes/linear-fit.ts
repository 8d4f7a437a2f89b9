/** How well features linearly predict a target: R² of a least-squares fit, solved on the host. */
import { solveShiftedSPD } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

/** R² of the least-squares prediction of `target` (m×k) from `features` (m×w), on the host. */
export async function linearFit(features: tf.Tensor2D, target: tf.Tensor2D): Promise<number> {
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
  let residual: tf.Tensor | undefined;
  try {
    const g = Float64Array.from(await gram!.data());
    const c = Float64Array.from(await cross!.data());
    const beta = solveShiftedSPD(
      g,
      w + 1,
      1e-6 * (g.reduce((s, v, i) => (i % (w + 2) === 0 ? s + v : s), 0) / (w + 1)),
      c,
      k,
    );
    residual = tf.tidy(() => {
      const a = tf.concat([features, tf.ones([m, 1])], 1);
      const fitted = tf.matMul(a, tf.tensor2d(Float32Array.from(beta), [w + 1, k]));
      return tf.stack([tf.sum(tf.square(tf.sub(target, fitted))), tf.sum(tf.square(centred!))]);
    });
    const [sse, sst] = await residual.data();
    return 1 - sse! / Math.max(sst!, 1e-30);
  } finally {
    // on every path, a kernel or a read that fails included
    tf.dispose([gram!, cross!, centred!, ...(residual ? [residual] : [])]);
  }
}
