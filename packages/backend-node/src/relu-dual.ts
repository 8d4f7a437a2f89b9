/**
 * The ReLU dual of numerics (`ReluDualKernel`: the arc-cosine kernels every ReLU NTK and NNGP
 * evaluates entry by entry) in one pass over heap views, for the `wasm` and `native` kinds (both
 * run tfjs's wasm backend). Each entry in float64, rounded once to float32.
 * - `wasm`: a JavaScript loop. A 1024×512 matrix took 8.3 ms against 17.5 ms for the 16 tfjs ops
 *   (2026-12-03, 2-core EPYC).
 * - `native`: the addon's `reluDual` (native/relu-dual.c): the same formulas with its own arc cosine,
 *   branch-free so that the row loop vectorizes (AVX2/FMA where the CPU has them), rows over threads.
 *   1024×512 in 1.8 ms on one thread and 1.1 ms on two against the loop's 7.0 ms, every entry equal
 *   to the loop's (2026-12-04, same machine); it was 75% of the NTK kernel build at n = 8192.
 *   A first C loop on glibc's acos was slower than JavaScript (14 ms): the speed is the vectorized
 *   arc cosine's.
 */
import { RELU_DUAL_COSINE_SNAP, ReluDualKernel } from '@regimes/numerics';
import type { Blas } from './blas.js';
import { covarianceOperands, slotKernel } from './slot-kernel.js';

const TWO_PI = 2 * Math.PI;

// which loop runs, kept on the registered kernel (the engine's registry) as transposed-matmul.ts does
const slotKey = Symbol.for('regimes.reluDual');
interface Slot {
  dual: Blas['reluDual'];
}

/**
 * Register the kernel for the wasm backend name (once) and choose its loop: the addon's when `blas`
 * is given (the native kind) and has it (an addon built before it had not), else JavaScript's.
 */
export function installReluDual(blas?: Blas): void {
  const slot = slotKernel<Slot>(ReluDualKernel, slotKey, { dual: undefined }, (slot) => (args) => {
    const snap = (args.attrs as { snap?: number } | undefined)?.snap ?? RELU_DUAL_COSINE_SNAP;
    const { m, n, views, outputs, aRow, bColumn } = covarianceOperands(args, ['rho', 'qa', 'qb'], 2);
    const [r, a, b, v, d] = views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    if (slot.dual) {
      slot.dual(m, n, r, a, b, v, d, snap);
      return outputs as never;
    }
    // q_a per row (m×1) or per entry (m×n); q_b per column (1×n) or per entry
    for (let i = 0; i < m; i++) {
      const row = i * n;
      const ai = aRow ? a[i]! : 0;
      for (let j = 0; j < n; j++) {
        const k = row + j;
        const scale = Math.sqrt((aRow ? ai : a[k]!) * (bColumn ? b[j]! : b[k]!));
        // 0 where a variance is 0: a floor far below any product of float32 variances, so that
        // variances of 1e-30 keep their angle (the addon's loop has the same)
        let cos = r[k]! / Math.max(scale, 1e-300);
        // clamped as the ops clamp; NaN passes through as NaN
        // and ±1 within snap of them (the diagonal's rounding)
        if (cos > 1 - snap) cos = 1;
        else if (cos < snap - 1) cos = -1;
        const rest = Math.PI - Math.acos(cos);
        const sin = Math.sqrt(Math.max(1 - cos * cos, 0));
        v[k] = (scale * (sin + rest * cos)) / TWO_PI;
        d[k] = rest / TWO_PI;
      }
    }
    return outputs as never;
  });
  slot.dual = blas?.reluDual?.bind(blas);
}
