/** The optional OpenBLAS addon (native/blas.c), built at install time when OpenBLAS is present. */
import { createRequire } from 'node:module';

export interface Blas {
  /** out[outOffset..] = op(A)·op(B), row-major, op(A) m×k, op(B) k×n. */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aOffset: number,
    b: Float32Array,
    bOffset: number,
    out: Float32Array,
    outOffset: number,
  ): void;
  /**
   * Eigen-decomposition of the symmetric n×n row-major matrix whose lower triangle is at a (LAPACK
   * dsyevd on a float64 copy when `double`, else ssyevd): values descending, eigenvectors as the
   * columns of `vectors`. Returns LAPACK's info (0: success; −1000: out of memory).
   */
  syevd(
    double: boolean,
    n: number,
    a: Float32Array,
    aOffset: number,
    values: Float32Array,
    valuesOffset: number,
    vectors: Float32Array,
    vectorsOffset: number,
  ): number;
  threads(): number;
  config(): string;
}

export const INSTALL_BLAS =
  'install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev; Fedora: dnf install openblas-devel; macOS: brew install openblas) and rebuild: npm run build:native';

export function loadBlas(): { blas?: Blas; reason?: string } {
  try {
    return { blas: createRequire(import.meta.url)('../native/build/Release/regimes_blas.node') as Blas };
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    return {
      reason: missing
        ? `the BLAS addon is not built: ${INSTALL_BLAS}`
        : `the BLAS addon did not load (${(error as Error).message}); ${INSTALL_BLAS}`,
    };
  }
}
