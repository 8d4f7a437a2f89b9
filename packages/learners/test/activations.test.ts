import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activation, activationNames, gaussianExpectations, ntkActivations } from '../src/index.js';

const grid = () => tf.linspace(-3, 3, 61);
const maxDifference = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;

describe('the activation table', () => {
  it('lists the same activations as before the table, then gelu, softplus, sigmoid; the same ones with a closed-form dual', () => {
    expect(activationNames).toEqual(['relu', 'tanh', 'erf', 'quadratic', 'gelu', 'softplus', 'sigmoid']);
    expect(ntkActivations).toEqual(['relu', 'erf', 'quadratic']);
  });

  it('agrees with the Hermite series it lists (σ and σ′), and its dual with Σ c_k² ρ^k at unit variance', () => {
    for (const name of activationNames) {
      const sigma = activation(name);
      if (!sigma.hermite) continue;
      const series = activation({ hermite: [...sigma.hermite] });
      tf.tidy(() => {
        const z = grid();
        expect(maxDifference(sigma.sigma(z), series.sigma(z)), name).toBeLessThan(1e-5);
        expect(maxDifference(sigma.derivative(z), series.derivative(z)), name).toBeLessThan(1e-5);
        if (!(ntkActivations as readonly string[]).includes(name)) return;
        const rho = tf.reshape(tf.linspace(-1, 1, 21), [1, -1]);
        const one = tf.ones([1, 1]);
        const { value } = gaussianExpectations(name as (typeof ntkActivations)[number], rho, one, one);
        let taylor: tf.Tensor = tf.zerosLike(rho);
        sigma.hermite!.forEach((c, k) => (taylor = tf.add(taylor, tf.mul(tf.pow(rho, k), c * c))));
        expect(maxDifference(value, taylor), name).toBeLessThan(1e-5);
      });
    }
  });
});
