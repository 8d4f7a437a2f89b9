/**
 * @regimes/cli — the `regimes` command, and the programmatic API with the default plugins:
 *
 *   import { runExperiment } from '@regimes/cli';
 *   const { rows } = await runExperiment({ target: { kind: 'hermite', d: 16 }, learners: [{ kind: 'rf' }],
 *                                          sweep: { n: [256, 1024], seed: [0, 1] } });
 */
import {
  type ExperimentInput,
  type ExperimentResult,
  type RunOptions,
  runExperiment as runWith,
  type Spec,
} from '@regimes/core';
import { createRegistry, registryModulePath } from './defaults.js';

export type { ExperimentInput, ExperimentResult, RunOptions } from '@regimes/core';
export { createRegistry, defaultPlugins } from './defaults.js';
export { main } from './main.js';
/** Ticks of a log axis (1-2-5 per decade, or sparser or denser as the range asks), for figures of your own. */
export { logTicks } from './plot/vega-lite.js';
export {
  type NewPluginOptions,
  pluginKinds,
  type PluginKind,
  writePluginPackage,
} from './commands/plugin.js';

/**
 * runExperiment from core, with the default plugins unless a registry is given (worker processes
 * of `jobs > 1` rebuild the default registry; with your own registry, pass `workers` too).
 */
export function runExperiment(
  spec: ExperimentInput | Spec,
  options: Partial<RunOptions> = {},
): Promise<ExperimentResult> {
  return runWith(spec, {
    ...options,
    registry: options.registry ?? createRegistry(),
    ...(options.registry || options.workers ? {} : { workers: { registryModule: registryModulePath() } }),
  });
}
