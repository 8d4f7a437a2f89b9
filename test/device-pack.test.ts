// bench/device/: pack.sh and run.sh, which carry the bench to a GPU machine without Node.js or network.
// Here: both pass shellcheck, and run.sh, given a pack whose `node` is a stub that records its calls,
// unpacks it, runs `regimes backends` and the bench on webgpu then native with the options it was
// given, and leaves its result files in $OUT; a backend whose bench fails does not stop the other;
// without a pack, or with an unknown option, it says what to do. pack.sh itself (npm pack of Node.js,
// strace, apt-get download) is not run in the suite: it was run by hand, and its pack on llvmpipe.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const device = join(repo, 'bench', 'device');
const has = (tool: string) => spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0;

const scratch = mkdtempSync(join(tmpdir(), 'regimes-device-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runSh(pack: string, args: string[], name: string, env: Record<string, string> = {}) {
  const out = join(scratch, `${name}-out`);
  const r = spawnSync('bash', [join(pack, 'run.sh'), ...args], {
    encoding: 'utf8',
    cwd: scratch,
    env: { ...process.env, OUT: out, REGIMES_DEVICE_WORK: join(scratch, `${name}-work`), ...env },
  });
  return { ...r, out };
}

/** A .device folder whose node.xz is a shell script logging each call and writing what the bench writes. */
function fakePack(name: string): string {
  const pack = join(scratch, name);
  const stage = join(scratch, `${name}-stage`);
  mkdirSync(join(pack, 'debs'), { recursive: true });
  mkdirSync(join(stage, 'repo', 'bench'), { recursive: true });
  mkdirSync(join(stage, 'lib'), { recursive: true });
  writeFileSync(join(stage, 'repo', 'bench', 'run.mjs'), '// stands for the bench\n');
  writeFileSync(join(stage, 'lib', 'libopenblas.so.0'), 'not a library\n');
  writeFileSync(
    join(stage, 'node'),
    [
      '#!/usr/bin/env bash',
      'echo "$*" >>"$OUT/calls.log"',
      'if [ "$1" = --version ]; then echo v20.0.0-stub; fi',
      'if [ "$1" = bench/run.mjs ]; then',
      '  mkdir -p bench-results',
      '  echo "{\\"backend\\": \\"$3\\", \\"lib\\": \\"$LD_LIBRARY_PATH\\"}" >bench-results/bench.json',
      '  echo "| case | regimes (s) |"',
      '  if [ "$3" = "${STUB_FAIL:-}" ]; then exit 3; fi',
      'fi',
      '',
    ].join('\n'),
  );
  const sh = (command: string) => {
    const r = spawnSync('bash', ['-c', command], { cwd: stage, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  };
  sh(`xz -c node >"${pack}/node.xz"`);
  sh(`tar cf - -C repo . | xz >"${pack}/files.tar.xz"`);
  sh(`tar cf - lib | xz >"${pack}/lib.tar.xz"`);
  writeFileSync(join(pack, 'run.sh'), readFileSync(join(device, 'run.sh')));
  return pack;
}

describe('bench/device scripts', () => {
  it('pass shellcheck (every severity)', (ctx) => {
    if (!has('shellcheck'))
      ctx.skip('shellcheck is not installed (apt-get install shellcheck; .ci/run does)');
    const r = spawnSync('shellcheck', ['--severity=style', 'pack.sh', 'run.sh'], {
      encoding: 'utf8',
      cwd: device,
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('run.sh refuses an unknown option, naming the ones it takes', () => {
    const r = runSh(device, ['--fast'], 'option');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'unknown argument --fast (--quick, --only PATTERN, --limit SECONDS, --backends LIST, --no-torch, --profile)',
    );
  });

  it('run.sh without a pack says to build one with pack.sh', () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'run.sh'), readFileSync(join(device, 'run.sh')));
    const r = runSh(empty, [], 'empty');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('node.xz is missing: run bash bench/device/pack.sh');
  });

  it('run.sh unpacks the pack and runs the bench on webgpu, then native, with its options', (ctx) => {
    if (!has('xz') || !has('timeout')) ctx.skip('xz or timeout is not installed');
    const pack = fakePack('pack');
    const r = runSh(pack, ['--quick', '--only', 'GEMM|training step', '--limit', '60'], 'run', {
      REGIMES_WEBGPU_DIAGONAL_BLOCK: '',
    });
    expect(r.stderr).not.toContain('could not unpack');
    expect(r.status).toBe(0);
    const calls = readFileSync(join(r.out, 'calls.log'), 'utf8').trim().split('\n');
    expect(calls).toEqual([
      '--version',
      'packages/cli/bin/regimes.js backends',
      'bench/run.mjs --backend webgpu --no-sweep --only GEMM|training step --quick',
      'bench/run.mjs --backend native --no-sweep --only GEMM|training step --quick',
    ]);
    for (const backend of ['webgpu', 'native']) {
      const json = JSON.parse(readFileSync(join(r.out, `bench-${backend}.json`), 'utf8')) as {
        backend: string;
        lib: string;
      };
      expect(json.backend).toBe(backend);
      // the packed OpenBLAS comes first on the library path
      expect(json.lib.split(':')[0]).toBe(join(scratch, 'run-work', 'lib'));
      expect(readFileSync(join(r.out, `bench-${backend}.txt`), 'utf8')).toContain('| case |');
    }
    expect(readFileSync(join(r.out, 'machine.txt'), 'utf8')).toContain('v20.0.0-stub');
    expect(readFileSync(join(r.out, 'machine.txt'), 'utf8')).toContain('webgpu diagonal-block program: rows');
    // within the device tool's 8 files (torch.txt is the eighth where the pack has torch_ref.py)
    expect(readdirSync(r.out).filter((f) => f !== 'calls.log').length).toBeLessThanOrEqual(8);
  });

  it('run.sh --backends native runs that backend only', (ctx) => {
    if (!has('xz') || !has('timeout')) ctx.skip('xz or timeout is not installed');
    const pack = fakePack('one');
    const r = runSh(pack, ['--backends', 'native', '--no-torch', '--only', 'GEMM'], 'one', {
      REGIMES_WEBGPU_DIAGONAL_BLOCK: 'tiles',
    });
    expect(r.status).toBe(0);
    // the program webgpu would run is named, from the environment the bench inherits
    expect(readFileSync(join(r.out, 'machine.txt'), 'utf8')).toContain(
      'webgpu diagonal-block program: tiles',
    );
    const calls = readFileSync(join(r.out, 'calls.log'), 'utf8').trim().split('\n');
    expect(calls.slice(2)).toEqual(['bench/run.mjs --backend native --no-sweep --only GEMM']);
    expect(readdirSync(r.out).sort()).toEqual(
      ['backends.txt', 'bench-native.json', 'bench-native.txt', 'calls.log', 'log.txt', 'machine.txt'].sort(),
    );
  });

  it("run.sh --profile runs profile.mjs after each bench, its lines in that backend's file", (ctx) => {
    if (!has('xz') || !has('timeout')) ctx.skip('xz or timeout is not installed');
    const pack = fakePack('profile');
    const r = runSh(pack, ['--backends', 'native', '--no-torch', '--only', 'GEMM', '--profile'], 'profile');
    expect(r.status).toBe(0);
    const calls = readFileSync(join(r.out, 'calls.log'), 'utf8').trim().split('\n');
    expect(calls.slice(2)).toEqual([
      'bench/run.mjs --backend native --no-sweep --only GEMM',
      'bench/device/profile.mjs --backend native',
    ]);
    const text = readFileSync(join(r.out, 'bench-native.txt'), 'utf8');
    expect(text.indexOf('| case |')).toBeLessThan(text.indexOf('== profile on native'));
  });

  it('run.sh goes on to native when webgpu fails, keeps its JSON and exits 1 saying why', (ctx) => {
    if (!has('xz') || !has('timeout')) ctx.skip('xz or timeout is not installed');
    const pack = fakePack('failing');
    const r = runSh(pack, [], 'failing', { STUB_FAIL: 'webgpu' });
    expect(r.status).toBe(1);
    const calls = readFileSync(join(r.out, 'calls.log'), 'utf8').trim().split('\n');
    expect(calls.slice(2)).toEqual([
      'bench/run.mjs --backend webgpu --no-sweep --only GEMM|NTK kernel build|Cholesky + solve|ntk learner fit|training step|RF fit N=4096 n=8192 d=64 (λ fixed)',
      'bench/run.mjs --backend native --no-sweep --only GEMM|NTK kernel build|Cholesky + solve|ntk learner fit|training step|RF fit N=4096 n=8192 d=64 (λ fixed)',
    ]);
    expect(readFileSync(join(r.out, 'log.txt'), 'utf8')).toContain(
      'bench on webgpu exited with status 3; its lines so far are in bench-webgpu.txt',
    );
    expect(JSON.parse(readFileSync(join(r.out, 'bench-webgpu.json'), 'utf8'))).toMatchObject({
      backend: 'webgpu',
    });
    expect(JSON.parse(readFileSync(join(r.out, 'bench-native.json'), 'utf8'))).toMatchObject({
      backend: 'native',
    });
  });
});
