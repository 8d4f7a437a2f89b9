/** `regimes validate`: check a spec against the schema and the registered kinds; run nothing. */
import { rowCount } from '@regimes/core';
import type { Command } from 'commander';
import { counted } from '../words.js';
import { planSpec, pluginOption, type PluginFlags, warnOnStderr } from './shared.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a spec against the schema and the registered kinds, without running it')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .addOption(pluginOption())
    .action(async (specPath: string, flags: PluginFlags) => {
      const { plan } = await planSpec(specPath, flags.plugin);
      plan.warnings.forEach(warnOnStderr);
      process.stdout.write(
        `${specPath}: valid; ${counted(plan.cells.length, 'cell')}, ${counted(rowCount(plan.cells), '(cell, learner) row')} (spec hash ${plan.specHash})\n`,
      );
    });
}
