import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

describe('tfjs gradients, registered once by core', () => {
  it('differentiates matMul, relu, tanh and sum like their closed forms', () => {
    const a = tf.tensor2d([
      [1, -2],
      [0.5, 3],
    ]);
    const b = tf.tensor2d([[2], [-1]]);
    // f(A, B) = Σ tanh(relu(AB)): ∂f/∂(AB) = (1 − tanh²)·1[AB > 0]
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.tanh(tf.relu(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)))),
    )([a, b]);
    const ab = [1 * 2 + -2 * -1, 0.5 * 2 + 3 * -1]; // [4, -2]
    const s = ab.map((v) => (v > 0 ? 1 - Math.tanh(v) ** 2 : 0));
    const expectedA = [
      [s[0]! * 2, s[0]! * -1],
      [s[1]! * 2, s[1]! * -1],
    ];
    const expectedB = [[s[0]! * 1 + s[1]! * 0.5], [s[0]! * -2 + s[1]! * 3]];
    (ga!.arraySync() as number[][]).forEach((row, i) =>
      row.forEach((v, j) => expect(v).toBeCloseTo(expectedA[i]![j]!, 5)),
    );
    (gb!.arraySync() as number[][]).forEach((row, i) =>
      row.forEach((v, j) => expect(v).toBeCloseTo(expectedB[i]![j]!, 5)),
    );
    tf.dispose([a, b, ga!, gb!]);
  });
});
