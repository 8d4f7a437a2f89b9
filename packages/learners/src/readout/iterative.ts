/**
 * Kernel ridge past memory: FALKON (Rudi, Carratino, Rosasco 2017; Meanti et al. 2020). The ridge
 * problem is restricted to m Nyström centres x̃_1..x̃_m drawn from the training points,
 *   min_α (1/n)‖y − K_nm α − b1‖² + λ αᵀK_mm α,
 * whose normal equations H α = K_nmᵀ C y, H = K_nmᵀ C K_nm + nλ K_mm (C = I − 11ᵀ/n with an
 * unpenalised intercept b = ȳ − k̄ᵀα, k̄ the column means of K_nm; C = I without), are solved by
 * conjugate gradients preconditioned with B = (1/√n) T⁻¹A⁻¹, K_mm = TᵀT, AᵀA = TTᵀ/m + λI, so that
 * BBᵀ = ((n/m)K_mm² + nλK_mm)⁻¹ ≈ H⁻¹. With m = n (every point a centre) this is exact kernel ridge
 * (K(K + nλI)α = Ky); with m ~ √n·log n it keeps kernel ridge's statistical rates (Rudi et al.).
 *
 * Why FALKON rather than exact kernel ridge by Nyström-preconditioned CG, or EigenPro: an exact
 * solve needs a product with the n×n kernel at every iteration, n² kernel entries (10¹² at n = 10⁶:
 * hours on a CPU, whatever the preconditioner), while FALKON's iteration costs n·m entries; EigenPro
 * also iterates on the full n-vector and its step size rests on an estimated top spectrum. The cost
 * is that for m < n the estimator is the Nyström one, not the exact kernel ridge (the tests bound
 * the difference at n = 2000).
 *
 * Memory: x (n·d), K_mm and the preconditioner's factors (3m² float64 on the host), one block of
 * K_nm (block·m), vectors of m·k — and the cached K_nm (n·m float32) only where it fits in
 * `cacheBytes`; otherwise every iteration recomputes the kernel block by block. The CG runs in
 * float64 on the host over m×k vectors; only the kernel blocks and their products live on the
 * backend (float32), each product accumulated over blocks in float64.
 */
import { RegimesError } from '@regimes/core';
import {
  type EigenSolverKind,
  hostSymmetricEigen,
  hostValues,
  NumericalError,
  symmetricEigenSolver,
  symmetricEigenTensor,
} from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type { KernelFunction } from '../kernels.js';
import { FALKON_ZERO } from './options.js';
import { KERNEL_SCALE_HINT } from './systems.js';

export interface FalkonOptions {
  readonly intercept: boolean;
  /** Stop when the preconditioned residual ‖Bᵀ(z − Hα)‖ ≤ tolerance·‖Bᵀz‖. */
  readonly tolerance: number;
  readonly maxIterations: number;
  /** Rows of K_nm per block (default: ~2²² entries per block). */
  readonly block?: number;
  /** K_nm is kept (float32) when n·m·4 bytes fit in this (default 1 GiB). */
  readonly cacheBytes?: number;
  /**
   * How many λ the problem will be solved for (default 1): without a backend eigen kernel, K_mm is
   * decomposed on the host only when that costs less than a Cholesky preconditioner per λ.
   */
  readonly solves?: number;
}

/** A solved Nyström ridge: predictions K(x, centres)·coefficients [+ intercept]. */
export interface FalkonFit {
  readonly lambda: number;
  readonly coefficients: tf.Tensor2D;
  readonly intercept?: tf.Tensor2D;
  readonly diagnostics: Record<string, number>;
}

/**
 * The host's float64 eigen-decomposition of K_mm (backends without the eigen kernel) in Cholesky
 * preconditioners, one per λ. Measured on one core of this VM, against 0.10 / 0.60 / 5.7 s for a
 * solve's preconditioner (and one CG iteration) at m = 512 / 1024 / 2048: in JavaScript 0.41 / 2.75 /
 * 22.9 s (ratios 4.1 / 4.6 / 4.0). Compiled (the native addon without OpenBLAS, eigen-lite.c), against
 * the preconditioner alone (two float64 Cholesky factors and LᵀL, 0.10 / 0.80 / 6.5 s), 2026-12-05:
 * by divide and conquer 0.049 / 0.24 / 1.27 s (0.48 / 0.30 / 0.20);
 * by Householder + QL before, 0.11 / 0.94 / 10.3 s (1.05 / 1.15 / 1.6). Its WebAssembly build (one
 * thread; `wasm`, `cpu`, `webgpu`), against the same preconditioner on `wasm` (0.13 / 1.0 / 8.0 s):
 * 0.099 / 0.54 / 3.9 s (0.74 / 0.53 / 0.48).
 */
