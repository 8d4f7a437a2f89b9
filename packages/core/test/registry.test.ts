import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { LearnerFactory, TargetFactory } from '../src/contracts/contracts.js';
import { PluginError, UnknownKindError } from '../src/contracts/errors.js';
import { closestMatch } from '../src/registry/closest.js';
import { loadPlugins } from '../src/registry/plugins.js';
import { Registry } from '../src/registry/registry.js';
import { runExperiment } from '../src/engine/runner.js';
import { silentLogger } from '../src/testing/index.js';
import { ridgeLearner as testLearner, testPlugin } from './helpers.js';

const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));

describe('Registry', () => {
  it('resolves kinds registered by a plugin module (multi-bindings)', () => {
    const registry = Registry.with(testPlugin);
    expect(registry.kinds('target')).toEqual(['linear']);
    expect(registry.kinds('backend')).toEqual(['cpu', 'quantum']);
    expect(registry.get('learner', 'ridge').kind).toBe('ridge');
    expect(registry.plugins[0]!.kinds.metric).toEqual(['mse']);
  });

  it('names the registered kinds and the closest one for an unknown kind', () => {
    const registry = Registry.with(testPlugin);
    expect(() => registry.get('learner', 'ridg')).toThrow(UnknownKindError);
    expect(() => registry.get('learner', 'ridg')).toThrow(
      "unknown learner kind 'ridg' (did you mean 'ridge'?); registered learner kinds: ridge",
    );
    expect(() => registry.get('target', 'zzz')).toThrow(
      "unknown target kind 'zzz'; registered target kinds: linear",
    );
  });

  it('rejects a plugin registering a kind another plugin has, naming both', () => {
    const registry = Registry.with(testPlugin);
    const clash = {
      name: 'clashing-plugin',
      version: '1.0.0',
      core: '^0.1.0',
      module: new ContainerModule(({ bind }) => {
        bind(TargetFactory).toConstantValue({ ...registry.get('target', 'linear') });
      }),
    };
    expect(() => registry.use(clash)).toThrow(
      "plugin 'clashing-plugin' (code) registers target kind 'linear', which plugin 'test-plugin' already registers",
    );
    expect(registry.kinds('target')).toEqual(['linear']); // the clashing module was unloaded
  });

  it('rejects a manifest of the wrong shape, saying which fields', () => {
    const registry = new Registry();
    expect(() => registry.use({ name: 'x', version: 'one', core: '^0.1.0', module: {} } as never)).toThrow(
      /'version' must be a semver version.*'module' must be an inversify ContainerModule/,
    );
  });

  it('rejects a plugin built for another core range with a message that says what to install', () => {
    const registry = new Registry();
    const old = { ...testPlugin, name: 'old-plugin', core: '^2.0.0' };
    expect(() => registry.use(old)).toThrow(PluginError);
    expect(() => registry.use(old)).toThrow(
      /plugin 'old-plugin@0.1.0' \(code\) requires @regimes\/core \^2.0.0, but this is 0\.1\.0/,
    );
  });
});

