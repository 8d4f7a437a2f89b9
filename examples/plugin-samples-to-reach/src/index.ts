/** regimes-plugin-samples-to-reach: the metric `risk-reached` as a regimes plugin, and samplesToReach for a sweep's rows. */
import { ContainerModule, definePlugin, MetricFactory, packageVersion } from '@regimes/core';
import { riskReached } from './samples-to-reach.js';

export { riskReached, samplesToReach, type SamplesToReach } from './samples-to-reach.js';

export const plugin = definePlugin({
  name: 'regimes-plugin-samples-to-reach',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'risk-reached (per fit) and samplesToReach (across a sweep)',
  module: new ContainerModule(({ bind }) => {
    bind(MetricFactory).toConstantValue(riskReached);
  }),
});
export default plugin;
