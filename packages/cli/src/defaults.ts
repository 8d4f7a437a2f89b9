/** The plugins the `regimes` command loads before any named in a spec or with --plugin. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import backendNode from '@regimes/backend-node';
import backendWebgpu from '@regimes/backend-webgpu';
import { type PluginManifest, Registry } from '@regimes/core';
import learners from '@regimes/learners';
import metrics from '@regimes/metrics';
import targets from '@regimes/targets';

export const defaultPlugins: readonly PluginManifest[] = [
  targets,
  learners,
  metrics,
  backendNode,
  backendWebgpu,
];

/** A registry with the default plugins loaded. */
export function createRegistry(): Registry {
  const registry = new Registry();
  for (const plugin of defaultPlugins) registry.use(plugin, plugin.name);
  return registry;
}

/** This module's compiled file: worker processes (`--jobs`) import it to rebuild the registry. */
export function registryModulePath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(dirname(here), '..', 'dist', 'defaults.js') : here;
}
