import tf from '@regimes/numerics/tfjs';

/**
 * A one-second float32 GEMM figure for the active backend: 512×512 products repeated for about
 * `seconds`, reported in GFLOP/s (what `regimes backends` prints).
 */
export async function gemmFigure(seconds = 1, size = 512): Promise<number> {
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  const warm = tf.matMul(a, b);
  await warm.data();
  warm.dispose();
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
    count++;
  }
  const elapsed = (performance.now() - start) / 1000;
  tf.dispose([a, b]);
  return (2 * size ** 3 * count) / elapsed / 1e9;
}
