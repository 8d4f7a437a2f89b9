/** @regimes/targets — target distributions with exactly known structure. */
import { ContainerModule, definePlugin, packageVersion, TargetFactory } from '@regimes/core';
import { hermite } from './hermite.js';

export { hermite, hermiteOptions, normalizedHermite } from './hermite.js';

export const plugin = definePlugin({
  name: '@regimes/targets',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'target distributions with exactly known structure',
  module: new ContainerModule(({ bind }) => {
    for (const factory of [hermite]) bind(TargetFactory).toConstantValue(factory);
  }),
});
export default plugin;
