// End-to-end: the built `regimes` command as a user runs it (npm test builds first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readResults } from '@regimes/core';
import { meanStd } from '../src/results/summary.js';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/regimes.js');

function regimes(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, REGIMES_BACKEND: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function specFile(text: string, name = 'spec.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'regimes-cli-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const small = `name: small
target: { kind: hermite, d: 4, degree: 2 }
learners: [{ kind: rf, width: 32 }]
sweep: { n: [32, 64] }
test: { n: 128 }
`;

describe('regimes run', () => {
  it('--jobs 2 gives the command its share of the BLAS threads, as its workers, before OpenBLAS loads', () => {
    // the command runs cells beside its worker: with all cores for its OpenBLAS (set after the
    // library had loaded) a cell's numbers depended on which process ran it
    const out = mkdtempSync(join(tmpdir(), 'regimes-threads-'));
    const { OPENBLAS_NUM_THREADS: _unset, ...env } = process.env;
    const r = spawnSync(
      process.execPath,
      [bin, 'run', specFile(small), '-b', 'native', '-j', '2', '-o', out, '-q'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...env, REGIMES_BACKEND: '' },
      },
    );
    if (r.status !== 0 && /backend native/.test(r.stderr)) return; // no native addon here
    expect(r.status).toBe(0);
    const share = String(Math.max(1, Math.floor(cpus().length / 2)));
    const record = JSON.parse(readFileSync(join(out, 'provenance.jsonl'), 'utf8').trim());
    expect(record.blasThreads).toBe(share);
    // OpenBLAS reads its thread count when it loads: the device line gives what it took (the
    // addon on its own SGEMM reads the variable at each product, restored by then)
    if (record.device.includes('OpenBLAS')) expect(record.device).toContain(`, ${share} threads;`);
    // one cell: no process beside it, so all the cores
    const one = mkdtempSync(join(tmpdir(), 'regimes-threads-'));
    const single = spawnSync(
      process.execPath,
      [
        bin,
        'run',
        specFile(small.replace('n: [32, 64]', 'n: [32]')),
        '-b',
        'native',
        '-j',
        '2',
        '-o',
        one,
        '-q',
      ],
      { cwd: root, encoding: 'utf8', env: { ...env, REGIMES_BACKEND: '' } },
    );
    expect(single.status).toBe(0);
    const alone = JSON.parse(readFileSync(join(one, 'provenance.jsonl'), 'utf8').trim());
    expect(alone.blasThreads).toBe('(OpenBLAS default)');
    if (alone.device.includes('OpenBLAS')) expect(alone.device).toContain(`, ${cpus().length} threads;`);
  });

  it('runs the quickstart: 12 rows, a summary table, and RF risk falling as n grows', () => {
    const out = mkdtempSync(join(tmpdir(), 'regimes-quickstart-'));
    const r = regimes('run', 'examples/quickstart.yaml', '--out', out, '--quiet');
    // --quiet: no progress lines (a WebGPU driver, where present, may still log its own warnings)
    expect(r.stderr).not.toMatch(/\[\d+\/12\]|error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/learner\s+n\s+runs\s+risk \(mean ± std\)/);
    // the fastest available: native where OpenBLAS is installed, else wasm
    expect(r.stdout).toMatch(
      /12 rows in .*results\.jsonl \(12 run now, 0 resumed, 0 failed\) on backend (native|wasm)\n/,
    );
    expect(r.stdout).toContain(join(out, 'results.jsonl'));
    const rows = readResults(join(out, 'results.jsonl')).rows;
    expect(rows.length).toBe(12);
    // one provenance line for this run: spec hash, commit of the checkout, Node, cores, backend
    const [record, ...more] = readFileSync(join(out, 'provenance.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(more).toEqual([]);
    expect(record.specHash).toBe(rows[0]!.specHash);
    expect(record.rows).toEqual({ ran: 12, resumed: 0, failed: 0 });
    expect(record.regimes.commit).toMatch(/^[0-9a-f]{40}( \+ local changes)?$|^not in a git repository$/);
    expect(record).toMatchObject({
      node: process.versions.node,
      cores: cpus().length,
      backend: rows[0]!.backend,
    });
    expect(record.command).toEqual(['run', 'examples/quickstart.yaml', '--out', out, '--quiet']);
    const ns = [64, 256, 1024, 4096];
    const risks = ns.map(
      (n) => meanStd(rows.filter((row) => row.cell.n === n).map((row) => row.metrics.risk!)).mean,
    );
    for (let i = 1; i < risks.length; i++) expect(risks[i]).toBeLessThan(risks[i - 1]!);
    // He_2 has unit energy: with 4096 samples RF ridge explains more than 95% of it.
    expect(risks[3]).toBeLessThan(0.05);
    // the README prints this table: its risks (mean and std over the seeds) and the test sets'
    // standard error of the mean (√Σse²/3) are this run's, on any backend, to float32 round-off
    // (the printed digits: native and wasm differ by up to 6e-4 relative, in the last digit of a
    // std); the fit times are not compared
    const table = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith('rf#0 '))
        .map((line) => {
          const f = line.trim().split(/\s+/); // rf#0 n runs risk ± std risk-se fit
          return [f[1], f[2], f[3], f[5], f[6]].map(Number);
        });
    const printed = table(r.stdout);
    ns.forEach((n, i) => {
      const se = rows.filter((row) => row.cell.n === n).map((row) => row.metrics['risk-se']!);
      const pooled = Math.sqrt(se.reduce((a, v) => a + v * v, 0)) / se.length;
      expect(Math.abs(printed[i]![4]! - pooled)).toBeLessThanOrEqual(1e-3 * pooled);
    });
    const readme = table(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(readme.map((row) => row.slice(0, 2))).toEqual(ns.map((n) => [n, 3]));
    expect(printed.map((row) => row.slice(0, 2))).toEqual(ns.map((n) => [n, 3]));
    printed.forEach((row, i) =>
      row.slice(2).forEach((value, j) => {
        const documented = readme[i]![j + 2]!;
        expect(Math.abs(value - documented), `README's n = ${ns[i]}, column ${j + 1}`).toBeLessThanOrEqual(
          1e-3 * documented,
        );
      }),
    );
    // Resuming finds every row present and runs nothing.
    const again = regimes('run', 'examples/quickstart.yaml', '--out', out, '--quiet');
    expect(again.stdout).toContain('(0 run now, 12 resumed, 0 failed)');
  });

  it('writes to runs/<spec name>/ by default and prints progress to stderr', () => {
    const spec = specFile(small);
    const dir = mkdtempSync(join(tmpdir(), 'regimes-cwd-'));
    const r = spawnSync(process.execPath, [bin, 'run', spec], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/\[1\/2\] n=32\|rf#0 {2}risk=/);
    expect(readResults(join(dir, 'runs/small/results.jsonl')).rows.length).toBe(2);
  });

  it("keeps V8's compiled modules in os.tmpdir() where Node has a compile cache, for its workers too", () => {
    const temp = mkdtempSync(join(tmpdir(), 'regimes-cache-'));
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: temp, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
    delete env.NODE_COMPILE_CACHE;
    delete env.NODE_DISABLE_COMPILE_CACHE;
    const out = join(temp, 'out');
    const r = spawnSync(process.execPath, [bin, 'run', specFile(small), '-j', '2', '-o', out, '--quiet'], {
      cwd: root,
      encoding: 'utf8',
      env,
    });
    expect(r.status).toBe(0);
    expect(readResults(join(out, 'results.jsonl')).rows.length).toBe(2);
    const cache = join(temp, 'node-compile-cache');
    if (typeof (module as { enableCompileCache?: unknown }).enableCompileCache !== 'function') {
      // Node 20: no compile cache, and nothing written
      expect(existsSync(cache)).toBe(false);
      return;
    }
    expect(readdirSync(cache).length).toBeGreaterThan(0);
    // the worker process (core's engine/worker.js) started with the cache enabled
    expect(r.stderr).toMatch(/compile cache.*engine\/worker\.js/);
  });

  it.each([
    [
      'a misspelt field',
      small.replace('width', 'widht'),
      "learners[0]: unknown field 'widht' (did you mean 'width'?)",
    ],
    ['a wrong type', small.replace('d: 4', 'd: four'), 'target.d: expected a positive integer, got "four"'],
    [
      'a missing field',
      small.replace('target: { kind: hermite, d: 4, degree: 2 }\n', ''),
      'target: required field is missing',
    ],
    [
      'an unknown kind',
      small.replace('kind: rf', 'kind: rff'),
      "unknown learner kind 'rff' (did you mean 'rf'?); registered learner kinds: rf",
    ],
    [
      'a YAML syntax error',
      small.replace('sweep: { n: [32, 64] }', 'sweep: { n: [32, 64 }'),
      'line 4, column',
    ],
  ])('rejects %s before any work, with the path and the fix, and no stack trace', (_label, text, message) => {
    const r = regimes('run', specFile(text));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: invalid spec in');
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('names the valid backends for an unknown one, and says why a known one is unavailable', () => {
    const unknown = regimes('run', specFile(small), '--backend', 'quantum');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /unknown backend kind 'quantum'; registered backend kinds: cuda, native, tensorflow, wasm, cpu, webgpu/,
    );
    const cuda = regimes('run', specFile(small), '--backend', 'cuda');
    expect(cuda.code).toBe(1);
    expect(cuda.stderr).toContain("error: backend 'cuda' is not available here: not installed");
    expect(cuda.stderr).toContain("hint: run 'regimes backends'");
  });

  it('prints the stack with --verbose', () => {
    const r = regimes('--verbose', 'run', specFile(small), '--backend', 'quantum');
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

// bad-input: 6
describe('run and merge say what to change', () => {
  it('-o naming a file, -b "", REGIMES_BACKEND naming no backend, split with n = 1', () => {
    const spec = specFile(small);
    const file = join(dirname(spec), 'a-file');
    writeFileSync(file, 'x');
    const onFile = regimes('run', spec, '-o', file, '-q');
    expect(onFile.code).toBe(1);
    expect(onFile.stderr).toContain(`error: ${file} is a file; the run's folder (-o) must be a folder`);
    const empty = regimes('run', spec, '-b', '', '-q');
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain('give a backend name (regimes backends lists them), or leave -b out');
    const env = spawnSync(process.execPath, [bin, 'run', spec, '-o', join(dirname(spec), 'out'), '-q'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, REGIMES_BACKEND: 'nativ' },
    });
    expect(env.status).toBe(1);
    expect(env.stderr).toContain("unknown backend kind 'nativ' (did you mean 'native'?)");
    // nothing run, nothing written: no folder, lock or empty results file (one was left before)
    expect(existsSync(join(dirname(spec), 'out'))).toBe(false);
    expect(env.stderr).toContain("hint: REGIMES_BACKEND is set to 'nativ' in the environment");
    // the same name from -b is the flag's: the hint does not blame the environment
    const flag = spawnSync(process.execPath, [bin, 'run', spec, '-b', 'nativ', '-q'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, REGIMES_BACKEND: 'nativ' },
    });
    expect(flag.stderr).toContain("unknown backend kind 'nativ'");
    expect(flag.stderr).not.toContain('REGIMES_BACKEND is set');
    const split = regimes(
      'run',
      specFile(
        small
          .replace('[{ kind: rf, width: 32 }]', '[{ kind: one-step, width: 8 }]')
          .replace('[32, 64]', '[1]'),
      ),
      '-o',
      join(dirname(spec), 'split'),
      '-q',
      '-b',
      'cpu',
    );
    expect(split.code).toBe(3);
    expect(readResults(join(dirname(spec), 'split', 'results.jsonl')).rows[0]!.error).toBe(
      'split 0.5 shares n = 1 sample between two stages: each needs one (use n >= 2, or split: reuse (both stages on all samples))',
    );
  });

  it('merge of a shard file reads the spec.json beside it, and lists what is missing', () => {
    const out = join(dirname(specFile(small)), 'sharded');
    expect(regimes('run', specFile(small), '-o', out, '--shard', '1/2', '-q', '-b', 'cpu').code).toBe(0);
    const merged = regimes('merge', join(out, 'results.shard-1-of-2.jsonl'), '-o', join(out, 'merged.jsonl'));
    expect(merged.code).toBe(3);
    expect(merged.stdout).toContain('1 of 2 (cell, learner) rows are missing');
  });
});

describe('regimes list, validate, backends', () => {
  it('lists the registered kinds with their options', () => {
    const r = regimes('list');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/targets:\n {2}hermite — .*\[@regimes\/targets\]/);
    expect(r.stdout).toContain('      d: integer >= 1 (required; input dimension)');
    expect(r.stdout).toContain('      degree: integer in [0, 12] (default 2; ');
    // strict bounds too: lr > 0, a tolerance in (0, 0.1], a list of positive numbers
    expect(r.stdout).toContain('      lr: number > 0 (default 1; ');
    expect(r.stdout).toContain('      cgTolerance: number in (0, 0.1] (default 0.0001; ');
    expect(r.stdout).toContain('      ridgeGrid: (number > 0)[] (default [1e-8,');
    expect(r.stdout).toMatch(/ {2}rf — random features ridge/);
    expect(r.stdout).toMatch(
      / {2}nngp — kernel ridge \(GP posterior mean\) with the infinite-width NNGP kernel/,
    );
    expect(r.stdout).toContain(
      '      activation: "relu" | "tanh" | "erf" | "quadratic" | "gelu" | "softplus" | "sigmoid" | { he } | { hermite } (default "relu"; σ: relu',
    );
    expect(r.stdout).toMatch(/metrics:\n {2}risk — /);
    expect(regimes('list', 'learners').stdout).not.toContain('hermite — ');
    expect(regimes('list', 'lerners').stderr).toContain("unknown list 'lerners'");
  });

  it('validates a spec and counts its rows', () => {
    const r = regimes('validate', specFile(small));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid; 2 cells, 2 \(cell, learner\) rows \(spec hash [0-9a-f]{16}\)/);
    // one cell of one learner: the counts in the singular, in validate and in the dry run
    const one = specFile(small.replace('n: [32, 64]', 'n: [32]'));
    expect(regimes('validate', one).stdout).toMatch(/valid; 1 cell, 1 \(cell, learner\) row \(/);
    expect(regimes('run', one, '--dry-run').stdout).toMatch(
      /: 1 cell, 1 \(cell, learner\) row, test n = 128/,
    );
  });

  it("validates the README's spec with no warning (its optional plugins line left out)", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /## A spec\n+```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, "README's section 'A spec' has a yaml block").toBeDefined();
    expect(block).toMatch(/^plugins: /m);
    const r = regimes('validate', specFile(block!.replace(/^plugins: .*\n/m, '')));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // 7 values of n × 3 seeds × 2 noises; rf#0 once and wide at its 4 λ a cell
    expect(r.stdout).toMatch(/valid; 42 cells, 210 \(cell, learner\) rows/);
  });

  it('reports each backend with availability', () => {
    const r = regimes('backends');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^webgpu\s+(unavailable|fallback|available)\s/m);
    expect(r.stdout).toMatch(/^cuda\s+unavailable\s+priority 40 {2}not installed/m);
    expect(r.stdout).toMatch(/^wasm .*; GEMM 512² float32: \d+\.\d GFLOP\/s$/m);
    expect(r.stdout).toMatch(/^cpu\s+available\s+priority 0 {2}host CPU/m);
    expect(r.stdout).toMatch(/^wasm\s+available\s+priority 10 {2}host CPU, WebAssembly SIMD/m);
  });
});

describe('regimes --version, validate, a missing spec', () => {
  it('prints the version of the cli package', () => {
    const r = regimes('--version');
    expect(r.code).toBe(0);
    const { version } = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8'));
    expect(r.stdout).toBe(`regimes ${version} (node ${process.versions.node})\n`);
  });

  // bad-input: 6
  it('lists an unknown kind and the misspelt options of the known ones in one run', () => {
    const spec = specFile(`name: typos
target: { kind: hermite, d: 4, degre: 2 }
learners: [{ kind: rff }, { kind: rf, widht: 8 }]
sweep: { n: [16] }
`);
    const r = regimes('validate', spec);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown learner kind 'rff' (did you mean 'rf'?)");
    expect(r.stderr).toContain("target: unknown field 'degre' (did you mean 'degree'?)");
    expect(r.stderr).toContain("learners[1]: unknown field 'widht' (did you mean 'width'?)");
    // a sweep the schema refuses stops the spec before planning: the entries' typos come with it
    const sweepToo = regimes('validate', specFile(readFileSync(spec, 'utf8').replace('n: [16]', 'n: 16')));
    expect(sweepToo.code).toBe(1);
    expect(sweepToo.stderr).toContain('sweep.n: a sweep value is a list');
    expect(sweepToo.stderr).toContain("unknown learner kind 'rff' (did you mean 'rf'?)");
    expect(sweepToo.stderr).toContain("learners[1]: unknown field 'widht' (did you mean 'width'?)");
  });

  it('describe prints each target: d, r, Var f*, the energies by degree; a linear f* gets a note', () => {
    const text = `name: stairs
target: { kind: hermite, d: 6, r: 3, preset: staircase }
learners: [{ kind: rf }]
sweep: { n: [16, 32], seed: [0, 1], target.r: [1, 3] }
`;
    expect(regimes('describe', specFile(text)).stderr).toContain('staircase with r = 1 is z1 alone');
    const fixed = specFile(`name: stairs
target: { kind: hermite, d: 6, preset: single, degree: 1 }
learners: [{ kind: rf }]
sweep: { n: [16, 32], seed: [0, 1] }
`);
    const linear = regimes('describe', fixed);
    expect(linear.code).toBe(0);
    expect(linear.stdout).toContain('4 cells; described at seed 0');
    expect(linear.stdout).toContain('note: f* is linear');
    // z1 + z1·z2 + z1·z2·z3: unit energy at degrees 1, 2 and 3, a third each
    const stairs = regimes('describe', specFile(text.replace(/target\.r: \[1, 3\]/, 'target.d: [6, 9]')));
    const blocks = stairs.stdout.trim().split(/\n(?=target )/);
    expect(blocks).toHaveLength(2);
    expect(blocks[1]).toMatch(
      /^target hermite \{"d":9,"r":3,"preset":"staircase","normalize":false,"noise":0\}/,
    );
    expect(blocks[1]).toContain('d = 9, outputs k = 1, r = 3');
    expect(blocks[1]).toContain('Var f* = 3.000, mean² = 0, noise variance = 0');
    expect(blocks[1]).toMatch(/energy +0 +1\.000 +1\.000 +1\.000\n +share +33\.3% +33\.3% +33\.3%/);
    // a classifier's E f*² (labels ±1), and the options printed as a spec takes them back: no
    // nested option that has no effect (transfer's destination.degree beside an expression)
    const mixture = regimes(
      'describe',
      specFile(
        'name: m\ntarget: { kind: mixture, d: 8, s: 2 }\nlearners: [{ kind: rf }]\nsweep: { n: [16] }\n',
      ),
    );
    expect(mixture.stdout).toMatch(
      /E f\*² = 0\.\d{4} \(labels ±1: 1 − the noise variance\), noise variance = 0\.\d{4}/,
    );
    const transfer = regimes(
      'describe',
      specFile(
        "name: t\ntarget: { kind: transfer, d: 6, r: 2, source: { preset: single }, destination: { expression: 'z1*z2' } }\nlearners: [{ kind: rf }]\nsweep: { n: [16] }\n",
      ),
    );
    const entry = JSON.parse(/^target transfer (\{.*\})$/m.exec(transfer.stdout)![1]!) as {
      destination: Record<string, unknown>;
    };
    expect(entry.destination).not.toHaveProperty('degree');
    const back = specFile(
      `name: t\ntarget: ${JSON.stringify({ kind: 'transfer', ...entry })}\nlearners: [{ kind: rf }]\nsweep: { n: [16] }\n`,
    );
    expect(regimes('validate', back).code).toBe(0);
  });

  it("describe of a kind's name prints its options; a near miss names the kind", () => {
    const rf = regimes('describe', 'rf');
    expect(rf.code).toBe(0);
    expect(rf.stdout).toMatch(/^learner:\n {2}rf — random features ridge/);
    expect(rf.stdout).toContain('      width: integer >= 1 (default 512; ');
    const typo = regimes('describe', 'hermit');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(
      "'hermit' is neither a spec file nor a registered kind (did you mean 'hermite'?)",
    );
  });

  // bad-input: 6
  it('says a spec file is missing in words, with the folder it was looked for in', () => {
    const r = regimes('run', 'no-such-spec.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read the spec no-such-spec.yaml: no such file');
    expect(r.stderr).toContain(`relative to ${root.replace(/\/$/, '')} or absolute`);
  });
});

describe('--plugin', () => {
  // relative to the working folder (the repository root), as a user would name it
  const plugin = './packages/cli/test/fixtures/kinds-plugin.js';
  const fixtureSpec = `name: fixture
target: { kind: hermite, d: 4, degree: 2 }
learners: [{ kind: fixture-mean }]
sweep: { n: [16, 32] }
test: { n: 64 }
`;

  it("brings a plugin's backend into `regimes backends` and its kinds into `regimes list`", () => {
    const plain = regimes('backends', '--no-gemm');
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('fixture-backend');
    const withPlugin = regimes('backends', '--no-gemm', '--plugin', plugin);
    expect(withPlugin.code).toBe(0);
    expect(withPlugin.stdout).toMatch(
      /^fixture-backend\s+unavailable\s+priority -1 {2}a test fixture, never available$/m,
    );
    expect(withPlugin.stdout).toMatch(/^cpu\s+available\s+priority 0 {2}host CPU/m);

    expect(regimes('list').stdout).not.toContain('fixture-');
    const list = regimes('list', '--plugin', plugin);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/ {2}fixture-mean — predicts the training mean .*\[regimes-test-kinds\]/);
    expect(list.stdout).toMatch(
      / {2}fixture-backend — a backend that is never available .*\[regimes-test-kinds\]/,
    );
    expect(regimes('list', 'backends', '--plugin', plugin).stdout).toContain('  fixture-backend — ');
  });

  it("lets validate, schema, run and merge (planning the spec) use a plugin's learner kind", () => {
    const spec = specFile(fixtureSpec);
    const unknown = regimes('validate', spec);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown learner kind 'fixture-mean'");
    // no near name: the message says how a plugin's kind is brought in
    expect(unknown.stderr).toContain('pass --plugin <package or path>');
    expect(regimes('validate', spec, '--plugin', plugin).stdout).toContain(
      'valid; 2 cells, 2 (cell, learner) rows',
    );
    // --plugin takes one value, so a spec after it stays the spec; commas give several
    expect(regimes('validate', '--plugin', plugin, spec).stdout).toContain('valid; 2 cells');
    expect(regimes('validate', '--plugin', `${plugin},${plugin}`, spec).code).toBe(0);

    const kinds = (args: string[]) =>
      JSON.parse(regimes('schema', ...args).stdout).properties.learners.items.properties.kind.enum;
    expect(kinds([])).not.toContain('fixture-mean');
    expect(kinds(['--plugin', plugin])).toContain('fixture-mean');

    const out = mkdtempSync(join(tmpdir(), 'regimes-plugin-'));
    for (const shard of ['1/2', '2/2'])
      expect(regimes('run', spec, '-o', out, '-q', '--shard', shard, '--plugin', plugin).code).toBe(0);
    // merge plans the folder's spec.json to list missing rows: it needs the plugin's kinds too
    const plain = regimes('merge', out);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("unknown learner kind 'fixture-mean'");
    const merged = regimes('merge', out, '--plugin', plugin);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain('every (cell, learner) row of the spec is present');
  });
});

describe('tf.grad outside the test runner', () => {
  it.each(['core', 'targets', 'learners', 'metrics', 'backend-node', 'backend-webgpu', 'cli'])(
    'works after importing the built @regimes/%s alone',
    (pkg) => {
      const script = `
        await import('@regimes/${pkg}');
        const tf = await import('@tensorflow/tfjs-core');
        await import('@tensorflow/tfjs-backend-cpu');
        await tf.setBackend('cpu');
        const g = tf.grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2, 3]));
        console.log(JSON.stringify(g.arraySync()));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.stdout.trim().split('\n').pop()).toBe('[2,-4,6]');
    },
  );
});

describe('standard output closed early', () => {
  // bad-input: 6
  it('`regimes schema | head -c 10`: the rest of the output is dropped, exit 0, no EPIPE stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-pipe-'));
    const errors = join(dir, 'stderr.txt');
    // the schema (~140 KB) is more than a pipe holds: head leaves while the command still writes
    const r = spawnSync(
      'bash',
      ['-c', `"${process.execPath}" "${bin}" schema 2>"${errors}" | head -c 10; echo " \${PIPESTATUS[0]}"`],
      { cwd: root, encoding: 'utf8' },
    );
    expect(readFileSync(errors, 'utf8')).not.toContain('EPIPE');
    expect(r.stdout).toBe('{\n  "$sche 0\n'); // 10 bytes, then the command's exit status
  }, 60_000);
});
