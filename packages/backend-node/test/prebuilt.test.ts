// The addon committed for linux-x64 (prebuilt/), which a machine without a C compiler loads: that it
// is the build of the current sources, that it asks glibc for nothing newer than the x86-64 baseline
// versions, and that the backend falls back to it where no addon was built. Its numbers are checked
// by host-lapack.test.ts (the lite addon's tests run on it too) and here through `native`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script, without types
import { buildPrebuilt, compilerVersion, prebuiltManifest } from '../scripts/build-prebuilt.mjs';
import { addonCandidates, loadBlas, PREBUILT_ADDON } from '../src/blas.js';
import { native } from '../src/native.js';

const committed = fileURLToPath(new URL(PREBUILT_ADDON, new URL('../src/', import.meta.url)));
const manifest = JSON.parse(readFileSync(`${committed}.json`, 'utf8')) as {
  addon: string;
  compiler: string;
  inputs: Record<string, string>;
};
const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
const scratch = mkdtempSync(join(tmpdir(), 'regimes-prebuilt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the prebuilt linux-x64 addon (prebuilt/linux-x64/regimes_blas.node)', () => {
  it('is the build of the current sources (their hashes in regimes_blas.node.json)', () => {
    const now = prebuiltManifest(committed, undefined) as typeof manifest;
    expect(
      { inputs: now.inputs, addon: now.addon },
      'an input of the prebuilt addon changed without a rebuild: run npm run build:prebuilt (linux-x64, GCC)',
    ).toEqual({ inputs: manifest.inputs, addon: manifest.addon });
  });

  // GCC's output is reproducible under one compiler version (and checked across two directories);
  // another version may lay the code out otherwise
  const same = linuxX64 && compilerVersion() === manifest.compiler;
  it.skipIf(!same)(
    `rebuilds to the same bytes${same ? '' : ` (skipped: needs linux-x64 and the compiler ${manifest.compiler}, found ${compilerVersion() ?? 'none'})`}`,
    () => {
      const r = buildPrebuilt(join(scratch, 'again.node')) as { status: number; text: string };
      expect(r.status, r.text).toBe(0);
      expect(Buffer.compare(readFileSync(join(scratch, 'again.node')), readFileSync(committed))).toBe(0);
    },
  );

  it('asks glibc for no symbol version above 2.16 (Node 20 itself needs 2.28)', () => {
    // the version names a shared object requires are strings of its .dynstr: GLIBC_2.34 or GLIBC_2.35
    // would appear for pthread_create / hypot without native/glibc-compat.h
    const versions = [
      ...readFileSync(committed)
        .toString('latin1')
        .matchAll(/GLIBC_2\.(\d+)/g),
    ].map((m) => Number(m[1]));
    expect(versions.length).toBeGreaterThan(0);
    expect(Math.max(...versions)).toBeLessThanOrEqual(16);
  });
});

describe('which addon the backend loads', () => {
  it('tries the built one, then the prebuilt one on linux-x64 only; REGIMES_NATIVE_ADDON alone; REGIMES_NO_PREBUILT', () => {
    const sources = (env: NodeJS.ProcessEnv, platform = 'linux', arch = 'x64') =>
      addonCandidates(env, platform, arch).map((c) => c.source);
    expect(sources({})).toEqual(['built', 'prebuilt']);
    expect(sources({}, 'darwin', 'arm64')).toEqual(['built']);
    expect(sources({}, 'linux', 'arm64')).toEqual(['built']);
    expect(sources({ REGIMES_NO_PREBUILT: '1' })).toEqual(['built']);
    expect(addonCandidates({ REGIMES_NATIVE_ADDON: 'prebuilt' }, 'linux', 'x64')).toEqual([
      { path: PREBUILT_ADDON, source: 'prebuilt' },
    ]);
    expect(addonCandidates({ REGIMES_NATIVE_ADDON: '/x/a.node' }, 'linux', 'x64')).toEqual([
      { path: '/x/a.node', source: 'REGIMES_NATIVE_ADDON' },
    ]);
  });

  // bad-input: 6
  it.skipIf(!linuxX64)(
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

  it.skipIf(!linuxX64)(
    'serves `native` (REGIMES_NATIVE_ADDON=prebuilt): its device says so, its products match float64',
    async () => {
      const saved = process.env.REGIMES_NATIVE_ADDON;
      process.env.REGIMES_NATIVE_ADDON = 'prebuilt';
      try {
        const backend = native.create({});
        const probe = await backend.probe();
        expect(probe.available).toBe(true);
        expect(probe.device).toContain('the prebuilt linux-x64 addon');
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
        // float32 sums of 300 terms of size ~1: measured 1.5e-5
        expect(worst).toBeLessThan(1e-4);
      } finally {
        if (saved === undefined) delete process.env.REGIMES_NATIVE_ADDON;
        else process.env.REGIMES_NATIVE_ADDON = saved;
        await tf.setBackend('cpu');
      }
    },
  );
});
