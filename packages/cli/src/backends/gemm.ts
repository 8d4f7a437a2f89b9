import { hostValues } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

/**
 * A one-second float32 GEMM figure for the active backend: 512×512 products repeated for about
 * `seconds`, reported in GFLOP/s (what `regimes backends` prints). Its tensors are freed also when
 * a product or a read fails.
 */
export async function gemmFigure(seconds = 1, size = 512): Promise<number> {
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  try {
    await hostValues(tf.matMul(a, b)); // warm-up
    let count = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      await hostValues(tf.matMul(a, b));
      count++;
    }
    const elapsed = (performance.now() - start) / 1000;
    return (2 * size ** 3 * count) / elapsed / 1e9;
  } finally {
    tf.dispose([a, b]);
  }
}
