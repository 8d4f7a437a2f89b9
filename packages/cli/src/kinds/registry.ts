/** The registry a command works with: the default plugins, then those named with --plugin. */
import { loadPlugins, type Registry } from '@regimes/core';
import { createRegistry } from '../defaults.js';

/** The default registry with `plugins` (package names, or paths relative to `baseDir`) loaded. */
export async function registryWith(plugins: readonly string[], baseDir = process.cwd()): Promise<Registry> {
  const registry = createRegistry();
  await loadPlugins(registry, plugins, baseDir);
  return registry;
}