describe('plugin loading from a local path', () => {
  it('loads a plugin folder (package.json exports), registers it and runs its learner', async () => {
    const registry = Registry.with(testPlugin);
    await loadPlugins(registry, ['./plugin-ok'], fixtures);
    expect(registry.kinds('learner')).toEqual(['ridge', 'mean']);
    const result = await runExperiment(
      {
        target: { kind: 'linear', d: 3 },
        learners: [{ kind: 'mean', offset: 0 }, { kind: 'ridge' }],
        metrics: ['mse'],
        sweep: { n: [64] },
        test: { n: 512 },
        backend: 'cpu',
      },
      { registry, log: silentLogger },
    );
    const [mean, ridge] = result.rows;
    expect(mean!.status).toBe('ok');
    // Predicting (about) 0 for y = x_1 gives risk E[x_1²] = 1; MC over 512 test points: sd ≈ 0.06.
    expect(mean!.metrics.mse).toBeGreaterThan(0.7);
    expect(mean!.metrics.mse).toBeLessThan(1.3);
    expect(ridge!.metrics.mse).toBeLessThan(0.01);
    expect(mean!.versions['regimes-plugin-constant']).toBe('1.2.0');
  });

  it('loads plugins named in a spec relative to the spec folder', async () => {
    const registry = Registry.with(testPlugin);
    const result = await runExperiment(
      {
        plugins: ['./plugin-ok'],
        target: { kind: 'linear', d: 2 },
        learners: [{ kind: 'mean' }],
        metrics: ['mse'],
        sweep: { n: [8] },
        test: { n: 16 },
      },
      { registry, baseDir: fixtures, log: silentLogger },
    );
    expect(result.rows[0]!.status).toBe('ok');
  });

  it('rejects a plugin with a wrong core range, naming plugin and file', async () => {
    await expect(loadPlugins(new Registry(), ['./plugin-old-core'], fixtures)).rejects.toThrow(
      /plugin 'regimes-plugin-old@0.3.0' \(.*plugin-old-core\/index\.js\) requires @regimes\/core \^0\.0\.1, but this is 0\.1\.0/,
    );
  });

  it('names the plugin, the file and the reason when it fails to import', async () => {
    await expect(loadPlugins(new Registry(), ['./plugin-broken'], fixtures)).rejects.toThrow(
      /plugin '.\/plugin-broken' failed to load from .*plugin-broken\/index\.js: this plugin is broken on purpose/,
    );
  });

  it('says when the entry exports no manifest', async () => {
    const error = await loadPlugins(new Registry(), ['./plugin-no-manifest'], fixtures).catch(
      (e: PluginError) => e,
    );
    expect(error.message).toMatch(
      /^plugin '\.\/plugin-no-manifest' \(.*plugin-no-manifest\/index\.js\) has no default export and no export named 'plugin'; it exports 'something'$/,
    );
    expect(error.hint).toBe(
      "export the manifest as default (export default definePlugin({ … })), or rename 'something' to 'plugin'",
    );
    // a default that is no object
    expect(() => new Registry().use(42 as never, '/p/x.js')).toThrow(
      /is not a valid regimes plugin: the entry exports no manifest object/,
    );
  });

  it('says how to install a package that is not found, and when a path does not exist', async () => {
    await expect(
      loadPlugins(new Registry(), ['regimes-plugin-that-does-not-exist'], fixtures),
    ).rejects.toThrow(
      /^plugin 'regimes-plugin-that-does-not-exist' is not installed: no node_modules\/regimes-plugin-that-does-not-exist above .*, nor beside regimes$/,
    );
    await expect(loadPlugins(new Registry(), ['./nowhere'], fixtures)).rejects.toThrow(
      /no file or folder at/,
    );
    // a package whose entry is not built
    const unbuilt = mkdtempSync(join(tmpdir(), 'regimes-unbuilt-'));
    writeFileSync(join(unbuilt, 'package.json'), JSON.stringify({ name: 'p', main: 'dist/index.js' }));
    await expect(loadPlugins(new Registry(), [unbuilt], fixtures)).rejects.toThrow(
      /names dist\/index\.js as its entry, which does not exist/,
    );
    // a folder that is not a package: named with the entry under plugins:
    await expect(loadPlugins(new Registry(), ['./'], fixtures)).rejects.toThrow(
      /^plugin '\.\/': the folder .* has no package\.json and no index\.js$/,
    );
  });

  // bad-input: 6
  it('says what to change for the mistakes of a plugin written by hand', () => {
    const plugin = (name: string, module: ContainerModule) => ({
      name,
      version: '0.1.0',
      core: '^0.1.0',
      module,
    });
    const learner = (kind: string) => ({ ...testLearner, kind });
    const binds = (kind: string) =>
      new ContainerModule(({ bind }) => {
        bind(LearnerFactory).toConstantValue(learner(kind) as never);
      });
    // two plugins of one name (a copied template): the second's kinds would be missing
    const registry = Registry.with(testPlugin);
    registry.use(plugin('regimes-plugin-x', binds('a')), '/p/a/index.js');
    expect(() => registry.use(plugin('regimes-plugin-x', binds('b')), '/p/b/index.js')).toThrow(
      "two plugins are named 'regimes-plugin-x': /p/a/index.js and /p/b/index.js; a plugin is loaded once by its name, so the second one's kinds would be missing",
    );
    // two objects of one name given in code: refused too (their source 'code' names no file)
    expect(() =>
      Registry.with(plugin('regimes-plugin-y', binds('c')), plugin('regimes-plugin-y', binds('d'))),
    ).toThrow("two plugins are named 'regimes-plugin-y': code and code");
    // the same file twice (spec and --plugin): loaded once
    expect(registry.use(plugin('regimes-plugin-x', binds('a')), '/p/a/index.js').kinds.learner).toEqual([
      'a',
    ]);
    // a module that binds nothing
    expect(() => registry.use(plugin('empty', new ContainerModule(() => {})), '/p/e.js')).toThrow(
      "plugin 'empty' (/p/e.js) registers no kind: its module binds no factory",
    );
    // a built-in's kind: the hint says which to rename
    const clash = (() => {
      try {
        Registry.with({ ...testPlugin, name: '@regimes/learners' }).use(
          plugin('mine', binds('ridge')),
          '/p/m.js',
        );
      } catch (error) {
        return error as PluginError;
      }
    })();
    expect(clash?.hint).toBe(
      "'ridge' is a built-in learner of @regimes/learners: give the plugin's kind another name",
    );
    // a factory exported where the manifest belongs, and inversify 7's module signature
    const notManifest = (() => {
      try {
        new Registry().use(learner('f') as never, '/p/f.js');
      } catch (error) {
        return error as PluginError;
      }
    })();
    expect(notManifest?.hint).toMatch(
      /^it exports a factory \(kind 'f'\), not a plugin: export default definePlugin/,
    );
    const oldStyle = (() => {
      try {
        // inversify 7's signature, (bind) => …: the options object is not a function
        new Registry().use(
          plugin('old', new ContainerModule(((bind: (id: symbol) => void) => bind(LearnerFactory)) as never)),
          '/p/o.js',
        );
      } catch (error) {
        return error as PluginError;
      }
    })();
    expect(oldStyle?.message).toMatch(/failed while registering: bind is not a function/);
    expect(oldStyle?.hint).toMatch(
      /write new ContainerModule\(\(\{ bind \}\) => \{ … \}\), not \(bind\) => …/,
    );
  });

  // bad-input: 1
  it('names an installed package close to a misspelt one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-typo-'));
    mkdirSync(join(dir, 'node_modules', 'regimes-plugin-my-learner'), { recursive: true });
    const error = await loadPlugins(new Registry(), ['regimes-plugin-my-lerner'], dir).catch(
      (e: PluginError) => e,
    );
    expect(error.hint).toBe(
      "did you mean 'regimes-plugin-my-learner' (installed)? Else install it: npm install regimes-plugin-my-lerner",
    );
  });

  it('never runs inline code: data:, http: and node: specifiers are refused before any import', async () => {
    const marker = `regimesInlineRan${Date.now()}`;
    const inline = `data:text/javascript,globalThis.${marker}=1;export default {}`;
    for (const specifier of [inline, 'http://127.0.0.1:9/plugin.js', 'node:fs', 'javascript:1', ' ../x']) {
      await expect(loadPlugins(new Registry(), [specifier], fixtures), specifier).rejects.toThrow(
        /is neither a path nor a package name/,
      );
    }
    expect((globalThis as Record<string, unknown>)[marker]).toBeUndefined();
  });
});

describe('LearnerFactory identifiers', () => {
  it('are global symbols, so a second copy of core shares the extension points', () => {
    expect(LearnerFactory).toBe(Symbol.for('regimes.LearnerFactory'));
  });
});

describe('did-you-mean', () => {
  it.each<[string, string[], string | undefined]>([
    ['bias_variance', ['bias', 'biasVariance', 'layers'], 'biasVariance'], // snake_case of camelCase
    ['lr_scale', ['lr', 'lrScale'], 'lrScale'],
    ['ntk-empirical', ['ntk', 'empirical-ntk', 'nngp'], 'empirical-ntk'], // words reordered
    ['cosine-decay', ['constant', 'cosine', 'inverse-sqrt'], 'cosine'], // a word added
    ['ntk-standard', ['ntk', 'standard'], 'standard'], // two names among its words: edit distance
    ['inverse', ['inverse-sqrt', 'end-decay'], 'inverse-sqrt'], // truncated
    ['widht', ['width', 'weights'], 'width'],
    ['RF', ['rf', 'nt'], 'rf'],
    ['random-features', ['rf', 'nt', 'ntk'], undefined],
  ])('%s among %j: %s', (word, candidates, expected) => {
    expect(closestMatch(word, candidates)).toBe(expected);
  });
});
