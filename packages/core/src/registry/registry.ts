/**
 * The container and what core reads from it. Plugins bind factories (multi-bindings) to the
 * extension points; the registry resolves a kind to its factory, and says which kinds exist
 * when it cannot.
 */
import { Container, type ContainerModule } from '../../deps/inversify.js';
import { closestMatch } from './closest.js';
import {
  type ExtensionPoint,
  extensionPointNames,
  extensionPoints,
  type FactoryOf,
  type KindFactory,
  type Learner,
} from '../contracts/contracts.js';
import { PluginError, UnknownKindError } from '../contracts/errors.js';
import { satisfies, validRange, validVersion } from '../lazy.js';
import { coreVersion } from '../version.js';

/** What a plugin package's entry exports (as `default` or `plugin`). */
export interface PluginManifest {
  readonly name: string;
  readonly version: string;
  /** The semver range of @regimes/core this plugin was built for. */
  readonly core: string;
  readonly module: ContainerModule;
  readonly description?: string;
}

/** Identity with types, so a plugin's manifest is checked where it is written. */
export function definePlugin(manifest: PluginManifest): PluginManifest {
  return manifest;
}

/** A plugin the registry has loaded, and what it registered. */
export interface LoadedPlugin {
  readonly manifest: PluginManifest;
  /** Where it came from: a package name, a path, or 'code'. */
  readonly source: string;
  /** The kinds it registered, by extension point. */
  readonly kinds: Record<ExtensionPoint, string[]>;
}

/** Checks that `value` has the manifest's shape; returns the problems found. */
export function manifestProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['the entry exports no manifest object'];
  const m = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof m.name !== 'string' || !m.name) problems.push("'name' must be a non-empty string");
  if (typeof m.version !== 'string' || !validVersion(m.version))
    problems.push(`'version' must be a semver version, got ${JSON.stringify(m.version)}`);
  if (typeof m.core !== 'string' || !validRange(m.core))
    problems.push(`'core' must be a semver range of @regimes/core, got ${JSON.stringify(m.core)}`);
  const mod = m.module as { load?: unknown } | undefined;
  if (typeof mod !== 'object' || mod === null || typeof mod.load !== 'function')
    problems.push("'module' must be an inversify ContainerModule");
  return problems;
}

/** What to change in an entry that exports no valid manifest: what it exports instead, said. */
function manifestHint(value: unknown): string {
  const base =
    'its entry must export { name, version, core, module } as default or as `plugin` (definePlugin from @regimes/core)';
  if (typeof value !== 'object' || value === null) return base;
  const m = value as Record<string, unknown>;
  if (typeof m.kind === 'string' && typeof m.create === 'function')
    return `it exports a factory (kind '${m.kind}'), not a plugin: export default definePlugin({ name, version, core, module: new ContainerModule(({ bind }) => { bind(<its extension point>).toConstantValue(factory); }) })`;
  if (typeof m.plugin === 'object' && m.plugin !== null)
    return 'it exports { plugin: … } as its default: export the manifest itself as default, or `export const plugin = …`';
  return base;
}

/**
 * The kinds of a run: an inversify container the plugins' modules bind their factories in, one per
 * extension point. `Registry.with(...plugins)` or `use(manifest)` loads plugins; `get` resolves a kind.
 */
export class Registry {
  readonly container = new Container();
  readonly #plugins: LoadedPlugin[] = [];

  /** A registry with these plugins loaded, in order. */
  static with(...plugins: PluginManifest[]): Registry {
    const registry = new Registry();
    for (const plugin of plugins) registry.use(plugin);
    return registry;
  }

  get plugins(): readonly LoadedPlugin[] {
    return this.#plugins;
  }

