/**
 * Ridge systems in the dual (a kernel on the samples) and in the primal (explicit features), with or
 * without an unpenalised intercept b:
 *   min_{w,b} (1/n)‖y − Φw − b1‖² + λ‖w‖².
 * For fixed w the optimal b is ȳ − φ̄ᵀw (φ̄ the mean feature row), and substituting it leaves ridge
 * on the centred data, min (1/n)‖y_c − Φ_c w‖² + λ‖w‖², Φ_c = CΦ, y_c = Cy, C = I − 11ᵀ/n.
 * - Primal: (Φ_cᵀΦ_c + nλI)w = Φ_cᵀy_c, b = ȳ − φ̄ᵀw, train predictions Φ_c w + ȳ.
 * - Dual: w = Φ_cᵀα with (K_c + nλI)α = y_c, K_c = Φ_cΦ_cᵀ = CKC. Then
 *   f(x) = φ(x)ᵀw + b = (φ(x) − φ̄)ᵀΦᵀCα + ȳ = (k(x) − k̄)ᵀβ + ȳ, with β = Cα and k̄ = K1/n
 *   (the row means of K; φ̄ᵀΦᵀ = k̄ᵀ), i.e. the test kernel row centred the same way as K_c:
 *   k_c(x) = C(k(x) − k̄), f(x) = k_c(x)ᵀα + ȳ. So predictions are k(x)ᵀβ + b with b = ȳ − k̄ᵀβ, and
 *   every dual consumer (Σ β_i k(x, x_i), the features Φᵀβ) works on β. Exactly, 1ᵀα = 0 (1ᵀK_c = 0
 *   and 1ᵀy_c = 0 give nλ·1ᵀα = 0), so β = α up to round-off. For float32 the readout gives b in the
 *   offset form of a constant c near K's entries (RidgeFit.offset): predictions (k(x) − c)ᵀβ + b,
 *   b = ȳ − (k̄ − c)ᵀβ; `withoutOffset` turns it back into the plain b for consumers of Φᵀβ.
 *   K_c = K − 1k̄ᵀ − k̄1ᵀ + k̿11ᵀ (k̿ the mean of k̄) is served panel by panel from K's panels
 *   and k̄ (one more pass over the kernel, to get k̄). Train predictions K_cα + ȳ = y − nλα, as
 *   without intercept.
 * Diagnostics: the fit is the smoother H = 11ᵀ/n + H_c with H_c = M_c A⁻¹ (dual) or
 * Φ_c A⁻¹Φ_cᵀ (primal), so df = 1 + tr(M_c A⁻¹) and the leverages are 1/n + (H_c)_ii (ridge.ts);
 * the leave-one-out identity e_i/(1 − H_ii) holds for any penalised least squares whose penalty
 * leaves b free, so LOO and GCV keep their closed forms.
 */
import tf from '@regimes/numerics/tfjs';
import type { KernelFunction } from '../kernels.js';
import {
  type ColumnPanels,
  hostScalar,
  hostValues,
  NumericalError,
  symmetricProduct,
} from '@regimes/numerics';

