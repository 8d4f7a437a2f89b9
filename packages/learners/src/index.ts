/** @regimes/learners — random features, the neural tangent model, NTK and kernel ridge. */
import { ContainerModule, definePlugin, kindEntry, LearnerFactory, packageVersion } from '@regimes/core';
import { damian, damianOptions } from './kinds/damian.js';
import { deep, deepOptions } from './kinds/deep.js';
import { empiricalNeuralTangentKernel, empiricalNtkOptions } from './kinds/empirical-ntk.js';
import { kernelRidge, kernelRidgeOptions } from './kinds/kernel.js';
import { network, networkOptions } from './kinds/nn.js';
import { oneStep, oneStepOptions } from './kinds/one-step.js';
import { transfer, transferOptions } from './kinds/transfer.js';
import { neuralTangent, neuralTangentOptions } from './kinds/nt.js';
import { neuralTangentKernel, neuralTangentKernelOptions } from './kinds/ntk.js';
import { nngp, nngpOptions } from './kinds/nngp.js';
import { ntkDynamics, ntkDynamicsOptions } from './kinds/ntk-dynamics.js';
import { randomFeatures, randomFeaturesOptions } from './kinds/rf.js';

/** Typed learner entries for specs written in TypeScript: `learner.rf({ width: 512, ridge: 1e-3 })`. */
export const learner = {
  rf: kindEntry('rf', randomFeaturesOptions),
  nt: kindEntry('nt', neuralTangentOptions),
  ntk: kindEntry('ntk', neuralTangentKernelOptions),
  nngp: kindEntry('nngp', nngpOptions),
  ntkDynamics: kindEntry('ntk-dynamics', ntkDynamicsOptions),
  empiricalNtk: kindEntry('empirical-ntk', empiricalNtkOptions),
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
} from './activations/index.js';
export { damian, damianOptions } from './kinds/damian.js';
export { deep, deepOptions } from './kinds/deep.js';
export { deepForward, deepGradients } from './training/deep.js';
export { kernelRidge, kernelRidgeOptions } from './kinds/kernel.js';
export {
  type EigenDegree,
  eigenlearningRisk,
  eigenlearningTheory,
  harmonicMultiplicity,
  powersInGegenbauer,
  type SphereEnergies,
  sphereDegrees,
  sphereEigenvalues,
  sphereTargetEnergies,
} from './eigenlearning.js';
export { kernelStaircaseTheory, onsetExponents } from './kernel-staircase.js';
export {
  forward,
  gradients,
  initTwoLayer,
  type Parametrization,
  parametrizations,
  type PlainRates,
  plainStep,
  scales,
  type TwoLayer,
} from './training/two-layer.js';
export { network, networkOptions } from './kinds/nn.js';
export { trainTwoLayer } from './training/train-two-layer.js';
export { oneStep, oneStepOptions } from './kinds/one-step.js';
export { transfer, transferOptions } from './kinds/transfer.js';
export {
  deepDiagonal,
  deepKernel,
  deepKernelLessConstant,
  type DeepKernelSpec,
  deepTaylor,
  dotProductKernel,
  gaussianExpectations,
  type KernelFunction,
  type KernelPanelSource,
  kernelActivation,
  kernelTaylor,
  ntkActivations,
  ntkKernel,
  rbfKernel,
  scaledProducts,
} from './kernels.js';
export { neuralTangent, neuralTangentOptions } from './kinds/nt.js';
export { neuralTangentKernel, neuralTangentKernelOptions } from './kinds/ntk.js';
export { nngp, nngpOptions } from './kinds/nngp.js';
export { ntkDynamics, ntkDynamicsOptions } from './kinds/ntk-dynamics.js';
export { empiricalNeuralTangentKernel, empiricalNtkOptions } from './kinds/empirical-ntk.js';
export {
  disposeFullyConnected,
  empiricalNtk,
  type EmpiricalSpec,
  type FullyConnected,
  fullyConnectedForward,
  initFullyConnected,
} from './empirical-ntk.js';
export * as dynamics from './dynamics.js';
export { randomFeatures, randomFeaturesOptions } from './kinds/rf.js';
export { drawFirstLayer } from './readout/first-layer.js';
export { dualPredict, predictorFromFits } from './readout/predictors.js';
export { eigenBreakEven, eigenPays, hostDirectBytes } from './cost.js';
export { type RidgeOptions, ridgeOptions } from './readout/options.js';
export { disposeFit, fitRidge, type RidgeFit, selectionFloor } from './readout/ridge.js';
export { exceedsHeap, HEAP_SYSTEM_BYTES, setHeapSystemLimit } from './readout/host-direct.js';
export { blockedPredict } from './readout/iterative.js';
export {
  dualSystem,
  featureKernel,
  kernelPanels,
  HOST_PANEL_CACHE_FLOATS,
  PANEL_CACHE_FLOATS,
  panelCache,
  primalSystem,
  type RidgeSystem,
  withoutOffset,
} from './readout/systems.js';

export const learnerFactories = [
  randomFeatures,
  neuralTangent,
  neuralTangentKernel,
  nngp,
  ntkDynamics,
  empiricalNeuralTangentKernel,
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
    'learners: random features, neural tangent model, NTK, NNGP, kernel ridge, trained networks, one-step, Damian et al., transfer',
  module: new ContainerModule(({ bind }) => {
    for (const factory of learnerFactories) bind(LearnerFactory).toConstantValue(factory);
  }),
});
export default plugin;
