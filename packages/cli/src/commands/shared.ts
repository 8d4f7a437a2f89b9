/** What the commands share: exit codes, the --plugin option, a spec planned with its plugins. */
import { dirname, resolve } from 'node:path';
import {
  loadPlugins,
  loadSpecFile,
  type Plan,
  planExperiment,
  type Registry,
  type Spec,
} from '@regimes/core';
import { Option } from 'commander';
import { registryWith } from '../kinds/registry.js';

export const EXIT_ERROR = 1;
/** The command finished, but some rows failed (status error or diverged) or are missing. */
export const EXIT_FAILED_ROWS = 3;

/** Sets the exit code of `main` (a command that ends normally but with failed rows). */
export type SetExit = (code: number) => void;

/**
 * `--plugin <specifier>`: a plugin loaded into the registry before the command does its work; give
 * it once per plugin (or comma-separated). One value per flag, so `run --plugin ./p.js spec.yaml`
 * keeps spec.yaml as the spec (a variadic option would swallow it).
 */
export function pluginOption(
  description = 'an extra plugin (package name or path); repeat the flag, or separate with commas',
): Option {
  return new Option('--plugin <specifier>', description)
    .argParser((value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      ...value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ])
    .default([]);
}

/** The flags every command that takes `pluginOption()` receives. */
export interface PluginFlags {
  plugin: string[];
}

export const warnOnStderr = (message: string): void => {
  process.stderr.write(`warning: ${message}\n`);
};

/** A spec file planned: its --plugin plugins (from the working folder), then its own (from its folder). */
export async function planSpec(
  specPath: string,
  plugins: readonly string[],
): Promise<{ spec: Spec; registry: Registry; plan: Plan }> {
  const spec = loadSpecFile(specPath);
  const registry = await registryWith(plugins);
  await loadPlugins(registry, spec.plugins, dirname(resolve(specPath)));
  return { spec, registry, plan: planExperiment(spec, registry, specPath) };
}