export const SPECTRUM_COST = { host: 4.6, webassembly: 0.75, compiled: 0.5 } as const;

/**
 * Whether FALKON decomposes K_mm for a problem of `solves` values of λ with this eigen solver: always
 * with the backend's kernel (LAPACK) or the host's compiled solver or its WebAssembly build (each
 * costs less than one Cholesky preconditioner), in JavaScript from ⌈SPECTRUM_COST.host⌉ = 5 λ,
 * never without one.
 */
export function spectrumPays(solver: EigenSolverKind | undefined, solves: number): boolean {
  if (solver === 'kernel') return true;
  return solver !== undefined && solves >= Math.ceil(SPECTRUM_COST[solver]);
}

/** Rows of K_nm per block: about 2²² entries, at least 64 rows. */
export const falkonBlock = (m: number) => Math.max(64, Math.floor(4194304 / Math.max(m, 1)));

/** Lower Cholesky factor (row-major m×m, float64) of a symmetric matrix; undefined if not positive definite. */
function cholesky(a: Float64Array, m: number): Float64Array | undefined {
  const l = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j]!;
    const rj = j * m;
    for (let k = 0; k < j; k++) d -= l[rj + k]! * l[rj + k]!;
    if (!(d > 0)) return undefined;
    const djj = Math.sqrt(d);
    l[rj + j] = djj;
    for (let i = j + 1; i < m; i++) {
      const ri = i * m;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= l[ri + k]! * l[rj + k]!;
      l[ri + j] = s / djj;
    }
  }
  return l;
}

/** Solves L z = v (forward) for each of k columns of v (m×k row-major), in place. */
function forward(l: Float64Array, m: number, v: Float64Array, k: number): Float64Array {
  for (let i = 0; i < m; i++)
    for (let c = 0; c < k; c++) {
      let s = v[i * k + c]!;
      for (let j = 0; j < i; j++) s -= l[i * m + j]! * v[j * k + c]!;
      v[i * k + c] = s / l[i * m + i]!;
    }
  return v;
}

/** Solves Lᵀ z = v (backward) for each of k columns, in place. */
function backward(l: Float64Array, m: number, v: Float64Array, k: number): Float64Array {
  for (let i = m - 1; i >= 0; i--)
    for (let c = 0; c < k; c++) {
      let s = v[i * k + c]!;
      for (let j = i + 1; j < m; j++) s -= l[j * m + i]! * v[j * k + c]!;
      v[i * k + c] = s / l[i * m + i]!;
    }
  return v;
}

/** Per-column dot products of two m×k row-major arrays. */
function dots(a: Float64Array, b: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let i = 0; i < a.length; i++) out[i % k] = out[i % k]! + a[i]! * b[i]!;
  return out;
}

/**
 * The n×m problem: training rows, centres, and the products with K_nm block by block (or from the
 * cache). The caller calls `dispose`.
 */
export class NystromProblem {
  private constructor(
    readonly n: number,
    readonly m: number,
    readonly k: number,
    private readonly x: tf.Tensor2D,
    private readonly kernel: KernelFunction,
    readonly centres: tf.Tensor2D,
    /** K_mm (float64, row-major). */
    readonly kmm: Float64Array,
    /** k̄ᵀ (1×m), the column means of K_nm, with an intercept. */
    readonly columnMeans: tf.Tensor2D | undefined,
    /** ȳ (1×k), with an intercept. */
    readonly yMean: tf.Tensor2D | undefined,
    /** Kᵀ_nm C y (m×k). */
    readonly rhs: Float64Array,
    readonly block: number,
    private cache: tf.Tensor2D[] | undefined,
  ) {}

