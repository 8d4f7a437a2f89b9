/** `regimes schema`: the spec's JSON Schema, with every registered kind's options. */
import type { Command } from 'commander';
import { registryWith } from '../kinds/registry.js';
import { pluginOption, type PluginFlags } from './shared.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description("print the spec's JSON Schema, with every registered kind's options (for editors)")
    .addOption(pluginOption())
    .action(async (flags: PluginFlags) => {
      const registry = await registryWith(flags.plugin);
      const { specJsonSchema } = await import('../kinds/schema.js');
      process.stdout.write(`${JSON.stringify(specJsonSchema(registry), null, 2)}\n`);
    });
}
