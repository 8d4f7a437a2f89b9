/**
 * The addon of the `native` backend (native/blas.c, gemm.c), built at install time wherever a C
 * compiler exists: on the system OpenBLAS when present (products and LAPACK), else on regimes' own
 * packed SGEMM (products only: the LAPACK entry points are absent).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HostLapack } from '@regimes/numerics';

/**
 * In place, b := L⁻¹b (L⁻ᵀb when `transpose`), L m×m lower triangular at lOffset with row stride
 * ldl ≥ m, b m×c: the addon's trsm has the signature of numerics' host LAPACK, which it serves.
 */
export type Trsm = HostLapack['trsm'];

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
   * out[outOffset..] = aᵀa (`trans`: a k×n row-major) or aaᵀ (a n×k): the symmetric n×n product
   * with both triangles, for half of sgemm's work (cblas_ssyrk on OpenBLAS, else regimes' own).
   */
  ssyrk(
    trans: boolean,
    n: number,
    k: number,
    a: Float32Array,
    aOffset: number,
    out: Float32Array,
    outOffset: number,
  ): void;
  /**
   * Eigen-decomposition of the symmetric n×n row-major matrix whose lower triangle is at a (LAPACK
   * dsyevd on a float64 copy when `double`, else ssyevd): values descending, eigenvectors as the
   * columns of `vectors`. Returns LAPACK's info (0: success; −1000: out of memory).
   */
  syevd?(
    double: boolean,
    n: number,
    a: Float32Array,
    aOffset: number,
    values: Float32Array,
    valuesOffset: number,
    vectors: Float32Array,
    vectorsOffset: number,
  ): number;
  /**
   * In place, the Cholesky factor L of A + shift·I (A the symmetric n×n row-major matrix whose lower
   * triangle is at a; LAPACK spotrf), its upper triangle zeroed. Returns LAPACK's info.
   */
  potrf?(n: number, a: Float32Array, aOffset: number, shift: number): number;
  /**
   * In place, b := L⁻¹b (L⁻ᵀb when `transpose`), L m×m lower triangular at lOffset with row stride
   * ldl ≥ m, b m×c (cblas strsm).
   */
  trsm?: Trsm;
  /**
   * The build without OpenBLAS: potrf and trsm as above, by regimes' own blocked Cholesky over its
   * SGEMM and substitutions (native/lapack-lite.c); numerics' host LAPACK only (returns −1000 when
   * out of memory).
   */
  hostPotrf?(n: number, a: Float32Array, aOffset: number, shift: number): number;
  hostTrsm?: Trsm;
  /**
   * The build without OpenBLAS: a float64 host eigen solver by divide and conquer (native/eigen-lite.c;
   * numerics' `CompiledEigen`): w (m×m, the scaled lower triangle, overwritten), values, vectors;
   * returns 0, −1 for a non-finite entry, −1000 out of memory, l + 1 when QL did not converge on a
   * leaf of ≤ 32.
   */
  hostSyev?(m: number, w: Float64Array, values: Float64Array, vectors: Float64Array): number;
  /**
   * OpenBLAS with DYNAMIC_ARCH on x86-64: when it chose a pre-AVX core (before 0.3.25 an Intel model it
   * did not know got Prescott's SSE3 kernels), choose again from the CPU's features (SkylakeX, Haswell or
   * Sandybridge; native/blas.c). Returns the core it replaced, or null. Call before any product.
   */
  retuneCore?(): string | null;
  /**
   * numerics' ReLU dual (relu-dual.ts) on Float32Arrays: rho, value and derivative m×n, qa m (one per
   * row) or m×n, qb n (one per column) or m×n; cosines within snap of ±1 taken as ±1 (numerics'
   * RELU_DUAL_COSINE_SNAP where absent); each entry in float64, rounded once (native/relu-dual.c).
   */
  reluDual?(
    m: number,
    n: number,
    rho: Float32Array,
    qa: Float32Array,
    qb: Float32Array,
    value: Float32Array,
    derivative: Float32Array,
    snap?: number,
  ): void;
  /**
   * numerics' reluDualShifted: the dual of ρ + shift, q_a + shift, q_b + shift (shift > 0; the
   * operands as reluDual's, given less it) less its value at θ = 0, value − shift/2 and derivative −
   * 1/2, in float64 before the one rounding (native/relu-dual.c). Absent from addons built before it.
   */
  reluDualShifted?(
    m: number,
    n: number,
    rho: Float32Array,
    qa: Float32Array,
    qb: Float32Array,
    value: Float32Array,
    derivative: Float32Array,
    snap: number,
    shift: number,
  ): void;
  /**
   * numerics' correlation (correlation.ts) on Float32Arrays: t = c/√(q_a q_b) in float64 (the product
   * floored at 1e-300), clamped to [−1, 1], rounded once; shapes as reluDual's (native/relu-dual.c).
   */
  correlation?(
    m: number,
    n: number,
    c: Float32Array,
    qa: Float32Array,
    qb: Float32Array,
    t: Float32Array,
  ): void;
  /**
   * numerics' Mehler series (mehler-series.ts) on Float32Arrays: out = t^offset Σ_k a_ik b_kj u^k with
   * u = t^step, a m×K, b K×n, t and out m×n; Horner in float64, rounded once (native/mehler-series.c).
   */
  mehlerSeries?(
    m: number,
    n: number,
    count: number,
    step: 1 | 2,
    offset: 0 | 1,
    a: Float32Array,
    b: Float32Array,
    t: Float32Array,
    out: Float32Array,
  ): void;
  /**
   * numerics' diagonal-block kernel (block-cholesky.ts) on Float32Arrays: with A the b×b block at p +
   * pOffset (row stride ldp, lower triangle read) and LLᵀ = A + shift·I in float64, writes (b+1)×b
   * floats at out + outOffset: L⁻¹ (upper triangle zero), then [status, 0, …]; returns the status, 0
   * or j + 1 where pivot j was not positive (native/lapack-lite.c, both builds).
   */
  blockCholeskyInverse?(
    b: number,
    p: Float32Array,
    pOffset: number,
    ldp: number,
    shift: number,
    out: Float32Array,
    outOffset: number,
  ): number;
  /**
   * madvise(MADV_HUGEPAGE) from the buffer's first page over at most maxBytes, never past the run of
   * adjacent anonymous mappings that holds it (a WebAssembly memory's reservation); returns the bytes
   * advised or a negative errno (native/huge-pages.c; huge-pages.ts).
   */
  adviseHugePages?(buffer: ArrayBuffer, maxBytes: number): number;
  /** Whether products and LAPACK run on the system OpenBLAS (else on regimes' own SGEMM). */
  readonly openblas: boolean;
  threads(): number;
  config(): string;
}

