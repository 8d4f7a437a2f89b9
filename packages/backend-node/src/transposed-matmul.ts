/**
 * The wasm backend's matrix products, fixed once at the kernel level:
 * - its transposed matMul (transposeA/transposeB, the forms MatMul's gradient uses) ran 10–60×
 *   slower than the plain product (0.4 against 25 GFLOP/s at 1024²): BatchMatMul and _FusedMatMul are
 *   replaced by wrappers that transpose the operand first (an O(n²) copy) and call the original.
 *   Computing (op(B)ᵀ·op(A)ᵀ)ᵀ instead, where a stored-transposed operand needs no copy, was measured
 *   and set aside (2026-12-04): wasm packs its right operand (XNNPACK's weights) on every call for a
 *   fresh tensor, so moving the large side there costs what its transpose did (the bench's 72 small
 *   cells, nn gradients Hᵀr and HᵀX: 10.5 against 9.6 s);
 * - a transposed matrix times a vector (Hᵀr: the output weights' gradient of a network) or a vector
 *   times a matrix that wasm would pack as its weights runs as a JavaScript loop over heap views in
 *   float64 (`vectorProduct`): Hᵀr with H 512×128 in 48 µs against 229 µs through H's transpose;
 * - the Gram of one tensor (aᵀa, aaᵀ) runs by blocks of its upper triangle, half the work
 *   (`gramProduct`), and a product with a large right operand by blocks of its columns
 *   (`columnBlocks`): both with the bits of wasm's whole product, the Gram 1.0–1.3× faster for m ≤ 2048
 *   and k ≤ 1000 and 3.0–3.3× for k of 4096–8192, the product up to 1.6× (figures at each);
 * - tfjs-wasm caches those packed weights by tensor id alone, not shape, so a tensor given as weights
 *   again reshaped (a reshape keeps the id) was multiplied by its old packing, silently: such a right
 *   operand is copied first (`distinctWeights`), for BatchMatMul and _FusedMatMul;
 * - when the `native` backend kind is active, BatchMatMul runs on the addon instead (OpenBLAS or
 *   regimes' own SGEMM), reading and writing the WebAssembly heap in place; the Gram of one tensor
 *   (matMul(a, a, true, false) or (a, a, false, true)) runs as a symmetric rank-k update (ssyrk),
 *   half the work. Which one runs is kept on the registered
 *   kernel itself (the engine's registry), set by each kind's activation.
 */
import tf from '@regimes/numerics/tfjs';
import type { Blas } from './blas.js';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

type KernelArgs = Parameters<tf.KernelFunc>[0];

const slotKey = Symbol.for('regimes.wasmMatMul');
interface Slot {
  blas: Blas | undefined;
}

