/**
 * Linear algebra on tensors for the large symmetric positive-definite systems of kernel ridge:
 * a left-looking blocked Cholesky that consumes the matrix one column panel at a time (so a
 * kernel is built in panels and never held whole beside its factor), triangular solves, and
 * the diagonal of the inverse. The b×b diagonal blocks are factored and inverted on the host in
 * float64, or on the backend where it registers `BlockCholeskyKernel` (webgpu: no read-back per
 * panel); everything of size m — the panel updates and solves — is matMul on the backend.
 * A backend with LAPACK registers `CholeskyKernel` and `TriangularSolveKernel` (the `native`
 * backend on OpenBLAS: spotrf, strsm); then the panels are assembled into one m×m matrix and
 * factored whole in place (one copy, as the panel factor), and the solves are strsm.
 */
import tf from '@regimes/numerics/tfjs';
import { cholesky, invertLower, shiftedCholeskyInverse } from '../host/linalg.js';
import { assembleLowerHost, choleskyFailure, hostLapack, nextJitter } from './host-cholesky.js';
import { type ColumnPanels, float32Panels } from './panels.js';
import { hostValues } from './rows.js';

/**
 * The kernel a backend may register for a dense Cholesky factorization: input `x`, an m×m float32
 * matrix of which the lower triangle is read and which the kernel OVERWRITES (the caller owns it and
 * uses only the outputs), attribute `shift` (added to the diagonal); outputs [L (m×m, lower
 * triangular, upper triangle zero, sharing x's storage), info (1 value: 0 success, k > 0 the leading
 * k×k minor is not positive definite)].
 */
export const CholeskyKernel = 'RegimesCholesky';
/**
 * The kernel of a triangular solve: inputs `l` (lower triangular) and `b`, attributes `transpose`
 * and `start` (0 if absent); with L' = l[start:, start:] (m×m, read in place) and b m×c, output
 * L'⁻¹b, or L'⁻ᵀb when `transpose` (m×c).
 */
export const TriangularSolveKernel = 'RegimesTriangularSolve';
/**
 * The kernel a backend may register for the diagonal block of a panel, so that the factorization
 * never waits on the host: input `p` (r×b float32, r ≥ b; its top b×b block A_kk is read, lower
 * triangle only), attribute `shift` (added to the diagonal); output (b+1)×b float32: rows 0..b−1
 * L_kk⁻¹ with L_kkL_kkᵀ = A_kk + shift·I (lower triangular, upper triangle zero), row b [status,
 * 0, …]: 0, or j + 1 where pivot j was not positive (the rows are then meaningless). The kernel may
 * refuse a b above `BLOCK_CHOLESKY_MAX`; then the block is factored on the host.
 */
export const BlockCholeskyKernel = 'RegimesBlockCholeskyInverse';
/** The widest diagonal block `choleskyPanels` hands to a backend's `BlockCholeskyKernel`. */
export const BLOCK_CHOLESKY_MAX = 256;

/** Whether the active backend factors and solves by LAPACK kernels (`choleskyPanels` then goes dense). */
export function denseCholeskyAvailable(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel(CholeskyKernel, backend) !== undefined &&
    tf.getKernel(TriangularSolveKernel, backend) !== undefined
  );
}

/**
 * The lower-triangular factor L of A = LLᵀ, by column panels of width `block` — or whole (`dense`,
 * with one panel and no diagonal inverses) where the backend has the LAPACK kernels.
 */
export interface PanelFactor {
  readonly m: number;
  /** Start row/column of each panel. */
  readonly starts: readonly number[];
  readonly sizes: readonly number[];
  /** L_kk⁻¹ (b_k × b_k) for each panel. */
  readonly diagonalInverse: readonly tf.Tensor2D[];
  /** The rows of panel k below its diagonal block ((m − s_k − b_k) × b_k), or null for the last. */
  readonly below: readonly (tf.Tensor2D | null)[];
  /** The diagonal shift that was added to A (the ridge, plus any jitter). */
  readonly shift: number;
  /** The jitter added beyond the requested shift to make the factorization succeed (0 if none). */
  readonly jitter: number;
  /** L whole (m×m, upper triangle zero) when factored by `CholeskyKernel`. */
  readonly dense?: tf.Tensor2D;
}

