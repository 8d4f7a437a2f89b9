// The bench scripts' options (bench/args.mjs): an unknown option, or a value they cannot use, stops
// them before any work with what they take; --help prints the usage. Before, an unknown option was
// ignored and `node bench/run.mjs --help` ran the whole bench (~20 minutes on the 2-core VM). And the
// cases that call the library's kernel panels run to the end, small (~4 s).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, [join(repo, script), ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('bench options', () => {
  it('--help prints the usage and exits 0 before any case runs', () => {
    const r = run('bench/run.mjs', ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^npm run bench \[-- --quick\]/);
    expect(r.stdout).not.toMatch(/GEMM \d/); // no case line
  });

  // bad-input: 6
  it.for([
    [
      'bench/run.mjs',
      ['--quick', '--bogus'],
      'unknown argument "--bogus"; it takes --backend VALUE, --only VALUE',
    ],
    ['bench/run.mjs', ['--only'], '--only needs a value'],
    ['bench/run.mjs', ['--backend', '--quick'], '--backend needs a value'],
    [
      'bench/run.mjs',
      ['--sweep-reps', '0'],
      '--sweep-reps is 0: give a whole number of repetitions, 1 or more',
    ],
    ['bench/device/profile.mjs', ['--n', '100'], '--n is 100: give a whole number of points, 256 or more'],
    [
      'bench/device/profile.mjs',
      ['--quick'],
      'unknown argument "--quick"; it takes --backend VALUE, --n VALUE',
    ],
  ] as const)('%s %j exits 2: %s', ([script, args, message]) => {
    const r = run(script, [...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  // kernelPanels' return changed (2026-12-07) and bench/run.mjs, which no CI step ran, threw
  // 'panels is not a function': the cases that call the library's kernel panels run here, small
  it('runs the kernel-panel cases of bench/run.mjs (--quick) and bench/device/profile.mjs (--n 256) to the end', () => {
    const bench = spawnSync(
      process.execPath,
      [
        join(repo, 'bench/run.mjs'),
        '--quick',
        '--no-sweep',
        '--only',
        'NTK kernel build n=1024|Cholesky + solve n=1024|deep NTK kernel build',
      ],
      { cwd: repo, encoding: 'utf8', timeout: 300_000 },
    );
    expect(bench.status, bench.stderr).toBe(0);
    for (const name of [
      'NTK kernel build n=1024',
      'Cholesky \\+ solve n=1024',
      'deep NTK kernel build n=2048',
    ])
      // our seconds, then the first run's as `cold`
      expect(bench.stdout).toMatch(new RegExp(`\\| ${name}[^|]*\\| \\d+\\.\\d+, cold \\d+\\.\\d+ \\|`));
    const profile = spawnSync(process.execPath, [join(repo, 'bench/device/profile.mjs'), '--n', '256'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(profile.status, profile.stderr).toBe(0);
    expect(profile.stdout).toMatch(/NTK kernel panels n=256, no reads/);
    expect(profile.stdout).toMatch(/tensors left: 0/);
  });
});
