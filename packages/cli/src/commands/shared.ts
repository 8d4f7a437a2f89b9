/** What the commands share: exit codes, the --plugin option, a spec planned with its plugins. */
import { dirname, resolve } from 'node:path';
import {
  entryProblemsBeside,
  loadPlugins,
  type Plan,
  planExperiment,
  type Registry,
  type Spec,
  SpecError,
  readSpecFile,
  specOfFile,
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
  const spec = await loadSpec(specPath, plugins);
  const registry = await registryWith(plugins);
  await loadPlugins(registry, spec.plugins, dirname(resolve(specPath)));
  return { spec, registry, plan: planExperiment(spec, registry, specPath) };
}

/**
 * A spec file read and checked against the schema. Where only its sweep fails (which stops the
 * spec before planning), the entries' misspelt options and kinds are added to the problems, so
 * one run lists both.
 */
export async function loadSpec(specPath: string, plugins: readonly string[]): Promise<Spec> {
  const file = readSpecFile(specPath);
  try {
    return specOfFile(specPath, file);
  } catch (error) {
    if (!(error instanceof SpecError) || !error.problems.every((p) => /^sweep[.:[]/.test(p))) throw error;
    let more: string[] = [];
    try {
      const registry = await registryWith(plugins);
      const own = (file.data as { plugins?: unknown }).plugins;
      if (Array.isArray(own) && own.every((p) => typeof p === 'string'))
        await loadPlugins(registry, own, dirname(resolve(specPath)));
      more = entryProblemsBeside(file.data, registry);
    } catch {
      // what cannot be loaded here is reported once the sweep is fixed
    }
    if (!more.length) throw error;
    throw new SpecError([...error.problems, ...more], {
      source: specPath,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    });
  }
}