export interface RidgeSystem {
  /** Size of the system: n (dual) or the number of features (primal). */
  readonly m: number;
  /** Number of training samples. */
  readonly n: number;
  readonly panels: ColumnPanels;
  /** M whole (m×m, symmetric) where the system holds it anyway (the primal Gram matrix). */
  readonly matrix?: tf.Tensor2D;
  /** Right-hand side: y (dual) or Φᵀy (primal), m×k. */
  readonly rhs: tf.Tensor2D;
  readonly labels: tf.Tensor2D;
  /** Mean of diag M, the scale of jitter. */
  readonly meanDiagonal: number;
  /**
   * The mean diagonal of the matrix whose float32 entries M was formed from, where it differs from
   * M's: the dual with an intercept centres K in float32, so K_c's entries carry K's round-off
   * (eps32·|K|) however small K_c is. Absent: meanDiagonal. The scale of what float32 resolves.
   */
  readonly scaleDiagonal?: number;
  /**
   * Train predictions for coefficients c at ridge shift nλ. `kept` (a pseudo-inverse's projection on
   * the directions it solved) tells the dual that (M + nλ)c = P·rhs rather than rhs.
   */
  trainPrediction(
    coefficients: tf.Tensor2D,
    shift: number,
    kept?: (r: tf.Tensor2D) => tf.Tensor2D,
  ): tf.Tensor2D;
  /** Whether the system fits an unpenalised intercept (centred M and rhs; df + 1, leverages + 1/n). */
  readonly intercept: boolean;
  /**
   * The readout of solved coefficients c (consumed): the coefficients predictions use (β = Cα in the
   * dual with intercept, c otherwise), the intercept b (1×k), absent without one, and the dual's
   * `offset` where b is in its form (RidgeFit.offset).
   */
  readout(c: tf.Tensor2D): { coefficients: tf.Tensor2D; intercept?: tf.Tensor2D; offset?: number };
  /** Frees what the system holds (the primal Gram matrix and right-hand side, the centring). */
  release(): void;
  /**
   * Primal: Φᵀ (m×n, a new tensor), whose columns give the leverages H_ii = φ_iᵀA⁻¹φ_i. Absent in
   * the dual, where H = M A⁻¹ = I − nλA⁻¹ gives H_ii = 1 − nλ(A⁻¹)_ii.
   */
  leverageRows?(): tf.Tensor2D;
}

/**
 * Column panels of K(X, X): rows start..n of columns start..start+size, from the kernel's own
 * `panels` where it has them (what depends on one point computed once; and then the diagonal from
 * the same, where the source gives it), else by calling it on the slices. The caller calls `release`.
 */
export function kernelPanels(
  x: tf.Tensor2D,
  kernel: KernelFunction,
): { panels: ColumnPanels; diagonal?(): tf.Tensor2D; release(): void } {
  const source = kernel.panels?.(x);
  if (source)
    return {
      panels: (start, size) => source.panel(start, size),
      ...(source.diagonal ? { diagonal: () => source.diagonal!() } : {}),
      release: () => source.release(),
    };
  return {
    panels: (start, size) =>
      tf.tidy(() => kernel(tf.slice(x, [start, 0], [-1, -1]), tf.slice(x, [start, 0], [size, -1]))),
    release: () => {},
  };
}

/** The floats of an m×m matrix's lower triangle, diagonal included. */
function lowerTriangle(m: number): number {
  return (m * (m + 1)) / 2;
}

/**
 * The floats of kernel panels `panelCache` keeps on webgpu: the lower triangle of a kernel up to
 * n = 16 384 (512 MiB).
 */
export const PANEL_CACHE_FLOATS = lowerTriangle(16384);

/**
 * The floats of kernel panels `panelCache` keeps on the CPU backends (in host memory): the lower
 * triangle of a kernel up to n = 8192 (128 MiB), a quarter of the system's own 2n² floats (cost.ts
 * counts it).
 */
export const HOST_PANEL_CACHE_FLOATS = lowerTriangle(8192);

/** The floats `panelCache` keeps for an m×m system on a CPU backend: its lower triangle, or none above the limit. */
export const hostPanelCacheFloats = (m: number): number =>
  lowerTriangle(m) <= HOST_PANEL_CACHE_FLOATS ? lowerTriangle(m) : 0;

/**
 * Column panels kept as first built (each request after the first a clone: no copy, no kernel)
 * until `release`, where the lower triangle fits in `limit` floats (PANEL_CACHE_FLOATS on webgpu,
 * HOST_PANEL_CACHE_FLOATS elsewhere); else the panels as they are. A ridge fit requests every panel
 * 3 times a λ by Cholesky (its factorization and the two products of its refined solve), once more
 * with an intercept (the row means): 4 times at one λ, 31 at gcv's 10 λ. On a GPU rebuilding a ReLU
 * NTK panel is ~14 dispatches of 0.05–0.2 ms of host time each (30–120 ms a pass at n = 8192 on an
 * H200). On `native` (2 cores, 2026-12-05) kept panels took the NTK ridge fit (λ fixed, d = 16)
 * from 3.27 to 2.44 ms at n = 128, 12.0 to 8.9 ms at 512, 40 to 27.5 ms at 1024, 123 to 98 ms at
 * 2048, and (d = 64) from 0.61–0.74 to 0.54–0.62 s at 4096 and 3.37–3.90 to 2.89–3.40 s at 8191,
 * where the process's peak memory went from 468 to 594 MB.
 */
