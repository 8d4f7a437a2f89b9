import tf from '@regimes/numerics/tfjs';

/**
 * Whether tfjs is recording operations for gradients: the backends' single-pass kernels have no
 * gradient, so their dispatchers take the ops then.
 */
export function recordingGradients(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}
