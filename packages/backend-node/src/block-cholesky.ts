/**
 * numerics' diagonal-block step of the panel Cholesky (`BlockCholeskyKernel`: L_kk⁻¹ of the top
 * b×b block of a panel, in float64, with a status row) for the `wasm` and `native` kinds (both run
 * tfjs's wasm backend), on heap views, so that a factorization reads no block back to the host and
 * waits on no promise per block (numerics reads the statuses once, after the last panel).
 * - `native`: the addon's `blockCholeskyInverse` (native/lapack-lite.c), its loops vectorized
 *   (AVX2/FMA where the CPU has them): a 256×256 block in 1.4 ms, 128×128 in 0.2 ms, against
 *   8–14 ms and 3.5 ms for the JavaScript below (2-core AMD EPYC, 2026-12-04). Used where the panel
 *   Cholesky runs: the addon built without OpenBLAS (with it, spotrf factors the whole matrix).
 * - `wasm` (or an addon built before it had the entry point): numerics' `shiftedCholeskyInverse`,
 *   the function its host path runs, so the same numbers as before.
 */
import {
  BLOCK_CHOLESKY_MAX,
  BlockCholeskyKernel,
  failedDiagonal,
  shiftedCholeskyInverse,
} from '@regimes/numerics';
import type { Blas } from './blas.js';
import { slotKernel } from './slot-kernel.js';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

// which loop runs, kept on the registered kernel (the engine's registry) as relu-dual.ts does
const slotKey = Symbol.for('regimes.blockCholesky');
interface Slot {
  factor: Blas['blockCholeskyInverse'];
}

/** L⁻¹ of the b×b block at p (row stride b) + shift·I into out ((b+1)×b, status in row b), in JavaScript. */
function factorBlock(b: number, p: Float32Array, shift: number, out: Float32Array): void {
  const { status, inverse } = shiftedCholeskyInverse(Float64Array.from(p.subarray(0, b * b)), b, shift);
  out.fill(0);
  if (inverse) out.set(inverse);
  out[b * b] = status;
}

/**
 * Register the kernel for the wasm backend name (once) and choose its loop: the addon's when `blas`
 * is given (the native kind) and has it, else JavaScript's.
 */
export function installBlockCholesky(blas?: Blas): void {
  const slot = slotKernel<Slot>(BlockCholeskyKernel, slotKey, { factor: undefined }, (slot) => (args) => {
    const { p } = args.inputs as unknown as { p: TensorInfo };
    const { shift } = args.attrs as unknown as { shift?: number };
    const [rows, b] = p.shape as [number, number];
    if (p.shape.length !== 2 || p.dtype !== 'float32' || rows < b || b < 1 || b > BLOCK_CHOLESKY_MAX)
      throw new RangeError(
        `${BlockCholeskyKernel}: the panel is ${p.dtype} [${p.shape}], expected float32 r×b with r ≥ b and 1 ≤ b ≤ ${BLOCK_CHOLESKY_MAX}`,
      );
    const be = args.backend as unknown as WasmBackendLike;
    const out = be.makeOutput([b + 1, b], 'float32');
    // views taken after makeOutput: a growing heap would detach earlier ones
    const view = be.typedArrayFromHeap(p);
    const o = be.typedArrayFromHeap(out);
    if (slot.factor) {
      slot.factor(b, view, 0, b, shift ?? 0, o, 0);
      // the addon's loop tests d > 0 only: an infinite pivot leaves 1/∞ = 0 on L⁻¹'s diagonal
      if (o[b * b] === 0) o[b * b] = failedDiagonal(o, b);
    } else factorBlock(b, view, shift ?? 0, o);
    return out as never;
  });
  slot.factor = blas?.blockCholeskyInverse?.bind(blas);
}
