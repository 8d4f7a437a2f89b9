/** `regimes list`: the registered kinds with their options. */
import { type ExtensionPoint, RegimesError } from '@regimes/core';
import type { Command } from 'commander';
import { listKinds, pointNames } from '../kinds/describe.js';
import { registryWith } from '../kinds/registry.js';
import { pluginOption, type PluginFlags } from './shared.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('print the registered kinds with their options')
    .argument('[what]', 'targets | learners | metrics | backends (default: all)')
    .addOption(pluginOption())
    .action(async (what: string | undefined, flags: PluginFlags) => {
      const registry = await registryWith(flags.plugin);
      process.stdout.write(listKinds(registry, listedPoints(what)));
    });
}

/** The extension points `regimes list [what]` prints: all, or the one named (singular or plural). */
function listedPoints(what: string | undefined): ExtensionPoint[] {
  if (what === undefined) return ['target', 'learner', 'metric', 'backend'];
  const point = pointNames[what] ?? pointNames[`${what}s`];
  if (!point)
    throw new RegimesError(`unknown list '${what}'; use one of: ${Object.keys(pointNames).join(', ')}`);
  return [point];
}
