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

/**
 * One entry of the shifted dual in float64 from the deviations ρ̃, q̃_a, q̃_b and C, by the formulas
 * of the ops (numerics' reluDualShifted), which never subtract numbers of C's size where the
 * deviations would cancel (the addon's SHIFTED_ROW is the same): rebuilding C + ρ̃ in float64 had lost
 * deviations below 1e-16·C (a 45-layer NTK, whose deviations halve each layer: 1e-2 off).
 */
function shiftedEntry(
  v: Float32Array,
  d: Float32Array,
  k: number,
  dr: number,
  qa: number,
  qb: number,
  shift: number,
  snap: number,
): void {
  const scale = Math.sqrt(shift + qa) * Math.sqrt(shift + qb); // no overflow before s does
  const floored = Math.max(scale, 1e-300);
  const above = (shift * (qa + qb) + qa * qb) / (scale + shift); // s − C
  const rho = shift + dr;
  const gap = rho > 0 ? (shift * (qa + qb - 2 * dr) + qa * qb - dr * dr) / (scale + rho) : scale - rho;
  // ε = 1 − cos θ in [0, 2] (NaN stays NaN), within snap·(s − C)/s of 0 or 2 that
  let epsilon = Math.min(Math.max(gap / floored, 0), 2);
  const tolerance = Math.max(snap * (above / floored), 0);
  if (epsilon < tolerance) epsilon = 0;
  else if (epsilon > 2 - tolerance) epsilon = 2;
  // 1 + cos θ, from s + ρ where ρ < 0 (no cancellation there)
  const plus = epsilon >= 2 ? 0 : Math.max(rho < 0 ? (scale + rho) / floored : 2 - epsilon, 0);
  const wide = epsilon > 1; // θ > π/2
  const theta = wide ? Math.PI - 2 * Math.asin(Math.sqrt(plus / 2)) : 2 * Math.asin(Math.sqrt(epsilon / 2));
  const cos = wide ? plus - 1 : 1 - epsilon;
  const sin = Math.sqrt(epsilon * (wide ? plus : 2 - epsilon));
  d[k] = -theta / TWO_PI;
  if (wide) {
    v[k] = (scale * (sin + (Math.PI - theta) * cos)) / TWO_PI - shift / 2;
    return;
  }
  const t2 = theta * theta;
  const curvature =
    theta < 0.25 ? theta * t2 * (1 / 3 + t2 * (-1 / 30 + t2 * (1 / 840 - t2 / 45360))) : sin - theta * cos;
  v[k] = (above - scale * epsilon) / 2 + (scale * curvature) / TWO_PI;
}

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
    // q_a per row (m×1) or per entry (m×n); q_b per column (1×n) or per entry
    for (let i = 0; i < m; i++) {
      const row = i * n;
      const ai = aRow ? a[i]! : 0;
      for (let j = 0; j < n; j++) {
        const k = row + j;
        const qa = aRow ? ai : a[k]!;
        const qb = bColumn ? b[j]! : b[k]!;
        if (shifted) {
          shiftedEntry(v, d, k, r[k]!, qa, qb, shift, snap);
          continue;
        }
        const scale = Math.sqrt(qa * qb);
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
  };
  const slot = slotKernel<Slot>(ReluDualKernel, slotKey, { dual: undefined }, make(false));
  slot.dual = blas?.reluDual?.bind(blas);
  const shiftedSlot = slotKernel<Slot>(ReluDualShiftedKernel, shiftedKey, { dual: undefined }, make(true));
  shiftedSlot.shifted = blas?.reluDualShifted?.bind(blas);
}
