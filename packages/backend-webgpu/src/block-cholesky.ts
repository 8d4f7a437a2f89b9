/**
 * numerics' diagonal-block step of the panel Cholesky (`BlockCholeskyKernel`) as one WebGPU program:
 * L⁻¹ of the b×b block (b ≤ 256) at the top of a panel, with the status of its pivots, computed on
 * the GPU by one workgroup. Without it each of the m/256 panels reads its block back to the host,
 * factors and inverts it there and writes the inverse back: at m = 8192 that is 32 round trips,
 * each draining the GPU's queue, which took ~0.5 s of the 0.7 s Cholesky + solve on an H200
 * (docs/backends.md). Float32 throughout, as LAPACK's spotrf on `native`.
 *
 * The output is (b+1)×b: rows 0..b−1 hold L⁻¹ (upper triangle zero), row b holds the status in its
 * first entry (0, or j + 1 for the first pivot j that was not positive and finite) and zeros.
 *
 * Two programs compute it (REGIMES_WEBGPU_DIAGONAL_BLOCK chooses; `rows` by default). `rows`, the one
 * measured on a GPU: one workgroup of 256 threads, thread i holding row i of the block in its own
 * array (its `mine`), so that the inner loops touch only that array and workgroup memory, never the
 * storage buffer:
 * (1) thread i reads row i of A + shift·I (k ≤ i);
 * (2) right-looking Cholesky, one column j a step: thread j takes the pivot's square root, each
 *     thread i > j scales its L[i][j] and shares it, then updates its row, k = j+1..i;
 * (3) X = L⁻¹ column by column, thread j computing column j, one row i a step: thread i shares
 *     its row of L, each thread j < i forms X[i][j] = −(Σ_{j≤k<i} L[i][k] X[k][j]) / L[i][i], its
 *     column overwriting its row's zeros (X[k][j] for k ≥ j);
 * (4) each thread writes its column of X.
 * On the H200 (docs/backends.md) this version took 4.3 ms a 256 block, against 6.7 and 4.1 ms for
 * two first ones that kept the matrix in the storage buffer (row-major, then coalesced): no faster
 * there, all three latency-bound on one workgroup, and kept because llvmpipe runs it 2.5× faster
 * (32 blocks: 394 against 980 ms). A non-positive pivot is replaced by 1 so that every thread keeps the same
 * control flow (WGSL's barriers must be reached uniformly); the status tells the caller to discard
 * the result. `tiles` (below, `tilesCode`) does the same by 32×32 tiles, not yet timed on a GPU.
 */
import { BLOCK_CHOLESKY_MAX, BlockCholeskyKernel } from '@regimes/numerics';
import tf from '@regimes/core/tfjs';
import type {
  WebGPUBackend,
  WebGPUProgram,
  webgpu_util as WebGPUUtil,
} from '@tensorflow/tfjs-backend-webgpu';

/** The two programs: one thread a row (`rows`, measured on the H200) or 32×32 tiles (`tiles`). */
export const DIAGONAL_BLOCK_PROGRAMS = ['rows', 'tiles'] as const;
export type DiagonalBlockProgram = (typeof DIAGONAL_BLOCK_PROGRAMS)[number];

class BlockCholeskyProgram implements WebGPUProgram {
  readonly variableNames = ['p'];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number] = [1, 1, 1];
  // one workgroup of 256 threads
  readonly workgroupSize: [number, number, number] = [BLOCK_CHOLESKY_MAX, 1, 1];
  readonly uniforms = 'shift : f32,';

  constructor(
    util: typeof WebGPUUtil,
    b: number,
    private readonly program: DiagonalBlockProgram,
  ) {
    this.outputShape = [b + 1, b];
    this.dispatchLayout = util.flatDispatchLayout(this.outputShape);
    this.shaderKey = `regimesBlockCholeskyInverse_${program}`;
  }

  getUserCode(): string {
    return this.program === 'tiles' ? tilesCode() : rowsCode();
  }
}

const FINITE_POSITIVE = `
      fn finitePositive(v : f32) -> bool {
        // by bits: WGSL lets a compiler assume no NaN or infinity in comparisons
        return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u && v > 0.0;
      }`;