  /**
   * The problem of rows x (n×d), labels y (n×k) and centres (m×d, owned by the problem). The kernel
   * is only ever called on a block of rows against the centres, and on the centres against themselves.
   */
  static async create(
    x: tf.Tensor2D,
    y: tf.Tensor2D,
    kernel: KernelFunction,
    centres: tf.Tensor2D,
    o: FalkonOptions,
  ): Promise<NystromProblem> {
    const [n] = x.shape;
    const m = centres.shape[0];
    const k = y.shape[1];
    const block = o.block ?? falkonBlock(m);
    const raw = (s: number, size: number) =>
      tf.tidy(() => kernel(tf.slice(x, [s, 0], [size, -1]), centres) as tf.Tensor2D);
    let columnMeans: tf.Tensor2D | undefined;
    let yMean: tf.Tensor2D | undefined;
    let kmm: Float64Array;
    // the centres are the problem's (freed with it), and freed here if it is never made
    try {
      kmm = Float64Array.from(await hostValues(tf.tidy(() => kernel(centres, centres))));
      // a centre's K(c, c) past float32 (K_nm's entries may still be finite: they are not checked)
      for (let i = 0; i < m; i++)
        if (!Number.isFinite(kmm[i * m + i]!))
          throw new NumericalError(
            `the kernel is not finite in float32 on the centres' diagonal: K(c, c) = ${kmm[i * m + i]} at centre ${i} (of 0..${m - 1})`,
            { hint: KERNEL_SCALE_HINT },
          );
      if (o.intercept) {
        const sums = new Float64Array(m);
        for (let s = 0; s < n; s += block) {
          const size = Math.min(block, n - s);
          const v = await hostValues(tf.tidy(() => tf.sum(raw(s, size), 0)));
          for (let j = 0; j < m; j++) sums[j] = sums[j]! + v[j]!;
        }
        columnMeans = tf.tensor2d(
          Float32Array.from(sums, (v) => v / n),
          [1, m],
        );
        yMean = tf.mean(y, 0, true) as tf.Tensor2D;
      }
    } catch (error) {
      tf.dispose([centres, ...(columnMeans ? [columnMeans] : [])]);
      throw error;
    }
    const cache: tf.Tensor2D[] | undefined = n * m * 4 <= (o.cacheBytes ?? 2 ** 30) ? [] : undefined;
    const problem = new NystromProblem(
      n,
      m,
      k,
      x,
      kernel,
      centres,
      kmm,
      columnMeans,
      yMean,
      new Float64Array(m * k),
      block,
      undefined,
    );
    try {
      // one pass: the cache (when kept) and the right-hand side Kᵀ_nm C y
      const yc = yMean ? (tf.sub(y, yMean) as tf.Tensor2D) : y;
      try {
        for (let s = 0; s < n; s += block) {
          const size = Math.min(block, n - s);
          const kb = problem.centred(s, size);
          let t: tf.Tensor;
          try {
            t = tf.tidy(() => tf.matMul(kb, tf.slice(yc, [s, 0], [size, -1]), true, false));
          } finally {
            if (cache) cache.push(kb);
            else kb.dispose();
          }
          const v = await hostValues(t);
          for (let i = 0; i < m * k; i++) problem.rhs[i] = problem.rhs[i]! + v[i]!;
        }
      } finally {
        if (yc !== y) yc.dispose();
      }
      problem.cache = cache;
      return problem;
    } catch (error) {
      tf.dispose(cache ?? []);
      problem.dispose();
      throw error;
    }
  }

  private eigen: Promise<{ q: Float64Array; mu: Float64Array } | undefined> | undefined;

  /**
   * K_mm's eigen-decomposition (once, for every λ): the backend's kernel where it has one, else the
   * host's when `solves` λ make it pay; undefined otherwise. The first call decides.
   */
  spectrum(solves = 1) {
    return (this.eigen ??= kmmSpectrum(this.kmm, this.m, solves));
  }

  /**
   * Takes the decomposition of another problem on the same centres (the gcv hold-out's, for the
   * refit on all points: the same K_mm), so that it is neither computed again nor, for a single λ
   * on the host, replaced by a Cholesky preconditioner. Before the first `spectrum` call only.
   */
  adoptSpectrum(spectrum: { q: Float64Array; mu: Float64Array }): void {
    if (this.eigen) throw new Error('adoptSpectrum: this problem has already chosen its preconditioner');
    if (spectrum.mu.length !== this.m) throw new RangeError('adoptSpectrum: a spectrum of other centres');
    this.eigen = Promise.resolve(spectrum);
  }