export function panelCache(
  panels: ColumnPanels,
  m: number,
  limit = tf.getBackend() === 'webgpu' ? PANEL_CACHE_FLOATS : HOST_PANEL_CACHE_FLOATS,
): { panels: ColumnPanels; kept: boolean; release(): void } {
  if (lowerTriangle(m) > limit) return { panels, kept: false, release: () => {} };
  const kept = new Map<string, tf.Tensor2D>();
  return {
    kept: true,
    panels: (start, size) => {
      const key = `${start}:${size}`;
      let panel = kept.get(key);
      if (!panel) {
        panel = tf.keep(panels(start, size));
        kept.set(key, panel);
      }
      return tf.clone(panel);
    },
    release: () => {
      tf.dispose([...kept.values()]);
      kept.clear();
    },
  };
}

/**
 * diag K(x, x) (|x|×1): the kernel's own `diagonal` where it has one (every row at once, entry by
 * entry; `block` unused), else a block of rows at a time: the diagonal of K(rows, rows) (every
 * (size+1)-th entry), each block's temporaries freed before the next. A block evaluates |x|·block
 * kernel entries for |x| diagonal ones.
 */
export function kernelDiagonal(kernel: KernelFunction, x: tf.Tensor2D, block = 256): tf.Tensor2D {
  if (kernel.diagonal) return kernel.diagonal(x);
  const parts: tf.Tensor[] = [];
  try {
    for (let s = 0; s < x.shape[0]; s += block) {
      const size = Math.min(block, x.shape[0] - s);
      parts.push(
        tf.tidy(() => {
          const rows = tf.slice(x, [s, 0], [size, -1]);
          const flat = tf.reshape(kernel(rows, rows), [-1]);
          return tf.reshape(tf.stridedSlice(flat, [0], [size * size], [size + 1]), [size, 1]);
        }),
      );
    }
    return tf.concat(parts, 0) as tf.Tensor2D;
  } finally {
    tf.dispose(parts);
  }
}

/**
 * mean of diag K(X, X), read once. Blocks of 64 on a CPU (blocks of 512 evaluated the whole kernel a
 * second time up to n = 512: 2.8% of the bench's small sweep); of 1024 on webgpu, where each of a
 * block's ~15 kernels costs 0.05–0.2 ms of host time whatever its size (blocks of 64 took 0.45 s at
 * n = 8192 on an H200, blocks of 1024 15 ms, 2026-12-04). From the panels' source where it gives the
 * diagonal (the deep kernels off the sphere: each point's coefficients already computed).
 */
async function meanKernelDiagonal(
  x: tf.Tensor2D,
  kernel: KernelFunction,
  source?: { diagonal?(): tf.Tensor2D },
): Promise<number> {
  const diagonal =
    source?.diagonal?.() ?? kernelDiagonal(kernel, x, tf.getBackend() === 'webgpu' ? 1024 : 64);
  try {
    const mean = await hostScalar(tf.mean(diagonal));
    return Number.isFinite(mean) ? mean : finiteMean(await diagonal.data());
  } finally {
    diagonal.dispose();
  }
}

/** What to lower when a kernel's values are not finite in float32. */
export const KERNEL_SCALE_HINT =
  "lower the kernel's scale: weightVariance, biasVariance, the number of layers, the inputs' norm, or σ's growth (a polynomial σ of degree k grows as q^k in the layer variance q)";

/**
 * The mean of a kernel's diagonal whose float32 mean was not finite: in float64 where every entry is
 * finite (wasm and native sum before they divide, so 12 entries of 3e38 gave ∞), else an error naming
 * the first training row where it is not. Without it the Cholesky failed at its first pivot, its
 * jitter NaN, and said to increase the ridge, which cannot help.
 */
