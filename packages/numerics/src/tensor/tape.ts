import tf from '@regimes/numerics/tfjs';

/**
 * Whether a dispatcher should run the backend's single-pass kernel `name`: the backend registers it,
 * and tfjs is not recording operations for gradients (the kernels have none; their dispatchers take
 * the ops then).
 */
export function singlePassKernel(name: string): boolean {
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  return !recording && tf.getKernel(name, tf.getBackend()) !== undefined;
}