export function disposeFactor(f: PanelFactor): void {
  tf.dispose([...f.diagonalInverse, ...f.below.filter((b): b is tf.Tensor2D => b !== null)]);
  f.dense?.dispose();
}

/**
 * The lower triangle of A (upper zero) from its column panels, as one m×m tensor. Where the backend
 * lends views of its storage (its host LAPACK, `registerHostLapack`: `native`), each panel is copied
 * from its storage into the matrix's in place (the matrix is the Cholesky kernel's to overwrite);
 * else through one host array and an upload. At m = 8192 on `native` (2 cores, 2026-12-04; the
 * bench's NTK system, kernel built in the factorization) the factorization took 2.35–2.40 s by the
 * host route (reading each panel out, a new 256 MiB host array's first touches, the upload: ~1.5 s
 * of it) and 1.23–1.27 s in place, with m² floats less at its peak.
 */
async function assembleLower(panels: ColumnPanels, m: number, block: number): Promise<tf.Tensor2D> {
  const lapack = hostLapack();
  if (lapack) {
    // a kernel's output (Fill), not tf.zeros, which uploads a host array of zeros
    const matrix = tf.fill([m, m], 0, 'float32') as tf.Tensor2D;
    try {
      assembleLowerHost(panels, m, () => lapack.view(matrix), lapack, block);
    } catch (error) {
      matrix.dispose();
      throw error;
    }
    return matrix;
  }
  return tf.tensor2d(await lowerTriangleHost(panels, m, block), [m, m]);
}

/**
 * The lower triangle of A (upper zero) from its column panels, read back into one m×m host array
 * (row-major); each panel is freed as read, also if the read fails.
 */
export async function lowerTriangleHost(
  panels: ColumnPanels,
  m: number,
  block: number,
): Promise<Float32Array> {
  const host = new Float32Array(m * m);
  for (let s = 0; s < m; s += block) {
    const b = Math.min(block, m - s);
    const data = await hostValues(panels(s, b));
    for (let i = s; i < m; i++) {
      const count = Math.min(b, i - s + 1);
      host.set(data.subarray((i - s) * b, (i - s) * b + count), i * m + s);
    }
  }
  return host;
}

/**
 * L of A + shift·I by the backend's `CholeskyKernel`, or, where A + shift·I is not positive
 * definite, the kernel's status (j + 1 for the first pivot j that failed).
 */
async function factorDense(
  panels: ColumnPanels,
  m: number,
  block: number,
  shift: number,
): Promise<tf.Tensor2D | number> {
  const matrix = await assembleLower(panels, m, block);
  let outputs: [tf.Tensor2D, tf.Tensor1D];
  try {
    outputs = tf.engine().runKernel(CholeskyKernel, { x: matrix }, { shift }) as unknown as [
      tf.Tensor2D,
      tf.Tensor1D,
    ];
  } finally {
    matrix.dispose(); // its storage lives on as the factor's
  }
  const [factor, info] = outputs;
  let status: number;
  try {
    [status] = (await hostValues(info)) as unknown as [number];
  } catch (error) {
    factor.dispose();
    throw error;
  }
  if (status === 0) return factor;
  factor.dispose();
  return status;
}

function triangularSolve(l: tf.Tensor2D, b: tf.Tensor2D, transpose: boolean, start = 0): tf.Tensor2D {
  return tf
    .engine()
    .runKernel(TriangularSolveKernel, { l, b }, { transpose, start }) as unknown as tf.Tensor2D;
}

export type { ColumnPanels } from './panels.js';

/** A try of `factorOnce` that failed: `pivot` = j + 1 for the first pivot j of the system that did. */
class NotPositiveDefinite extends Error {
  constructor(readonly pivot: number) {
    super(`pivot ${pivot - 1} failed`);
  }
}