  /**
   * Register a plugin: check its manifest and core range, load its module, and reject kinds
   * that another plugin already registered.
   */
  use(manifest: PluginManifest, source = 'code'): LoadedPlugin {
    const label = typeof manifest?.name === 'string' ? manifest.name : source;
    const named = label === source ? `plugin '${label}'` : `plugin '${label}' (${source})`;
    const problems = manifestProblems(manifest);
    if (problems.length) {
      throw new PluginError(`${named} is not a valid regimes plugin: ${problems.join('; ')}`, {
        hint: manifestHint(manifest),
      });
    }
    if (!satisfies(coreVersion, manifest.core)) {
      throw new PluginError(
        `plugin '${manifest.name}@${manifest.version}' (${source}) requires @regimes/core ${manifest.core}, but this is ${coreVersion}`,
        {
          hint: `install a version of '${manifest.name}' built for @regimes/core ${coreVersion}, or a regimes whose @regimes/core is in ${manifest.core}; if it is your plugin, build it against this core and set its manifest's core to a range holding ${coreVersion}`,
        },
      );
    }
    const existing = this.#plugins.find((p) => p.manifest.name === manifest.name);
    // the same plugin named twice (spec and CLI): loaded once; another plugin of the same name
    // would have its kinds silently missing
    // (the loader gives a file's real path as its source: a link to it is the same plugin)
    // ('code', the source of every plugin given as an object, names no file: the object decides)
    if (existing && (existing.manifest === manifest || (source !== 'code' && existing.source === source)))
      return existing;
    if (existing)
      throw new PluginError(
        `two plugins are named '${manifest.name}': ${existing.source} and ${source}; a plugin is loaded once by its name, so the second one's kinds would be missing`,
        { hint: "give each plugin's manifest a name of its own (its package's name)" },
      );

    const before = this.#allKinds();
    try {
      this.container.load(manifest.module);
    } catch (error) {
      const message = (error as Error).message;
      throw new PluginError(`plugin '${manifest.name}' (${source}) failed while registering: ${message}`, {
        ...(/bind is not a function/.test(message)
          ? {
              hint: 'inversify 8 hands a ContainerModule one object: write new ContainerModule(({ bind }) => { … }), not (bind) => …',
            }
          : {}),
        cause: error,
      });
    }
    const after = this.#allKinds();
    const kinds = {} as Record<ExtensionPoint, string[]>;
    for (const point of extensionPointNames) {
      const added = [...after[point]];
      for (const kind of before[point]) added.splice(added.indexOf(kind), 1);
      const clash = added.find((k, i) => before[point].includes(k) || added.indexOf(k) !== i);
      if (clash) {
        this.container.unload(manifest.module);
        const owner = this.#plugins.find((p) => p.kinds[point].includes(clash))?.manifest.name;
        throw new PluginError(
          `plugin '${manifest.name}' (${source}) registers ${point} kind '${clash}', which ${owner ? `plugin '${owner}'` : 'it'} already registers`,
          {
            hint: owner?.startsWith('@regimes/')
              ? `'${clash}' is a built-in ${point} of ${owner}: give the plugin's kind another name`
              : 'kinds must be unique: rename one of them',
          },
        );
      }
      kinds[point] = added;
    }
    if (extensionPointNames.every((point) => !kinds[point].length)) {
      this.container.unload(manifest.module);
      throw new PluginError(
        `plugin '${manifest.name}' (${source}) registers no kind: its module binds no factory`,
        {
          hint: 'bind each factory in its ContainerModule, e.g. new ContainerModule(({ bind }) => { bind(LearnerFactory).toConstantValue(myLearner); })',
        },
      );
    }
    const loaded: LoadedPlugin = { manifest, source, kinds };
    this.#plugins.push(loaded);
    return loaded;
  }

  #allKinds(): Record<ExtensionPoint, string[]> {
    const out = {} as Record<ExtensionPoint, string[]>;
    for (const point of extensionPointNames) {
      out[point] = this.all(point).map((f) => f.kind);
    }
    return out;
  }

  /** Every factory registered for an extension point. */
  all<P extends ExtensionPoint>(point: P): FactoryOf<P>[] {
    const id = extensionPoints[point];
    return (this.container.isBound(id) ? this.container.getAll(id) : []) as FactoryOf<P>[];
  }

  /** The kinds registered for an extension point, in load order. */
  kinds(point: ExtensionPoint): string[] {
    return this.all(point).map((f: KindFactory) => f.kind);
  }

  /** The factory of a kind; an unknown kind names the registered ones and the closest. */
  get<P extends ExtensionPoint>(point: P, kind: string): FactoryOf<P> {
    const factories = this.all(point);
    const found = factories.find((f: KindFactory) => f.kind === kind);
    if (found) return found;
    const kinds = factories.map((f: KindFactory) => f.kind);
    throw new UnknownKindError(point, kind, kinds, closestMatch(kind, kinds));
  }

  /** Whether a kind is registered for an extension point. */
  has(point: ExtensionPoint, kind: string): boolean {
    return this.kinds(point).includes(kind);
  }

  /** A learner of a registered kind from its entry `{ kind, ...options }`, the options parsed by its schema. */
  createLearner(entry: { readonly kind: string } & Readonly<Record<string, unknown>>): Learner {
    const { kind, ...options } = entry;
    const factory = this.get('learner', kind);
    return factory.create(factory.options.parse(options));
  }
}
