/** @regimes/metrics — what is measured on a fitted predictor. */
import { ContainerModule, definePlugin, MetricFactory, packageVersion } from '@regimes/core';
import { risk } from './risk.js';

export { risk } from './risk.js';

export const plugin = definePlugin({
  name: '@regimes/metrics',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'metrics: test risk',
  module: new ContainerModule(({ bind }) => {
    for (const factory of [risk]) bind(MetricFactory).toConstantValue(factory);
  }),
});
export default plugin;