/**
 * How a panel subtracts the columns of L before it. `per-panel`: one product per earlier panel
 * (k products for panel k, so ~(m/block)²/2 products in all), holding only the factor's panels.
 * `wide`: L's columns so far are also kept in slabs of up to 2²⁴ floats (m × ⌊2²⁴/m⌋ columns, 64 MiB:
 * under WebGPU's default 128 MiB storage-buffer binding), so panel k takes one product per slab
 * (at m = 8192, ≤ 4 instead of up to 31) and ~10 kernels more a panel, at the cost of the slabs (m²
 * floats at the end, freed with the factorization) and of copying each as it grows. On a GPU each
 * kernel costs 0.05–0.2 ms of host time (webgpu on an H200, docs/backends.md), which the first pays
 * (there, with the diagonal blocks on the GPU, the two took the same time: the host dispatches while
 * the GPU factors); on a CPU the copies and memory cost more than dispatch, which the second pays.
 */
export type CholeskyUpdate = 'per-panel' | 'wide';

/** The floats of one tensor that `wide` and the inverse's diagonal on webgpu keep under. */
export const WIDE_FLOATS = 2 ** 24;

/** Wide on webgpu, per-panel elsewhere. */
export function defaultCholeskyUpdate(): CholeskyUpdate {
  return tf.getBackend() === 'webgpu' ? 'wide' : 'per-panel';
}

/**
 * P − C[o:o+r] C[o:o+b]ᵀ with r = P's rows (P freed): a panel's update by columns C of L, given with
 * rows from o on (a slab of columns, or an earlier panel's rows below its diagonal block).
 */
function subtractColumns(p: tf.Tensor2D, c: tf.Tensor2D, o: number, b: number): tf.Tensor2D {
  const width = c.shape[1];
  try {
    return tf.tidy(() =>
      tf.sub(
        p,
        tf.matMul(tf.slice(c, [o, 0], [p.shape[0], width]), tf.slice(c, [o, 0], [b, width]), false, true),
      ),
    ) as tf.Tensor2D;
  } finally {
    p.dispose();
  }
}