function finiteMean(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v))
      throw new NumericalError(
        `the kernel is not finite in float32 on its diagonal: K(x, x) = ${v} at training row ${i} (of 0..${values.length - 1})`,
        { hint: KERNEL_SCALE_HINT },
      );
  }
  return float64Mean(values);
}

/**
 * A float32 constant near K's entries, for `dualSystem`'s centring to sum K − c instead of K: the
 * mean (in float64) of the first panel's first rows, K[0:r, 0:b] with r ≤ 512, b ≤ 256 (iid samples:
 * an estimate of k̿). Any constant centres to the same K_c; one near the entries makes their
 * differences small, and float32 then resolves them (a kernel near a constant: rbf of a wide
 * bandwidth, a dot-product kernel with a large c₀). 0 where the block has an entry float32 cannot hold.
 * Where the panels are kept (`panelCache`), the block is read from the first panel, which the first
 * pass then takes from the cache; where they are not, that panel (n×b entries) would be built again
 * by the pass, so the block alone is evaluated (r×b entries).
 */
async function kernelOffset(
  panels: ColumnPanels,
  kept: boolean,
  x: tf.Tensor2D,
  kernel: KernelFunction,
): Promise<number> {
  const n = x.shape[0];
  const [rows, columns] = [Math.min(n, 512), Math.min(n, 256)];
  let values: ArrayLike<number>;
  if (!kept)
    values = await hostValues(
      tf.tidy(() => kernel(tf.slice(x, [0, 0], [rows, -1]), tf.slice(x, [0, 0], [columns, -1]))),
    );
  else {
    const panel = panels(0, columns);
    try {
      values = await hostValues(tf.tidy(() => tf.slice(panel, [0, 0], [rows, -1])));
    } finally {
      panel.dispose();
    }
  }
  const mean = float64Mean(values);
  return Number.isFinite(mean) ? Math.fround(mean) : 0;
}

/** Panels of K − c (each of `panels`' freed as used). */
const shiftedPanels =
  (panels: ColumnPanels, offset: number): ColumnPanels =>
  (start, size) => {
    const panel = panels(start, size);
    try {
      return tf.tidy(() => tf.sub(panel, offset) as tf.Tensor2D);
    } finally {
      panel.dispose();
    }
  };

/** The mean of float32 values summed in float64. */
function float64Mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** The readout without intercept: the coefficients as they are. */
const plainReadout = (c: tf.Tensor2D) => ({ coefficients: c });

/**
 * (K + nλI)α = y, or with an intercept (K_c + nλI)α = y − ȳ (see the top of this file). Train
 * predictions Kα = y − nλα (K_cα + ȳ with an intercept: the same) follow from the system itself (exact
 * up to the reported residual); leverages are H_ii = 1 − nλ(A⁻¹)_ii [+ 1/n] (no leverageRows).
 * `cacheLimit`: the floats of panels kept (panelCache's default for the backend). The caller calls
 * `release`.
 */
