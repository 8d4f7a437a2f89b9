/** @regimes/learners — random features, and (later) the NTK and trained networks. */
import { ContainerModule, definePlugin, LearnerFactory, packageVersion } from '@regimes/core';
import { randomFeatures } from './rf.js';

export { type ActivationName, activationNames, activations } from './activations.js';
export { randomFeatures, randomFeaturesOptions } from './rf.js';

export const plugin = definePlugin({
  name: '@regimes/learners',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'learners: random features ridge',
  module: new ContainerModule(({ bind }) => {
    for (const factory of [randomFeatures]) bind(LearnerFactory).toConstantValue(factory);
  }),
});
export default plugin;
