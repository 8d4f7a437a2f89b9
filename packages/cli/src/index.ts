/**
 * @regimes/cli — the `regimes` command, and the programmatic API with the default plugins:
 *
 *   import { runExperiment } from '@regimes/cli';
 *   const { rows } = await runExperiment({ target: { kind: 'hermite', d: 16 }, learners: [{ kind: 'rf' }],
 *                                          sweep: { n: [256, 1024], seed: [0, 1] } });
 */
import { dirname, resolve } from 'node:path';
import {
  type ExperimentInput,
  type ExperimentResult,
  parseSpec,
  registerInlineKinds,
  type RunOptions,
  runExperiment as runWith,
  type Spec,
} from '@regimes/core';
import { refuseOtherSpecs, writeSpecCopy } from './results/spec-copy.js';
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
 * of `jobs > 1` rebuild the default registry; with your own registry, pass `workers` too). With
 * `out`, the folder gets what `regimes run` gives it: the spec beside the results (spec.json, for
 * report and merge), and the refusal of a folder whose other results files are another spec's.
 */
export function runExperiment(
  spec: ExperimentInput | Spec,
  options: Partial<RunOptions> = {},
): Promise<ExperimentResult> {
  const registry = options.registry ?? createRegistry();
  const { out } = options;
  let copy: Partial<RunOptions> = {};
  if (out) {
    const parsed = parseSpec(registerInlineKinds(spec, registry), options.source);
    const outDir = dirname(resolve(out));
    copy = {
      beforeWriting: (hashes) => {
        refuseOtherSpecs(outDir, resolve(out), hashes, registry, parsed.plugins);
        options.beforeWriting?.(hashes);
      },
      onStart: (total, resumed) => {
        writeSpecCopy(outDir, parsed, options.baseDir ?? process.cwd());
        options.onStart?.(total, resumed);
      },
    };
  }
  return runWith(spec, {
    ...options,
    ...copy,
    registry,
    ...(options.registry || options.workers ? {} : { workers: { registryModule: registryModulePath() } }),
  });
}
