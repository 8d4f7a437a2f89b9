/**
 * `native`: the wasm backend's kernels with matrix products (BatchMatMul) on the system's
 * OpenBLAS through a small N-API addon (native/blas.c) that reads and writes the WebAssembly heap
 * in place. OpenBLAS uses every core for one product — the work of kernel ridge and of training —
 * while the rest stays on wasm's SIMD kernels. The addon is built at install time when OpenBLAS is
 * present; without it the probe says what to install, and choosing `native` is an error, never a
 * fallback.
 */
import { defineBackendKind, options } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { loadBlas } from './blas.js';
import { installSymmetricEigen } from './symmetric-eigen.js';
import { patchWasmMatMul } from './transposed-matmul.js';

export const native = defineBackendKind({
  kind: 'native',
  description:
    'wasm kernels with matrix products on the system OpenBLAS (N-API addon, all cores); built when OpenBLAS is installed',
  priority: 20,
  options: options({}),
  create() {
    return {
      name: 'wasm',
      async probe() {
        const { blas, reason } = loadBlas();
        if (!blas) return { available: false, reason: reason! };
        await import('@tensorflow/tfjs-backend-wasm');
        return {
          available: true,
          device: `host CPU, ${blas.config().trim()}, ${blas.threads()} threads`,
          version: '0.1.0',
        };
      },
      async activate() {
        const { blas, reason } = loadBlas();
        if (!blas) throw new Error(reason);
        await import('@tensorflow/tfjs-backend-wasm');
        tf.env().set('PROD', true);
        if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not initialise the wasm backend');
        await tf.ready();
        patchWasmMatMul(blas);
        installSymmetricEigen(blas);
      },
    };
  },
});