async function factorOnce(
  panels: ColumnPanels,
  m: number,
  block: number,
  shift: number,
  update: CholeskyUpdate,
  slabFloats: number,
): Promise<Omit<PanelFactor, 'jitter'>> {
  const starts: number[] = [];
  const sizes: number[] = [];
  for (let s = 0; s < m; s += block) {
    starts.push(s);
    sizes.push(Math.min(block, m - s));
  }
  const diagonalInverse: tf.Tensor2D[] = [];
  const below: (tf.Tensor2D | null)[] = [];
  // wide: L[:, 0:s] in slabs of whole panels, each m × (≤ slabWidth), a panel's rows down to its
  // diagonal block's last as zeros
  const slabWidth = Math.max(block, Math.floor(slabFloats / m / block) * block);
  const slabs: tf.Tensor2D[] = [];
  const onDevice = tf.getKernel(BlockCholeskyKernel, tf.getBackend()) !== undefined;
  const statuses: tf.Tensor[] = [];
  // the first row of each status's block
  const statusRows: number[] = [];
  // the panel in hand, freed with the rest if a step fails
  let p: tf.Tensor2D | undefined;
  try {
    for (let k = 0; k < starts.length; k++) {
      const s = starts[k]!;
      const b = sizes[k]!;
      // P = A[s:, s:s+b] − Σ_{j<k} L[s:, j] L[s:s+b, j]ᵀ
      p = panels(s, b);
      for (const slab of update === 'wide' ? slabs : []) p = subtractColumns(p, slab, s, b);
      for (let j = 0; update === 'per-panel' && j < k; j++)
        p = subtractColumns(p, below[j]!, s - (starts[j]! + sizes[j]!), b);
      let inverse: tf.Tensor2D;
      if (onDevice && b <= BLOCK_CHOLESKY_MAX) {
        // on the backend: the status is read once, after the last panel
        const out = tf.engine().runKernel(BlockCholeskyKernel, { p }, { shift }) as unknown as tf.Tensor2D;
        try {
          inverse = tf.slice(out, [0, 0], [b, b]);
          // in the list the catch frees, before the status slice is made
          diagonalInverse.push(inverse);
          statuses.push(tf.slice(out, [b, 0], [1, 1]));
          statusRows.push(s);
        } finally {
          out.dispose();
        }
      } else {
        const host = Float64Array.from(await hostValues(tf.slice(p, [0, 0], [b, b])));
        const factor = shiftedCholeskyInverse(host, b, shift);
        if (!factor.inverse) {
          p.dispose();
          throw new NotPositiveDefinite(s + factor.status);
        }
        inverse = tf.tensor2d(Float32Array.from(factor.inverse), [b, b]);
        diagonalInverse.push(inverse);
      }
      // L[s+b:, k] = P[b:, :] · L_kk⁻ᵀ
      const panel = p;
      const rest: tf.Tensor2D | null =
        s + b < m
          ? tf.tidy(() => tf.matMul(tf.slice(panel, [b, 0], [m - s - b, b]), inverse, false, true))
          : null;
      below.push(rest);
      p.dispose();
      if (update === 'wide' && rest) {
        const last = slabs.at(-1);
        const grow = last !== undefined && last.shape[1] + b <= slabWidth;
        // later panels read rows from their own start on, all below this panel's diagonal block, so
        // rows 0..s+b−1 of the column may be zeros
        const slab = tf.tidy(() => {
          const column = tf.pad(rest, [
            [s + b, 0],
            [0, 0],
          ]) as tf.Tensor2D;
          return grow ? tf.concat([last, column], 1) : column;
        });
        if (grow) {
          last.dispose();
          slabs[slabs.length - 1] = slab;
        } else slabs.push(slab);
      }
    }
    if (statuses.length > 0) {
      // one read of every block's status; the first block that failed names the pivot
      const all = tf.tidy(() => tf.concat(statuses.map((x) => tf.reshape(x, [1]))));
      const values = await hostValues(all);
      const failed = values.findIndex((status) => status !== 0);
      if (failed >= 0) throw new NotPositiveDefinite(statusRows[failed]! + values[failed]!);
    }
  } catch (error) {
    tf.dispose([...diagonalInverse, ...below.filter((x): x is tf.Tensor2D => x !== null)]);
    p?.dispose();
    throw error;
  } finally {
    tf.dispose(slabs);
    tf.dispose(statuses);
  }
  return { m, starts, sizes, diagonalInverse, below, shift };
}

/**
 * Cholesky factor of A + shift·I, A given by column panels (each requested once per attempt).
 * If float32 round-off makes a pivot non-positive, retries with jitter 1e-6·mean(diag A),
 * ×100 each time (up to three times) and reports it; then gives up with a NumericalError.
 */
export async function choleskyPanels(
  panels: ColumnPanels,
  m: number,
  options: {
    shift?: number;
    block?: number;
    meanDiagonal?: number;
    update?: CholeskyUpdate;
    /** `wide`: the floats of one slab (default WIDE_FLOATS). */
    slabFloats?: number;
  } = {},
): Promise<PanelFactor> {
  panels = float32Panels(panels);
  const block = options.block ?? 256;
  const update = options.update ?? defaultCholeskyUpdate();
  const shift = options.shift ?? 0;
  const dense = denseCholeskyAvailable();
  let jitter = 0;
  let pivot = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) jitter = nextJitter(jitter, options.meanDiagonal);
    if (dense) {
      const factor = await factorDense(panels, m, block, shift + jitter);
      if (typeof factor !== 'number')
        return {
          m,
          starts: [0],
          sizes: [m],
          diagonalInverse: [],
          below: [],
          shift: shift + jitter,
          jitter,
          dense: factor,
        };
      pivot = factor;
      continue;
    }
    try {
      const factor = await factorOnce(
        panels,
        m,
        block,
        shift + jitter,
        update,
        options.slabFloats ?? WIDE_FLOATS,
      );
      return { ...factor, jitter };
    } catch (error) {
      if (!(error instanceof NotPositiveDefinite)) throw error;
      pivot = error.pivot;
    }
  }
  throw choleskyFailure(m, jitter, pivot);
}

