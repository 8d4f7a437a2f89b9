/** regimes-plugin-sparse-parity: the target kind `sparse-parity` as a regimes plugin. */
import { ContainerModule, definePlugin, packageVersion, TargetFactory } from '@regimes/core';
import { sparseParity } from './sparse-parity.js';

export { drawSupport, sparseParity, sparseParityOptions } from './sparse-parity.js';

export const plugin = definePlugin({
  name: 'regimes-plugin-sparse-parity',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'sparse parities on the hypercube (target sparse-parity)',
  module: new ContainerModule(({ bind }) => {
    bind(TargetFactory).toConstantValue(sparseParity);
  }),
});
export default plugin;
