/**
 * Loading third-party plugins named in a spec's `plugins:` list or on the command line:
 * a package name (found in node_modules above the spec) or a local path (a file, or a
 * folder with a package.json), relative to the spec's folder.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginError } from '../contracts/errors.js';
import { coreVersion } from '../version.js';
import { closestMatch } from './closest.js';
import type { PluginManifest, Registry } from './registry.js';

type Exports = string | { [key: string]: Exports } | null | undefined;

/** The ESM entry of a package folder: `exports['.']` (import/default condition), then `main`. */
function packageEntry(folder: string, specifier: string): string {
  const manifestPath = join(folder, 'package.json');
  if (!existsSync(manifestPath)) {
    const index = join(folder, 'index.js');
    if (existsSync(index)) return index;
    throw new PluginError(`plugin '${specifier}': the folder ${folder} has no package.json and no index.js`, {
      hint: 'give the folder a package.json (with exports or main) or an index.js, or name the plugin file itself under plugins:',
    });
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
  const file = join(folder, entry);
  if (!existsSync(file))
    throw new PluginError(
      `plugin '${specifier}': ${join(folder, 'package.json')} names ${entry} as its entry, which does not exist`,
      {
        hint: `build the plugin first (npm run build in ${folder}), or fix exports / main in its package.json`,
      },
    );
  return file;
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
    return statSync(path).isDirectory() ? packageEntry(path, specifier) : path;
  }
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const folder = join(dir, 'node_modules', specifier);
    if (existsSync(join(folder, 'package.json'))) return packageEntry(folder, specifier);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Loader hooks (run by Node beside the main thread) that resolve `@tensorflow/tfjs-core` and
 * `@regimes/*`, wherever they are imported from, as this module would resolve them: so a plugin
 * installed outside the host (its own node_modules, where npm installs its peer dependencies)
 * shares the host's one tfjs-core — one engine, one platform, no "Platform node has already been
 * set" — and the host's @regimes/core. A name the host cannot resolve falls back to the
 * importer's own resolution.
 */
const SHARE_HOOKS = `
let host;
export function initialize(data) { host = data.host; }
const SHARED = /^(?:@tensorflow\\/tfjs-core|@regimes\\/[^/]+)(?:\\/.*)?$/;
export async function resolve(specifier, context, next) {
  if (host && context.parentURL !== host && SHARED.test(specifier)) {
    try {
      return await next(specifier, { ...context, parentURL: host });
    } catch {
      // not installed beside the host: the importer's own copy
    }
  }
  return next(specifier, context);
}`;

let sharing = false;

/**
 * Make plugins loaded from now on import the host's copies of tfjs-core and @regimes/* (see
 * SHARE_HOOKS). Called before the first plugin import; a no-op where Node has no `module.register`.
 */
export function shareHostPackages(): void {
  if (sharing || typeof register !== 'function') return;
  sharing = true;
  register(`data:text/javascript,${encodeURIComponent(SHARE_HOOKS)}`, {
    data: { host: import.meta.url },
  });
}

/** Import a plugin and return its manifest, unchecked (Registry.use checks it). */
export async function importPlugin(
  specifier: string,
  fromDir: string,
): Promise<{ manifest: PluginManifest; file: string }> {
  const file = resolvePlugin(specifier, fromDir);
  shareHostPackages();
  let mod: Record<string, unknown>;
  try {
    // A package not found above the spec may still be installed beside regimes itself.
    mod = file ? await import(pathToFileURL(file).href) : await import(specifier);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0] ?? '';
    // the package itself not found (not one it imports): say so, without the loader's internal path
    const missing =
      !file &&
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      reason.includes(
        `'${specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/')}'`,
      );
    const message = missing
      ? `plugin '${specifier}' is not installed: no node_modules/${specifier} above ${fromDir}, nor beside regimes`
      : `plugin '${specifier}' failed to load from ${file ?? specifier}: ${reason}`;
    throw new PluginError(message, {
      hint: loadHint(specifier, fromDir, file, reason, missing),
      cause: error,
    });
  }
  const manifest = (mod.default ?? mod.plugin) as PluginManifest;
  if (manifest === undefined) {
    // a named export where the manifest belongs: say which ones there are
    const names = Object.keys(mod);
    throw new PluginError(
      `plugin '${specifier}' (${file ?? specifier}) has no default export and no export named 'plugin'${names.length ? `; it exports ${names.map((n) => `'${n}'`).join(', ')}` : ''}`,
      {
        hint: `export the manifest as default (export default definePlugin({ … }))${names.length ? `, or rename '${names[0]}' to 'plugin'` : ''}`,
      },
    );
  }
  return { manifest, file: file ? realpathSync(file) : specifier };
}

/** What to change when a plugin does not import: by what the loader said. */
function loadHint(
  specifier: string,
  fromDir: string,
  file: string | undefined,
  reason: string,
  missing: boolean,
): string {
  if (missing) {
    const near = closestMatch(specifier, installedPackages(fromDir));
    return near
      ? `did you mean '${near}' (installed)? Else install it: npm install ${specifier}`
      : `install it (npm install ${specifier}), or check its name`;
  }
  if (/Unknown file extension "\.(c|m)?ts"/.test(reason))
    return 'a TypeScript file: build the plugin (npm run build in its folder) and name its package folder or the built .js file';
  if (/does not provide an export named/.test(reason) && /'@regimes\//.test(reason))
    return `the plugin imports what this @regimes/core (${coreVersion}) does not have: it was built against another version; install a version of it built for ${coreVersion}, or the regimes it was built for`;
  if (/Package subpath .* is not defined by "exports"/.test(reason))
    return 'name the package itself (its exports give the entry), or a path to the file (./node_modules/…)';
  return file
    ? 'fix the error in the plugin, or remove it from the spec’s plugins: (or --plugin)'
    : 'fix the error in the plugin package, or remove it';
}

/** The package names in the node_modules folders at and above `dir` (scoped ones as @scope/name). */
function installedPackages(dir: string): string[] {
  const names = new Set<string>();
  for (let at = dir; ; at = dirname(at)) {
    const folder = join(at, 'node_modules');
    try {
      for (const entry of readdirSync(folder)) {
        if (entry.startsWith('.')) continue;
        if (entry.startsWith('@'))
          for (const inner of readdirSync(join(folder, entry))) names.add(`${entry}/${inner}`);
        else names.add(entry);
      }
    } catch {
      // no node_modules here
    }
    if (dirname(at) === at) return [...names];
  }
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
