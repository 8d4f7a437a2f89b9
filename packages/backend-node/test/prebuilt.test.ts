// The addons committed for Linux (prebuilt/linux-x64, prebuilt/linux-arm64), which a machine without
// a C compiler loads: that each is the build of the current sources, that each asks glibc for nothing
// newer than its architecture's baseline versions, and that it computes (fixtures/addon-check.cjs: the
// arm64 one under qemu where qemu-aarch64-static and an arm64 Node exist — .ci/run installs both); and
// that the backend falls back to the one of this platform where no addon was built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildPrebuilt,
  compilerVersion,
  prebuiltAddon as committedAddon,
  prebuiltManifest,
  targetCompiler,
  // @ts-expect-error: a plain ES module script, without types
} from '../scripts/build-prebuilt.mjs';
// @ts-expect-error: a plain ES module script, without types
import { commandRuns } from '../scripts/build-native.mjs';
import { addonCandidates, loadBlas, prebuiltAddon } from '../src/blas.js';
import { native } from '../src/native.js';

const scratch = mkdtempSync(join(tmpdir(), 'regimes-prebuilt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const check = fileURLToPath(new URL('fixtures/addon-check.cjs', import.meta.url));

interface Checked {
  kernel: string;
  threads: number;
  worst: Record<string, number>;
}
/** fixtures/addon-check.cjs on an addon, by `node` (a command and its leading arguments), with extra environment. */
function checkAddon(node: string[], addon: string, env: Record<string, string> = {}): Checked {
  const r = spawnSync(node[0]!, [...node.slice(1), check, addon], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Checked;
}
function expectAccurate(c: Checked): void {
  for (const [name, ratio] of Object.entries(c.worst)) expect(ratio, name).toBeLessThan(1);
  // every check ran (the lite build has each entry point; huge pages where Linux has them)
  const thp = existsSync('/sys/kernel/mm/transparent_hugepage/enabled') ? ['adviseHugePages'] : [];
  expect(Object.keys(c.worst).sort()).toEqual(
    [
      ...thp,
      'potrf status',
      'potrf+trsm residual',
      'correlation',
      'reluDual',
      'reluDual snap',
      'mehlerSeries',
      'sgemm',
      'ssyrk',
      'syev order',
      'syev orthogonality',
      'syev residual',
      'syev status',
    ].sort(),
  );
}

// an arm64 Node to run the arm64 addon under qemu: REGIMES_ARM64_NODE (.ci/run sets it)
const arm64Node = process.env.REGIMES_ARM64_NODE;
const qemu =
  process.platform === 'linux' &&
  process.arch === 'x64' &&
  commandRuns('qemu-aarch64-static') &&
  arm64Node &&
  existsSync(arm64Node)
    ? ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu', arm64Node]
    : undefined;

const targets = [
  { target: 'linux-x64', arch: 'x64', maxGlibc: [2, 16], kernels: ['AVX2/FMA', 'portable C'] },
  { target: 'linux-arm64', arch: 'arm64', maxGlibc: [2, 17], kernels: ['NEON', 'portable C'] },
] as const;

for (const t of targets)
  describe(`the prebuilt ${t.target} addon (prebuilt/${t.target}/regimes_blas.node)`, () => {
    const committed = committedAddon(t.target) as string;
    const manifest = JSON.parse(readFileSync(`${committed}.json`, 'utf8')) as {
      addon: string;
      compiler: string;
      inputs: Record<string, string>;
    };

    it('is the build of the current sources (their hashes in regimes_blas.node.json)', () => {
      const now = prebuiltManifest(committed, undefined) as typeof manifest;
      expect(
        { inputs: now.inputs, addon: now.addon },
        `an input of the prebuilt addons changed without a rebuild: run npm run build:prebuilt (linux-x64 with GCC, and ${t.target === 'linux-arm64' ? 'gcc-aarch64-linux-gnu' : 'its compiler'})`,
      ).toEqual({ inputs: manifest.inputs, addon: manifest.addon });
    });

    // GCC's output is reproducible under one compiler version (checked across two directories);
    // another version may lay the code out otherwise
    const compiler = targetCompiler(t.target) as string | undefined;
    const found = compilerVersion(compiler) as string | undefined;
    const same = found === manifest.compiler;
    it.skipIf(!same)(
      `rebuilds to the same bytes${same ? '' : ` (skipped: needs the compiler ${manifest.compiler} for ${t.target}, found ${found ?? 'none'})`}`,
      () => {
        const out = join(scratch, `${t.target}.node`);
        const r = buildPrebuilt(t.target, out) as { status: number; text: string };
        expect(r.status, r.text).toBe(0);
        expect(Buffer.compare(readFileSync(out), readFileSync(committed))).toBe(0);
      },
    );

    it(`asks glibc for no symbol version above ${t.maxGlibc.join('.')} (Node 20 itself needs 2.28)`, () => {
      // the version names a shared object requires are strings of its .dynstr: GLIBC_2.34 or
      // GLIBC_2.35 would appear for pthread_create / hypot without native/glibc-compat.h
      const versions = [
        ...readFileSync(committed)
          .toString('latin1')
          .matchAll(/GLIBC_(\d+)\.(\d+)/g),
      ].map((m) => [Number(m[1]), Number(m[2])] as const);
      expect(versions.length).toBeGreaterThan(0);
      for (const [major, minor] of versions)
        expect(major * 1000 + minor).toBeLessThanOrEqual(t.maxGlibc[0] * 1000 + t.maxGlibc[1]);
    });

    const runner =
      t.arch === process.arch && process.platform === 'linux'
        ? [process.execPath]
        : t.arch === 'arm64'
          ? qemu
          : undefined;
    it.skipIf(!runner)(
      `computes: products, Cholesky, eigen, the ReLU dual and the Mehler series against float64, and advises huge pages, on its ${t.kernels.join(' and its ')} kernel${runner ? '' : ' (skipped: needs this platform, or qemu-aarch64-static and REGIMES_ARM64_NODE)'}`,
      () => {
        const fast = checkAddon(runner!, committed);
        expect(fast.kernel).toContain(`${t.kernels[0]} kernel`);
        expect(fast.threads).toBeGreaterThanOrEqual(1);
        expectAccurate(fast);
        const portable = checkAddon(runner!, committed, { REGIMES_GEMM_PORTABLE: '1' });
        expect(portable.kernel).toContain('portable C kernel');
        expectAccurate(portable);
      },
    );
  });

describe('which addon the backend loads', () => {
  it('tries the built one, then the prebuilt one on linux-x64 and linux-arm64 only; REGIMES_NATIVE_ADDON alone; REGIMES_NO_PREBUILT', () => {
    const sources = (env: NodeJS.ProcessEnv, platform = 'linux', arch = 'x64') =>
      addonCandidates(env, platform, arch).map((c) => c.source);
    expect(sources({})).toEqual(['built', 'prebuilt']);
    expect(sources({}, 'darwin', 'arm64')).toEqual(['built']);
    expect(sources({ REGIMES_NO_PREBUILT: '1' })).toEqual(['built']);
    expect(sources({}, 'linux', 'arm64')).toEqual(['built', 'prebuilt']);
    expect(sources({}, 'linux', 'ia32')).toEqual(['built']);
    expect(addonCandidates({ REGIMES_NATIVE_ADDON: 'prebuilt' }, 'linux', 'arm64')).toEqual([
      { path: '../prebuilt/linux-arm64/regimes_blas.node', source: 'prebuilt' },
    ]);
    expect(addonCandidates({ REGIMES_NATIVE_ADDON: 'prebuilt' }, 'darwin', 'arm64')).toEqual([]);
    expect(addonCandidates({ REGIMES_NATIVE_ADDON: '/x/a.node' }, 'linux', 'x64')).toEqual([
      { path: '/x/a.node', source: 'REGIMES_NATIVE_ADDON' },
    ]);
  });

  // bad-input: 6
  it.skipIf(!prebuiltAddon())(
    'falls back to the prebuilt one where none was built, saying why; none left: says what to install',
    () => {
      const absent = join(scratch, 'none', 'regimes_blas.node');
      const loaded = loadBlas(absent);
      expect(loaded.source).toBe('prebuilt');
      expect(loaded.fallback).toContain(`${absent} is absent`);
      expect(loaded.blas!.openblas).toBe(false);
      // a file that is not a shared object: the reason says it did not load
      const broken = fileURLToPath(import.meta.url);
      expect(loadBlas(broken).fallback).toMatch(/prebuilt\.test\.ts did not load/);
      const saved = process.env.REGIMES_NO_PREBUILT;
      process.env.REGIMES_NO_PREBUILT = '1';
      try {
        const none = loadBlas(absent);
        expect(none.blas).toBeUndefined();
        expect(none.reason).toContain('is absent');
        expect(none.reason).toContain('npm run build:native');
      } finally {
        if (saved === undefined) delete process.env.REGIMES_NO_PREBUILT;
        else process.env.REGIMES_NO_PREBUILT = saved;
      }
    },
  );

  it.skipIf(!prebuiltAddon())(
    'serves `native` (REGIMES_NATIVE_ADDON=prebuilt): its device says so, its products match float64',
    async () => {
      const saved = process.env.REGIMES_NATIVE_ADDON;
      process.env.REGIMES_NATIVE_ADDON = 'prebuilt';
      try {
        const backend = native.create({});
        const probe = await backend.probe();
        expect(probe.available).toBe(true);
        expect(probe.device).toContain(`the prebuilt ${process.platform}-${process.arch} addon`);
        expect(probe.device).toContain('regimes SGEMM');
        await backend.activate();
        // a product above the addon's threshold (the wasm heap read in place), against float64
        const [m, k, n] = [160, 300, 130];
        const a = Float32Array.from(Rng.fromSeed(3).normal(m * k));
        const b = Float32Array.from(Rng.fromSeed(4).normal(k * n));
        const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync());
        let worst = 0;
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let q = 0; q < k; q++) s += a[i * k + q]! * b[q * n + j]!;
            worst = Math.max(worst, Math.abs(s - c[i * n + j]!));
          }
        // float32 sums of 300 products of unit normals (entries ~17): measured 4.1e-5 (AVX2/FMA)
        expect(worst).toBeLessThan(3e-4);
      } finally {
        if (saved === undefined) delete process.env.REGIMES_NATIVE_ADDON;
        else process.env.REGIMES_NATIVE_ADDON = saved;
        await tf.setBackend('cpu');
      }
    },
  );
});
