/** @regimes/learners — random features, the neural tangent model, NTK and kernel ridge. */
import { ContainerModule, definePlugin, kindEntry, LearnerFactory, packageVersion } from '@regimes/core';
import { damian, damianOptions } from './damian.js';
import { deep, deepOptions } from './deep.js';
import { kernelRidge, kernelRidgeOptions } from './kernel.js';
import { network, networkOptions } from './nn.js';
import { oneStep, oneStepOptions } from './one-step.js';
import { transfer, transferOptions } from './transfer.js';
import { neuralTangent, neuralTangentOptions } from './nt.js';
import { neuralTangentKernel, neuralTangentKernelOptions } from './ntk.js';
import { randomFeatures, randomFeaturesOptions } from './rf.js';

/** Typed learner entries for specs written in TypeScript: `learner.rf({ width: 512, ridge: 1e-3 })`. */
export const learner = {
  rf: kindEntry('rf', randomFeaturesOptions),
  nt: kindEntry('nt', neuralTangentOptions),
  ntk: kindEntry('ntk', neuralTangentKernelOptions),
  kernel: kindEntry('kernel', kernelRidgeOptions),
  nn: kindEntry('nn', networkOptions),
  damian: kindEntry('damian', damianOptions),
  oneStep: kindEntry('one-step', oneStepOptions),
  deep: kindEntry('deep', deepOptions),
  transfer: kindEntry('transfer', transferOptions),
};

export {
  type Activation,
  type ActivationSpec,
  activation,
  activationNames,
  activationOption,
} from './activations.js';
export { damian, damianOptions } from './damian.js';
export { deep, deepForward, deepGradients, deepOptions } from './deep.js';
export { kernelRidge, kernelRidgeOptions } from './kernel.js';
export {
  forward,
  gradients,
  initTwoLayer,
  type Parametrization,
  parametrizations,
  scales,
  type TwoLayer,
} from './network.js';
export { network, networkOptions, trainTwoLayer } from './nn.js';
export { oneStep, oneStepOptions } from './one-step.js';
export { transfer, transferOptions } from './transfer.js';
export {
  dotProductKernel,
  dualPredict,
  gaussianExpectations,
  type KernelFunction,
  kernelPanels,
  ntkKernel,
  rbfKernel,
  scaledProducts,
} from './kernels.js';
export { neuralTangent, neuralTangentOptions } from './nt.js';
export { neuralTangentKernel, neuralTangentKernelOptions } from './ntk.js';
export { drawFirstLayer, predictorFromFits, randomFeatures, randomFeaturesOptions } from './rf.js';
export {
  eigenBreakEven,
  eigenPays,
  fitRidge,
  type RidgeFit,
  type RidgeOptions,
  type RidgeSystem,
  ridgeOptions,
} from './ridge.js';
export { dualSystem, primalSystem } from './systems.js';

export const learnerFactories = [
  randomFeatures,
  neuralTangent,
  neuralTangentKernel,
  kernelRidge,
  network,
  damian,
  oneStep,
  deep,
  transfer,
];

export const plugin = definePlugin({
  name: '@regimes/learners',
  version: packageVersion(import.meta.url),
  core: '^0.1.0',
  description:
    'learners: random features, neural tangent model, NTK, kernel ridge, trained networks, one-step, Damian et al., transfer',
  module: new ContainerModule(({ bind }) => {
    for (const factory of learnerFactories) bind(LearnerFactory).toConstantValue(factory);
  }),
});
export default plugin;
