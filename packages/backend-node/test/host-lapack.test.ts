// numerics' host LAPACK (kernel ridge in host memory) from the addon built without OpenBLAS:
// regimes' own blocked Cholesky and substitutions (native/lapack-lite.c) against float64 references,
// and the `native` backend registering it (and only it: no dense tfjs Cholesky kernels) there.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@regimes/core';
import { eigenResidual, expectNoLeak, symmetricWithSpectrum } from '@regimes/core/testing';
import {
  BlockCholeskyKernel,
  cholesky,
  choleskyPanels,
  choleskySolveTensor,
  COMPILED_EIGEN_LIMIT,
  denseCholeskyAvailable,
  disposeFactor,
  hostCholesky,
  hostCholeskySolve,
  HOST_EIGEN_LIMIT,
  hostLapack,
  invertLower,
  symmetricEigenSolver,
  symmetricEigenTensor,
  symmetricEigenTridiagonal,
  webAssemblyEigen,
} from '@regimes/numerics';
import type { CompiledEigen } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script, without types
import { buildEigenWasm, eigenWasmManifest } from '../scripts/build-eigen-wasm.mjs';
import { type Blas, loadBlas, prebuiltAddon } from '../src/blas.js';
import { native } from '../src/native.js';
import { wasm } from '../src/wasm.js';
import { buildAddon, compiler } from './build-addon.js';
import { expectInfinitePivotFails } from './infinite-pivot.js';

