/**
 * regimes-plugin-feedback-alignment: the learner kind `fa` as a regimes plugin. The entry exports
 * the manifest as `default`; regimes loads it from a spec's `plugins:` or from `--plugin`.
 */
import { ContainerModule, definePlugin, LearnerFactory, packageVersion } from '@regimes/core';
import { fa } from './fa.js';

export { fa, faOptions, fitFa, type FaOptions, type FaPredictor, type FaWeights } from './fa.js';

export const plugin = definePlugin({
  name: 'regimes-plugin-feedback-alignment',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'feedback alignment and direct feedback alignment (learner fa)',
  module: new ContainerModule(({ bind }) => {
    bind(LearnerFactory).toConstantValue(fa);
  }),
});
export default plugin;
