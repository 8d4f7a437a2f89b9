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
 * In the output buffer, in place, thread t owning row/column t:
 * (1) Lᵀ's place: A + shift·I's lower triangle is copied transposed into the upper one (U[k][i] =
 *     A[i][k], k ≤ i), so that the threads of a warp, one per i, touch consecutive addresses;
 * (2) right-looking Cholesky, one column j a step: the pivot, row j of U scaled (kept in workgroup
 *     memory), then each thread i > j updates its column of the trailing triangle, k = j+1..i, all
 *     threads at the same k together;
 * (3) X = L⁻¹ by forward substitution into the lower triangle, thread j computing column j, all
 *     threads stepping through the same (i, k) so that L[i][k] = U[k][i] is one broadcast read and
 *     X[k][j] a coalesced one (entries with k < j masked: X is lower triangular);
 * (4) the upper triangle is zeroed.
 * A first version with the matrix row-major and each thread on its own schedule took 6.7 ms a 256
 * block on an H200 (every warp access 32 cache lines); the H200's figure for this one is in
 * docs/backends.md. A non-positive pivot is replaced by 1 so that every thread keeps the same
 * control flow (WGSL's barriers must be reached uniformly); the status tells the caller to discard
 * the result.
 */
import { BLOCK_CHOLESKY_MAX, BlockCholeskyKernel } from '@regimes/numerics';
import tf from '@regimes/core/tfjs';
import type {
  WebGPUBackend,
  WebGPUProgram,
  webgpu_util as WebGPUUtil,
} from '@tensorflow/tfjs-backend-webgpu';

class BlockCholeskyProgram implements WebGPUProgram {
  readonly variableNames = ['p'];
  readonly outputShape: number[];
  readonly shaderKey = 'regimesBlockCholeskyInverse';
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number] = [1, 1, 1];
  // one workgroup, a thread per row of the block
  readonly workgroupSize: [number, number, number] = [BLOCK_CHOLESKY_MAX, 1, 1];
  readonly uniforms = 'shift : f32,';

  constructor(util: typeof WebGPUUtil, b: number) {
    this.outputShape = [b + 1, b];
    this.dispatchLayout = util.flatDispatchLayout(this.outputShape);
  }

  getUserCode(): string {
    const w = BLOCK_CHOLESKY_MAX;
    // tfjs-webgpu calls main with the flat global index; one workgroup, so the local one is it
    return `
      var<workgroup> row : array<f32, ${w}>;
      var<workgroup> diagonal : array<f32, ${w}>;

      fn finitePositive(v : f32) -> bool {
        // by bits: WGSL lets a compiler assume no NaN or infinity in comparisons
        return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u && v > 0.0;
      }

      fn main(index : i32) {
        let t = i32(localId.x);
        let b = uniforms.outShape[1];
        let pb = uniforms.pShape[1];
        // (1) U = the lower triangle of A + shift·I, transposed; the lower triangle 0
        for (var e = t; e < b * b; e += ${w}) {
          let k = e / b;
          let i = e % b;
          var v = 0.0;
          if (k < i) { v = p[i * pb + k]; }
          if (k == i) { v = p[i * pb + i] + uniforms.shift; }
          result[e] = v;
        }
        for (var e = t; e < b; e += ${w}) { result[b * b + e] = 0.0; }
        storageBarrier();

        // (2) U = Lᵀ
        for (var j = 0; j < b; j++) {
          let d = result[j * b + j];
          let ok = finitePositive(d);
          let s = sqrt(select(1.0, d, ok));
          storageBarrier();
          if (t == 0) {
            result[j * b + j] = s;
            diagonal[j] = s;
            if (!ok && result[b * b] == 0.0) { result[b * b] = f32(j + 1); }
          }
          for (var i = j + 1 + t; i < b; i += ${w}) {
            let v = result[j * b + i] / s;
            result[j * b + i] = v;
            row[i] = v;
          }
          workgroupBarrier();
          storageBarrier();
          for (var i = j + 1 + t; i < b; i += ${w}) {
            let li = row[i];
            for (var k = j + 1; k <= i; k++) {
              result[k * b + i] = result[k * b + i] - li * row[k];
            }
          }
          storageBarrier();
        }
        workgroupBarrier();

        // (3) X = L⁻¹ in the lower triangle: X[i][j] = −(Σ_{j≤k<i} L[i][k] X[k][j]) / L[i][i]
        for (var j = t; j < b; j += ${w}) {
          result[j * b + j] = 1.0 / diagonal[j];
        }
        storageBarrier();
        for (var j = t; j < b; j += ${w}) {
          for (var i = 1; i < b; i++) {
            var s0 = 0.0;
            var s1 = 0.0;
            var k = 0;
            for (; k + 1 < i; k += 2) {
              s0 = fma(result[k * b + i], select(0.0, result[k * b + j], k >= j), s0);
              s1 = fma(result[(k + 1) * b + i], select(0.0, result[(k + 1) * b + j], k + 1 >= j), s1);
            }
            if (k < i) { s0 = fma(result[k * b + i], select(0.0, result[k * b + j], k >= j), s0); }
            if (i > j) { result[i * b + j] = -(s0 + s1) / diagonal[i]; }
          }
        }
        storageBarrier();

        // (4) the upper triangle, which held L, to zero
        for (var e = t; e < b * b; e += ${w}) {
          if (e % b > e / b) { result[e] = 0.0; }
        }
      }
    `;
  }
}

/** Register the kernel for the webgpu backend (idempotent), given the imported tfjs-backend-webgpu. */
export function installBlockCholesky(util: typeof WebGPUUtil): void {
  if (tf.getKernel(BlockCholeskyKernel, 'webgpu') !== undefined) return;
  tf.registerKernel({
    kernelName: BlockCholeskyKernel,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p } = inputs as unknown as { p: tf.TensorInfo };
      const b = p.shape[1]!;
      if (p.shape.length !== 2 || p.shape[0]! < b || b > BLOCK_CHOLESKY_MAX)
        throw new RangeError(
          `${BlockCholeskyKernel}: the panel is [${p.shape}], expected r×b with r ≥ b and b ≤ ${BLOCK_CHOLESKY_MAX}`,
        );
      const shift = Number((attrs as { shift?: number }).shift ?? 0);
      const gpu = backend as unknown as WebGPUBackend;
      return gpu.runWebGPUProgram(new BlockCholeskyProgram(util, b), [p], 'float32', [
        { type: 'float32', data: [shift] },
      ]);
    },
  });
}
