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
import { RELU_DUAL_COSINE_SNAP, ReluDualKernel, ReluDualShiftedKernel } from '@regimes/numerics';
import type tf from '@regimes/numerics/tfjs';
import type { Blas } from './blas.js';
import { covarianceOperands, slotKernel } from './slot-kernel.js';

const TWO_PI = 2 * Math.PI;

// which loop runs, kept on the registered kernel (the engine's registry) as transposed-matmul.ts does
const slotKey = Symbol.for('regimes.reluDual');
const shiftedKey = Symbol.for('regimes.reluDualShifted');
interface Slot {
  dual: Blas['reluDual'];
  shifted?: Blas['reluDualShifted'];
}

/**
 * Register the kernels for the wasm backend name (once), the dual and its shifted form
 * (`reluDualShifted`: ρ, q_a, q_b given less a constant C, the outputs less the dual's value there),
 * and choose their loop: the addon's when `blas` is given (the native kind) and has it (an addon built
 * before it had not; the shifted form takes an addon that reads `shift`), else JavaScript's.
 */
export function installReluDual(blas?: Blas): void {
  const make = (shifted: boolean) => (slot: Slot) => (args: Parameters<tf.KernelFunc>[0]) => {
    const attrs = args.attrs as { snap?: number; shift?: number } | undefined;
    const snap = attrs?.snap ?? RELU_DUAL_COSINE_SNAP;
    const shift = shifted ? attrs!.shift! : 0;
    const { m, n, views, outputs, aRow, bColumn } = covarianceOperands(args, ['rho', 'qa', 'qb'], 2);
    const [r, a, b, v, d] = views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    if (shifted ? slot.shifted : slot.dual) {
      if (shifted) slot.shifted!(m, n, r, a, b, v, d, snap, shift);
      else slot.dual!(m, n, r, a, b, v, d, snap);
      return outputs as never;
    }
    // the dual at C + ρ̃ etc. (C = 0: as given) less its value at θ = 0 (C/2 and 1/2), in float64
    const valueShift = shift / 2;
    // q_a per row (m×1) or per entry (m×n); q_b per column (1×n) or per entry
    for (let i = 0; i < m; i++) {
      const row = i * n;
      const ai = aRow ? a[i]! : 0;
      for (let j = 0; j < n; j++) {
        const k = row + j;
        const scale = Math.sqrt((shift + (aRow ? ai : a[k]!)) * (shift + (bColumn ? b[j]! : b[k]!)));
        // 0 where a variance is 0: a floor far below any product of float32 variances, so that
        // variances of 1e-30 keep their angle (the addon's loop has the same)
        let cos = (shift + r[k]!) / Math.max(scale, 1e-300);
        // clamped as the ops clamp; NaN passes through as NaN
        // and ±1 within snap of them (the diagonal's rounding), shifted: relative to the deviations'
        // scale (√(q_a q_b) − C)/√(q_a q_b), as the ops take it
        const tolerance = shifted ? snap * ((scale - shift) / scale) : snap;
        if (cos > 1 - tolerance) cos = 1;
        else if (cos < tolerance - 1) cos = -1;
        const theta = Math.acos(cos);
        const rest = Math.PI - theta;
        const sin = Math.sqrt(Math.max(1 - cos * cos, 0));
        v[k] = (scale * (sin + rest * cos)) / TWO_PI - valueShift;
        // shifted: (π − θ)/(2π) − 1/2 as −θ/(2π), exactly 0 at θ = 0
        d[k] = shifted ? -theta / TWO_PI : rest / TWO_PI;
      }
    }
    return outputs as never;
  };
  const slot = slotKernel<Slot>(ReluDualKernel, slotKey, { dual: undefined }, make(false));
  slot.dual = blas?.reluDual?.bind(blas);
  const shiftedSlot = slotKernel<Slot>(ReluDualShiftedKernel, shiftedKey, { dual: undefined }, make(true));
  shiftedSlot.shifted = blas?.reluDualShifted?.bind(blas);
}