function rowsCode(): string {
  const w = BLOCK_CHOLESKY_MAX;
  // tfjs-webgpu calls main with the flat global index; one workgroup, so the local one is it
  return `
      var<workgroup> staged : array<f32, ${w}>;
      var<workgroup> diagonal : array<f32, ${w}>;
      var<workgroup> pivotStatus : f32;
${FINITE_POSITIVE}

      fn main(index : i32) {
        let t = i32(localId.x);
        let b = uniforms.outShape[1];
        let pb = uniforms.pShape[1];
        var mine : array<f32, ${w}>;
        // (1) row t of A + shift·I, its lower part
        if (t < b) {
          for (var k = 0; k < b; k++) {
            var v = 0.0;
            if (k < t) { v = f32(p[t * pb + k]); }
            if (k == t) { v = f32(p[t * pb + t]) + uniforms.shift; }
            mine[k] = v;
          }
        }
        if (t == 0) { pivotStatus = 0.0; }
        workgroupBarrier();

        // (2) L, row t in mine[0..t]
        for (var j = 0; j < b; j++) {
          if (t == j) {
            let d = mine[j];
            let ok = finitePositive(d);
            let s = sqrt(select(1.0, d, ok));
            mine[j] = s;
            diagonal[j] = s;
            if (!ok && pivotStatus == 0.0) { pivotStatus = f32(j + 1); }
          }
          workgroupBarrier();
          var li = 0.0;
          if (t > j && t < b) {
            li = mine[j] / diagonal[j];
            mine[j] = li;
            staged[t] = li;
          }
          workgroupBarrier();
          if (t > j && t < b) {
            for (var k = j + 1; k <= t; k++) {
              mine[k] = mine[k] - li * staged[k];
            }
          }
        }

        // (3) X = L⁻¹, column t in mine[t..b)
        for (var i = 0; i < b; i++) {
          workgroupBarrier();
          if (t == i) {
            for (var k = 0; k < i; k++) { staged[k] = mine[k]; }
            mine[i] = 1.0 / mine[i];
          }
          workgroupBarrier();
          if (t < i) {
            var s0 = 0.0;
            var s1 = 0.0;
            var s2 = 0.0;
            var s3 = 0.0;
            var k = t;
            for (; k + 3 < i; k += 4) {
              s0 = fma(staged[k], mine[k], s0);
              s1 = fma(staged[k + 1], mine[k + 1], s1);
              s2 = fma(staged[k + 2], mine[k + 2], s2);
              s3 = fma(staged[k + 3], mine[k + 3], s3);
            }
            for (; k < i; k++) { s0 = fma(staged[k], mine[k], s0); }
            mine[i] = -((s0 + s1) + (s2 + s3)) / diagonal[i];
          }
        }
        workgroupBarrier();

        // (4) column t of X; row b: the status
        if (t < b) {
          for (var i = 0; i < b; i++) {
            result[i * b + t] = select(0.0, mine[i], i >= t);
          }
          result[b * b + t] = select(0.0, pivotStatus, t == 0);
        }
      }
    `;
}

/**
 * The `tiles` program: the same output by 32×32 tiles, so that a thread's inner loops are independent
 * multiply-adds on registers rather than a chain of dependent steps. The 256 threads share the work of
 * every step; the block lives in `result` itself (b×b, in the GPU's caches), a tile at a time in
 * workgroup memory:
 * (1) L by tile columns k: thread t takes row i = 32k + t and forms its 32 entries of
 *     S = A + shift·I − L Lᵀ in registers (`acc`), from L's rows of tile k staged 32 columns at a
 *     time as vec4s; the 32×32 diagonal tile is factored and inverted together in workgroup memory
 *     (right-looking, all threads taking entries of both, 2 barriers a column); the rows below take
 *     L = S X_kkᵀ. L goes to the lower triangle, X_kkᵀ to the diagonal tile's upper triangle.
 * (2) X = L⁻¹ below the diagonal tiles, by tile rows I: thread j < 32I forms
 *     Y[r][j] = Σ_{j ≤ m < 32I} L[32I + r][m] X[m][j] for the tile row's 32 rows r in registers (L's
 *     rows staged as in (1), X[m][j] read where the earlier steps left it), then
 *     X[32I + r][j] = −(X_II Y)[r][j], written over L's entries (row I of L is not read again).
 * (3) The diagonal tiles' X from their upper triangles, the upper triangle zeroed, the diagonal
 *     1 / L[i][i], the status in row b.
 * Every loop over a thread's 32 registers has constant bounds, so that a compiler can unroll it and
 * keep them in registers; none guarantees it (WGSL has no unroll hint), and only a GPU's timing can
 * show it. Written out by hand instead, with 32 named variables and literal indices, the shader took
 * over 300 s to compile on llvmpipe (the loops: ~15 s cold, then cached), so the loops stay.
 * Its flops are those of `rows` (b³/3); what runs in sequence is 8 tiles × 32 columns of a few
 * entries a thread, and multiply-adds independent of each other, instead of `rows`' ~2b² dependent
 * steps.
 */
