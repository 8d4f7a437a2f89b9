/**
 * numerics' correlation (`CorrelationKernel`: t = c/√(q_a q_b) clamped to [−1, 1], what the deep
 * kernels' Mehler series takes at every layer) in one pass over heap views, for the `wasm` and
 * `native` kinds (both run tfjs's wasm backend), each entry in float64 and rounded once, where the
 * tfjs ops make five passes:
 * - `wasm`: a JavaScript loop;
 * - `native`: the addon's `correlation` (native/relu-dual.c, the ReLU dual's rows), vectorized, rows
 *   over threads.
 * Timings: docs/backends.md.
 */
import { CorrelationKernel } from '@regimes/numerics';
import type { Blas } from './blas.js';
import { covarianceOperands, slotKernel } from './slot-kernel.js';

const slotKey = Symbol.for('regimes.correlation');
interface Slot {
  correlation: Blas['correlation'];
}

/**
 * Register the kernel for the wasm backend name (once) and choose its loop: the addon's when `blas`
 * is given (the native kind) and has it (an addon built before it had not), else JavaScript's.
 */
export function installCorrelation(blas?: Blas): void {
  const slot = slotKernel<Slot>(CorrelationKernel, slotKey, { correlation: undefined }, (slot) => (args) => {
    const { m, n, views, outputs, aRow, bColumn } = covarianceOperands(args, ['c', 'qa', 'qb'], 1);
    const [r, a, b, t] = views as [Float32Array, Float32Array, Float32Array, Float32Array];
    if (slot.correlation) {
      slot.correlation(m, n, r, a, b, t);
      return outputs[0] as never;
    }
    // q_a per row (m×1) or per entry (m×n), q_b per column (1×n) or per entry
    for (let i = 0; i < m; i++) {
      const row = i * n;
      const ai = aRow ? a[i]! : 0;
      for (let j = 0; j < n; j++) {
        const k = row + j;
        const p = (aRow ? ai : a[k]!) * (bColumn ? b[j]! : b[k]!);
        // NaN stays NaN through the clamp (its comparisons are false), as on the addon
        const v = r[k]! / Math.sqrt(p < 1e-300 ? 1e-300 : p);
        t[k] = v > 1 ? 1 : v < -1 ? -1 : v;
      }
    }
    return outputs[0] as never;
  });
  slot.correlation = blas?.correlation?.bind(blas);
}