/** A product's operands and sizes: op(A) m×k, op(B) k×n, each repeated over its batch (leading axes). */
function productOf(args: KernelArgs) {
  const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const [aRows, aCols] = a.shape.slice(-2) as [number, number];
  const [bRows, bCols] = b.shape.slice(-2) as [number, number];
  // checked here, before any path: the addon's products read the sizes they are told, and a B
  // longer than op(A) needs would give a product of the right shape and the wrong numbers
  const [innerA, innerB] = [transposeA ? aRows : aCols, transposeB ? bCols : bRows];
  if (innerA !== innerB)
    throw new Error(
      `Error in matMul: inner shapes (${innerA}) and (${innerB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  return {
    a,
    b,
    transposeA,
    transposeB,
    m: transposeA ? aCols : aRows,
    k: transposeA ? aRows : aCols,
    n: transposeB ? bRows : bCols,
    batchA: a.shape.slice(0, -2).reduce((x, y) => x * y, 1),
    batchB: b.shape.slice(0, -2).reduce((x, y) => x * y, 1),
  };
}

const NO_BATCH: readonly number[] = [];

/**
 * The leading (batch) axes of a product's output where the addon can pair its operands' matrices:
 * both operands with the same batch axes, or one with a single matrix (its batch axes all 1); else
 * undefined, and wasm's own kernel broadcasts them (or says they do not broadcast). Pairing a_i with
 * b_i by flat index had given [2,1,3,4]·[1,2,4,5] a [2,1,3,5] output, wrong, where the product is
 * [2,2,3,5].
 */
function pairedBatch(a: TensorInfo, b: TensorInfo): readonly number[] | undefined {
  // two matrices, the usual case: nothing to pair, nothing allocated
  if (a.shape.length === 2 && b.shape.length === 2) return NO_BATCH;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const rank = Math.max(outerA.length, outerB.length);
  const padded = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [pa, pb] = [padded(outerA), padded(outerB)];
  if (pb.every((x) => x === 1)) return pa;
  if (pa.every((x) => x === 1) || pa.every((x, i) => x === pb[i])) return pb;
  return undefined;
}

function blasProduct(blas: Blas, args: KernelArgs): TensorInfo | undefined {
  const { a, b, transposeA, transposeB, m, k, n, batchA, batchB } = productOf(args);
  const outer = pairedBatch(a, b);
  if (!outer) return undefined;
  const be = args.backend as unknown as WasmBackendLike;
  const batch = Math.max(batchA, batchB);
  const out = be.makeOutput([...outer, m, n], 'float32');
  try {
    // views taken after makeOutput: a growing heap would detach earlier ones
    const av = be.typedArrayFromHeap(a);
    const bv = be.typedArrayFromHeap(b);
    const ov = be.typedArrayFromHeap(out);
    if (batch === 1 && a.dataId === b.dataId && transposeA !== transposeB) {
      // a Gram matrix (AᵀA or AAᵀ of one tensor): symmetric, so half the work
      blas.ssyrk(transposeA, m, k, av, 0, ov, 0);
      return out;
    }
    for (let i = 0; i < batch; i++) {
      blas.sgemm(
        transposeA,
        transposeB,
        m,
        n,
        k,
        av,
        (batchA === 1 ? 0 : i) * m * k,
        bv,
        (batchB === 1 ? 0 : i) * k * n,
        ov,
        i * m * n,
      );
    }
    return out;
  } catch (error) {
    be.disposeData(out.dataId);
    throw error;
  }
}

/**
 * Install the wrappers (once) and choose the product: OpenBLAS when `blas` is given (the native
 * kind), else wasm's own kernel with transpose-then-multiply (the wasm kind).
 */
export function patchWasmMatMul(blas?: Blas): void {
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) return;
  for (const kernelName of ['BatchMatMul', '_FusedMatMul']) {
    const original = tf.getKernel(kernelName, 'wasm');
    if (!original) continue;
    const existing = (original as unknown as Record<symbol, Slot | undefined>)[slotKey];
    if (existing) {
      existing.blas = blas;
      continue;
    }
    const slot: Slot = { blas };
    const kernelFunc = (args: KernelArgs) => {
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      if (slot.blas && kernelName === 'BatchMatMul') {
        const product = blasProduct(slot.blas, args);
        if (product) return product;
      }
      if (kernelName === 'BatchMatMul') {
        const vector = vectorProduct(args);
        if (vector) return vector;
        const gram = gramProduct(args, original.kernelFunc, transpose.kernelFunc);
        if (gram) return gram;
      }
      const inputs = { ...args.inputs } as Record<string, TensorInfo>;
      const temporaries: TensorInfo[] = [];
      for (const [name, flag] of [
        ['a', attrs.transposeA],
        ['b', attrs.transposeB],
      ] as const) {
        if (!flag) continue;
        const x = inputs[name]!;
        const rank = x.shape.length;
        const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
        const t = transpose.kernelFunc({
          inputs: { x } as never,
          backend: args.backend,
          attrs: { perm },
        }) as TensorInfo;
        temporaries.push(t);
        inputs[name] = t;
      }
      const backend = args.backend as WasmBackendLike;
      const weights = distinctWeights(inputs.a!, inputs.b!, backend);
      if (weights !== inputs.b) temporaries.push((inputs.b = weights));
      try {
        if (kernelName === 'BatchMatMul') {
          const blocked = columnBlocks(inputs.a!, inputs.b!, original.kernelFunc, backend);
          if (blocked) return blocked;
        }
        return original.kernelFunc({
          ...args,
          inputs: inputs as never,
          attrs: { ...args.attrs, transposeA: false, transposeB: false },
        });
      } finally {
        for (const t of temporaries) backend.disposeData(t.dataId);
      }
    };
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...original, kernelFunc, [slotKey]: slot } as tf.KernelConfig);
  }
}

/** Columns per block of `gramProduct` and `columnBlocks`; fewer than twice this run whole. */
const GRAM_BLOCK = 256;
/** The least m·m·k (multiply-adds of the whole product) for which `gramProduct` splits a Gram. */
const GRAM_MIN_WORK = 2 ** 24;

/**
 * On `wasm`, the Gram of one tensor (matMul(a, a, true, false) = aᵀa or (a, a, false, true) = aaᵀ:
 * the RF learner's ΦᵀΦ, a kernel's XXᵀ) as C = A·Aᵀ with A m×k, by blocks of GRAM_BLOCK columns:
 * block J is A's first rows up to J's end (a prefix: the same data under a smaller shape, no copy)
 * times A's rows J transposed (k × 256 columns of Aᵀ, wasm's weights), so only C's upper triangle and diagonal
 * blocks are computed, (nb + 1)/(2 nb) of the work for nb blocks; the rest is their mirror. Each
 * entry is the sum XNNPACK's whole product forms, over k in the same order (the entry (p, q) and
 * (q, p) multiply the same pairs), so the result has its bits (test/wasm.test.ts). Measured on the
 * 2-core VM (2026-12-04): ΦᵀΦ with Φ 8192×4096 (the RF fit's) 5.2 s against 15.8 whole; aaᵀ with a
 * 2048×4096 0.68–0.74 against 2.26 s, 2048×256 62 against 81 ms; medians of 15, m = 512–1024 and k =
 * 128–1000: 0.99–1.31× the whole product's speed. Undefined for any other product, and
 * for k < 128, where the m² output and its mirror cost what the half saves (aaᵀ 2048×16: 22 against
 * 13 ms whole; 8192×64 510 against 582, 4096×64 even).
 */
function gramProduct(
  args: KernelArgs,
  product: tf.KernelFunc,
  transpose: tf.KernelFunc,
): TensorInfo | undefined {
  const { a, b, transposeA, transposeB, m, k, batchA, batchB } = productOf(args);
  if (a.dataId !== b.dataId || transposeA === transposeB || a.dtype !== 'float32') return undefined;
  if (batchA !== 1 || batchB !== 1 || m < 2 * GRAM_BLOCK || k < 128 || m * m * k < GRAM_MIN_WORK)
    return undefined;
  const be = args.backend as unknown as WasmBackendLike;
  const temporaries: TensorInfo[] = [];
  const run = (kernel: tf.KernelFunc, inputs: Record<string, TensorInfo>, attrs: object) => {
    const t = kernel({ inputs: inputs as never, backend: args.backend, attrs: attrs as never }) as TensorInfo;
    temporaries.push(t);
    return t;
  };
  try {
    // A (m×k, row-major) and Aᵀ (k×m): a and its transpose, in the order of aaᵀ or aᵀa
    const matrix: TensorInfo = { dataId: a.dataId, shape: a.shape.slice(-2), dtype: 'float32' };
    const turned = run(transpose, { x: matrix }, { perm: [1, 0] });
    const [A, At] = transposeA ? [turned, matrix] : [matrix, turned];
    const out = be.makeOutput([...a.shape.slice(0, -2), m, m], 'float32');
    temporaries.push(out); // until it is complete
    for (let j0 = 0; j0 < m; j0 += GRAM_BLOCK) {
      const j1 = Math.min(m, j0 + GRAM_BLOCK);
      const weights = columnBlock(be, At, j0, j1 - j0);
      temporaries.push(weights);
      const prefix: TensorInfo = { dataId: A.dataId, shape: [j1, k], dtype: 'float32' };
      const block = run(product, { a: prefix, b: weights }, { transposeA: false, transposeB: false });
      placeColumns(be, block, out, j0);
      for (const t of temporaries.splice(2)) be.disposeData(t.dataId);
    }
    // the lower triangle left of the diagonal blocks: the mirror of the upper, by tiles
    const c = be.typedArrayFromHeap(out);
    const tile = 64;
    for (let i0 = GRAM_BLOCK; i0 < m; i0 += tile)
      for (let q0 = 0; q0 < i0 - (i0 % GRAM_BLOCK); q0 += tile)
        for (let i = i0; i < Math.min(m, i0 + tile); i++) {
          const end = Math.min(q0 + tile, i - (i % GRAM_BLOCK));
          for (let q = q0; q < end; q++) c[i * m + q] = c[q * m + i]!;
        }
    temporaries.splice(temporaries.indexOf(out), 1);
    return out;
  } finally {
    for (const t of temporaries) be.disposeData(t.dataId);
  }
}

/** Columns j0 … j0 + w of b (k×n, row-major) as a new k×w tensor: wasm's weights for one block. */
function columnBlock(be: WasmBackendLike, b: TensorInfo, j0: number, w: number): TensorInfo {
  const [k, n] = b.shape.slice(-2) as [number, number];
  const weights = be.makeOutput([k, w], 'float32');
  // views taken after makeOutput: a growing heap would detach earlier ones
  const bv = be.typedArrayFromHeap(b);
  const wv = be.typedArrayFromHeap(weights);
  for (let q = 0; q < k; q++) wv.set(bv.subarray(q * n + j0, q * n + j0 + w), q * w);
  return weights;
}

/** A block's rows (p×w) into the same rows of `out`, at column j0. */
function placeColumns(be: WasmBackendLike, block: TensorInfo, out: TensorInfo, j0: number): void {
  // views taken after every allocation: a growing heap would detach earlier ones
  const p = be.typedArrayFromHeap(block);
  const c = be.typedArrayFromHeap(out);
  const [rows, w] = block.shape.slice(-2) as [number, number];
  const ldc = out.shape[out.shape.length - 1]!;
  for (let r = 0; r < rows; r++) c.set(p.subarray(r * w, (r + 1) * w), r * ldc + j0);
}

/** The least k·n (entries of the right operand) for which `columnBlocks` splits a product. */
const COLUMN_BLOCKS_MIN_WEIGHTS = 2 ** 22;
/** The least m·k (entries of the left operand) for which it does: below, the copies cost more. */
const COLUMN_BLOCKS_MIN_LEFT = 2 ** 19;

/**
 * On `wasm`, a product A·B (m×k by k×n, no batch) whose right operand is large, by blocks of
 * GRAM_BLOCK columns of B, each copied out as wasm's weights (k × 256): XNNPACK packs and streams
 * a large right operand slowly (4096³: 18.6 GFLOP/s whole, 30.5 by blocks; 2048³ 25.6 → 29.1), and
 * each entry is the same sum in the same order, so the same bits (test/wasm.test.ts). Undefined
 * where the copy of B and the block calls cost more than they save: below 2²² entries of B (1024³:
 * 30.7 GFLOP/s whole against 27.3), for k < 1024 (8192 × 64 × 4096: 18.8 against 15.4; 256 × 512 ×
 * 8192: 25.6 against 23.6), and for few rows, m < 128 or m·k < 2¹⁹ (8 × 2048 × 4096: 13.8 against
 * 2.9; 128 × 1024 × 4096: 24.2 against 12.4; 256 × 1024 × 4096: 24.6 against 23.2). Gains, m·k
 * from 2¹⁹: 512 × 1024 × 4096 22.7 → 24.7, 256 × 2048 × 4096 13.7 → 22.9, 128 × 4096 × 4096
 * 14.6 → 18.9, 2048 × 1024 × 4096 21.0 → 28.1 (2026-12-05, one process, alternated).
 */
function columnBlocks(
  a: TensorInfo,
  b: TensorInfo,
  product: tf.KernelFunc,
  be: WasmBackendLike,
): TensorInfo | undefined {
  if (a.shape.length !== 2 || b.shape.length !== 2 || a.dtype !== 'float32') return undefined;
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  if (k * n < COLUMN_BLOCKS_MIN_WEIGHTS || k < 1024 || n < 2 * GRAM_BLOCK) return undefined;
  if (m < 128 || m * k < COLUMN_BLOCKS_MIN_LEFT) return undefined;
  const out = be.makeOutput([m, n], 'float32');
  let done = false;
  try {
    for (let j0 = 0; j0 < n; j0 += GRAM_BLOCK) {
      const weights = columnBlock(be, b, j0, Math.min(GRAM_BLOCK, n - j0));
      let block: TensorInfo | undefined;
      try {
        block = product({
          inputs: { a, b: weights } as never,
          backend: be as never,
          attrs: { transposeA: false, transposeB: false } as never,
        }) as TensorInfo;
        placeColumns(be, block, out, j0);
      } finally {
        be.disposeData(weights.dataId);
        if (block) be.disposeData(block.dataId);
      }
    }
    done = true;
    return out;
  } finally {
    if (!done) be.disposeData(out.dataId);
  }
}

/** The shape (its last two axes) each tensor was packed with as wasm's weights, by data id. */
const packedAs = new WeakMap<object, string>();

/**
 * The right operand for wasm's product, b itself or a copy under a new id. Where neither operand is
 * batched, wasm's product runs on XNNPACK with b as the weights, whose packed operator tfjs-wasm
 * caches by b's tensor id alone (not its shape, tfjs-backend-wasm 4.22 batch_mat_mul_impl.cc); a
 * reshape keeps the id, so a tensor packed as 6×4 and then given reshaped to 4×6 was multiplied by
 * the stale 6×4 packing, silently (test/wasm.test.ts). Such a b is copied first.
 */
function distinctWeights(a: TensorInfo, b: TensorInfo, backend: WasmBackendLike): TensorInfo {
  const batched = (x: TensorInfo) => x.shape.slice(0, -2).some((size) => size !== 1);
  if (batched(a) || batched(b)) return b;
  const shape = b.shape.slice(-2).join('×');
  const packed = packedAs.get(b.dataId);
  if (packed === undefined) packedAs.set(b.dataId, shape);
  if (packed === undefined || packed === shape) return b;
  const copy = backend.makeOutput(b.shape, b.dtype);
  backend.typedArrayFromHeap(copy).set(backend.typedArrayFromHeap(b));
  packedAs.set(copy.dataId, shape);
  return copy;
}

/**
 * On `wasm`, the products with one row or column that its own kernel runs badly: op(A)ᵀ-shaped
 * ones, which it would transpose first, and a row times a matrix, which it would pack as weights.
 * Loops over heap views with float64 sums, four rows of the matrix at a time (each output's sum in
 * the order of the rows); undefined for any other product (a batch, a matrix times a vector, which
 * wasm's kernel runs as fast).
 */
function vectorProduct(args: KernelArgs): TensorInfo | undefined {
  const { a, b, transposeA, transposeB, m, k, n, batchA, batchB } = productOf(args);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || batchA !== 1 || batchB !== 1) return undefined;
  // c (m) = Aᵀx with A stored k×m, or c (n) = xᵀB with B stored k×n: combinations of rows; c (n) =
  // xᵀBᵀ with B stored n×k: dot products with rows
  const combination = (n === 1 && transposeA) || (m === 1 && !transposeB);
  const dots = m === 1 && transposeB && n > 1;
  if (!combination && !dots) return undefined;
  const be = args.backend as unknown as WasmBackendLike;
  const out = be.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
  // views taken after makeOutput: a growing heap would detach earlier ones
  const [matrix, vector] =
    n === 1
      ? [be.typedArrayFromHeap(a), be.typedArrayFromHeap(b)]
      : [be.typedArrayFromHeap(b), be.typedArrayFromHeap(a)];
  const c = be.typedArrayFromHeap(out);
  const width = n === 1 ? m : n;
  if (combination) {
    const sums = new Float64Array(width);
    let q = 0;
    for (; q + 4 <= k; q += 4) {
      const x0 = vector[q]!,
        x1 = vector[q + 1]!,
        x2 = vector[q + 2]!,
        x3 = vector[q + 3]!;
      const r0 = q * width,
        r1 = r0 + width,
        r2 = r1 + width,
        r3 = r2 + width;
      for (let j = 0; j < width; j++)
        sums[j]! += x0 * matrix[r0 + j]! + x1 * matrix[r1 + j]! + x2 * matrix[r2 + j]! + x3 * matrix[r3 + j]!;
    }
    for (; q < k; q++) {
      const x = vector[q]!;
      const r = q * width;
      for (let j = 0; j < width; j++) sums[j]! += x * matrix[r + j]!;
    }
    c.set(sums);
  } else {
    for (let j = 0; j < width; j++) {
      const r = j * k;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      let q = 0;
      for (; q + 4 <= k; q += 4) {
        s0 += matrix[r + q]! * vector[q]!;
        s1 += matrix[r + q + 1]! * vector[q + 1]!;
        s2 += matrix[r + q + 2]! * vector[q + 2]!;
        s3 += matrix[r + q + 3]! * vector[q + 3]!;
      }
      for (; q < k; q++) s0 += matrix[r + q]! * vector[q]!;
      c[j] = s0 + s1 + (s2 + s3);
    }
  }
  return out;
}