const TILE = 32;

function tilesCode(): string {
  const T = TILE;
  const threads = BLOCK_CHOLESKY_MAX;
  if (T * T !== 4 * threads) throw new Error('the tiles program stages one vec4 a thread');
  const S = T + 1; // row stride of the diagonal tile in workgroup memory
  const Q = T / 4; // vec4s a row of a staged chunk
  return `
      var<workgroup> staged : array<vec4<f32>, ${T * Q}>;
      var<workgroup> tileL : array<f32, ${T * S}>;
      var<workgroup> tileX : array<f32, ${T * S}>;
      var<workgroup> pivots : array<f32, ${T}>;
${FINITE_POSITIVE}

      // stage rows row0 .. row0 + rows − 1, columns m0 .. m0 + ${T - 1} of result: thread t one vec4
      fn stage(t : i32, b : i32, row0 : i32, rows : i32, m0 : i32) {
        let r = t / ${Q};
        let q = t % ${Q};
        var v = vec4<f32>(0.0);
        if (r < rows) {
          let at = (row0 + r) * b + m0 + 4 * q;
          v = vec4<f32>(result[at], result[at + 1], result[at + 2], result[at + 3]);
        }
        staged[t] = v;
      }

      // acc[r] += Σ_mm own[mm] staged[r][mm]
      fn gather(own : ptr<function, array<vec4<f32>, ${Q}>>, acc : ptr<function, array<f32, ${T}>>) {
        for (var r = 0; r < ${T}; r++) {
          var s = (*acc)[r];
          for (var q = 0; q < ${Q}; q++) { s += dot((*own)[q], staged[r * ${Q} + q]); }
          (*acc)[r] = s;
        }
      }

      fn main(index : i32) {
        let t = i32(localId.x);
        let b = uniforms.outShape[1];
        let pb = uniforms.pShape[1];
        let tiles = (b + ${T - 1}) / ${T};
        var pivotStatus = 0.0;
        var acc : array<f32, ${T}>;
        var own : array<vec4<f32>, ${Q}>;
        var out : array<f32, ${T}>;

        // (1) L by tile columns
        for (var k = 0; k < tiles; k++) {
          let c0 = k * ${T};
          let w = min(${T}, b - c0);
          let i = c0 + t;
          for (var c = 0; c < ${T}; c++) { acc[c] = 0.0; }
          for (var m0 = 0; m0 < c0; m0 += ${T}) {
            workgroupBarrier();
            stage(t, b, c0, w, m0);
            workgroupBarrier();
            if (i < b) {
              for (var q = 0; q < ${Q}; q++) {
                let at = i * b + m0 + 4 * q;
                own[q] = vec4<f32>(result[at], result[at + 1], result[at + 2], result[at + 3]);
              }
              gather(&own, &acc);
            }
          }
          // acc: row i of A + shift·I − L Lᵀ in the tile column, lower part; the diagonal tile's rows in tileL
          for (var c = 0; c < ${T}; c++) {
            var s = 0.0;
            if (i < b && c < w && c0 + c <= i) {
              s = f32(p[i * pb + c0 + c]) - acc[c];
              if (c0 + c == i) { s += uniforms.shift; }
            }
            acc[c] = s;
            if (t < w) { tileL[t * ${S} + c] = s; }
          }
          for (var e = t; e < ${T * T}; e += ${threads}) {
            tileX[(e / ${T}) * ${S} + e % ${T}] = select(0.0, 1.0, e / ${T} == e % ${T});
          }
          workgroupBarrier();
          // the diagonal tile's factor (right-looking: strict lower part in tileL, diagonal in pivots)
          // and its inverse X_kk beside it (tileX from the identity: row j divided by the pivot, then
          // L[r][j] times it taken from each row r below), every thread taking entries of both at each
          // step; a pivot that is not positive and finite is replaced by 1 and recorded
          for (var j = 0; j < w; j++) {
            let d = tileL[j * ${S} + j];
            let ok = finitePositive(d);
            if (!ok && pivotStatus == 0.0) { pivotStatus = f32(c0 + j + 1); }
            let root = sqrt(select(1.0, d, ok));
            if (t > j && t < w) { tileL[t * ${S} + j] = tileL[t * ${S} + j] / root; }
            if (t <= j) { tileX[j * ${S} + t] = tileX[j * ${S} + t] / root; }
            if (t == j) { pivots[j] = root; }
            workgroupBarrier();
            for (var e = t; e < ${T * T}; e += ${threads}) {
              let r = e / ${T};
              let l = e % ${T};
              if (r > j && r < w) {
                let lrj = tileL[r * ${S} + j];
                if (l > j && l <= r) { tileL[r * ${S} + l] = tileL[r * ${S} + l] - lrj * tileL[l * ${S} + j]; }
                if (l <= j) { tileX[r * ${S} + l] = tileX[r * ${S} + l] - lrj * tileX[j * ${S} + l]; }
              }
            }
            workgroupBarrier();
          }
          for (var e = t; e < ${T * T}; e += ${threads}) {
            let r = e / ${T};
            let l = e % ${T};
            if (r < w && l < r) {
              result[(c0 + r) * b + c0 + l] = tileL[r * ${S} + l];
              result[(c0 + l) * b + c0 + r] = tileX[r * ${S} + l];
            }
            if (r < w && l == r) { result[(c0 + r) * b + c0 + r] = pivots[r]; }
          }
          // the rows below: L[i][c0 + c] = Σ_{m ≤ c} S[i][m] X_kk[c][m]
          if (t >= w && i < b) {
            for (var c = 0; c < ${T}; c++) { out[c] = 0.0; }
            for (var m = 0; m < ${T}; m++) {
              let a = acc[m];
              for (var c = 0; c < ${T}; c++) {
                if (m <= c) { out[c] = fma(a, tileX[c * ${S} + m], out[c]); }
              }
            }
            for (var c = 0; c < ${T}; c++) {
              if (c < w) { result[i * b + c0 + c] = out[c]; }
            }
          }
          storageBarrier();
          workgroupBarrier();
        }

        // (2) X below the diagonal tiles, by tile rows. X[m][j] for m > j is at result[m][j] where m's
        // tile row is past j's (written here), at result[j][m] where they share a diagonal tile (1)
        for (var I = 1; I < tiles; I++) {
          let c0 = I * ${T};
          let w = min(${T}, b - c0);
          let j = t;
          // (the barriers that end (1) and each tile row order tileX's last reads before this)
          for (var e = t; e < ${T * T}; e += ${threads}) {
            let r = e / ${T};
            let l = e % ${T};
            var v = 0.0;
            if (r < w && l < r) { v = result[(c0 + l) * b + c0 + r]; }
            if (r < w && l == r) { v = 1.0 / result[(c0 + r) * b + c0 + r]; }
            tileX[r * ${S} + l] = v;
          }
          for (var r = 0; r < ${T}; r++) { acc[r] = 0.0; }
          for (var m0 = 0; m0 < c0; m0 += ${T}) {
            workgroupBarrier();
            stage(t, b, c0, w, m0);
            workgroupBarrier();
            // X[m][j] = 0 for m < j: a warp's threads share one tile of j, so they skip together
            if (j < c0 && m0 + ${T} > j) {
              let own0 = j - j % ${T};
              for (var q = 0; q < ${Q}; q++) {
                var v = vec4<f32>(0.0);
                for (var u = 0; u < 4; u++) {
                  let m = m0 + 4 * q + u;
                  var x = 0.0;
                  if (m == j) { x = 1.0 / result[j * b + j]; }
                  if (m > j && m < own0 + ${T}) { x = result[j * b + m]; }
                  if (m >= own0 + ${T}) { x = result[m * b + j]; }
                  v[u] = x;
                }
                own[q] = v;
              }
              gather(&own, &acc);
            }
          }
          // every thread has read the L entries written over below
          storageBarrier();
          workgroupBarrier();
          // X[c0 + r][j] = −Σ_{l ≤ r} X_II[r][l] Y[l][j], over L[c0 + r][j], which is not read again
          if (j < c0) {
            for (var r = 0; r < ${T}; r++) { out[r] = 0.0; }
            for (var l = 0; l < ${T}; l++) {
              let a = acc[l];
              for (var r = 0; r < ${T}; r++) {
                if (l <= r) { out[r] = fma(tileX[r * ${S} + l], a, out[r]); }
              }
            }
            for (var r = 0; r < ${T}; r++) {
              if (r < w) { result[(c0 + r) * b + j] = -out[r]; }
            }
          }
          storageBarrier();
          workgroupBarrier();
        }

        // (3) the diagonal tiles' X from their upper triangles, then the upper triangle zeroed and the
        // diagonal 1 / L[i][i]; row b: the status
        for (var e = t; e < tiles * ${T * T}; e += ${threads}) {
          let c0 = (e / ${T * T}) * ${T};
          let r = c0 + (e / ${T}) % ${T};
          let l = c0 + e % ${T};
          if (r < b && l < r) { result[r * b + l] = result[l * b + r]; }
        }
        storageBarrier();
        workgroupBarrier();
        for (var e = t; e < b * b; e += ${threads}) {
          let r = e / b;
          let l = e % b;
          if (l > r) { result[e] = 0.0; }
          if (l == r) { result[e] = 1.0 / result[e]; }
        }
        if (t < b) { result[b * b + t] = select(0.0, pivotStatus, t == 0); }
      }
    `;
}

