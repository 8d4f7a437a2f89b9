/** @regimes/backend-node — tfjs backends for Node as regimes plugins: cpu (wasm, native, tensorflow, cuda to come). */
import { BackendFactory, ContainerModule, definePlugin, packageVersion } from '@regimes/core';
import { cpu } from './cpu.js';

export { cpu } from './cpu.js';

export const plugin = definePlugin({
  name: '@regimes/backend-node',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'tfjs backends for Node: cpu',
  module: new ContainerModule(({ bind }) => {
    for (const factory of [cpu]) bind(BackendFactory).toConstantValue(factory);
  }),
});
export default plugin;
