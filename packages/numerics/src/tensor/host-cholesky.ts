/**
 * A dense Cholesky factorization in host memory, for symmetric systems too large for the backend's
 * own memory (tfjs-backend-wasm keeps every tensor in WebAssembly's 32-bit heap, at most 4 GiB). The
 * backend registers the capability (`registerHostLapack`; the `native` backend on OpenBLAS: spotrf
 * and strsm on any Float32Array); the matrix is assembled panel by panel in one host Float32Array
 * (each panel copied straight from the backend's storage through `view`), factored in place, and
 * solves run on host vectors. Memory: m² floats on the host plus one panel on the backend.
 */
import type tf from '@regimes/numerics/tfjs';
import { NumericalError } from '../errors.js';
import { type ColumnPanels, float32Panels } from './panels.js';
import { backendRegistry } from './backend-registry.js';

/** LAPACK on host arrays, as a backend provides it (row-major, float32). */
export interface HostLapack {
  /**
   * In place, the Cholesky factor L of A + shift·I, A the symmetric n×n matrix whose lower triangle
   * is in a[0, n²) (any length ≥ n²: a Float32Array of several GiB); the upper triangle is zeroed.
   * Returns LAPACK's info: 0 on success, k > 0 when the leading k×k minor is not positive definite
   * (a then holds a partial factorization), negative on an internal failure (out of memory).
   */
  potrf(n: number, a: Float32Array, shift: number): number;
  /** In place, b := L⁻¹b (L⁻ᵀb when `transpose`), L m×m lower triangular at l[lOffset..] with row stride ldl, b m×c. */
  trsm(
    transpose: boolean,
    m: number,
    c: number,
    l: Float32Array,
    lOffset: number,
    ldl: number,
    b: Float32Array,
    bOffset: number,
  ): void;
  /**
   * The float32 values of t as a view of the backend's storage (no copy), valid until the backend
   * next allocates; read it at once.
   */
  view(t: tf.Tensor): Float32Array;
  /**
   * A zeroed host array of `length` floats for a matrix (`new Float32Array` where absent): `native`'s
   * asks the kernel for transparent huge pages before its first touch (backend-node's huge-pages.ts).
   */
  allocate?(length: number): Float32Array;
}

const lapacks = backendRegistry<HostLapack>();

/** Register (or with undefined, remove) the host LAPACK of a tfjs backend name. */
export function registerHostLapack(backend: string, lapack: HostLapack | undefined): void {
  lapacks.register(backend, lapack);
}

/** The active backend's host LAPACK, if it registered one. */
export function hostLapack(): HostLapack | undefined {
  return lapacks.active();
}

/**
 * Copy the lower triangle of a symmetric m×m matrix given by column panels into `into` (row-major,
 * length ≥ m²): panel [s:, s:s+b] row i lands at into[i·m + s ..], its part on or below the diagonal
 * only (the upper triangle is left as it was: potrf reads the lower one). Each panel is read from the
 * backend's storage in place and freed before the next is built. `into` may be a function that
 * returns the array: called after each panel is built, for a view of the backend's own storage,
 * which building a panel may move (a growing WebAssembly heap detaches earlier views).
 */
export function assembleLowerHost(
  panels: ColumnPanels,
  m: number,
  into: Float32Array | (() => Float32Array),
  lapack: HostLapack,
  block = 256,
): void {
  for (let s = 0; s < m; s += block) {
    const b = Math.min(block, m - s);
    const panel = panels(s, b);
    try {
      if (panel.shape[0] !== m - s || panel.shape[1] !== b)
        throw new RangeError(`panel at ${s} is [${panel.shape}], expected [${m - s}, ${b}]`);
      const data = lapack.view(panel);
      const target = typeof into === 'function' ? into() : into;
      for (let i = s; i < m; i++) {
        const row = (i - s) * b;
        target.set(data.subarray(row, row + Math.min(b, i - s + 1)), i * m + s);
      }
    } finally {
      panel.dispose();
    }
  }
}

/** A Cholesky factor in host memory: L (m×m, row-major, upper triangle zero) in `l`. */
export interface HostFactor {
  readonly m: number;
  readonly l: Float32Array;
  /** The shift added to A: the requested one plus `jitter`. */
  readonly shift: number;
  readonly jitter: number;
}

/**
 * The Cholesky factor of A + shift·I in `into` (length ≥ m², reused: the caller allocates it once
 * for every λ). Where float32 round-off makes a pivot non-positive, A is assembled again (potrf has
 * overwritten it) and factored with jitter 1e-6·meanDiagonal, ×100 each retry (three at most), as
 * `choleskyPanels` does; then a NumericalError.
 */
export function hostCholesky(
  panels: ColumnPanels,
  m: number,
  into: Float32Array,
  lapack: HostLapack,
  options: { shift?: number; block?: number; meanDiagonal?: number } = {},
): HostFactor {
  if (into.length < m * m)
    throw new RangeError(
      `hostCholesky: the array holds ${into.length} values, the ${m}×${m} system needs ${m * m}`,
    );
  const shift = options.shift ?? 0;
  const float32 = float32Panels(panels);
  let jitter = 0;
  let status = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) jitter = nextJitter(jitter, options.meanDiagonal);
    assembleLowerHost(float32, m, into, lapack, options.block ?? 256);
    status = lapack.potrf(m, into, shift + jitter);
    if (status === 0) return { m, l: into, shift: shift + jitter, jitter };
    if (status < 0)
      throw new Error(`hostCholesky: the factorization failed (status ${status}: out of memory)`);
  }
  throw choleskyFailure(m, jitter, status);
}

/**
 * The jitter of a Cholesky's next try: 1e-6·mean(diag A) first, then ×100; of a matrix whose mean
 * diagonal is 0 (the centred system of one sample is 0), 1e-6, or it never grew from 0.
 */
export function nextJitter(jitter: number, meanDiagonal = 1): number {
  return jitter === 0 ? 1e-6 * (meanDiagonal > 0 ? meanDiagonal : 1) : jitter * 100;
}

/**
 * The error of a Cholesky that failed on every try: the largest jitter tried, and the first pivot
 * that failed on that try (`pivot` = j + 1 as LAPACK's info, 0 where the path does not know it).
 */
export function choleskyFailure(m: number, jitter: number, pivot: number): NumericalError {
  const where =
    pivot > 0 ? `; on the last try pivot ${pivot - 1} (row ${pivot - 1} of 0..${m - 1}) failed first` : '';
  return new NumericalError(
    `Cholesky of the ${m}×${m} system failed even with jitter ${jitter.toExponential(1)}${where}`,
    {
      hint: 'increase the ridge: the kernel or Gram matrix is numerically singular in float32 (or it has an entry that is not finite: check its scale, and that row)',
    },
  );
}

/** x = (LLᵀ)⁻¹ b for b m×c (row-major), in place on a copy of b which it returns. */
export function hostCholeskySolve(
  f: HostFactor,
  b: Float32Array,
  c: number,
  lapack: HostLapack,
): Float32Array {
  if (b.length !== f.m * c)
    throw new RangeError(`hostCholeskySolve: b holds ${b.length} values, expected ${f.m}×${c}`);
  const x = Float32Array.from(b);
  lapack.trsm(false, f.m, c, f.l, 0, f.m, x, 0);
  lapack.trsm(true, f.m, c, f.l, 0, f.m, x, 0);
  return x;
}
