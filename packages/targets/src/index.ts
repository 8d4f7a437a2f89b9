/** @regimes/targets — target distributions with exactly known structure. */
import { ContainerModule, definePlugin, packageVersion, TargetFactory } from '@regimes/core';
import { hermite } from './hermite.js';

export {
  evaluateHermiteTerms,
  gaussHermite,
  hermiteColumns,
  hermiteEnergies,
  multiIndices,
  normalizedHermite,
  projectOnHermite,
} from './hermite-basis.js';
export {
  hermite,
  hermiteOptions,
  hermitePresets,
  multiIndexTarget,
  presetTerms,
  subspaceOf,
} from './hermite.js';
export { degreeOf, type HermiteTerm, hermiteExpansion, Polynomial, polynomialOf } from './polynomial.js';
export { noisySample } from './sampling.js';

export const targetFactories = [hermite];

export const plugin = definePlugin({
  name: '@regimes/targets',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'target distributions with exactly known structure',
  module: new ContainerModule(({ bind }) => {
    for (const factory of targetFactories) bind(TargetFactory).toConstantValue(factory);
  }),
});
export default plugin;