const scratch = mkdtempSync(join(tmpdir(), 'regimes-lite-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/** A = XXᵀ (n×n, rank d) in float32, its float64 twin, and X. */
/** The column panels of XXᵀ (X the tensor's rows): rows start… of columns start … start + size. */
function gramPanels(xt: tf.Tensor2D) {
  return (start: number, size: number) =>
    tf.tidy(() =>
      tf.matMul(tf.slice(xt, [start, 0], [-1, -1]), tf.slice(xt, [start, 0], [size, -1]), false, true),
    );
}

function gram(n: number, d: number, seed: number) {
  const x = Float32Array.from(Rng.fromSeed(seed).normal(n * d));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += x[i * d + q]! * x[j * d + q]!;
      a[i * n + j] = a[j * n + i] = Math.fround(s);
    }
  return { x, a, a32: Float32Array.from(a) };
}

const maxAbs = (v: ArrayLike<number>) =>
  Array.prototype.reduce.call(v, (m: number, x) => Math.max(m, Math.abs(x as number)), 0) as number;

/**
 * The addon's diagonal-block kernel (blockCholeskyInverse) against float64: L⁻¹ of blocks across
 * the 8-wide dot products' tails, read at an offset with a row stride above b, on the AVX2 and the
 * baseline build of its loops; the status row; and its refusals.
 */
function blockInverseMatches(addon: Blas): void {
  const portable = process.env.REGIMES_GEMM_PORTABLE;
  try {
    for (const flag of ['0', '1']) {
      process.env.REGIMES_GEMM_PORTABLE = flag;
      for (const b of [1, 5, 9, 130, 256]) {
        const ld = b + 3;
        const { a32 } = gram(b, 8, 40 + b); // rank ≤ 8: shift 0.5 makes it positive definite
        const p = new Float32Array(7 + b * ld).fill(Number.NaN); // only the lower triangle is read
        for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) p[7 + i * ld + j] = a32[i * b + j]!;
        const out = new Float32Array(2 + (b + 1) * b).fill(Number.NaN);
        expect(addon.blockCholeskyInverse!(b, p, 7, ld, 0.5, out, 2)).toBe(0);
        expect(Number.isNaN(out[0]!) && Number.isNaN(out[1]!)).toBe(true);
        const host = Float64Array.from(a32, (v, k) => (k % (b + 1) === 0 ? v + 0.5 : v));
        const want = invertLower(cholesky(host, b), b);
        const got = out.subarray(2);
        // float64 throughout, rounded once: within a float32 rounding of the largest entry
        let worst = 0;
        for (let k = 0; k < b * b; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
        expect(worst / maxAbs(want), `b = ${b}, portable = ${flag}`).toBeLessThan(1.2e-7);
        for (let i = 0; i < b; i++) for (let j = i + 1; j < b; j++) expect(got[i * b + j]).toBe(0);
        expect(Array.from(got.subarray(b * b))).toEqual(new Array(b).fill(0));
      }
    }
  } finally {
    if (portable === undefined) delete process.env.REGIMES_GEMM_PORTABLE;
    else process.env.REGIMES_GEMM_PORTABLE = portable;
  }
  // pivot 3 not positive: status 4 (1-based), in the return value and row b
  const b = 6;
  const { a32 } = gram(b, 8, 3);
  a32[3 * b + 3] = -1;
  const out = new Float32Array((b + 1) * b);
  expect(addon.blockCholeskyInverse!(b, a32, 0, b, 0, out, 0)).toBe(4);
  expect(out[b * b]).toBe(4);
  expect(() => addon.blockCholeskyInverse!(b, a32, 0, b - 1, 0, out, 0)).toThrow(
    /blockCholeskyInverse operands/,
  );
  expect(() => addon.blockCholeskyInverse!(b, a32, 0, b, 0, out.subarray(1), 0)).toThrow(
    /blockCholeskyInverse operands/,
  );
}

/**
 * The panel Cholesky on the active backend through its BlockCholeskyKernel: the slot says which
 * loop runs; the factor solves (A + shift·I)x = b like float64; a numerically singular system
 * (rank 16, no shift) comes back with jitter, as the host path gave it.
 */
async function panelsFactor(compiled: boolean): Promise<Float32Array> {
  const slot = (tf.getKernel(BlockCholeskyKernel, 'wasm') as unknown as Record<symbol, { factor?: unknown }>)[
    Symbol.for('regimes.blockCholesky')
  ];
  expect(slot?.factor !== undefined).toBe(compiled);
  expect(denseCholeskyAvailable()).toBe(false);
  const n = 300;
  const { x, a } = gram(n, 16, 21);
  const xt = tf.tensor2d(x, [n, 16]);
  const panels = gramPanels(xt);
  const b = Float32Array.from(Rng.fromSeed(22).normal(n));
  let solved = new Float32Array(n);
  await expectNoLeak(async () => {
    // blocks of 64 (four whole, one of 44) and of 256 (one, then 44)
    for (const block of [64, 256]) {
      const factor = await choleskyPanels(panels, n, { shift: 0.5, block });
      expect(factor.jitter).toBe(0);
      const bt = tf.tensor2d(b, [n, 1]);
      const xs = choleskySolveTensor(factor, bt);
      solved = (await xs.data()) as Float32Array;
      tf.dispose([bt, xs]);
      disposeFactor(factor);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        let s = 0.5 * solved[i]!;
        for (let j = 0; j < n; j++) s += a[i * n + j]! * solved[j]!;
        worst = Math.max(worst, Math.abs(s - b[i]!));
      }
      expect(worst / maxAbs(b), `block ${block}`).toBeLessThan(2e-4);
    }
    const singular = await choleskyPanels(panels, n, { block: 64, meanDiagonal: 16 });
    expect(singular.jitter).toBeGreaterThan(0);
    disposeFactor(singular);
    // an infinite pivot (entry 70 of the second block of 64) fails as a non-positive one: the
    // addon's loop tests d > 0 only and would leave L⁻¹ a 0 there, status 0
    const infinite = gram(n, 16, 21).a32;
    infinite[70 * n + 70] = Infinity;
    const whole = tf.tensor2d(infinite, [n, n]);
    await expect(
      choleskyPanels((s, size) => tf.slice(whole, [s, s], [n - s, size]), n, { shift: 0.5, block: 64 }),
    ).rejects.toThrow(/on the last try pivot 70 \(row 70 of /);
    whole.dispose();
  });
  xt.dispose();
  return solved;
}

/**
 * A divide-and-conquer eigen solver (eigen-lite-body.h: the addon's, or its WebAssembly build) on
 * spectra that deflate, cluster or nearly tie, against the JavaScript QL: the same eigenvalues, and
 * ‖Av − λv‖ and ‖VᵀV − I‖ within 1e-13 of the largest |λ|. m = 37: one merge above two QL leaves;
 * 600: four levels, panels of the reduction past its threaded products (512), a partial last panel
 * and block of reflectors. `builds` run the solver each way (the AVX2 and portable code).
 */
function hardSpectra(solver: CompiledEigen, builds: [string, () => void][]) {
  const rng = Rng.fromSeed(21);
  const symmetric = (m: number, entry: (i: number, j: number) => number) => {
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) a[i * m + j] = a[j * m + i] = entry(i, j);
    return a;
  };
  const noise = (m: number) => Float64Array.from(rng.normal(m * m));
  const cases: [string, number, Float64Array][] = [];
  for (const m of [37, 600]) {
    const r = noise(m);
    const x = Float64Array.from(rng.normal(m * 6));
    cases.push(
      ['random (little deflation)', m, symmetric(m, (i, j) => r[i * m + j]!)],
      // glued Wilkinson W₂₁⁺: pairs of eigenvalues equal to ~1e-14, blocks coupled by 1e-7
      [
        'glued Wilkinson',
        m,
        symmetric(m, (i, j) =>
          i === j ? Math.abs((i % 21) - 10) : i === j + 1 ? (j % 21 === 20 ? 1e-7 : 1) : 0,
        ),
      ],
      ['I + 1e-10·noise (one cluster)', m, symmetric(m, (i, j) => (i === j ? 1 : 0) + 1e-10 * r[i * m + j]!)],
      // rank 6: m − 6 eigenvalues at zero, deflated in every merge
      [
        'Gram of rank 6',
        m,
        symmetric(m, (i, j) => x.subarray(i * 6, i * 6 + 6).reduce((s, v, q) => s + v * x[j * 6 + q]!, 0)),
      ],
      ['diagonal with repeats (all deflated)', m, symmetric(m, (i, j) => (i === j ? i % 5 : 0))],
    );
  }
  for (const [name, m, a] of cases) {
    const script = symmetricEigenTridiagonal(a, m);
    const norm = Math.max(...script.values.map(Math.abs));
    for (const [build, set] of builds) {
      set();
      const { values, vectors } = symmetricEigenTridiagonal(a, m, solver);
      const label = `${name}, m = ${m}, ${build}`;
      // the same eigenvalues as QL over the whole matrix (JavaScript), to rounding
      let valueError = 0;
      values.forEach((v, i) => (valueError = Math.max(valueError, Math.abs(v - script.values[i]!))));
      expect(valueError / norm, label).toBeLessThan(1e-13);
      // ‖A v − λ v‖ and ‖VᵀV − I‖ (every 7th column against all), both backward-stable sizes
      let residual = 0;
      let orthogonality = 0;
      for (let j = 0; j < m; j += j % 7 === 0 ? 1 : 3) {
        let r2 = 0;
        for (let i = 0; i < m; i++) {
          let s = 0;
          for (let k = 0; k < m; k++) s += a[i * m + k]! * vectors[k * m + j]!;
          r2 += (s - values[j]! * vectors[i * m + j]!) ** 2;
        }
        residual = Math.max(residual, Math.sqrt(r2));
        if (j % 7) continue;
        for (let q = 0; q < m; q++) {
          let dot = 0;
          for (let k = 0; k < m; k++) dot += vectors[k * m + j]! * vectors[k * m + q]!;
          orthogonality = Math.max(orthogonality, Math.abs(dot - (q === j ? 1 : 0)));
        }
      }
      expect(residual / norm, label).toBeLessThan(1e-13);
      expect(orthogonality, label).toBeLessThan(1e-13);
    }
  }
}