/**
 * z = L⁻¹ b (forward substitution by panels); b is m×c. Each step's remainder is freed as the next
 * is made, so at most two are alive (not all m/block of them).
 */
export function solveLower(f: PanelFactor, b: tf.Tensor2D): tf.Tensor2D {
  if (f.dense) return triangularSolve(f.dense, b, false);
  const parts: tf.Tensor2D[] = [];
  let rest: tf.Tensor2D = b;
  try {
    for (let k = 0; k < f.starts.length; k++) {
      const size = f.sizes[k]!;
      const current = rest;
      const zk: tf.Tensor2D = tf.tidy(() =>
        tf.matMul(f.diagonalInverse[k]!, tf.slice(current, [0, 0], [size, -1])),
      );
      parts.push(zk);
      const lower = f.below[k];
      if (lower) {
        rest = tf.tidy(() => tf.sub(tf.slice(current, [size, 0], [-1, -1]), tf.matMul(lower, zk)));
        if (current !== b) current.dispose();
      }
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
    if (rest !== b) rest.dispose();
  }
}

/** x = L⁻ᵀ z (backward substitution by panels); z is m×c. */
export function solveUpper(f: PanelFactor, z: tf.Tensor2D): tf.Tensor2D {
  if (f.dense) return triangularSolve(f.dense, z, true);
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = new Array(f.starts.length);
    for (let k = f.starts.length - 1; k >= 0; k--) {
      const s = f.starts[k]!;
      const size = f.sizes[k]!;
      let rhs: tf.Tensor2D = tf.slice(z, [s, 0], [size, -1]);
      const lower = f.below[k];
      if (lower) rhs = tf.sub(rhs, tf.matMul(lower, tf.concat(parts.slice(k + 1), 0), true, false));
      parts[k] = tf.matMul(f.diagonalInverse[k]!, rhs, true, false);
    }
    return tf.concat(parts, 0);
  });
}

/** x = (LLᵀ)⁻¹ b. */
export function choleskySolveTensor(f: PanelFactor, b: tf.Tensor2D): tf.Tensor2D {
  const z = solveLower(f, b);
  try {
    return solveUpper(f, z);
  } finally {
    z.dispose();
  }
}

/**
 * diag((LLᵀ)⁻¹) = squared column norms of L⁻¹, computed a few block columns of L⁻¹ at a time
 * (forward solves against the identity's columns). `width`: the columns of one solve, rounded to
 * whole panels (at least one); by default one panel (memory ~2·m·block floats), and on webgpu up to
 * WIDE_FLOATS / m columns (64 MiB a solve's right-hand side; 4 solves at m = 8192 instead of 32, ~5×
 * fewer kernels).
 */
export async function inverseDiagonal(f: PanelFactor, width?: number): Promise<Float64Array> {
  const out = new Float64Array(f.m);
  if (f.dense) {
    // rows s.. of L⁻¹'s columns s..s+size: the solve of L[s:, s:] against the identity's columns
    const dense = f.dense;
    for (let s = 0; s < f.m; s += 256) {
      const size = Math.min(256, f.m - s);
      const norms = tf.tidy(() => {
        const identity = identityColumns(f.m - s, size);
        return tf.sum(tf.square(triangularSolve(dense, identity, false, s)), 0);
      });
      const values = await hostValues(norms);
      for (let j = 0; j < size; j++) out[s + j] = values[j]!;
    }
    return out;
  }
  const columns = width ?? (defaultCholeskyUpdate() === 'wide' ? WIDE_FLOATS / f.m : 0);
  // each solve's norms stay on the backend and are read together at the end: one wait for a GPU's
  // queue, not one a solve
  const parts: tf.Tensor[] = [];
  try {
    for (let k = 0; k < f.starts.length;) {
      const s = f.starts[k]!;
      // panels k..next−1 in this solve: at least one, more while they fit in `columns`
      let next = k + 1;
      while (next < f.starts.length && f.starts[next]! + f.sizes[next]! - s <= columns) next++;
      const size = f.starts[next - 1]! + f.sizes[next - 1]! - s;
      // rows s.. of L⁻¹[:, s:s+size]: L⁻¹ is lower triangular, so rows above s vanish
      const norms = tf.tidy(() => {
        const sub: PanelFactor = {
          ...f,
          m: f.m - s,
          starts: f.starts.slice(k).map((x) => x - s),
          sizes: f.sizes.slice(k),
          diagonalInverse: f.diagonalInverse.slice(k),
          below: f.below.slice(k),
        };
        const identity = identityColumns(f.m - s, size);
        return tf.sum(tf.square(solveLower(sub, identity)), 0);
      });
      parts.push(norms);
      k = next;
    }
    const all = tf.concat(parts, 0); // of one part: a clone, no copy
    try {
      out.set(await all.data());
    } finally {
      all.dispose();
    }
  } finally {
    tf.dispose(parts);
  }
  return out;
}

