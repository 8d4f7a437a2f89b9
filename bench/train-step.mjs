// The bench's two-layer training step (bench/run.mjs's case, bench/device/profile.mjs's breakdown):
// n points in d dimensions, `width` ReLU neurons in the NTK scaling, squared loss, plain gradient
// steps of 0.1, every draw from a fixed seed.
import { Rng } from '@regimes/core';
import { activation, gradients } from '@regimes/learners';
import * as tf from '@tensorflow/tfjs-core';

const normal = (rows, cols, seed) => tf.tensor2d(Rng.fromSeed(seed).normal(rows * cols), [rows, cols]);

/** The data, the parameters (replaced by each step) and one step; dispose frees them all. */
export function twoLayerTraining(n, d, width) {
  const x = normal(n, d, 9);
  const y = normal(n, 1, 10);
  let params = {
    w: tf.tidy(() => tf.mul(normal(width, d, 11), 1 / Math.sqrt(d))),
    a: normal(width, 1, 12),
    b: undefined,
  };
  const sigma = activation('relu');
  return {
    x,
    get params() {
      return params;
    },
    step() {
      const next = tf.tidy(() => {
        const g = gradients(params, x, y, sigma, 1 / Math.sqrt(width), 'mse');
        return {
          w: tf.sub(params.w, tf.mul(g.w, 0.1)),
          a: tf.sub(params.a, tf.mul(g.a, 0.1)),
          b: undefined,
        };
      });
      tf.dispose([params.w, params.a]);
      params = next;
    },
    dispose() {
      tf.dispose([x, y, params.w, params.a]);
    },
  };
}
