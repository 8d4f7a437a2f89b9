/**
 * numerics' Mehler series (`MehlerSeriesKernel`: S = t^offset Σ_k a_ik b_kj u^k entry by entry, what
 * an off-sphere deep kernel of tanh, gelu, sigmoid, softplus or a Hermite σ sums) in one pass, on the
 * `native` kind only: the addon's `mehlerSeries` (native/mehler-series.c), Horner in float64 over
 * blocks of 64 columns, vectorized, rows over threads. A JavaScript loop was slower than the tfjs
 * ops it would replace (2048×256, 42 degrees: 47 ms against 22 ms, 2026-12-06), so the `wasm` kind
 * registers nothing and keeps the ops.
 */
import { MehlerSeriesKernel } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type { Blas } from './blas.js';
import { slotKernel } from './slot-kernel.js';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

const slotKey = Symbol.for('regimes.mehlerSeries');
interface Slot {
  series: NonNullable<Blas['mehlerSeries']> | undefined;
}

/**
 * Register the kernel for the wasm backend name with the addon's loop when `blas` has it (the native
 * kind; an addon built before it had not), else remove it, so that numerics' `mehlerSeries` takes
 * the ops (the wasm kind, which shares the backend name).
 */
export function installMehlerSeries(blas?: Blas): void {
  const series = blas?.mehlerSeries?.bind(blas);
  if (!series) {
    if (tf.getKernel(MehlerSeriesKernel, 'wasm')) tf.unregisterKernel(MehlerSeriesKernel, 'wasm');
    return;
  }
  const slot = slotKernel<Slot>(MehlerSeriesKernel, slotKey, { series }, (slot) => (args) => {
    const { a, b, t } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo; t: TensorInfo };
    const { step, offset } = args.attrs as unknown as { step: 1 | 2; offset: 0 | 1 };
    const be = args.backend as unknown as WasmBackendLike;
    const [m, n] = t.shape as [number, number];
    const out = be.makeOutput([m, n], 'float32');
    // views taken after makeOutput: a growing heap would detach earlier ones
    slot.series!(
      m,
      n,
      a.shape[1]!,
      step,
      offset,
      be.typedArrayFromHeap(a),
      be.typedArrayFromHeap(b),
      be.typedArrayFromHeap(t),
      be.typedArrayFromHeap(out),
    );
    return out as never;
  });
  slot.series = series;
}