  /** Whether K_nm is held (float32) rather than recomputed at every product. */
  get cached(): boolean {
    return this.cache !== undefined;
  }

  /** C K_nm on rows s..s+size (K_nm − 1k̄ᵀ with an intercept), a new tensor. */
  private centred(s: number, size: number): tf.Tensor2D {
    return tf.tidy(() => {
      const kb = this.kernel(tf.slice(this.x, [s, 0], [size, -1]), this.centres);
      return (this.columnMeans ? tf.sub(kb, this.columnMeans) : kb) as tf.Tensor2D;
    });
  }

  /**
   * Kᵀ_nm C K_nm v (m×k, float64), accumulated over blocks; with `rows`, also C K_nm v (n×k) — the
   * centred train predictions less ȳ.
   */
  async normal(
    v: Float64Array,
    rows = false,
  ): Promise<{ product: Float64Array; predictions?: Float64Array }> {
    const { m, k, n } = this;
    const product = new Float64Array(m * k);
    const predictions = rows ? new Float64Array(n * k) : undefined;
    const vt = tf.tensor2d(Float32Array.from(v), [m, k]);
    try {
      let index = 0;
      for (let s = 0; s < n; s += this.block, index++) {
        const size = Math.min(this.block, n - s);
        const kb = this.cache ? this.cache[index]! : this.centred(s, size);
        let u: tf.Tensor, w: tf.Tensor;
        try {
          [u, w] = tf.tidy(() => {
            const u = tf.matMul(kb, vt);
            return [u, tf.matMul(kb, u, true, false)];
          });
        } finally {
          if (!this.cache) kb.dispose(); // a block computed for this product only
        }
        try {
          const wv = await w.data();
          if (predictions) predictions.set(await u.data(), s * k);
          for (let i = 0; i < m * k; i++) product[i] = product[i]! + wv[i]!;
        } finally {
          tf.dispose([u, w]);
        }
      }
    } finally {
      vt.dispose();
    }
    return predictions ? { product, predictions } : { product };
  }

  /** H v = Kᵀ_nm C K_nm v + nλ K_mm v. */
  async apply(v: Float64Array, lambda: number, rows = false) {
    const { m, k } = this;
    const out = await this.normal(v, rows);
    const shift = this.n * lambda;
    for (let i = 0; i < m; i++)
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += this.kmm[i * m + j]! * v[j * k + c]!;
        out.product[i * k + c] = out.product[i * k + c]! + shift * s;
      }
    return out;
  }

  dispose(): void {
    tf.dispose([this.centres, ...(this.cache ?? []), ...(this.columnMeans ? [this.columnMeans] : [])]);
    if (this.yMean) this.yMean.dispose();
    this.cache = undefined;
  }
}

/**
 * FALKON's preconditioner for one λ: K_mm + εI = LLᵀ (T = Lᵀ), LᵀL/m + λI = GGᵀ (A = Gᵀ), with the
 * jitter ε (1e-7·mean diag K_mm, raised tenfold until float64 Cholesky succeeds) only in the
 * preconditioner, never in H.
 */
function preconditioner(kmm: Float64Array, m: number, lambda: number) {
  const meanDiagonal = Array.from({ length: m }, (_, i) => kmm[i * m + i]!).reduce((a, b) => a + b, 0) / m;
  let l: Float64Array | undefined;
  let jitter = 1e-7 * Math.max(meanDiagonal, Number.MIN_VALUE);
  for (let attempt = 0; attempt < 8 && !l; attempt++, jitter *= 10) {
    const a = Float64Array.from(kmm);
    for (let i = 0; i < m; i++) a[i * m + i] = a[i * m + i]! + jitter;
    l = cholesky(a, m);
  }
  if (!l)
    throw new RegimesError('the kernel matrix of the Nyström centres is not positive definite', {
      hint: 'check the kernel (a valid kernel is positive semi-definite), or use ridgeSolver: cholesky',
    });
  // LᵀL/m + λI
  const u = new Float64Array(m * m); // Lᵀ, row-major, so that the sums below run along rows
  for (let r = 0; r < m; r++) for (let i = 0; i <= r; i++) u[i * m + r] = l[r * m + i]!;
  const g = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const ri = i * m;
      const rj = j * m;
      for (let r = i; r < m; r++) s += u[ri + r]! * u[rj + r]!;
      g[i * m + j] = g[j * m + i] = s / m + (i === j ? lambda : 0);
    }
  const gl = cholesky(g, m);
  if (!gl)
    throw new RegimesError(`FALKON's preconditioner failed at λ = ${lambda}`, { hint: 'use a larger λ' });
  return { l, g: gl };
}