describe('the WebAssembly build of the eigen solver (numerics/wasm/eigen.wasm)', () => {
  const committed = new URL('../../numerics/wasm/eigen.wasm', import.meta.url).pathname;

  it('is the build of the current sources (their hashes in eigen.wasm.json)', () => {
    const recorded = JSON.parse(readFileSync(`${committed}.json`, 'utf8')) as unknown;
    expect(
      eigenWasmManifest(committed),
      'a source of eigen.wasm changed without a rebuild: run npm run build:eigen-wasm (needs clang-14, lld-14, wasi-libc, libclang-rt-14-dev-wasm32)',
    ).toEqual(recorded);
  });

  const probe = buildEigenWasm(join(scratch, 'probe.wasm')) as { status: number; text: string };
  it.skipIf(probe.status !== 0)(
    `rebuilds to the same bytes${probe.status ? ` (skipped: ${probe.text})` : ''}`,
    () => {
      expect(Buffer.compare(readFileSync(join(scratch, 'probe.wasm')), readFileSync(committed))).toBe(0);
    },
  );

  it('decomposes as the addon does: spectra that deflate, cluster or nearly tie', () => {
    const solver = webAssemblyEigen();
    expect(solver).toBeDefined();
    hardSpectra(solver!, [['WebAssembly', () => {}]]);
    // a NaN in the lower triangle is refused
    expect(
      solver!(
        3,
        Float64Array.from([1, 0, 0, Number.NaN, 1, 0, 0, 0, 1]),
        new Float64Array(3),
        new Float64Array(9),
      ),
    ).toBe(-1);
  });
});