export async function dualSystem(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  kernel: KernelFunction,
  intercept = false,
  block = 256,
  cacheLimit?: number,
): Promise<RidgeSystem> {
  const n = x.shape[0];
  const source = kernelPanels(x, kernel);
  const kept = panelCache(source.panels, n, cacheLimit);
  const cache = {
    panels: kept.panels,
    release: () => {
      kept.release();
      source.release();
    },
  };
  const raw = cache.panels;
  let meanDiagonal: number;
  try {
    meanDiagonal = await meanKernelDiagonal(x, kernel, source);
  } catch (error) {
    cache.release();
    throw error;
  }
  // Kα = rhs − nλα where (K + nλ)α = rhs; with the intercept, K_cα + ȳ = y − nλα. A pseudo-inverse
  // solves (K + nλ)α = P·rhs: the part of rhs it left out, (I − P)·rhs, is not fitted
  let centredRhs: tf.Tensor2D | undefined;
  const trainPrediction = (alpha: tf.Tensor2D, shift: number, kept?: (r: tf.Tensor2D) => tf.Tensor2D) =>
    tf.tidy(() => {
      const fitted = tf.sub(y, tf.mul(alpha, shift)) as tf.Tensor2D;
      if (!kept) return fitted;
      const rhs = centredRhs ?? y;
      return tf.sub(fitted, tf.sub(rhs, kept(rhs))) as tf.Tensor2D;
    });
  if (!intercept)
    return {
      m: n,
      n,
      panels: raw,
      rhs: y,
      labels: y,
      meanDiagonal,
      intercept,
      trainPrediction,
      readout: plainReadout,
      release: cache.release,
    };
  // k̄ = K1/n (n×1), one pass over the panels; k̿ its mean. Both as an offset c plus what K − c gives
  // (k̄ = c + r, k̿ = c + r̄; kernelOffset): summed from K's own entries, float32 left k̄ with errors
  // of eps·|K| whatever the size of K − k̄, and K_c with the rank-two error −(δ1ᵀ + 1δᵀ), whose
  // eigenvalue along 1 (exactly 0) came out at −n·|δ|: −8e-5 on rbf, bandwidth 3, d = 12, n = 768
  // (K ≈ 0.9 ± 0.04), where nλ = 7.7e-5 at λ = 1e-7, so the Cholesky needed jitter there and gcv
  // picked λ = 1e-6 on some seeds (risk 0.74 against 0.19). From K − c: −5e-7 in a float32 port.
  const made: tf.Tensor[] = [];
  let offset: number;
  let rowMeans: tf.Tensor2D;
  let grand: tf.Tensor;
  let grandMean: number;
  let yMean: tf.Tensor2D;
  let rhs: tf.Tensor2D;
  try {
    offset = await kernelOffset(raw, kept.kept, x, kernel);
    const ones = tf.fill([n, 1], 1 / n) as tf.Tensor2D;
    made.push(ones);
    rowMeans = symmetricProduct(shiftedPanels(raw, offset), n, ones, block);
    made.push(rowMeans);
    ones.dispose();
    // r̄ in float64 from r read back (n floats): wasm and native sum before they divide, so tf.mean of
    // finite row means past ~3e38/n gave ±∞ (a review: a tanh kernel scaled by 3e37, n = 200)
    grandMean = float64Mean(await rowMeans.data());
    grand = tf.scalar(grandMean);
    made.push(grand);
    yMean = tf.mean(y, 0, true) as tf.Tensor2D;
    made.push(yMean);
    rhs = tf.sub(y, yMean) as tf.Tensor2D;
    centredRhs = rhs;
  } catch (error) {
    tf.dispose(made);
    cache.release();
    throw error;
  }
  return {
    m: n,
    n,
    // K_c[s:, s:s+b] = K[s:, s:s+b] − k̄[s:]1ᵀ − 1k̄[s:s+b]ᵀ + k̿ = (K − c) − r[s:]1ᵀ − 1r[s:s+b]ᵀ + r̄
    panels: (start, size) => {
      const panel = raw(start, size);
      try {
        return tf.tidy(
          () =>
            tf.add(
              tf.sub(
                tf.sub(tf.sub(panel, offset), tf.slice(rowMeans, [start, 0], [-1, 1])),
                tf.reshape(tf.slice(rowMeans, [start, 0], [size, 1]), [1, size]),
              ),
              grand,
            ) as tf.Tensor2D,
        );
      } finally {
        panel.dispose();
      }
    },
    rhs,
    labels: y,
    // mean diag K_c = mean(K_ii − 2k̄_i + k̿) = mean diag K − k̿
    meanDiagonal: meanDiagonal - (offset + grandMean),
    scaleDiagonal: meanDiagonal,
    intercept,
    trainPrediction,
    // β = Cα; predictions (k(x) − c)ᵀβ + b with b = ȳ − rᵀβ, the offset form (RidgeFit.offset) of
    // k(x)ᵀβ + ȳ − k̄ᵀβ: neither product sums the terms c·β_i, which cancel
    readout: (alpha) => {
      const beta = tf.tidy(() => tf.sub(alpha, tf.mean(alpha, 0, true)) as tf.Tensor2D);
      alpha.dispose();
      try {
        const b = tf.tidy(() => tf.sub(yMean, tf.matMul(rowMeans, beta, true, false)) as tf.Tensor2D);
        return { coefficients: beta, intercept: b, ...(offset !== 0 ? { offset } : {}) };
      } catch (error) {
        beta.dispose();
        throw error;
      }
    },
    release: () => {
      tf.dispose([rowMeans, grand, yMean, rhs]);
      cache.release();
    },
  };
}