/** B and Bᵀ as functions on m×k row-major host arrays. */
interface Preconditioner {
  apply(v: Float64Array): Float64Array;
  applyTransposed(w: Float64Array): Float64Array;
}

/**
 * The preconditioner of the centred problem (with an intercept): H = K_nmᵀ C K_nm + nλK_mm, where
 * FALKON's B knows only K_nmᵀK_nm ≈ (n/m)K_mm². The centring takes n·k̄ᵀk̄ from it (k̄: the column
 * means of K_nm), a rank-one downdate u uᵀ with u = √n k̄ᵀ, exact at m = n. By Sherman–Morrison its
 * inverse is B(I + s vvᵀ)Bᵀ with v = Bᵀu, s = 1/(1 − |v|²), so B' = B(I + c vvᵀ) with
 * c = (√(1 + s|v|²) − 1)/|v|². Without it the preconditioned system has that direction's
 * eigenvalue near nλ/μ: below λ ≈ 1e-5 CG's residual looked converged after a step, and the fit
 * lost its intercept (rbf, n = 64: risk 0.312 against the direct solve's 0.262). Where the
 * approximation makes the downdate indefinite (|v|² ≥ 1, m < n), B as it is.
 */
function centredPreconditioner(
  pre: Preconditioner,
  columnMeans: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): Preconditioner {
  const u = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) u[i * k + c] = Math.sqrt(n) * columnMeans[i]!;
  const vk = pre.applyTransposed(u);
  const v = Float64Array.from({ length: m }, (_, i) => vk[i * k]!);
  const vv = v.reduce((a, x) => a + x * x, 0);
  if (!(vv > 0 && vv < 1 - 1e-9)) return pre;
  const s = 1 / (1 - vv);
  const c = (Math.sqrt(1 + s * vv) - 1) / vv;
  // (I + c vvᵀ) x, for each output's column of x (m × k)
  const mix = (x: Float64Array) => {
    const out = Float64Array.from(x);
    for (let col = 0; col < k; col++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += v[i]! * x[i * k + col]!;
      for (let i = 0; i < m; i++) out[i * k + col] = out[i * k + col]! + c * v[i]! * dot;
    }
    return out;
  };
  return { apply: (x) => pre.apply(mix(x)), applyTransposed: (y) => mix(pre.applyTransposed(y)) };
}

/** FALKON's B = (1/√n)T⁻¹A⁻¹ by two host Cholesky factorizations (m³/3 float64 per λ). */
function choleskyPreconditioner(
  kmm: Float64Array,
  m: number,
  k: number,
  n: number,
  lambda: number,
): Preconditioner {
  const { l, g } = preconditioner(kmm, m, lambda);
  const scale = 1 / Math.sqrt(n);
  // B v = (1/√n) L⁻ᵀ G⁻ᵀ v; Bᵀ w = (1/√n) G⁻¹ L⁻¹ w
  return {
    apply: (v) =>
      backward(
        l,
        m,
        backward(
          g,
          m,
          Float64Array.from(v, (x) => x * scale),
          k,
        ),
        k,
      ),
    applyTransposed: (w) =>
      forward(
        g,
        m,
        forward(
          l,
          m,
          Float64Array.from(w, (x) => x * scale),
          k,
        ),
        k,
      ),
  };
}

/**
 * The same BBᵀ = ((n/m)K_mm² + nλK_mm)⁻¹ from one eigen-decomposition K_mm = Q diag(μ) Qᵀ for every
 * λ: B = Q diag(1/√(n(μ²/m + λμ))), with μ floored at 1e-6·μ_max (float32 dsyevd resolves no less).
 * Any B with that BBᵀ gives the same CG iterates up to rotation (BᵀHB changes by an orthogonal
 * similarity); this one costs one decomposition (LAPACK's, or the host's) instead of two float64
 * Cholesky factorizations in JavaScript per λ (measured ~40 s at m = 2000 on 2 loaded cores against
 * ~1 s for LAPACK's).
 */