/** The program registered, if any. */
let installed: DiagonalBlockProgram | undefined;

/** `REGIMES_WEBGPU_DIAGONAL_BLOCK` (`rows` or `tiles`) where set, else `rows`. */
export function diagonalBlockProgram(): DiagonalBlockProgram {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const chosen = env?.REGIMES_WEBGPU_DIAGONAL_BLOCK;
  if (chosen === undefined || chosen === '') return 'rows';
  const known = DIAGONAL_BLOCK_PROGRAMS.find((program) => program === chosen);
  if (known) return known;
  throw new Error(
    `REGIMES_WEBGPU_DIAGONAL_BLOCK is '${chosen}': set it to 'rows' (one thread a row) or 'tiles' (32×32 tiles), or unset it`,
  );
}

/**
 * Register the kernel for the webgpu backend, given the imported tfjs-backend-webgpu, and check it
 * on a 3×3 block with a known answer: a shader the adapter's compiler rejects leaves its output
 * unwritten, which would read as a successful factorization, so a kernel that fails the check is
 * removed again (the Cholesky then factors its blocks on the host) and the reason is returned.
 * Returns undefined when the kernel is in place (idempotent for one program; another program
 * replaces the registered one).
 */
export async function installBlockCholesky(
  util: typeof WebGPUUtil,
  program: DiagonalBlockProgram = diagonalBlockProgram(),
): Promise<string | undefined> {
  if (tf.getKernel(BlockCholeskyKernel, 'webgpu') !== undefined) {
    if (installed === program) return undefined;
    tf.unregisterKernel(BlockCholeskyKernel, 'webgpu');
  }
  installed = program;
  tf.registerKernel({
    kernelName: BlockCholeskyKernel,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p } = inputs as unknown as { p: tf.TensorInfo };
      const b = p.shape[1]!;
      // an int32 tensor failed the shader's compilation, which Dawn only prints, and the output was
      // read as it stood (a status of 0). A float32 one may still hold int32 storage: tfjs-webgpu's
      // Cast from int32 to float32 relabels the buffer (no encoding loss, so no copy), hence the
      // programs read the panel through f32()
      if (p.shape.length !== 2 || p.dtype !== 'float32' || p.shape[0]! < b || b > BLOCK_CHOLESKY_MAX)
        throw new RangeError(
          `${BlockCholeskyKernel}: the panel is ${p.dtype} [${p.shape}], expected float32 r×b with r ≥ b and b ≤ ${BLOCK_CHOLESKY_MAX}`,
        );
      const shift = Number((attrs as { shift?: number }).shift ?? 0);
      const gpu = backend as unknown as WebGPUBackend;
      return gpu.runWebGPUProgram(new BlockCholeskyProgram(util, b, program), [p], 'float32', [
        { type: 'float32', data: [shift] },
      ]);
    },
  });
  // A + I = LLᵀ with L = [[2,0,0],[1,2,0],[0,1,2]]: L⁻¹ = [[1/2,0,0],[−1/4,1/2,0],[1/8,−1/4,1/2]];
  // the upper triangle of the input is noise the kernel must not read
  const a = tf.tensor2d([3, 9, 9, 2, 4, 9, 0, 2, 4], [3, 3]);
  const out = tf.engine().runKernel(BlockCholeskyKernel, { p: a }, { shift: 1 }) as tf.Tensor;
  let got: tf.TypedArray;
  try {
    got = await out.data();
  } finally {
    tf.dispose([a, out]);
  }
  const expected = [0.5, 0, 0, -0.25, 0.5, 0, 0.125, -0.25, 0.5, 0, 0, 0];
  if (expected.every((v, i) => Math.abs(got[i]! - v) < 1e-6)) return undefined;
  tf.unregisterKernel(BlockCholeskyKernel, 'webgpu');
  installed = undefined;
  return `the GPU's diagonal-block Cholesky kernel gave [${Array.from(got, (v) => v.toPrecision(3))}] on its check (expected [${expected}]): blocks are factored on the host`;
}
