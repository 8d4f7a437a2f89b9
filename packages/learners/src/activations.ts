/** Activations σ by name, applied elementwise on tensors. */
import * as tf from '@tensorflow/tfjs-core';

export const activations = {
  relu: (z: tf.Tensor) => tf.relu(z),
  tanh: (z: tf.Tensor) => tf.tanh(z),
  erf: (z: tf.Tensor) => tf.erf(z),
  quadratic: (z: tf.Tensor) => tf.square(z),
} as const;

export type ActivationName = keyof typeof activations;
export const activationNames = Object.keys(activations) as [ActivationName, ...ActivationName[]];
