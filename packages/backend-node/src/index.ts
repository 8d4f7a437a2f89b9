/** @regimes/backend-node — tfjs backends for Node as regimes plugins: wasm and cpu (native, tensorflow, cuda to come). */
import { BackendFactory, ContainerModule, definePlugin, packageVersion } from '@regimes/core';
import { cpu } from './cpu.js';
import { native } from './native.js';
import { tensorflowCpu, tensorflowCuda } from './tensorflow.js';
import { wasm } from './wasm.js';

export { cpu } from './cpu.js';
export { native } from './native.js';
export { tensorflowCpu, tensorflowCuda } from './tensorflow.js';
export { type Blas, INSTALL_BLAS, loadBlas } from './blas.js';
export { installCholesky } from './cholesky.js';
export {
  adviseWasmHeap,
  type HugePageMode,
  hugePageMode,
  hugePageStatus,
  hugePagesWanted,
} from './huge-pages.js';
export { installBlockCholesky } from './block-cholesky.js';
export { installReluDual } from './relu-dual.js';
export { installCorrelation } from './correlation.js';
export { installSymmetricEigen } from './symmetric-eigen.js';
export { patchWasmMatMul } from './transposed-matmul.js';
export { patchWasmSlice } from './wasm-slice.js';
export { wasm } from './wasm.js';

export const plugin = definePlugin({
  name: '@regimes/backend-node',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description:
    'tfjs backends for Node: cuda and tensorflow (optional installs), native (OpenBLAS or its own SGEMM), wasm, cpu',
  module: new ContainerModule(({ bind }) => {
    for (const factory of [tensorflowCuda, native, tensorflowCpu, wasm, cpu])
      bind(BackendFactory).toConstantValue(factory);
  }),
});
export default plugin;