describe.skipIf(!loadBlas().blas)(
  'the diagonal-block kernel of the loaded addon (blockCholeskyInverse)',
  () => {
    it('matches float64, AVX2 or not; says which pivot failed; refuses wrong sizes', () => {
      blockInverseMatches(loadBlas().blas!);
    });
  },
);

/**
 * The build without OpenBLAS two ways: compiled here by the install's script, and the one committed
 * for this platform where one is (prebuilt/, what a machine without a C compiler loads; prebuilt.test.ts
 * pins it).
 */
const liteAddons = [
  {
    name: 'the addon built without OpenBLAS',
    skip: !compiler,
    out: join(scratch, 'lite.node'),
    build(out: string) {
      const r = buildAddon({ REGIMES_NO_OPENBLAS: '1' }, out);
      expect(r.status, r.text).toBe(0);
    },
  },
  {
    name: `the prebuilt ${process.platform}-${process.arch} addon`,
    skip: !prebuiltAddon(),
    out: new URL(prebuiltAddon() ?? '../prebuilt/none', new URL('../src/', import.meta.url)).pathname,
    build() {},
  },
];

for (const variant of liteAddons)
  describe.skipIf(variant.skip)(`host LAPACK of ${variant.name} (lapack-lite.c)`, () => {
    const out = variant.out;
    let lite: Blas;

    it('loads, and has hostPotrf / hostTrsm / hostSyev but no LAPACK kernels', () => {
      variant.build(out);
      lite = createRequire(import.meta.url)(out) as Blas;
      expect(lite.openblas).toBe(false);
      expect(typeof lite.hostPotrf).toBe('function');
      expect(typeof lite.hostTrsm).toBe('function');
      expect(typeof lite.hostSyev).toBe('function');
      // the ReLU dual and the Mehler series are in both builds (relu-dual.test.ts and
      // mehler-series.test.ts check their numbers)
      expect(typeof lite.reluDual).toBe('function');
      expect(typeof lite.mehlerSeries).toBe('function');
      expect(typeof lite.correlation).toBe('function');
      expect(lite.potrf).toBeUndefined();
      expect(lite.syevd).toBeUndefined();
    });

    it('factors and solves like float64 (n = 700: 6 blocks of 128, trailing tiles of 512 rows; trailing blocks)', () => {
      // n = 700 with shift 1 on a rank-64 Gram: κ ≈ (μ_max + 1)/1 ~ 1e3
      const n = 700;
      const { a, a32 } = gram(n, 64, 5);
      const shift = 1;
      const want = Float64Array.from(a, (v, k) => (k % (n + 1) === 0 ? v + shift : v));
      cholesky(want, n);
      const l = Float32Array.from(a32);
      l[1] = Number.NaN; // the upper triangle is not read, and comes back zeroed
      expect(lite.hostPotrf!(n, l, 0, shift)).toBe(0);
      let upper = 0;
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) upper = Math.max(upper, Math.abs(l[i * n + j]!));
      expect(upper).toBe(0);
      // float32 factor against float64's: ~eps32·√n·κ relative to max|L| (measured 2.9e-6)
      const difference = Float64Array.from(want, (v, k) => v - l[k]!);
      expect(maxAbs(difference) / maxAbs(want)).toBeLessThan(2e-5);
      // L⁻¹b and L⁻ᵀb on the trailing block from row 200 (lOffset, ldl = n), 3 columns
      const s = 200;
      const m = n - s;
      const b = Float32Array.from(Rng.fromSeed(6).normal(m * 3));
      for (const transpose of [false, true]) {
        const x = Float32Array.from(b);
        lite.hostTrsm!(transpose, m, 3, l, s * n + s, n, x, 0);
        // residual of L'x = b (L'ᵀx = b) in float64 with the float32 factor itself
        let worst = 0;
        for (let i = 0; i < m; i++)
          for (let q = 0; q < 3; q++) {
            let sum = 0;
            for (let j = 0; j < m; j++) {
              const entry = transpose ? l[(s + j) * n + s + i]! : l[(s + i) * n + s + j]!;
              sum += entry * x[j * 3 + q]!;
            }
            worst = Math.max(worst, Math.abs(sum - b[i * 3 + q]!));
          }
        // substitution in float64 accumulators (forward) or float32 axpys (backward): measured 4e-8 and 8.5e-7
        expect(worst / maxAbs(b)).toBeLessThan(1e-5);
      }
      // a non-positive pivot: LAPACK's convention, the 1-based index of the failing column
      const bad = Float32Array.from(a32);
      bad[300 * n + 300] = -1000;
      expect(lite.hostPotrf!(n, bad, 0, shift)).toBe(301);
    });

    it('has the compiled host eigen solver (eigen-lite.c): the known spectrum of m = 300, as the JavaScript one', () => {
      expect(typeof lite.hostSyev).toBe('function');
      const m = 300;
      const spectrum = (i: number) => 3 * 10 ** (-6 * (i / (m - 1))) - (i % 7 === 0 ? 1e-3 : 0);
      const a = symmetricWithSpectrum(m, spectrum, Rng.fromSeed(9));
      const sorted = Array.from({ length: m }, (_, i) => spectrum(i)).sort((x, y) => y - x);
      // the upper triangle is not read
      const input = Float64Array.from(a, (v, k) => (k % m > Math.floor(k / m) ? Number.NaN : v));
      const script = symmetricEigenTridiagonal(input, m);
      // the AVX2/FMA build where the CPU has it, then the portable one (REGIMES_GEMM_PORTABLE, read
      // at each call)
      const saved = process.env.REGIMES_GEMM_PORTABLE;
      const builds = ['0', '1'].map((portable) => {
        process.env.REGIMES_GEMM_PORTABLE = portable;
        return symmetricEigenTridiagonal(input, m, lite.hostSyev!.bind(lite));
      });
      if (saved === undefined) delete process.env.REGIMES_GEMM_PORTABLE;
      else process.env.REGIMES_GEMM_PORTABLE = saved;
      for (const compiled of builds) {
        compiled.values.forEach((v, i) => expect(Math.abs(v - sorted[i]!)).toBeLessThan(1e-13 * 3));
        expect(eigenResidual(a, m, compiled.values, compiled.vectors)).toBeLessThan(1e-12);
        // another algorithm on the same reduction (divide and conquer against QL over the whole
        // matrix): the same eigenvalues to rounding
        compiled.values.forEach((v, i) => expect(Math.abs(v - script.values[i]!)).toBeLessThan(1e-13));
      }
      const compiled = builds[0]!;
      let orthogonality = 0;
      for (let i = 0; i < m; i++)
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let k = 0; k < m; k++) dot += compiled.vectors[k * m + i]! * compiled.vectors[k * m + j]!;
          orthogonality = Math.max(orthogonality, Math.abs(dot - (i === j ? 1 : 0)));
        }
      expect(orthogonality).toBeLessThan(1e-12);
      expect(() =>
        lite.hostSyev!(m, new Float64Array(10), new Float64Array(m), new Float64Array(m * m)),
      ).toThrow(/Float64Arrays of the stated sizes/);
      // called directly, a NaN in the lower triangle is refused (QL alone would take it for converged)
      const poisoned = Float64Array.from([1, 0, 0, Number.NaN, 1, 0, 0, 0, 1]);
      expect(lite.hostSyev!(3, poisoned, new Float64Array(3), new Float64Array(9))).toBe(-1);
      // tied eigenvalues keep their index order, as in the JavaScript solver
      const tied = Float64Array.from([2, 0, 0, 0, 5, 0, 0, 0, 2]);
      const vectors = new Float64Array(9);
      expect(lite.hostSyev!(3, Float64Array.from(tied), new Float64Array(3), vectors)).toBe(0);
      expect(Array.from(vectors)).toEqual(Array.from(symmetricEigenTridiagonal(tied, 3).vectors));
    });

    it('decomposes by divide and conquer (eigen-lite-body.h): spectra that deflate, cluster or nearly tie, AVX2 or not', () => {
      // the AVX2/FMA build where the CPU has it, then the portable one (REGIMES_GEMM_PORTABLE, read
      // at each call)
      const saved = process.env.REGIMES_GEMM_PORTABLE;
      const portable = (on: string) => () => (process.env.REGIMES_GEMM_PORTABLE = on);
      try {
        hardSpectra(lite.hostSyev!.bind(lite), [
          ['AVX2', portable('0')],
          ['portable', portable('1')],
        ]);
      } finally {
        if (saved === undefined) delete process.env.REGIMES_GEMM_PORTABLE;
        else process.env.REGIMES_GEMM_PORTABLE = saved;
      }
    });

    it('has the diagonal-block kernel (blockCholeskyInverse), matching float64', () => {
      blockInverseMatches(lite);
    });

    it('factors by panels with it on `native` there, and with numerics’ JavaScript on `wasm`, to the same solutions', async () => {
      const saved = process.env.REGIMES_NATIVE_ADDON;
      process.env.REGIMES_NATIVE_ADDON = out;
      try {
        await native.create({}).activate();
        const compiled = await panelsFactor(true);
        await wasm.create({}).activate();
        const script = await panelsFactor(false);
        // float64 blocks both ways, each rounded once, but not the same roundings (FMA, the order of
        // the sums), which the float32 panel products carry through a system of κ ≈ 1e3: measured 4.3e-5
        let worst = 0;
        for (let i = 0; i < compiled.length; i++)
          worst = Math.max(worst, Math.abs(compiled[i]! - script[i]!));
        expect(worst / maxAbs(script)).toBeLessThan(2e-4);
      } finally {
        if (saved === undefined) delete process.env.REGIMES_NATIVE_ADDON;
        else process.env.REGIMES_NATIVE_ADDON = saved;
        await tf.setBackend('cpu');
      }
    });

    it('is numerics’ host LAPACK on `native` there, without the dense tfjs Cholesky kernels (and `wasm` has none)', async () => {
      const saved = process.env.REGIMES_NATIVE_ADDON;
      process.env.REGIMES_NATIVE_ADDON = out;
      try {
        await native.create({}).activate();
        expect(denseCholeskyAvailable()).toBe(false);
        const lapack = hostLapack();
        expect(lapack).toBeDefined();
        const n = 300;
        const { x, a } = gram(n, 16, 7);
        const xt = tf.tensor2d(x, [n, 16]);
        const panels = gramPanels(xt);
        await expectNoLeak(() => {
          const into = new Float32Array(n * n);
          const factor = hostCholesky(panels, n, into, lapack!, { shift: 0.5, block: 64 });
          const b = Float32Array.from(Rng.fromSeed(8).normal(n));
          const solved = hostCholeskySolve(factor, b, 1, lapack!);
          // (A + 0.5 I)·x = b in float64 (A from the float32 inputs; the panels' products round alike)
          let worst = 0;
          for (let i = 0; i < n; i++) {
            let s = 0.5 * solved[i]!;
            for (let j = 0; j < n; j++) s += a[i * n + j]! * solved[j]!;
            worst = Math.max(worst, Math.abs(s - b[i]!));
          }
          // κ ≈ 1e3 here; float32 kernel products and factor: measured 4e-5 relative
          expect(worst / maxAbs(b)).toBeLessThan(2e-4);
        });
        expectInfinitePivotFails(lapack!);
        xt.dispose();
        // the compiled eigen solver serves symmetricEigenTensor there (float32 in and out), up to 8192
        expect(symmetricEigenSolver(n)).toBe('compiled');
        expect([COMPILED_EIGEN_LIMIT, COMPILED_EIGEN_LIMIT + 1].map((m) => symmetricEigenSolver(m))).toEqual([
          'compiled',
          undefined,
        ]);
        const spectrum = (i: number) => 10 ** (-3 * (i / (n - 1)));
        const s = symmetricWithSpectrum(n, spectrum, Rng.fromSeed(10));
        await expectNoLeak(async () => {
          const t = tf.tensor2d(Float32Array.from(s), [n, n]);
          const { values, vectors } = await symmetricEigenTensor(t);
          const v = await values.data();
          const q = await vectors.data();
          tf.dispose([t, values, vectors]);
          for (let i = 0; i < n; i++) expect(Math.abs(v[i]! - spectrum(i))).toBeLessThan(1e-6);
          expect(eigenResidual(s, n, v, q)).toBeLessThan(1e-5);
        });
        // the wasm kind: no host LAPACK (kernel ridge above the heap limit is refused there, not
        // crashed), and the JavaScript eigen solver
        await wasm.create({}).activate();
        expect(hostLapack()).toBeUndefined();
        expect(symmetricEigenSolver(n)).toBe('webassembly');
        expect(symmetricEigenSolver(HOST_EIGEN_LIMIT + 1)).toBeUndefined();
      } finally {
        if (saved === undefined) delete process.env.REGIMES_NATIVE_ADDON;
        else process.env.REGIMES_NATIVE_ADDON = saved;
        await tf.setBackend('cpu');
      }
    });
  });
