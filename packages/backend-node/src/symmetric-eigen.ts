/**
 * The symmetric eigen-decomposition kernel of numerics (`SymmetricEigenKernel`) on the `native`
 * backend: LAPACK's dsyevd (divide and conquer) from OpenBLAS, reading the wasm heap in place.
 * float64 rather than ssyevd: it was no slower here (n = 4096: 9.1 s against 11.8 s; 2048: 1.7 s
 * against 1.8 s) and its eigenvalues are exact for the float32 matrix to ~1e-15·λ_max instead of
 * ~1e-7·λ_max. Registered for the wasm backend name while the native kind is active, removed when
 * the plain wasm kind activates (both run tfjs's wasm backend).
 */
import { NumericalError } from '@regimes/core';
import { nonFiniteEntry, registerCompiledEigen, SymmetricEigenKernel } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type { Blas } from './blas.js';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

/**
 * Register the kernel on `wasm` when `blas` has LAPACK (native kind on OpenBLAS); where it has the
 * compiled host solver instead (native on regimes' own SGEMM), register that with numerics
 * (`registerCompiledEigen`); remove both otherwise (the wasm kind: the JavaScript host solver).
 */
export function installSymmetricEigen(blas?: Blas): void {
  const registered = tf.getKernel(SymmetricEigenKernel, 'wasm') !== undefined;
  if (registered) tf.unregisterKernel(SymmetricEigenKernel, 'wasm');
  const hostSyev = blas?.hostSyev?.bind(blas);
  registerCompiledEigen('wasm', hostSyev);
  const syevd = blas?.syevd?.bind(blas);
  if (!syevd) return;
  tf.registerKernel({
    kernelName: SymmetricEigenKernel,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as unknown as { x: TensorInfo };
      const be = args.backend as unknown as WasmBackendLike;
      const m = x.shape[0]!;
      // refused before dsyevd, as the host solvers refuse it: LAPACK passes most NaN and infinities
      // through to the eigenvalues, which numerics checks, but a NaN on a 2×2 matrix's diagonal came
      // out as finite eigenvalues (±√2 for [[NaN, 1], [1, 0]]) beside NaN vectors
      const input = be.typedArrayFromHeap(x);
      for (let i = 0; i < m; i++)
        for (let j = 0; j <= i; j++) {
          const v = input[i * m + j]!;
          if (!Number.isFinite(v)) throw nonFiniteEntry(m, v, i, j);
        }
      const values = be.makeOutput([m], 'float32');
      const vectors = be.makeOutput([m, m], 'float32');
      // views taken after makeOutput: a growing heap would detach earlier ones
      const status = syevd(
        true,
        m,
        be.typedArrayFromHeap(x),
        0,
        be.typedArrayFromHeap(values),
        0,
        be.typedArrayFromHeap(vectors),
        0,
      );
      if (status !== 0) {
        be.disposeData(values.dataId);
        be.disposeData(vectors.dataId);
        throw new NumericalError(
          status === -1000
            ? `dsyevd: out of memory for a ${m}×${m} eigen-decomposition`
            : `dsyevd failed on a ${m}×${m} matrix (info ${status})`,
        );
      }
      return [values, vectors] as never;
    },
  });
}