function spectralPreconditioner(
  spectrum: { q: Float64Array; mu: Float64Array },
  m: number,
  k: number,
  n: number,
  lambda: number,
): Preconditioner {
  const { q, mu } = spectrum;
  const top = Math.max(...mu);
  const w = Float64Array.from(mu, (u) => {
    const v = Math.max(u, 1e-6 * top);
    return 1 / Math.sqrt(n * ((v * v) / m + lambda * v));
  });
  return {
    apply: (v) => {
      const out = new Float64Array(m * k);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          const qij = q[i * m + j]! * w[j]!;
          for (let c = 0; c < k; c++) out[i * k + c] = out[i * k + c]! + qij * v[j * k + c]!;
        }
      return out;
    },
    applyTransposed: (u) => {
      const out = new Float64Array(m * k);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          const qij = q[i * m + j]!;
          for (let c = 0; c < k; c++) out[j * k + c] = out[j * k + c]! + qij * u[i * k + c]!;
        }
      for (let j = 0; j < m; j++) for (let c = 0; c < k; c++) out[j * k + c] = out[j * k + c]! * w[j]!;
      return out;
    },
  };
}

/**
 * K_mm = Q diag(μ) Qᵀ: by the backend's eigen kernel where it has one (float32 in), else by the host's
 * float64 solver (compiled, WebAssembly or JavaScript) up to `hostEigenLimit()` when `solves` λ make it pay
 * (`spectrumPays`); otherwise undefined.
 */
async function kmmSpectrum(
  kmm: Float64Array,
  m: number,
  solves: number,
): Promise<{ q: Float64Array; mu: Float64Array } | undefined> {
  const solver = symmetricEigenSolver(m);
  if (!spectrumPays(solver, solves)) return undefined;
  if (solver !== 'kernel') {
    const { values, vectors } = hostSymmetricEigen(kmm, m);
    return { q: vectors, mu: values };
  }
  const t = tf.tensor2d(Float32Array.from(kmm), [m, m]);
  try {
    const e = await symmetricEigenTensor(t);
    try {
      const mu = Float64Array.from(await e.values.data());
      const q = Float64Array.from(await e.vectors.data());
      return { q, mu };
    } finally {
      tf.dispose([e.values, e.vectors]);
    }
  } finally {
    t.dispose();
  }
}

/**
 * Solves H α = Kᵀ_nm C y for one λ by preconditioned CG in β (α = Bβ). The fit's diagnostics: `cg` 1,
 * `centres` m, `cg-iterations`, `solve-residual` ‖Kᵀ_nm C y − Hα‖/‖Kᵀ_nm C y‖ (recomputed after
 * the last iteration), `train-risk`.
 */
