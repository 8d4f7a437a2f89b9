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
 * One workgroup of 256 threads, thread i holding row i of the block in its own array (its `mine`),
 * so that the inner loops touch only that array and workgroup memory, never the storage buffer:
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
      var<workgroup> staged : array<f32, ${w}>;
      var<workgroup> diagonal : array<f32, ${w}>;
      var<workgroup> pivotStatus : f32;

      fn finitePositive(v : f32) -> bool {
        // by bits: WGSL lets a compiler assume no NaN or infinity in comparisons
        return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u && v > 0.0;
      }

      fn main(index : i32) {
        let t = i32(localId.x);
        let b = uniforms.outShape[1];
        let pb = uniforms.pShape[1];
        var mine : array<f32, ${w}>;
        // (1) row t of A + shift·I, its lower part
        if (t < b) {
          for (var k = 0; k < b; k++) {
            var v = 0.0;
            if (k < t) { v = p[t * pb + k]; }
            if (k == t) { v = p[t * pb + t] + uniforms.shift; }
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
}

/**
 * Register the kernel for the webgpu backend, given the imported tfjs-backend-webgpu, and check it
 * on a 3×3 block with a known answer: a shader the adapter's compiler rejects leaves its output
 * unwritten, which would read as a successful factorization, so a kernel that fails the check is
 * removed again (the Cholesky then factors its blocks on the host) and the reason is returned.
 * Returns undefined when the kernel is in place (idempotent).
 */
export async function installBlockCholesky(util: typeof WebGPUUtil): Promise<string | undefined> {
  if (tf.getKernel(BlockCholeskyKernel, 'webgpu') !== undefined) return undefined;
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
  // A + I = LLᵀ with L = [[2,0,0],[1,2,0],[0,1,2]]: L⁻¹ = [[1/2,0,0],[−1/4,1/2,0],[1/8,−1/4,1/2]];
  // the upper triangle of the input is noise the kernel must not read
  const a = tf.tensor2d([3, 9, 9, 2, 4, 9, 0, 2, 4], [3, 3]);
  const out = tf.engine().runKernel(BlockCholeskyKernel, { p: a }, { shift: 1 }) as tf.Tensor;
  const got = await out.data();
  tf.dispose([a, out]);
  const expected = [0.5, 0, 0, -0.25, 0.5, 0, 0.125, -0.25, 0.5, 0, 0, 0];
  if (expected.every((v, i) => Math.abs(got[i]! - v) < 1e-6)) return undefined;
  tf.unregisterKernel(BlockCholeskyKernel, 'webgpu');
  return `the GPU's diagonal-block Cholesky kernel gave [${Array.from(got, (v) => v.toPrecision(3))}] on its check (expected [${expected}]): blocks are factored on the host`;
}
