// The plugin as users load it: built to dist/, then named by `--plugin` (a spec's `plugins:` goes
// through the same loader: packages/cli/test/plugin-outside.test.ts, and `regimes validate spec.yaml`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));

/** The regimes command of the @regimes/cli installed above this package. */
function regimesBin(): string {
  for (let dir = pkg; dirname(dir) !== dir; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules/@regimes/cli/bin/regimes.js');
    if (existsSync(bin)) return bin;
  }
  throw new Error('@regimes/cli is not installed: npm install (it is a devDependency)');
}

function regimes(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [regimesBin(), ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  // what `npm run build` gives, without type-checking: src/*.ts → dist/*.js
  await build({
    entryPoints: [join(pkg, 'src/*.ts')],
    outdir: join(pkg, 'dist'),
    format: 'esm',
    platform: 'node',
    logLevel: 'silent',
  });
});

describe('fa from the command line', () => {
  it("runs from a spec's plugins: and --plugin, its diagnostics in the rows", () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-fa-'));
    writeFileSync(
      join(dir, 'spec.yaml'),
      `name: fa-small
plugins: [${JSON.stringify(pkg)}]
target: { kind: hermite, d: 4, degree: 2 }
learners: [{ kind: fa, width: 16, steps: 100 }, { kind: fa, width: 16, steps: 100, hidden: 2, direct: true }]
metrics: [risk]
sweep: { n: [64] }
test: { n: 128 }
`,
    );
    // one spawn for both routes: plugins: names the package folder, --plugin names it again (loaded once)
    const r = regimes(dir, 'run', 'spec.yaml', '-o', 'out', '-q', '--plugin', pkg);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(join(dir, 'out/results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((row) => row.status)).toEqual(['ok', 'ok']);
    for (const row of rows) {
      expect(Number.isFinite(row.metrics.risk)).toBe(true);
      expect(row.diagnostics['alignment-angle']).toBeGreaterThan(0);
    }
  });
});
