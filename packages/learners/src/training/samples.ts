/** Parts of a training set: the split of the two-stage learners. */
import type { Dataset } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

/** The first `fraction` of the samples and the rest, as two datasets the caller disposes. */
export function splitSample(train: Dataset, fraction: number) {
  const [n, d] = train.x.shape;
  const k = train.y.shape[1];
  const n1 = Math.max(1, Math.min(n - 1, Math.round(n * fraction)));
  const first = { x: tf.slice(train.x, [0, 0], [n1, d]), y: tf.slice(train.y, [0, 0], [n1, k]) };
  const second = { x: tf.slice(train.x, [n1, 0], [n - n1, d]), y: tf.slice(train.y, [n1, 0], [n - n1, k]) };
  return { first, second, dispose: () => tf.dispose([first.x, first.y, second.x, second.y]) };
}
