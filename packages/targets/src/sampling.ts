/** Drawing (x, y) with x ~ N(0, I_d) and y = f*(x) + noise·ε, evaluating f* in row chunks. */
import { type Dataset, mapRowChunks, randomNormal, type Rng } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export function noisySample(
  n: number,
  d: number,
  evaluate: (x: tf.Tensor2D) => tf.Tensor2D,
  noise: number,
  rng: Rng,
): Dataset {
  const x = randomNormal(rng.child('x'), n, d);
  const f = mapRowChunks(x, evaluate);
  if (noise === 0) return { x, y: f };
  const y = tf.tidy(() => tf.add(f, randomNormal(rng.child('noise'), n, f.shape[1], noise)) as tf.Tensor2D);
  f.dispose();
  return { x, y };
}
