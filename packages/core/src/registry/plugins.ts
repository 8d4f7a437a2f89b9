/**
 * Loading third-party plugins named in a spec's `plugins:` list or on the command line:
 * a package name (found in node_modules above the spec) or a local path (a file, or a
 * folder with a package.json), relative to the spec's folder.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginError } from '../contracts/errors.js';
import type { PluginManifest, Registry } from './registry.js';

type Exports = string | { [key: string]: Exports } | null | undefined;

/** The ESM entry of a package folder: `exports['.']` (import/default condition), then `main`. */
function packageEntry(folder: string): string {
  const manifestPath = join(folder, 'package.json');
  if (!existsSync(manifestPath)) {
    const index = join(folder, 'index.js');
    if (existsSync(index)) return index;
    throw new PluginError(`no package.json or index.js in ${folder}`);
  }
  const pkg = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: Exports; main?: string };
  const pick = (e: Exports): string | undefined => {
    if (typeof e === 'string') return e;
    if (!e || typeof e !== 'object') return undefined;
    if ('.' in e) return pick(e['.']);
    for (const condition of ['import', 'node', 'default']) {
      const found = pick(e[condition]);
      if (found) return found;
    }
    return undefined;
  };
  const entry = pick(pkg.exports) ?? pkg.main ?? 'index.js';
  return join(folder, entry);
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || specifier.startsWith('file:');
}

// an npm package name, optionally with a subpath: `pkg`, `@scope/pkg`, `pkg/sub`
const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*(?:\/[A-Za-z0-9._~/-]+)?$/;

/** The file a plugin specifier points to, or undefined for a package not found above `fromDir`. */
export function resolvePlugin(specifier: string, fromDir: string): string | undefined {
  // Plugins are files or packages, never inline code or a remote module: refused before any import.
  if (!isPath(specifier) && !PACKAGE_NAME.test(specifier))
    throw new PluginError(`plugin '${specifier.slice(0, 80)}' is neither a path nor a package name`, {
      hint: 'name a local file or folder (./my-plugin) or an installed npm package (regimes-plugin-x); data:, http: and node: URLs are not loaded',
    });
  if (isPath(specifier)) {
    const path = specifier.startsWith('file:') ? new URL(specifier).pathname : resolve(fromDir, specifier);
    if (!existsSync(path)) throw new PluginError(`plugin '${specifier}': no file or folder at ${path}`);
    return statSync(path).isDirectory() ? packageEntry(path) : path;
  }
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const folder = join(dir, 'node_modules', specifier);
    if (existsSync(join(folder, 'package.json'))) return packageEntry(folder);
    if (dirname(dir) === dir) return undefined;
  }
}

/** Import a plugin and return its manifest, unchecked (Registry.use checks it). */
export async function importPlugin(
  specifier: string,
  fromDir: string,
): Promise<{ manifest: PluginManifest; file: string }> {
  const file = resolvePlugin(specifier, fromDir);
  let mod: Record<string, unknown>;
  try {
    // A package not found above the spec may still be installed beside regimes itself.
    mod = file ? await import(pathToFileURL(file).href) : await import(specifier);
  } catch (error) {
    const where = file ?? `(not found in node_modules above ${fromDir})`;
    const reason = (error as Error).message.split('\n')[0];
    throw new PluginError(`plugin '${specifier}' failed to load from ${where}: ${reason}`, {
      hint: file
        ? 'fix the error in the plugin, or remove it from plugins:'
        : `install it: npm install ${specifier}`,
      cause: error,
    });
  }
  const manifest = (mod.default ?? mod.plugin) as PluginManifest;
  return { manifest, file: file ?? specifier };
}

/** Import and register each plugin; errors name the plugin, the file and the reason. */
export async function loadPlugins(
  registry: Registry,
  specifiers: readonly string[],
  fromDir: string,
): Promise<void> {
  for (const specifier of specifiers) {
    const { manifest, file } = await importPlugin(specifier, fromDir);
    registry.use(manifest, file);
  }
}
