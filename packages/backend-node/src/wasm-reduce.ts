/**
 * The wasm backend's Sum and Mean over leading axes (a column sum of an n×m matrix: the gradient of
 * a bias, the mean of features) transposed the whole input first, and its transpose is slow: 45–250
 * ms for a 4096×1024 float32 matrix where a product with a row of ones takes 2 ms. Replaced, once,
 * by kernels that add the rows of a heap view into a float64 accumulator (one pass, eight rows at a
 * time, then rounded once: at least as accurate as the float32 tree it replaces). Other axes, and int32 or
 * bool inputs, keep the original kernels.
 */
import tf from '@regimes/numerics/tfjs';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

const marker = Symbol.for('regimes.wasmReduce');

/** The number of leading axes `axis` names, when it names exactly the first few (else undefined). */
function leadingAxes(axis: number | number[], rank: number): number | undefined {
  const axes = [
    ...new Set(
      tf.util.parseAxisParam(
        axis,
        Array.from({ length: rank }, () => 1),
      ),
    ),
  ].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length === rank) return undefined;
  return axes.every((a, i) => a === i) ? axes.length : undefined;
}

/**
 * The column sums of a rows×width row-major block, in float64. Eight rows a pass: their eight values
 * are added in float64 (exact for float32 inputs of nearby magnitudes) and the accumulator takes one
 * load and one store per eight elements, not per element. One row a pass had each element wait on
 * the previous row's store to the same accumulator: 2.2 ns an element for 512×128 (the bias gradient
 * of a 128-neuron layer on 512 samples), 0.64 ns with eight (Node 20, one core of the bench's VM).
 */
export function columnSums(from: Float32Array, rows: number, width: number): Float64Array {
  const sum = new Float64Array(width);
  const w = width;
  let r = 0;
  for (; r + 8 <= rows; r += 8) {
    const offset = r * w;
    for (let j = 0; j < w; j++) {
      const k = offset + j;
      sum[j]! +=
        from[k]! +
        from[k + w]! +
        (from[k + 2 * w]! + from[k + 3 * w]!) +
        (from[k + 4 * w]! + from[k + 5 * w]! + (from[k + 6 * w]! + from[k + 7 * w]!));
    }
  }
  for (; r < rows; r++) {
    const offset = r * w;
    for (let j = 0; j < w; j++) sum[j]! += from[offset + j]!;
  }
  return sum;
}

export function patchWasmReduce(): void {
  for (const kernelName of ['Sum', 'Mean'] as const) {
    const original = tf.getKernel(kernelName, 'wasm');
    if (!original || (original as unknown as Record<symbol, boolean>)[marker]) continue;
    const kernelFunc: tf.KernelFunc = (args) => {
      const { x } = args.inputs as unknown as { x: TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const leading = x.dtype === 'float32' ? leadingAxes(axis, x.shape.length) : undefined;
      if (leading === undefined) return original.kernelFunc(args);
      const rows = x.shape.slice(0, leading).reduce((p, q) => p * q, 1);
      const kept = x.shape.slice(leading);
      const width = kept.reduce((p, q) => p * q, 1);
      const be = args.backend as unknown as WasmBackendLike;
      const out = be.makeOutput(
        keepDims ? [...x.shape.slice(0, leading).map(() => 1), ...kept] : kept,
        'float32',
      );
      // views taken after makeOutput: a growing heap would detach earlier ones
      const from = be.typedArrayFromHeap(x);
      const to = be.typedArrayFromHeap(out);
      const sum = columnSums(from, rows, width);
      const scale = kernelName === 'Mean' ? 1 / rows : 1;
      for (let j = 0; j < width; j++) to[j] = sum[j]! * scale;
      return out;
    };
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...original, kernelFunc, [marker]: true } as tf.KernelConfig);
  }
}
