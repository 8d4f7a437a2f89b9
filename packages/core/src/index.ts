/**
 * @regimes/core — contracts, the container and plugin loading, the seeded RNG, the runner
 * and results. Its one side effect: tfjs-core's gradients are registered (gradients.ts).
 */
import './gradients.js';
// Plugins build on these two; re-exported so a plugin depends on core alone.
export { ContainerModule } from 'inversify';
export { z } from 'zod';
export * from './backends.js';
export * from './blocked.js';
export * from './closest.js';
export * from './contracts.js';
export * from './define.js';
export * from './eigen.js';
export * from './entries.js';
export * from './errors.js';
export * from './expression.js';
export * from './linalg.js';
export * from './merge.js';
export * from './options.js';
export * from './plan.js';
export * from './plugins.js';
export * from './registry.js';
export * from './results.js';
export * from './rng.js';
export * from './schema.js';
export * from './runner.js';
export * from './spec.js';
export * from './special.js';
export * from './summary.js';
export * from './sweep.js';
export * from './tensors.js';
export * from './version.js';
