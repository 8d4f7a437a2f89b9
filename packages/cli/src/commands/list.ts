/** `regimes list`: the registered kinds with their options. */
import { type ExtensionPoint, extensionPointNames, RegimesError } from '@regimes/core';
import type { Command } from 'commander';
import type * as Describe from '../kinds/describe.js';
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
      const describe = await import('../kinds/describe.js');
      process.stdout.write(describe.listKinds(registry, listedPoints(what, describe.pointNames)));
    });
}

/** The extension points `regimes list [what]` prints: all, or the one named (singular or plural). */
function listedPoints(what: string | undefined, pointNames: typeof Describe.pointNames): ExtensionPoint[] {
  if (what === undefined) return [...extensionPointNames];
  const point = pointNames[what] ?? pointNames[`${what}s`];
  if (!point)
    throw new RegimesError(`unknown list '${what}'; use one of: ${Object.keys(pointNames).join(', ')}`);
  return [point];
}
