/**
 * @regimes/core — what a plugin builds on: the contracts (`contracts/`), the registry and plugin
 * loading (`registry/`), the seeded RNG and its draws (`rng/`), the spec and its sweep and plan
 * (`spec/`), and the experiment engine that runs a plan into results rows (`engine/`). The
 * conformance suites are `@regimes/core/testing`. Numerics are `@regimes/numerics`; what only the
 * command line uses (summary, merge, schema) is in `@regimes/cli`. Its one side effect: tfjs-core's
 * gradients are registered (gradients.ts).
 */
import './gradients.js';
// Plugins build on these two; re-exported so a plugin depends on core alone for its contract.
export { ContainerModule } from '../deps/inversify.js';
export { z } from '../deps/zod.js';
export * from './contracts/chunks.js';
export * from './contracts/contracts.js';
export * from './contracts/define.js';
export * from './contracts/entries.js';
export * from './contracts/errors.js';
export * from './contracts/options.js';
export * from './engine/budget.js';
export { lockResults, type ResultsLock } from './engine/lock.js';
export { blasThreads } from './engine/pool.js';
export * from './engine/results.js';
export * from './engine/runner.js';
export * from './registry/backends.js';
export * from './registry/closest.js';
export * from './registry/plugins.js';
export * from './registry/registry.js';
export * from './rng/rng.js';
export * from './rng/sampling.js';
export * from './spec/plan.js';
export * from './spec/spec.js';
export * from './spec/sweep.js';
export * from './version.js';