/**
 * (ΦᵀΦ + nλI)a = Φᵀy with Φ n×p (p ≤ n), or with an intercept the same on the centred Φ_c = Φ − 1φ̄ᵀ
 * and y − ȳ, b = ȳ − φ̄ᵀa (centred explicitly rather than by ΦᵀΦ − nφ̄φ̄ᵀ, which would cancel in
 * float32 when the features have a large mean). Leverages H_ii = φ_iᵀA⁻¹φ_i [+ 1/n] from the columns
 * of Φ_cᵀ. The Gram matrix (p×p, no larger than the n×n kernel the dual would need) is formed once and
 * served in panels, so the factorization and the refinement passes do not recompute it. The caller
 * calls `release`.
 */
export async function primalSystem(
  phi: tf.Tensor2D,
  y: tf.Tensor2D,
  intercept = false,
): Promise<RidgeSystem> {
  const [n, p] = phi.shape;
  // what this system makes, freed if a step fails (a kernel that throws mid-way included)
  const made: tf.Tensor[] = [];
  const owned = <T extends tf.Tensor>(t: T): T => (made.push(t), t);
  let featureMean: tf.Tensor2D | undefined;
  let yMean: tf.Tensor2D | undefined;
  let centred: tf.Tensor2D;
  let gram: tf.Tensor2D;
  let rhs: tf.Tensor2D;
  let meanDiagonal: number;
  try {
    // the column means as a product (1ᵀΦ/n): a reduction over axis 0 would transpose n×p first
    featureMean = intercept
      ? owned(tf.tidy(() => tf.matMul(tf.fill([1, n], 1 / n), phi) as tf.Tensor2D))
      : undefined;
    yMean = intercept ? owned(tf.mean(y, 0, true) as tf.Tensor2D) : undefined;
    centred = featureMean ? owned(tf.sub(phi, featureMean) as tf.Tensor2D) : phi;
    // one tensor on both sides: the native backend computes it as a symmetric rank-k update
    gram = owned(tf.matMul(centred, centred, true, false) as tf.Tensor2D);
    // its trace from the diagonal (every (p+1)-th entry), not from another pass over Φ
    const g = gram;
    const trace = tf.tidy(() => tf.sum(tf.gather(tf.reshape(g, [-1]), tf.range(0, p * p, p + 1, 'int32'))));
    meanDiagonal = (await hostScalar(trace)) / p;
    const c = centred;
    rhs = owned(tf.tidy(() => tf.matMul(c, yMean ? tf.sub(y, yMean) : y, true, false) as tf.Tensor2D));
  } catch (error) {
    tf.dispose(made);
    throw error;
  }
  return {
    m: p,
    n,
    panels: (start, size) => tf.slice(gram, [start, start], [p - start, size]) as tf.Tensor2D,
    matrix: gram,
    release: () => tf.dispose([gram, rhs, ...(featureMean ? [featureMean, yMean!, centred] : [])]),
    rhs,
    labels: y,
    meanDiagonal,
    intercept,
    trainPrediction: (a) =>
      tf.tidy(() => (yMean ? tf.add(tf.matMul(centred, a), yMean) : tf.matMul(centred, a)) as tf.Tensor2D),
    readout: (a) =>
      featureMean
        ? {
            coefficients: a,
            intercept: tf.tidy(() => tf.sub(yMean!, tf.matMul(featureMean, a)) as tf.Tensor2D),
          }
        : { coefficients: a },
    leverageRows: () => tf.transpose(centred),
  };
}

