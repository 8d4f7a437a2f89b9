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
import { installReluDual } from './relu-dual.js';
import { patchWasmReduce } from './wasm-reduce.js';
import { patchWasmSlice } from './wasm-slice.js';

/**
 * Load tfjs-backend-wasm (it registers the backend with tfjs-core) and return its version. With
 * require, as @regimes/numerics/tfjs loads tfjs-core: an `import` of this CommonJS bundle (0.45 MB)
 * would first scan it for export names and compile it once more to detect its format (~0.05 s).
 */
export function loadWasm(): string {
  const wasm = createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm') as typeof TfjsWasm;
  return wasm.version_wasm;
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
        loadWasm();
        tf.env().set('PROD', true);
        if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not initialise the wasm backend');
        await tf.ready();
        patchWasmSlice();
        patchWasmReduce();
        patchWasmMatMul();
        installSymmetricEigen();
        installCholesky();
        installReluDual();
      },
    };
  },
});
