// `regimes plugin new` writes packages whose tests pass as written: one of each kind, their
// dependencies linked to this checkout (no registry), run by one child vitest (a project each).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pluginKinds, writePluginPackage } from '../src/commands/plugin.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

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
    }
    // what `npm install` would give, from this checkout: links in node_modules above the packages
    const link = (name: string, target: string) => {
      mkdirSync(join(parent, 'node_modules', name, '..'), { recursive: true });
      symlinkSync(target, join(parent, 'node_modules', name));
    };
    link('@regimes/core', join(root, 'packages/core'));
    link('@regimes/targets', join(root, 'packages/targets'));
    for (const dep of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', 'vitest'])
      link(dep, realpathSync(join(root, 'node_modules', dep)));
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
    // every check runs but the target's sampleRows (the template has none): 29 checks, 1 skipped
    expect(output).toMatch(/Tests\s+28 passed \| 1 skipped \(29\)/);
    expect(output).not.toContain('looks like you are running TensorFlow.js');
  });
});
