/**
 * A kernel registered once for the wasm backend name, which the `wasm` and `native` kinds share,
 * with a slot kept on the registered config (the engine's registry, so one per process whatever
 * copies of this package load) that each kind's activation fills: the addon's loop on `native`,
 * nothing (the JavaScript one) on `wasm`.
 */
import tf from '@regimes/numerics/tfjs';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

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

/**
 * The operands of an entrywise kernel of a covariance and two variances on the wasm backend name
 * (numerics' ReLU dual and correlation): the inputs `names` (m×n, m×1 or m×n, 1×n or m×n), `count`
 * float32 m×n outputs made, and heap views of all of them, taken after the outputs are made (a
 * growing heap detaches earlier views); `aRow` when q_a is one per row, `bColumn` when q_b is one per
 * column.
 */
export function covarianceOperands(
  args: Parameters<tf.KernelFunc>[0],
  names: readonly [string, string, string],
  count: number,
) {
  const inputs = args.inputs as unknown as Record<string, TensorInfo>;
  const [c, qa, qb] = names.map((name) => inputs[name]!) as [TensorInfo, TensorInfo, TensorInfo];
  const be = args.backend as unknown as WasmBackendLike;
  const [m, n] = c.shape as [number, number];
  const outputs = Array.from({ length: count }, () => be.makeOutput([m, n], 'float32'));
  return {
    m,
    n,
    views: [c, qa, qb, ...outputs].map((t) => be.typedArrayFromHeap(t)),
    outputs,
    aRow: qa.shape[1] === 1,
    bColumn: qb.shape[0] === 1,
  };
}
