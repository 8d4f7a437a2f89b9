/** @regimes/backend-webgpu — the tfjs webgpu backend as a regimes plugin. */
import { BackendFactory, ContainerModule, definePlugin, packageVersion } from '@regimes/core';
import { webgpu } from './webgpu.js';

export { webgpu } from './webgpu.js';
export {
  DIAGONAL_BLOCK_PROGRAMS,
  diagonalBlockProgram,
  installBlockCholesky,
  type DiagonalBlockProgram,
} from './block-cholesky.js';

export const plugin = definePlugin({
  name: '@regimes/backend-webgpu',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'the tfjs webgpu backend (browsers; Node through Dawn)',
  module: new ContainerModule(({ bind }) => {
    bind(BackendFactory).toConstantValue(webgpu);
  }),
});
export default plugin;
