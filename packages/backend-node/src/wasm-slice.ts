/**
 * The wasm backend's Slice read its whole input through `readSync`, which copies the tensor out of
 * the heap: every panel of a kernel or Gram matrix (`tf.slice(gram, …)`) cost a copy of the whole
 * matrix (64 MB at 4096²), seconds over a ridge fit. Replaced, once, by a kernel that copies the
 * slice's rows from a heap view; string tensors keep the original.
 */
import tf from '@regimes/numerics/tfjs';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

const marker = Symbol.for('regimes.wasmSlice');

export function patchWasmSlice(): void {
  const original = tf.getKernel('Slice', 'wasm');
  if (!original || (original as unknown as Record<symbol, boolean>)[marker]) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype === 'string') return original.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [start, extent] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo, begin, size) as [
      number[],
      number[],
    ];
    const be = args.backend as unknown as WasmBackendLike;
    const out = be.makeOutput(extent, x.dtype);
    // views taken after makeOutput: a growing heap would detach earlier ones
    const from = be.typedArrayFromHeap(x);
    const to = be.typedArrayFromHeap(out);
    const rank = x.shape.length;
    if (rank === 0 || to.length === 0) {
      if (to.length) to[0] = from[0]!;
      return out;
    }
    const strides = tf.util.computeStrides(x.shape);
    const run = extent[rank - 1]!;
    const rows = to.length / run;
    const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
    // rows move within one view of the whole heap (copyWithin, the bits as they are): a subarray
    // per row cost an object per row, 1024 of them for a column of a 1024-row matrix
    const heap = new (from.constructor as Float32ArrayConstructor)(from.buffer);
    const source = from.byteOffset / from.BYTES_PER_ELEMENT;
    const target = to.byteOffset / to.BYTES_PER_ELEMENT;
    for (let r = 0; r < rows; r++) {
      let offset = source + start[rank - 1]!;
      for (let d = 0; d < rank - 1; d++) offset += (start[d]! + index[d]!) * strides[d]!;
      heap.copyWithin(target + r * run, offset, offset + run);
      for (let d = rank - 2; d >= 0; d--) {
        if (++index[d]! < extent[d]!) break;
        index[d] = 0;
      }
    }
    return out;
  };
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ ...original, kernelFunc, [marker]: true } as tf.KernelConfig);
}
