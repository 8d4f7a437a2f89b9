/**
 * `wasm`: @tensorflow/tfjs-backend-wasm — XNNPACK kernels in WebAssembly with SIMD. Under Node
 * it runs single-threaded (tfjs disables its threads there), so a sweep uses more cores by
 * running cells in separate processes. Its transposed matMul is replaced (transposed-matmul.ts).
 */
import { createRequire } from 'node:module';
import { defineBackendKind, options } from '@regimes/core';
import type * as TfjsWasm from '@tensorflow/tfjs-backend-wasm';
import tf from '@regimes/numerics/tfjs';
import { installCholesky } from './cholesky.js';
import { installSymmetricEigen } from './symmetric-eigen.js';
import { patchWasmMatMul } from './transposed-matmul.js';
import { installBlockCholesky } from './block-cholesky.js';
import { installCorrelation } from './correlation.js';
import { installReluDual } from './relu-dual.js';
import { installMehlerSeries } from './mehler-series.js';
import { patchWasmReduce } from './wasm-reduce.js';
import { patchWasmSlice } from './wasm-slice.js';
import { patchWasmCalls } from './wasm-calls.js';
import { WASM_HEAP_BYTES } from './heap.js';

/**
 * Load tfjs-backend-wasm (it registers the backend with tfjs-core) and return its version. With
 * require, as @regimes/numerics/tfjs loads tfjs-core: an `import` of this CommonJS bundle (0.45 MB)
 * would first scan it for export names and compile it once more to detect its format (~0.05 s).
 */
export function loadWasm(): string {
  const wasm = createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm') as typeof TfjsWasm;
  return wasm.version_wasm;
}

/**
 * Make tfjs-backend-wasm the active backend. Its Emscripten module, when it starts under Node, adds
 * process listeners that rethrow every uncaught exception and unhandled rejection: a plugin's stray
 * rejection then ended the process (exit 7, a raw stack) before core's guard (engine/supervise.ts)
 * could make it that fit's error row. The listeners it adds are removed again. Its kernels' calls
 * into WebAssembly are then rebound without Emscripten's per-call allocations (wasm-calls.ts).
 */
export async function initWasm(): Promise<void> {
  loadWasm();
  tf.env().set('PROD', true);
  const uncaught = new Set(process.listeners('uncaughtException'));
  const rejections = new Set(process.listeners('unhandledRejection'));
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not initialise the wasm backend');
    await tf.ready();
    patchWasmCalls();
  } finally {
    for (const listener of process.listeners('uncaughtException'))
      if (!uncaught.has(listener)) process.removeListener('uncaughtException', listener);
    for (const listener of process.listeners('unhandledRejection'))
      if (!rejections.has(listener)) process.removeListener('unhandledRejection', listener);
  }
}

export const wasm = defineBackendKind({
  kind: 'wasm',
  description:
    'WebAssembly SIMD kernels (@tensorflow/tfjs-backend-wasm), one thread under Node; ~40× the cpu backend on matMul',
  priority: 10,
  options: options({}),
  create() {
    return {
      name: 'wasm',
      heapBytes: WASM_HEAP_BYTES,
      async probe() {
        try {
          const version = loadWasm();
          return {
            available: tf.findBackendFactory('wasm') != null,
            version,
            device: 'host CPU, WebAssembly SIMD, 1 thread',
          };
        } catch (error) {
          return {
            available: false,
            reason: `@tensorflow/tfjs-backend-wasm did not load (${(error as Error).message}); reinstall with npm ci`,
          };
        }
      },
      async activate() {
        await initWasm();
        patchWasmSlice();
        patchWasmReduce();
        patchWasmMatMul();
        installSymmetricEigen();
        installCholesky();
        installReluDual();
        installCorrelation();
        installMehlerSeries();
        installBlockCholesky();
      },
    };
  },
});