export async function falkonSolve(
  problem: NystromProblem,
  lambda: number,
  labels: tf.Tensor2D,
  o: FalkonOptions,
  signal?: AbortSignal,
): Promise<FalkonFit> {
  const { m, k, n } = problem;
  if (!(lambda > 0))
    throw new RegimesError(`${FALKON_ZERO.message} (got ${lambda})`, { hint: FALKON_ZERO.hint });
  const spectrum = await problem.spectrum(o.solves ?? 1);
  const plain = spectrum
    ? spectralPreconditioner(spectrum, m, k, n, lambda)
    : choleskyPreconditioner(problem.kmm, m, k, n, lambda);
  const pre = problem.columnMeans
    ? centredPreconditioner(plain, await problem.columnMeans.data(), m, k, n)
    : plain;
  const applyB = (v: Float64Array) => pre.apply(v);
  const applyBt = (w: Float64Array) => pre.applyTransposed(w);
  const operator = async (p: Float64Array) => applyBt((await problem.apply(applyB(p), lambda)).product);

  const b = applyBt(problem.rhs);
  const bNorm = dots(b, b, k).map(Math.sqrt);
  const beta = new Float64Array(m * k);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  let rr = dots(r, r, k);
  let iterations = 0;
  const done = () => rr.every((v, c) => Math.sqrt(v) <= o.tolerance * Math.max(bNorm[c]!, Number.MIN_VALUE));
  while (!done() && iterations < o.maxIterations) {
    signal?.throwIfAborted();
    const q = await operator(p);
    const pq = dots(p, q, k);
    const step = rr.map((v, c) => (pq[c]! > 0 ? v / pq[c]! : 0));
    for (let i = 0; i < m * k; i++) {
      beta[i] = beta[i]! + step[i % k]! * p[i]!;
      r[i] = r[i]! - step[i % k]! * q[i]!;
    }
    const next = dots(r, r, k);
    const ratio = next.map((v, c) => (rr[c]! > 0 ? v / rr[c]! : 0));
    for (let i = 0; i < m * k; i++) p[i] = r[i]! + ratio[i % k]! * p[i]!;
    rr = next;
    iterations++;
  }
  const alpha = applyB(beta);
  // the true residual of the normal equations and the train predictions, in one more pass
  const { product, predictions } = await problem.apply(alpha, lambda, true);
  let num = 0;
  let den = 0;
  for (let i = 0; i < m * k; i++) {
    num += (problem.rhs[i]! - product[i]!) ** 2;
    den += problem.rhs[i]! ** 2;
  }
  const yMean = problem.yMean ? await problem.yMean.data() : undefined;
  const y = await labels.data();
  let risk = 0;
  for (let i = 0; i < n * k; i++) risk += (y[i]! - predictions![i]! - (yMean ? yMean[i % k]! : 0)) ** 2;
  const coefficients = tf.tensor2d(Float32Array.from(alpha), [m, k]);
  let intercept: tf.Tensor2D | undefined;
  try {
    intercept =
      problem.yMean && problem.columnMeans
        ? tf.tidy(() => tf.sub(problem.yMean!, tf.matMul(problem.columnMeans!, coefficients)) as tf.Tensor2D)
        : undefined;
  } catch (error) {
    coefficients.dispose();
    throw error;
  }
  return {
    lambda,
    coefficients,
    ...(intercept ? { intercept } : {}),
    diagnostics: {
      cg: 1,
      eigen: 0,
      'cg-spectral': spectrum ? 1 : 0,
      centres: m,
      'cg-iterations': iterations,
      'cg-cached': problem.cached ? 1 : 0,
      'solve-residual': Math.sqrt(num / Math.max(den, Number.MIN_VALUE)),
      'train-risk': risk / (n * k),
    },
  };
}

/**
 * Σ_j α_j (K(x, c_j) − offset) [+ b] over blocks of query rows and of centres (or training points),
 * one |rows|×block kernel block alive at a time (each freed before the next): a prediction against
 * n = 40 000 points costs megabytes of the heap. `offset`: a dual fit's (RidgeFit.offset).
 */
export function blockedPredict(
  kernel: KernelFunction,
  centres: tf.Tensor2D,
  alpha: tf.Tensor2D,
  x: tf.Tensor2D,
  intercept?: tf.Tensor2D,
  rows = 4096,
  block = 2048,
  offset = 0,
): tf.Tensor2D {
  const n = centres.shape[0];
  const nq = x.shape[0];
  const k = alpha.shape[1];
  if (nq === 0) return tf.zeros([0, k]);
  const parts: tf.Tensor2D[] = [];
  try {
    for (let q = 0; q < nq; q += rows) {
      const size = Math.min(rows, nq - q);
      const xq = tf.slice(x, [q, 0], [size, -1]);
      let out: tf.Tensor2D | undefined;
      try {
        out = intercept ? tf.tile(intercept, [size, 1]) : tf.zeros([size, k]);
        for (let s = 0; s < n; s += block) {
          const b = Math.min(block, n - s);
          const sum = out;
          const next = tf.tidy(() =>
            tf.add(
              sum,
              tf.matMul(
                offset
                  ? tf.sub(kernel(xq, tf.slice(centres, [s, 0], [b, -1])), offset)
                  : kernel(xq, tf.slice(centres, [s, 0], [b, -1])),
                tf.slice(alpha, [s, 0], [b, -1]),
              ),
            ),
          ) as tf.Tensor2D;
          out.dispose();
          out = next;
        }
      } catch (error) {
        out?.dispose();
        throw error;
      } finally {
        xq.dispose();
      }
      parts.push(out);
    }
  } catch (error) {
    tf.dispose(parts);
    throw error;
  }
  if (parts.length === 1) return parts[0]!;
  try {
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}
