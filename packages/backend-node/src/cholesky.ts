/**
 * numerics' dense Cholesky and triangular-solve kernels (`CholeskyKernel`, `TriangularSolveKernel`)
 * on the `native` backend built on OpenBLAS: LAPACK's spotrf in place on the wasm heap, and cblas
 * strsm — what numpy's cholesky/solve_triangular call. Registered for the wasm backend name while
 * the native kind is active and its addon has LAPACK; removed otherwise (the panel Cholesky of
 * numerics then runs over matMul). With them the host LAPACK of numerics (`registerHostLapack`):
 * the same spotrf / strsm on Float32Arrays outside the wasm heap, for kernel ridge systems too
 * large for it — or, in the addon built without OpenBLAS, its own blocked Cholesky over its SGEMM
 * (native/lapack-lite.c: `hostPotrf`, `hostTrsm`; the tfjs kernels stay unregistered there: on
 * them, measured 2026-12-04 on 2 cores, Cholesky + solve at n = 8192 took 3.45–3.57 s against
 * 2.77–3.09 s by numerics' panels, and the ntk fit (λ fixed, its diagnostics solving many
 * right-hand sides) 23.6–24.4 s against 5.0–5.8 s).
 */
import { CholeskyKernel, failedDiagonal, registerHostLapack, TriangularSolveKernel } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type { Blas } from './blas.js';
import { hostArray } from './huge-pages.js';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

/**
 * potrf's status, with an infinite pivot a failure too: LAPACK (and lapack-lite.c) test only
 * `d > 0` and NaN, so an infinite diagonal entry gave status 0 and a factor with L_jj = ∞ and 0
 * below it (numerics' `pivotFails`).
 */
function potrfStatus(status: number, n: number, factor: Float32Array, offset: number): number {
  return status !== 0 ? status : failedDiagonal(factor, n, offset);
}

/** Register both kernels and the host LAPACK on `wasm` when `blas` has LAPACK, remove them otherwise. */
export function installCholesky(blas?: Blas): void {
  for (const name of [CholeskyKernel, TriangularSolveKernel])
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
  registerHostLapack('wasm', undefined);
  const hostPotrf = blas?.potrf ?? blas?.hostPotrf;
  const hostTrsm = blas?.trsm ?? blas?.hostTrsm;
  if (hostPotrf && hostTrsm)
    registerHostLapack('wasm', {
      potrf: (n, a, shift) => potrfStatus(hostPotrf(n, a, 0, shift), n, a, 0),
      trsm: (transpose, m, c, l, lOffset, ldl, b, bOffset) =>
        hostTrsm(transpose, m, c, l, lOffset, ldl, b, bOffset),
      view: (t) => {
        if (t.dtype !== 'float32') throw new RangeError(`host LAPACK view: a float32 tensor, not ${t.dtype}`);
        return (tf.backend() as unknown as WasmBackendLike).typedArrayFromHeap(t as unknown as TensorInfo);
      },
      allocate: (length) => hostArray(blas!, length),
    });
  const { potrf, trsm } = blas ?? {};
  if (!potrf || !trsm) return;
  tf.registerKernel({
    kernelName: CholeskyKernel,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as unknown as { x: TensorInfo };
      const { shift } = args.attrs as unknown as { shift: number };
      const be = args.backend as unknown as WasmBackendLike;
      const m = x.shape[0]!;
      if (x.shape.length !== 2 || x.shape[1] !== m || x.dtype !== 'float32')
        throw new RangeError(
          `${CholeskyKernel}: expected a square float32 matrix, got ${x.dtype} [${x.shape}]`,
        );
      const info = be.makeOutput([1], 'float32');
      // in place: the factor shares x's storage (as a reshape does)
      const status = potrf(m, be.typedArrayFromHeap(x), 0, shift ?? 0);
      be.typedArrayFromHeap(info)[0] = potrfStatus(status, m, be.typedArrayFromHeap(x), 0);
      be.incRef(x.dataId);
      return [{ dataId: x.dataId, shape: [m, m], dtype: 'float32' }, info] as never;
    },
  });
  tf.registerKernel({
    kernelName: TriangularSolveKernel,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { l, b } = args.inputs as unknown as { l: TensorInfo; b: TensorInfo };
      const { transpose, start = 0 } = args.attrs as unknown as { transpose: boolean; start?: number };
      const be = args.backend as unknown as WasmBackendLike;
      const [m, c] = b.shape as [number, number];
      const size = l.shape[0]!;
      if (l.shape[1] !== size || size - start !== m || b.shape.length !== 2)
        throw new RangeError(
          `${TriangularSolveKernel}: L is [${l.shape}], start ${start}, and b [${b.shape}]`,
        );
      const out = be.makeOutput([m, c], 'float32');
      // views taken after makeOutput: a growing heap would detach earlier ones
      const ov = be.typedArrayFromHeap(out);
      ov.set(be.typedArrayFromHeap(b));
      trsm(transpose, m, c, be.typedArrayFromHeap(l), start * size + start, size, ov, 0);
      return out;
    },
  });
}