export const INSTALL_BLAS =
  'install a C compiler (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install), and for LAPACK OpenBLAS (apt-get install libopenblas-dev; Fedora: dnf install openblas-devel; macOS: brew install openblas), then build it: npm run build:native';

/** The OpenBLAS core that retuneCore replaced in this process (null: none; undefined: not loaded yet). */
let replacedCore: string | null | undefined;

/** The addon `npm ci` / `npm run build:native` builds on this machine. */
export const BUILT_ADDON = '../native/build/Release/regimes_blas.node';
/**
 * The addon committed for a platform under prebuilt/ (scripts/build-prebuilt.mjs: linux-x64 and
 * linux-arm64; the build without OpenBLAS, glibc symbols of the architecture's baseline), for a
 * machine where no addon was built: no C compiler at install. Undefined where none is committed.
 */
export function prebuiltAddon(
  platform: string = process.platform,
  arch: string = process.arch,
): string | undefined {
  const path = `../prebuilt/${platform}-${arch}/regimes_blas.node`;
  return existsSync(new URL(path, import.meta.url)) ? path : undefined;
}

/** Where an addon came from: built on this machine, committed prebuilt for this platform, or REGIMES_NATIVE_ADDON's path. */
export type AddonSource = 'built' | 'prebuilt' | 'REGIMES_NATIVE_ADDON';

