import { expectNoLeak } from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { bindWasmKernels, EMSCRIPTEN_CWRAP, type EmscriptenModule } from '../src/wasm-calls.js';
import { wasm } from '../src/wasm.js';

/**
 * Kernels whose wasm calls pass arrays (shapes, permutations, multiples) or types Emscripten's
 * cwrap sends through ccall ('bool' in TopK, 'number, number, number' in Mean / All / Any), on
 * float32, int32 and bool: each result with its dtype and bits.
 */
function ops(): { dtype: string; shape: number[]; bytes: Uint8Array }[] {
  const results = tf.tidy(() => {
    const a = tf.tensor3d(
      Float32Array.from({ length: 12 }, (_, i) => Math.sin(1 + i)),
      [3, 1, 4],
    );
    const b = tf.tensor3d(
      Float32Array.from({ length: 5 }, (_, i) => Math.cos(2 + i) + 1.5),
      [1, 5, 1],
    );
    const k = tf.tensor2d(
      Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 5),
      [3, 4],
      'int32',
    );
    return [
      tf.add(a, b),
      tf.sub(a, b),
      tf.mul(a, b),
      tf.div(a, b),
      tf.maximum(a, b),
      tf.squaredDifference(a, b),
      tf.less(a, b),
      tf.logicalAnd(tf.less(a, b), tf.greater(b, 1.2)),
      tf.add(k, tf.tensor1d([1, 2, 3, 4], 'int32')),
      tf.transpose(tf.add(a, b), [2, 0, 1]),
      tf.tile(k, [2, 3]),
      tf.pad(k, [
        [1, 0],
        [0, 2],
      ]),
      tf.reverse(k, [1]),
      tf.stridedSlice(tf.add(a, b), [0, 1, 0], [3, 5, 4], [2, 2, 3]),
      tf.gather(k, tf.tensor1d([2, 0, 2], 'int32'), 0),
      tf.topk(tf.reshape(tf.add(a, b), [15, 4]), 2).values,
      tf.mean(tf.add(a, b), 1),
      tf.all(tf.less(a, b), 2),
      tf.any(tf.less(a, b), 2),
      tf.matMul(tf.reshape(tf.add(a, b), [15, 4]), tf.reshape(a, [3, 4]), false, true),
    ];
  });
  const out = results.map((t) => ({
    dtype: t.dtype,
    shape: t.shape,
    bytes: new Uint8Array((t.dataSync() as Float32Array | Int32Array | Uint8Array).slice().buffer),
  }));
  tf.dispose(results);
  return out;
}

function module(): EmscriptenModule {
  return (tf.findBackend('wasm') as unknown as { wasm: EmscriptenModule }).wasm;
}

/** Bind every wasm kernel again through this cwrap (their set-up functions bind exports only). */
function rebind(cwrap: EmscriptenModule['cwrap']): void {
  module().cwrap = cwrap;
  bindWasmKernels();
}

describe("wasm kernels' calls into WebAssembly (wasm-calls.ts)", () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('give the bits of Emscripten’s ccall path, agree with cpu, restore the wasm stack and leak nothing', async () => {
    await tf.setBackend('cpu');
    const reference = ops();
    await wasm.create({}).activate();
    const m = module();
    const emscripten = m[EMSCRIPTEN_CWRAP];
    expect(emscripten, 'activation patches the module once').toBeTypeOf('function');
    const fast = m.cwrap;
    expect(fast).not.toBe(emscripten);

    const stack = m.stackSave();
    let patched: ReturnType<typeof ops> = [];
    await expectNoLeak(async () => {
      patched = ops();
    });
    expect(m.stackSave(), 'every call restores the stack pointer').toBe(stack);

    rebind(emscripten!);
    let original: ReturnType<typeof ops>;
    try {
      original = ops();
    } finally {
      rebind(fast);
    }
    expect(patched.map((r) => [r.dtype, r.shape])).toEqual(original.map((r) => [r.dtype, r.shape]));
    patched.forEach((r, i) =>
      expect(Buffer.from(r.bytes).equals(Buffer.from(original[i]!.bytes)), `op ${i}`).toBe(true),
    );

    // independent of both: the cpu backend (float32, so to a few ulps)
    expect(patched.map((r) => [r.dtype, r.shape])).toEqual(reference.map((r) => [r.dtype, r.shape]));
    patched.forEach((r, i) => {
      const view = (x: typeof r) =>
        x.dtype === 'float32'
          ? Array.from(new Float32Array(x.bytes.buffer))
          : x.dtype === 'int32'
            ? Array.from(new Int32Array(x.bytes.buffer))
            : Array.from(x.bytes);
      const want = view(reference[i]!);
      view(r).forEach((v, j) => expect(v, `op ${i}, entry ${j}`).toBeCloseTo(want[j]!, 5));
    });

    // a second activation leaves the module as it is
    await wasm.create({}).activate();
    expect(module().cwrap).toBe(fast);
  });
});
