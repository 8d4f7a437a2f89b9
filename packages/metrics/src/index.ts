/** @regimes/metrics — what is measured on a fitted predictor. */
import { ContainerModule, definePlugin, MetricFactory, packageVersion } from '@regimes/core';
import { alignment } from './alignment.js';
import { classificationError } from './error.js';
import { hermiteSpectrum } from './hermite-spectrum.js';
import { excessRisk, normalizedRisk, risk } from './risks.js';

export { alignment } from './alignment.js';
export { classificationError } from './error.js';
export { hermiteSpectrum } from './hermite-spectrum.js';
export { excessRisk, normalizedRisk, risk } from './risks.js';
export { targetVariance } from './variance.js';

export const metricFactories = [
  risk,
  normalizedRisk,
  excessRisk,
  classificationError,
  alignment,
  hermiteSpectrum,
];

export const plugin = definePlugin({
  name: '@regimes/metrics',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description: 'metrics: risks, classification error, alignment, Hermite spectrum',
  module: new ContainerModule(({ bind }) => {
    for (const factory of metricFactories) bind(MetricFactory).toConstantValue(factory);
  }),
});
export default plugin;
