// `regimes plugin new` writes packages whose tests pass as written: one of each kind, run by one
// child vitest (a project each, every package under its own generated vitest.config.ts).
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pluginKinds, writePluginPackage } from '../src/commands/plugin.js';
import { createRegistry } from '../src/defaults.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * What installing the packed @regimes/* tarballs gives, without the network: a copy of each
 * package's `files` (as `npm pack` ships them) in node_modules, and links to the third-party
 * dependencies of this checkout. Copies, not links into packages/: vitest compiles a dependency
 * whose real path lies outside node_modules through Vite (seconds), and a copy also checks that
 * `files` holds everything the package needs at run time.
 */
function installFromCheckout(parent: string): void {
  const modules = join(parent, 'node_modules');
  const thirdParty = new Set(['@tensorflow/tfjs-backend-cpu', 'vitest']);
  for (const name of ['numerics', 'core', 'targets']) {
    const source = join(root, 'packages', name);
    const pkg = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as {
      name: string;
      files: string[];
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    for (const file of ['package.json', ...pkg.files].filter((f) => existsSync(join(source, f))))
      cpSync(join(source, file), join(modules, pkg.name, file), {
        recursive: true,
        filter: (path) => !path.endsWith('.map'),
      });
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }))
      if (!dep.startsWith('@regimes/')) thirdParty.add(dep);
  }
  for (const dep of thirdParty) {
    mkdirSync(join(modules, dep, '..'), { recursive: true });
    symlinkSync(realpathSync(join(root, 'node_modules', dep)), join(modules, dep));
  }
}

describe('regimes plugin new', () => {
  it('writes a learner, a target, a metric and a backend plugin whose conformance tests pass', () => {
    const parent = mkdtempSync(join(tmpdir(), 'regimes-plugin-new-'));
    for (const kind of pluginKinds) {
      const { files } = writePluginPackage({
        name: `regimes-plugin-my-${kind}`,
        kind,
        dir: join(parent, kind),
        regimes: root,
      });
      expect(files).toEqual(
        expect.arrayContaining(['package.json', 'src/index.ts', 'test/conformance.test.ts', 'spec.yaml']),
      );
      const pkg = JSON.parse(readFileSync(join(parent, kind, 'package.json'), 'utf8'));
      expect(pkg.peerDependencies['@tensorflow/tfjs-core']).toBeDefined();
      expect(pkg.devDependencies['@regimes/core']).toMatch(/^file:.*packages\/core$/);
      // every package its sources import is one it declares (not one hoisted beside it by chance)
      const declared = new Set(
        ['dependencies', 'peerDependencies', 'devDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {})),
      );
      const imported = files
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => [
          ...readFileSync(join(parent, kind, f), 'utf8').matchAll(
            /^import (?:[^'"]* from )?'([^'.][^']*)'/gm,
          ),
        ])
        .map((m) =>
          m[1]
            .split('/')
            .slice(0, m[1].startsWith('@') ? 2 : 1)
            .join('/'),
        )
        .filter((name) => !name.startsWith('node:'));
      expect(imported.length).toBeGreaterThan(0);
      expect(imported.filter((name) => !declared.has(name))).toEqual([]);
    }
    installFromCheckout(parent);
    writeFileSync(join(parent, 'package.json'), '{ "private": true, "type": "module" }\n');
    writeFileSync(
      join(parent, 'vitest.config.ts'),
      `import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { projects: ${JSON.stringify(pluginKinds)} } });\n`,
    );
    const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run'], {
      cwd: parent,
      encoding: 'utf8',
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
    });
    const output = r.stdout + r.stderr;
    expect(r.status, output).toBe(0);
    expect(output).toMatch(/Test Files\s+4 passed \(4\)/);
    // every check runs but the target's sampleRows (the template has none): 30 checks, 1 skipped
    expect(output).toMatch(/Tests\s+29 passed \| 1 skipped \(30\)/);
    expect(output).not.toContain('looks like you are running TensorFlow.js');
    expect(output).not.toContain('Platform node has already been set');
  });

  it('takes @regimes/* from a folder of packed tarballs, and says what --regimes must be', () => {
    const parent = mkdtempSync(join(tmpdir(), 'regimes-plugin-tgz-'));
    const tarballs = join(parent, 'dist', 'tarballs');
    mkdirSync(tarballs, { recursive: true });
    for (const name of ['core', 'targets', 'cli', 'backend-node'])
      writeFileSync(join(tarballs, `regimes-${name}-0.1.0.tgz`), '');
    writeFileSync(join(tarballs, 'notes.txt'), '');
    // the checkout's root (with dist/tarballs under it) or the tarball folder itself
    for (const from of [parent, tarballs]) {
      const dir = join(parent, `learner-${from === parent ? 'root' : 'folder'}`);
      writePluginPackage({ name: 'regimes-plugin-knn', kind: 'learner', dir, regimes: from });
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(Object.keys(pkg.devDependencies).filter((d) => d.startsWith('@regimes/'))).toEqual([
        '@regimes/backend-node',
        '@regimes/cli',
        '@regimes/core',
        '@regimes/targets',
      ]);
      expect(pkg.devDependencies['@regimes/backend-node']).toBe(
        'file:../dist/tarballs/regimes-backend-node-0.1.0.tgz',
      );
      expect(pkg.peerDependencies['@regimes/core']).toMatch(/^\^\d/);
    }
    expect(() =>
      writePluginPackage({
        name: 'regimes-plugin-x',
        kind: 'metric',
        dir: join(parent, 'x'),
        regimes: tmpdir(),
      }),
    ).toThrow(/neither a regimes checkout nor a folder of its tarballs/);
  });

  // bad-input: 1
  it('says, without --regimes, that npm install cannot find @regimes/* on the registry yet', () => {
    const parent = mkdtempSync(join(tmpdir(), 'regimes-plugin-note-'));
    const bin = join(root, 'packages/cli/bin/regimes.js');
    const plain = spawnSync(
      process.execPath,
      [bin, 'plugin', 'new', 'regimes-plugin-a', '--kind', 'metric'],
      {
        cwd: parent,
        encoding: 'utf8',
      },
    );
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('note: @regimes/* are not on the npm registry yet');
    const linked = spawnSync(
      process.execPath,
      [bin, 'plugin', 'new', 'regimes-plugin-b', '--kind', 'metric', '--regimes', root],
      { cwd: parent, encoding: 'utf8' },
    );
    expect(linked.status, linked.stderr).toBe(0);
    expect(linked.stdout).not.toContain('note:');
  });

  it("refuses a name whose kind is a built-in's, before writing anything (its spec would fail on the clash)", () => {
    const registry = createRegistry();
    const dir = join(mkdtempSync(join(tmpdir(), 'regimes-plugin-clash-')), 'p');
    expect(() =>
      writePluginPackage({
        name: 'regimes-plugin-rf',
        kind: 'learner',
        dir,
        taken: (kind) => registry.has('learner', kind),
      }),
    ).toThrow(
      "the package name 'regimes-plugin-rf' gives the learner kind 'rf', which is a built-in learner of regimes",
    );
    expect(existsSync(dir)).toBe(false);
  });
});