/**
 * The first `size` columns of the rows×rows identity, padded on the backend: tf.zeros would upload
 * a host array of zeros (at m = 8192 the inverse's diagonal uploaded m²/2 floats that way).
 */
function identityColumns(rows: number, size: number): tf.Tensor2D {
  return tf.tidy(
    () =>
      tf.pad(tf.eye(size), [
        [0, rows - size],
        [0, 0],
      ]) as tf.Tensor2D,
  );
}

/** y = A x for A given by lower column panels (symmetric), one panel alive at a time. */
export function symmetricProduct(panels: ColumnPanels, m: number, x: tf.Tensor2D, block = 256): tf.Tensor2D {
  let result: tf.Tensor2D = tf.zerosLike(x);
  for (let s = 0; s < m; s += block) {
    const b = Math.min(block, m - s);
    const sum = result;
    let panel: tf.Tensor2D | undefined;
    try {
      panel = panels(s, b); // A[s:, s:s+b]
      const p = panel;
      result = tf.tidy(() => {
        const xs = tf.slice(x, [s, 0], [b, -1]);
        // lower part: A[s:, block] x_block lands on rows s..m
        const lower = tf.matMul(p, xs);
        let add: tf.Tensor = tf.pad(lower, [
          [s, 0],
          [0, 0],
        ]);
        // upper part: A[block, s+b:] x_{s+b:} = (A[s+b:, block])ᵀ x_{s+b:} lands on the block rows
        if (s + b < m) {
          const strict = tf.matMul(
            tf.slice(p, [b, 0], [-1, -1]),
            tf.slice(x, [s + b, 0], [-1, -1]),
            true,
            false,
          );
          add = tf.add(
            add,
            tf.pad(strict, [
              [s, m - s - b],
              [0, 0],
            ]),
          );
        }
        return tf.add(sum, add) as tf.Tensor2D;
      });
    } finally {
      // the step's inputs, whether it succeeded or not
      panel?.dispose();
      sum.dispose();
    }
  }
  return result;
}

/**
 * Orthonormalize the columns of a (n×c, n ≥ c) on tensors by Cholesky QR applied twice
 * (CholeskyQR2): R from the c×c Gram matrix on the host, Q = A R⁻¹ by matMul.
 */
export async function orthonormalizeColumns(a: tf.Tensor2D): Promise<tf.Tensor2D> {
  let q = a.clone();
  try {
    for (let pass = 0; pass < 2; pass++) {
      const c = q.shape[1];
      const host = Float64Array.from(await hostValues(tf.matMul(q, q, true, false)));
      cholesky(host, c); // G = LLᵀ, R = Lᵀ
      const current = q;
      q = tf.tidy(() => {
        const rInverse = tf.tensor2d(Float32Array.from(invertLower(host, c)), [c, c]); // L⁻¹ = R⁻ᵀ
        return tf.matMul(current, rInverse, false, true);
      });
      current.dispose();
    }
    return q;
  } catch (error) {
    q.dispose(); // a Gram matrix not positive definite (rank-deficient columns), a failed kernel or read
    throw error;
  }
}