/**
 * Φ Φᵀ as a kernel: the dual of explicit features, for width > n. With `train` (rows x and their
 * features Φ, both the caller's), the panels of K(x, x) are products of Φ's rows, Φ[s:]Φ[s:s+b]ᵀ,
 * and its diagonal Φ's squared row norms: without them each panel featurized x[s:] again, which
 * held up to three n×width arrays beside Φ (rf, n = 10 000, width 12 000 on `native`: a peak RSS
 * of 2.8 GiB, now 1.5 GiB) and repeated the first layer's product (n²·width·d/256 flops).
 */
export function featureKernel(
  featurize: (x: tf.Tensor2D) => tf.Tensor2D,
  train?: { x: tf.Tensor2D; features: tf.Tensor2D },
): KernelFunction {
  const kernel: KernelFunction = (a, b) => tf.tidy(() => tf.matMul(featurize(a), featurize(b), false, true));
  if (!train) return kernel;
  const phi = train.features;
  kernel.panels = (x) =>
    x === train.x
      ? {
          panel: (start, size) =>
            tf.tidy(() =>
              tf.matMul(
                tf.slice(phi, [start, 0], [-1, -1]),
                tf.slice(phi, [start, 0], [size, -1]),
                false,
                true,
              ),
            ),
          diagonal: () => tf.tidy(() => tf.sum(tf.square(phi), 1, true) as tf.Tensor2D),
          release: () => {},
        }
      : undefined;
  return kernel;
}

/** One λ's ridge fit, as every ridge solver returns it (ridge.ts, host-direct.ts). */
export interface RidgeFit {
  readonly lambda: number;
  /** What predictions read: a (primal), α (dual), or β = Cα (dual with an intercept). */
  readonly coefficients: tf.Tensor2D;
  /** The unpenalised intercept b (1×k), when the system fits one. */
  readonly intercept?: tf.Tensor2D;
  /**
   * A dual fit with an intercept: the constant c its kernel rows lose before the product, so that
   * predictions are (k(x) − c)ᵀβ + b (`dualPredict`; b in that form). A kernel near a constant made
   * k(x)ᵀβ sum terms c·β_i that cancel, large where λ is small, in float32 and in each backend's
   * order: nngp with biasVariance 100 at λ = 1e-5 (‖β‖₁ = 2.2e4) gave test risk 0.0161 on `native`
   * and `cpu` and 0.0179 on `wasm`, where float64 gives 0.0160 (a helper's audit, 2026-12-07).
   * Consumers that read β through features instead (a = Φᵀβ) take `withoutOffset`.
   */
  readonly offset?: number;
  readonly diagnostics: Record<string, number>;
}

/** Frees a fit's tensors. */
export function disposeFit(fit: RidgeFit): void {
  tf.dispose([fit.coefficients, ...(fit.intercept ? [fit.intercept] : [])]);
}

/**
 * The fit with its intercept for predictions k(x)ᵀβ + b (b − c·1ᵀβ), its offset dropped: for
 * consumers that map β to weights (a = Φᵀβ). The fit itself where it has no offset; else a new fit,
 * the old intercept freed.
 */
export function withoutOffset(fit: RidgeFit): RidgeFit {
  if (!fit.offset || !fit.intercept) return fit;
  const { offset, intercept, ...rest } = fit;
  const plain = tf.tidy(
    () => tf.sub(intercept, tf.mul(tf.sum(fit.coefficients, 0, true), offset)) as tf.Tensor2D,
  );
  intercept.dispose();
  return { ...rest, intercept: plain };
}

/** `withoutOffset` of every fit; if one throws, every fit's tensors are freed before it rethrows. */
export function withoutOffsets(fits: readonly RidgeFit[]): RidgeFit[] {
  const done: RidgeFit[] = [];
  try {
    for (const fit of fits) done.push(withoutOffset(fit));
    return done;
  } catch (error) {
    for (const fit of done) disposeFit(fit);
    for (const fit of fits.slice(done.length)) disposeFit(fit);
    throw error;
  }
}
