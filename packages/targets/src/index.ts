/** @regimes/targets — target distributions with exactly known structure. */
import { ContainerModule, definePlugin, kindEntry, packageVersion, TargetFactory } from '@regimes/core';
import { hermite, hermiteOptions, transfer, transferOptions } from './hermite.js';
import { hierarchical, hierarchicalOptions } from './hierarchical.js';
import { mixture, mixtureOptions } from './mixture.js';
import { quadratic, quadraticOptions } from './quadratic.js';

/** Typed target entries for specs written in TypeScript: `target.hermite({ d: 16, degree: 2 })`. */
export const target = {
  hermite: kindEntry('hermite', hermiteOptions),
  quadratic: kindEntry('quadratic', quadraticOptions),
  mixture: kindEntry('mixture', mixtureOptions),
  hierarchical: kindEntry('hierarchical', hierarchicalOptions),
  transfer: kindEntry('transfer', transferOptions),
};

export {
  evaluateHermiteTerms,
  gaussHermite,
  hermiteColumns,
  hermiteEnergies,
  normalizedHermite,
  projectOnHermite,
} from './hermite-basis.js';
export {
  checkLink,
  checkSubspace,
  hermite,
  hermiteOptions,
  hermitePresets,
  linkShape,
  multiIndexTarget,
  presetTerms,
  subspaceOf,
  transfer,
  transferOptions,
} from './hermite.js';
export { hierarchical, hierarchicalOptions } from './hierarchical.js';
export { energyAbove, staircaseLevel, staircasePoints, staircaseTheory, varianceOf } from './staircase.js';
export { mixture, mixtureBayes, mixtureOptions } from './mixture.js';
export { quadratic, quadraticForm, quadraticOptions, quadraticSpectra } from './quadratic.js';
export { degreeOf, type HermiteTerm, hermiteExpansion, Polynomial, polynomialOf } from './polynomial.js';

export const targetFactories = [hermite, quadratic, mixture, hierarchical, transfer];

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
