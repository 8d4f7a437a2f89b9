/**
 * A kernel registered once for the wasm backend name, which the `wasm` and `native` kinds share,
 * with a slot kept on the registered config (the engine's registry, so one per process whatever
 * copies of this package load) that each kind's activation fills: the addon's loop on `native`,
 * nothing (the JavaScript one) on `wasm`.
 */
import tf from '@regimes/numerics/tfjs';

/** The slot of `kernelName` on the wasm backend name under `key`, registering `make(slot)` there first if it is not. */
export function slotKernel<S extends object>(
  kernelName: string,
  key: symbol,
  initial: S,
  make: (slot: S) => tf.KernelFunc,
): S {
  const existing = tf.getKernel(kernelName, 'wasm') as unknown as Record<symbol, S | undefined> | undefined;
  const found = existing?.[key];
  if (found) return found;
  if (existing) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    [key]: initial,
    kernelFunc: make(initial),
  } as tf.KernelConfig);
  return initial;
}