export interface LoadedBlas {
  blas?: Blas;
  /** Why no addon loaded (with what to do), when `blas` is absent. */
  reason?: string;
  replacedCore?: string;
  source?: AddonSource;
  /** Why the prebuilt addon serves instead of a built one (none built, or it did not load). */
  fallback?: string;
}

/**
 * The addons to try, in order: REGIMES_NATIVE_ADDON's (a path, or `prebuilt` for the committed one)
 * alone where set; else the one built here, then on linux-x64 and linux-arm64 the prebuilt one
 * unless REGIMES_NO_PREBUILT is set (a machine with no addon at all: tests, the bench's wasm column).
 */
export function addonCandidates(
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
  arch: string = process.arch,
  built: string = BUILT_ADDON,
): { path: string; source: AddonSource }[] {
  const prebuilt = prebuiltAddon(platform, arch);
  const named = env.REGIMES_NATIVE_ADDON;
  if (named === 'prebuilt') return prebuilt ? [{ path: prebuilt, source: 'prebuilt' }] : [];
  if (named) return [{ path: named, source: 'REGIMES_NATIVE_ADDON' }];
  const noPrebuilt = ['1', 'true', 'yes'].includes((env.REGIMES_NO_PREBUILT ?? '').toLowerCase());
  return [
    { path: built, source: 'built' as const },
    ...(prebuilt && !noPrebuilt ? [{ path: prebuilt, source: 'prebuilt' as const }] : []),
  ];
}

/** Why an addon did not load, in words (the built one's absence says what usually causes it). */
function loadError(path: string, source: AddonSource, error: unknown): string {
  const shown = path.startsWith('../') ? path.slice(3) : path;
  if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND')
    return `${shown} did not load (${(error as Error).message.split('\n')[0]})`;
  return source === 'built'
    ? `${shown} is absent: no addon was built at install, for want of a C compiler or after a failed build; npm run build:native in a checkout, npm rebuild @regimes/backend-node in a project, says which`
    : `${shown} is absent`;
}

/**
 * The first addon of `addonCandidates()` that loads: the one built at install (native/build/Release),
 * else on linux-x64 and linux-arm64 the committed prebuilt one, or REGIMES_NATIVE_ADDON's where set (e.g. one built
 * with REGIMES_NO_OPENBLAS=1, to measure a machine without OpenBLAS on one with it). `built` replaces
 * the built addon's path (tests: a machine where none was built).
 */
export function loadBlas(built: string = BUILT_ADDON): LoadedBlas {
  // OpenBLAS reads this when it loads: an idle thread busy-waits 2^n cycles for the next product
  // before it sleeps. Its default n = 28 (~0.1 s) kept the second core busy through a sweep of small
  // cells on one process (15.6 CPU s for 8.3 s of wall time); n = 20 (~0.3 ms) gave 11–12 CPU s and
  // the same wall time, and GEMM, Cholesky and the training step as fast (npm run bench, 2026-12-02).
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '20';
  const failures: string[] = [];
  if (process.env.REGIMES_NATIVE_ADDON === 'prebuilt' && !prebuiltAddon())
    failures.push(
      `REGIMES_NATIVE_ADDON=prebuilt, but no addon is prebuilt for ${process.platform}-${process.arch}`,
    );
  for (const { path, source } of addonCandidates(process.env, process.platform, process.arch, built)) {
    let blas: Blas;
    try {
      blas = createRequire(import.meta.url)(path) as Blas;
    } catch (error) {
      failures.push(loadError(path, source, error));
      continue;
    }
    // once per process (require caches the addon), before any product; a core the user named stays
    if (replacedCore === undefined) {
      replacedCore = process.env.OPENBLAS_CORETYPE === undefined ? (blas.retuneCore?.() ?? null) : null;
    }
    return {
      blas,
      replacedCore: replacedCore ?? undefined,
      source,
      ...(source === 'prebuilt' && failures.length > 0 ? { fallback: failures.join('; ') } : {}),
    };
  }
  return {
    reason:
      `no native addon loaded (${failures.join('; ')})` +
      (prebuiltAddon()
        ? `; ${INSTALL_BLAS}`
        : `; no prebuilt addon exists for ${process.platform}-${process.arch}: ${INSTALL_BLAS}`),
  };
}
