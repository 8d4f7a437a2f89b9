/**
 * Symmetric eigen-decomposition of a tensor, M = Q diag(λ) Qᵀ: one decomposition serves every
 * ridge λ of a list ((M + sI)⁻¹ = Q diag(1/(λ + s)) Qᵀ). tfjs has no such op, so it is a kernel a
 * backend may register under `SymmetricEigenKernel` (the `native` backend does, with LAPACK's
 * dsyevd from OpenBLAS); elsewhere matrices up to `hostEigenLimit()` are decomposed on the host
 * (float64: a backend's compiled solver, else its WebAssembly build, else Householder
 * tridiagonalization and implicit QL in JavaScript) and larger ones are not available —
 * `symmetricEigenSolver` says which, before any work.
 */
import tf from '@regimes/numerics/tfjs';
import { BackendUnavailable } from '../errors.js';
import { backendRegistry } from './backend-registry.js';
import { webAssemblyEigen } from '../host/eigen-wasm.js';
import { type CompiledEigen, nonFiniteEntry, symmetricEigenTridiagonal } from '../host/tridiagonal-eigen.js';

/**
 * The kernel a backend registers (`tf.registerKernel({ kernelName: SymmetricEigenKernel, … })`):
 * input `x`, an m×m float32 matrix of which only the lower triangle (diagonal included) is read;
 * outputs [values (m, descending), vectors (m×m, eigenvector j in column j)].
 */
export const SymmetricEigenKernel = 'RegimesSymmetricEigen';

/**
 * Largest m decomposed on the host where the backend has no kernel. The host solver
 * (host/tridiagonal-eigen.ts) costs ~9 m³ float64 flops in JavaScript: measured on one core of a
 * 2-core VM 0.06 s at m = 256, 0.4 s at 512, 2.8 s at 1024, 24 s at 2048 and 207 s at 4096 (with
 * 0.5 GiB of host arrays); LAPACK's dsyevd on `native` takes 1.3 s at 2048.
 */
export const HOST_EIGEN_LIMIT = 4096;

/**
 * Largest m decomposed by a compiled host solver (`registerCompiledEigen`): the `native` addon
 * without OpenBLAS (divide and conquer) took 9.7 s at m = 4096 and 88 s at 8192 on this 2-core VM
 * (numpy's eigh, OpenBLAS: 6.7 s at 4096), with up to 36 m² bytes of host arrays (2.4 GB at 8192).
 */
export const COMPILED_EIGEN_LIMIT = 8192;

/**
 * Largest m the host decomposes on the active backend: its compiled solver's, else HOST_EIGEN_LIMIT
 * (the WebAssembly build, one thread: 4.3 s at 2048, 36–40 s at 4096; or JavaScript).
 */
export function hostEigenLimit(): number {
  return compiledEigen() ? COMPILED_EIGEN_LIMIT : HOST_EIGEN_LIMIT;
}

const compiledSolvers = backendRegistry<CompiledEigen>();

/**
 * Register (or with undefined, remove) a compiled host solver for a tfjs backend name: where the
 * backend has no eigen kernel, the host decomposes with it rather than in JavaScript (the `native`
 * addon built without OpenBLAS: native/eigen-lite.c, divide and conquer; 0.24 s at m = 1024, 9.7 s
 * at 4096, against 2.8 and 207 s in JavaScript).
 */
export function registerCompiledEigen(backend: string, solver: CompiledEigen | undefined): void {
  compiledSolvers.register(backend, solver);
}

/** The active backend's compiled host solver, if it registered one. */
export function compiledEigen(): CompiledEigen | undefined {
  return compiledSolvers.active();
}

/** Where an eigen-decomposition runs: see `symmetricEigenSolver`. */
export type EigenSolverKind = 'kernel' | 'compiled' | 'webassembly' | 'host';

/**
 * Where `symmetricEigenTensor` would decompose an m×m matrix on the active backend, if anywhere:
 * the backend's kernel (LAPACK), the backend's compiled host solver (the `native` addon without
 * OpenBLAS), the WebAssembly build of that solver (host/eigen-wasm.ts, one thread), or the host's
 * JavaScript one where that cannot load.
 */
export function symmetricEigenSolver(m: number): EigenSolverKind | undefined {
  if (tf.getKernel(SymmetricEigenKernel, tf.getBackend())) return 'kernel';
  if (m > hostEigenLimit()) return undefined;
  if (compiledEigen()) return 'compiled';
  return webAssemblyEigen() ? 'webassembly' : 'host';
}

/**
 * The float64 host decomposition of a lower triangle (m×m, row-major): by the active backend's
 * compiled solver where it registered one, else by the WebAssembly build of the same solver
 * (host/eigen-wasm.ts), else in JavaScript.
 */
export function hostSymmetricEigen(
  a: ArrayLike<number>,
  m: number,
): { values: Float64Array; vectors: Float64Array } {
  return symmetricEigenTridiagonal(a, m, compiledEigen() ?? webAssemblyEigen());
}

export interface TensorEigen {
  /** Eigenvalues in descending order (m). */
  readonly values: tf.Tensor1D;
  /** Orthonormal eigenvectors as columns (m×m). */
  readonly vectors: tf.Tensor2D;
}

/**
 * Eigen-decomposition of the symmetric matrix whose lower triangle `matrix` holds (the strict upper
 * triangle is not read). The caller disposes both tensors. Throws `BackendUnavailable` where
 * `symmetricEigenSolver(m)` is undefined, `NumericalError` for a matrix with a NaN or an infinity.
 */
export async function symmetricEigenTensor(matrix: tf.Tensor2D): Promise<TensorEigen> {
  const [m, cols] = matrix.shape;
  if (m !== cols) throw new RangeError(`symmetricEigenTensor: the matrix is ${m}×${cols}, not square`);
  const solver = symmetricEigenSolver(m);
  if (solver === 'kernel') {
    const [values, vectors] = tf.engine().runKernel(SymmetricEigenKernel, { x: matrix }, {}) as unknown as [
      tf.Tensor1D,
      tf.Tensor2D,
    ];
    // a non-finite eigenvalue refused as the host solver refuses a non-finite entry: native's kernel
    // refuses those on input itself, but finite entries may still overflow float32 in the output,
    // and another backend's kernel may pass a NaN through
    try {
      if ((await values.data()).some((v) => !Number.isFinite(v))) throw nonFiniteEntry(m, Number.NaN);
    } catch (error) {
      tf.dispose([values, vectors]); // also when the read fails
      throw error;
    }
    return { values, vectors };
  }
  if (solver !== undefined) {
    const { values, vectors } = hostSymmetricEigen(await matrix.data(), m);
    return {
      values: tf.tensor1d(Float32Array.from(values)),
      vectors: tf.tensor2d(Float32Array.from(vectors), [m, m]),
    };
  }
  throw new BackendUnavailable(
    `no symmetric eigen-decomposition of a ${m}×${m} matrix on the '${tf.getBackend()}' backend ` +
      `(the host solver goes up to ${hostEigenLimit()})`,
    { hint: 'use the native backend (OpenBLAS), or solve by Cholesky' },
  );
}
