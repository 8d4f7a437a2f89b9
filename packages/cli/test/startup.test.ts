// tfjs-core and its wasm and cpu backends load with require (packages/numerics/tfjs, backend-node's
// wasm.ts and cpu.ts): the one instance any `import` of them gives, and none of the export scan
// and format detection Node's `import` of a CommonJS bundle runs at a process's start. inversify and
// zod load with require too, each from the one CommonJS file the build writes (packages/core/deps/),
// not as their ~250 and ~95 ES module files. A `run` does not load what the other commands do.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ContainerModule, z } from '@regimes/core';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/regimes.js');

describe('tfjs loaded with require', () => {
  it('is the instance an import of tfjs-core gives, in Node and here', async () => {
    const script = [
      "import * as imported from '@tensorflow/tfjs-core';",
      "import required from '@regimes/numerics/tfjs';",
      "import viaCore from '@regimes/core/tfjs';",
      'const same = [required, viaCore].every((t) => t.tidy === imported.tidy && t.Tensor === imported.Tensor && t.engine() === imported.engine());',
      "process.stdout.write(same ? 'same' : 'different');",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(root, 'packages/cli'),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('same');
    const required = (await import('@regimes/numerics/tfjs')).default;
    const imported = await import('@tensorflow/tfjs-core');
    expect(required.tidy).toBe(imported.tidy);
  });

  it('a run does not scan tfjs-core or its backends as CommonJS imported by ESM, nor load inversify or zod as ES modules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-startup-'));
    const spec = join(dir, 'one.yaml');
    writeFileSync(
      spec,
      'target: { kind: hermite, d: 4, degree: 2 }\nlearners: [{ kind: ntk }]\nsweep: { n: [16] }\ntest: { n: 16 }\n',
    );
    for (const backend of ['wasm', 'cpu']) {
      const r = spawnSync(
        process.execPath,
        [bin, 'run', spec, '-o', join(dir, backend), '-q', '--backend', backend],
        {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, NODE_DEBUG: 'esm', REGIMES_BACKEND: '' },
          maxBuffer: 2 ** 28, // the loader's log is several MB
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const scanned = [...r.stderr.matchAll(/Translating CJSModule (\S+)/g)].map((m) => m[1]);
      // the log is on (commander is CommonJS imported by the command), and names no tfjs bundle
      expect(scanned.some((url) => url.includes('/commander/'))).toBe(true);
      expect(scanned.filter((url) => url.includes('@tensorflow/'))).toEqual([]);
      const esm = [...r.stderr.matchAll(/Translating StandardModule (\S+)/g)].map((m) => m[1]!);
      expect(esm.some((url) => url.includes('/packages/core/'))).toBe(true);
      expect(esm.filter((url) => /\/node_modules\/(inversify|@inversifyjs|zod)\//.test(url))).toEqual([]);
      // the other commands' work (figures, reports, the server, merging) loads when they run
      expect(
        esm.filter((url) => /\/cli\/dist\/(plot|report|serve)\/|\/results\/merge\.js/.test(url)),
      ).toEqual([]);
    }
  });

  it("core's z and ContainerModule are the generated CommonJS files' own", () => {
    const require = createRequire(join(root, 'packages/core/deps/zod.js'));
    expect(z).toBe(require('../generated/zod.cjs').z);
    expect(ContainerModule).toBe(require('../generated/inversify.cjs').ContainerModule);
    // the schemas work (the bundle is zod, not a stand-in)
    expect(z.object({ n: z.number().int() }).safeParse({ n: 1.5 }).success).toBe(false);
  });
});
