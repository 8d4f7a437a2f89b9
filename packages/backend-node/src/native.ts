/**
 * `native`: the wasm backend's kernels with matrix products (BatchMatMul) on all cores through a
 * small N-API addon (native/blas.c) that reads and writes the WebAssembly heap in place — on the
 * system's OpenBLAS where it is installed (then Cholesky, triangular solves and the symmetric eigen
 * solver run on its LAPACK too), else on regimes' own packed SGEMM (native/gemm.c: AVX2/FMA
 * micro-kernels where the CPU has them, NEON on arm64, threads over cores). The addon is built at install time
 * wherever a C compiler exists; where none was built, linux-x64 and linux-arm64 load the one
 * committed under prebuilt/ (the build without OpenBLAS; blas.ts); elsewhere the probe says what to
 * install, and choosing `native` is an error, never a fallback.
 */
import { defineBackendKind, options } from '@regimes/core';
import { loadBlas } from './blas.js';
import { installCholesky } from './cholesky.js';
import { installSymmetricEigen } from './symmetric-eigen.js';
import { patchWasmMatMul } from './transposed-matmul.js';
import { installBlockCholesky } from './block-cholesky.js';
import { installCorrelation } from './correlation.js';
import { installReluDual } from './relu-dual.js';
import { installMehlerSeries } from './mehler-series.js';
import { patchWasmReduce } from './wasm-reduce.js';
import { initWasm, loadWasm } from './wasm.js';
import { WASM_HEAP_BYTES } from './heap.js';
import { patchWasmSlice } from './wasm-slice.js';
import { adviseWasmHeap, hugePageStatus, hugePagesWanted } from './huge-pages.js';

export const native = defineBackendKind({
  kind: 'native',
  description:
    'wasm kernels with matrix products on all cores (N-API addon built at install where a C compiler exists, else prebuilt on linux-x64 and -arm64): system OpenBLAS with LAPACK when installed, else its own SGEMM (AVX2/FMA or NEON)',
  priority: 20,
  options: options({}),
  create() {
    return {
      name: 'wasm',
      heapBytes: WASM_HEAP_BYTES,
      async probe() {
        const { blas, reason, replacedCore, source, fallback } = loadBlas();
        if (!blas) return { available: false, reason: reason! };
        loadWasm();
        const retuned = replacedCore ? ` (OpenBLAS chose ${replacedCore}, which this CPU outgrows)` : '';
        const origin =
          source === 'prebuilt'
            ? `, the prebuilt ${process.platform}-${process.arch} addon${fallback ? ` (${fallback})` : ''}`
            : source === 'REGIMES_NATIVE_ADDON'
              ? `, addon ${process.env.REGIMES_NATIVE_ADDON}`
              : '';
        return {
          available: true,
          device: `host CPU, ${blas.config().trim()}${retuned}, ${blas.threads()} threads${origin}; ${hugePageStatus(blas)}`,
          version: '0.1.0',
        };
      },
      async activate() {
        const { blas, reason } = loadBlas();
        if (!blas) throw new Error(reason);
        hugePagesWanted(); // a bad REGIMES_HUGE_PAGES stops here, before anything loads
        await initWasm();
        adviseWasmHeap(blas);
        patchWasmSlice();
        patchWasmReduce();
        patchWasmMatMul(blas);
        installSymmetricEigen(blas);
        installCholesky(blas);
        installReluDual(blas);
        installCorrelation(blas);
        installMehlerSeries(blas);
        installBlockCholesky(blas);
      },
    };
  },
});
