// The dry run's work estimates: every built-in learner gives one, and the two-stage learners count
// their stages (issue 15: damian and transfer had none, so a total could hide the expensive learner).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  registerCompiledEigen,
  symmetricEigenSolver,
  symmetricEigenTridiagonal,
  useWebAssemblyEigen,
} from '@regimes/numerics';
import { eigenBreakEven, featureRidgeEstimate, kernelRidgeEstimate, ridgeSolveFlops } from '../src/cost.js';
import { spectrumPays } from '../src/readout/iterative.js';
import { learnerFactories, neuralTangent, neuralTangentKernel } from '../src/index.js';

const size = { n: 2048, d: 32, k: 1, testN: 4096 };
/** Bytes of the direct solve's factor and two panels being built (cost.ts: n² + 2·256·n floats). */
const direct = (n: number) => 4 * (n * n + 2 * 256 * n);

describe('work estimates', () => {
  it('every built-in learner kind estimates its fit with its default options', () => {
    // the options a kind needs besides its defaults (kernel: its coefficients; transfer: its base
    // entry resolved, as the plan resolves it)
    const damian = learnerFactories.find((f) => f.kind === 'damian')!;
    const needs: Record<string, object> = {
      kernel: { hermite: [0, 1, 0.5] },
      transfer: { base: { kind: 'damian', ...(damian.options.parse({}) as object) } },
    };
    for (const factory of learnerFactories) {
      const options = factory.options.parse(needs[factory.kind] ?? {});
      const e = factory.estimate?.(options, size);
      expect(e, factory.kind).toBeDefined();
      expect(e!.flops, factory.kind).toBeGreaterThan(0);
      expect(e!.bytes, factory.kind).toBeGreaterThan(0);
    }
  });

  it('a two-stage learner: the readout of a 50/50 split costs less than reusing all samples', () => {
    const damian = learnerFactories.find((f) => f.kind === 'damian')!;
    const at = (split: unknown) =>
      damian.estimate!(damian.options.parse({ split, ridge: 1e-3 }), size)!.flops;
    expect(at(0.5)).toBeLessThan(at('reuse'));
    // the step on n samples of a width-1000 net in d = 32: at least its forward pass, 2·n·N·d
    expect(at('reuse')).toBeGreaterThan(2 * size.n * 1000 * size.d);
  });

  it('transfer adds its base learner on the source samples; a plugin base has no estimate', () => {
    const transfer = learnerFactories.find((f) => f.kind === 'transfer')!;
    const damian = learnerFactories.find((f) => f.kind === 'damian')!;
    const base = { kind: 'damian', ...(damian.options.parse({}) as object) };
    const small = transfer.estimate!(transfer.options.parse({ base, sourceN: 512 }), size)!;
    const large = transfer.estimate!(transfer.options.parse({ base, sourceN: 8192 }), size)!;
    const baseAlone = (n: number) => damian.estimate!(base, { ...size, n, testN: 0 })!.flops;
    expect(large.flops - small.flops).toBeCloseTo(baseAlone(8192) - baseAlone(512), -3);
    expect(
      transfer.estimate!(transfer.options.parse({ base: { kind: 'plugin-kind', width: 64 } }), size),
    ).toBeUndefined();
  });

  /** The JavaScript host solver for this test (the WebAssembly one is back on after it). */
  const javaScriptHost = () => {
    useWebAssemblyEigen(false);
    onTestFinished(() => useWebAssemblyEigen(true));
  };

  // `regimes run --dry-run` activates the spec's backend first; without the eigen kernel (cpu here,
  // as wasm and webgpu) the eigen path is the host's float64 solver, in JavaScript worth ~m/40
  // Cholesky solves, so `auto` keeps Cholesky for the default gcv grid where LAPACK's rule (8 λ at
  // 1024) would not.
  it('ridge estimates follow the active backend’s eigen solver: path, flops and host bytes', async () => {
    await tf.setBackend('cpu');
    javaScriptHost();
    const m = 1024;
    const gcv = neuralTangentKernel.options.parse({});
    expect(gcv.ridge).toBe('gcv');
    const grid = gcv.ridgeGrid.length;
    expect(grid).toBeGreaterThanOrEqual(5);
    expect(grid).toBeLessThan(m / 40);
    // Cholesky per λ, with the inverse diagonal gcv needs: 2·m³/3 + 4m²k each
    expect(ridgeSolveFlops(gcv, m, 1)).toBe(grid * ((2 * m ** 3) / 3 + 4 * m * m));
    // the same grid where LAPACK decomposes (break-even 8 at 1024: the grid's 10 λ take it): 8
    // Cholesky solves' worth once, 6m² per λ
    expect(eigenBreakEven(m, 'kernel')).toBe(8);
    expect(ridgeSolveFlops(gcv, m, 1, 'kernel')).toBe((8 * m ** 3) / 3 + grid * 6 * m * m);
    // 8 λ at m = 300 pay on the host (break-even ⌈300/40⌉ = 8): one decomposition, 8 solves' worth
    const list = { ...gcv, ridge: [1e-4, 1e-3, 1e-2, 1e-1, 1, 2, 4, 8] };
    expect(ridgeSolveFlops(list, 300, 1)).toBe((8 * 300 ** 3) / 3 + 8 * 6 * 300 * 300);
    // λ = 0 takes the decomposition's pseudo-inverse (the ridgeless limit) under auto, cost rule or
    // not: one λ at m = 1024 costs the 8 solves' decomposition; a named cholesky keeps its one solve
    const ridgeless = { ...gcv, ridge: 0 };
    expect(ridgeSolveFlops(ridgeless, m, 1, 'kernel')).toBe((8 * m ** 3) / 3 + 6 * m * m);
    // a λ given: its Cholesky, and the inverse diagonal df takes (as much again) unless df: false
    expect(ridgeSolveFlops({ ...ridgeless, ridge: 1e-3 }, m, 1, 'kernel')).toBe((2 * m ** 3) / 3 + 4 * m * m);
    expect(ridgeSolveFlops({ ...ridgeless, ridge: 1e-3, df: false }, m, 1, 'kernel')).toBe(
      m ** 3 / 3 + 4 * m * m,
    );
    expect(ridgeSolveFlops({ ...ridgeless, ridgeSolver: 'cholesky', df: false }, m, 1, 'kernel')).toBe(
      m ** 3 / 3 + 4 * m * m,
    );
    // the fit's bytes: the n×n factor, two panels being built and the kernel's panels kept (the
    // lower triangle, n ≤ 8192); when the host decomposes, the kernel assembled on the host (float32) and the
    // solver's arrays: the data read back and the vectors handed back (float32), the working copy,
    // Qᵀ and the sorted vectors (float64)
    const size = { n: m, d: 16, k: 1, testN: 0 };
    const bytes = (ridgeSolver: 'eigen' | 'cholesky') =>
      neuralTangentKernel.estimate!({ ...gcv, ridgeSolver }, size)!.bytes;
    const kept = 4 * ((m * (m + 1)) / 2);
    expect(bytes('cholesky')).toBe(direct(m) + kept);
    expect(bytes('eigen')).toBe(direct(m) + kept + 4 * m * m + (2 * 4 + 3 * 8) * m * m);
    // above n = 8192 no panels are kept: the factor and two panels alone
    const large = { n: 8193, d: 16, k: 1, testN: 0 };
    expect(
      neuralTangentKernel.estimate!({ ...gcv, ridge: 1e-3, ridgeSolver: 'cholesky' }, large)!.bytes,
    ).toBe(direct(8193));
  });

  it('the WebAssembly host solver (cpu, wasm, webgpu) breaks even at ⌈2.9·log₂m − 24.1⌉ λ, FALKON’s at 1 λ', async () => {
    await tf.setBackend('cpu');
    const m = 1024;
    expect(symmetricEigenSolver(m)).toBe('webassembly');
    expect([512, 1024, 2048, 4096].map((size) => eigenBreakEven(size, 'webassembly'))).toEqual([2, 5, 8, 11]);
    const gcv = neuralTangentKernel.options.parse({});
    // the default grid (10) takes it: 5 solves' worth once, 6m² per λ
    expect(ridgeSolveFlops(gcv, m, 1)).toBe((5 * m ** 3) / 3 + 10 * 6 * m * m);
    // bytes: the JavaScript side's float32 read, float64 copy and vectors, the instance's 32 m², the
    // float32 vectors
    const size = { n: m, d: 16, k: 1, testN: 0 };
    expect(neuralTangentKernel.estimate!({ ...gcv, ridgeSolver: 'eigen' }, size)!.bytes).toBe(
      direct(m) + 4 * ((m * (m + 1)) / 2) + 4 * m * m + 56 * m * m,
    );
    expect(spectrumPays('webassembly', 1)).toBe(true);
  });

  it('FALKON: gcv costs one host decomposition, for the hold-out grid and the refit', async () => {
    await tf.setBackend('cpu');
    javaScriptHost();
    const n = 20000; // above DIRECT_KERNEL_RIDGE_MAX: auto takes FALKON
    const m = 566; // max(512, ⌈4√n⌉)
    const size = { n, d: 16, k: 1, testN: 0 };
    const estimate = (ridge: unknown) =>
      neuralTangentKernel.estimate!(neuralTangentKernel.options.parse({ ridge }), size)!;
    const gcv = estimate('gcv');
    const fixed = estimate(1e-3);
    const grid = neuralTangentKernel.options.parse({}).ridgeGrid.length;
    // gcv over fixed: the hold-out problem's host decomposition (4.6 Cholesky preconditioners of
    // 2m³/3 each), which the refit reuses where the fixed fit builds one Cholesky preconditioner,
    // and `grid` more CG solves of 40 iterations of 4·n·m·k (K_nm cached: 45 MB)
    const preconditioner = (2 * m ** 3) / 3;
    const extra = (4.6 - 1) * preconditioner + grid * 40 * 4 * n * m;
    expect(Math.abs(gcv.flops - fixed.flops - extra) / extra).toBeLessThan(1e-12);
    // the decomposition's three float64 m×m arrays on top of K_mm and its preconditioner's
    expect(gcv.bytes - fixed.bytes).toBe(8 * 3 * m * m);
  });

  it('a compiled host solver (native without OpenBLAS) moves the break-even to ⌈5.5·log₂m − 47⌉ and FALKON’s to 1 λ', async () => {
    await tf.setBackend('cpu');
    registerCompiledEigen('cpu', (m, w, values, vectors) => {
      const r = symmetricEigenTridiagonal(w, m);
      values.set(r.values);
      vectors.set(r.vectors);
      return 0;
    });
    try {
      const m = 1024;
      expect(symmetricEigenSolver(m)).toBe('compiled');
      expect([512, 1024, 2048, 4096, 8192].map((size) => eigenBreakEven(size, 'compiled'))).toEqual([
        3, 8, 14, 19, 25,
      ]);
      expect(eigenBreakEven(64, 'compiled')).toBe(2);
      const gcv = neuralTangentKernel.options.parse({});
      // the default grid (10) reaches 8: one decomposition, 8 solves' worth, 6m² per λ (a Cholesky
      // per λ on the JavaScript host, whose break-even is 26)
      expect(gcv.ridgeGrid.length).toBe(10);
      expect(ridgeSolveFlops(gcv, m, 1)).toBe((8 * m ** 3) / 3 + 10 * 6 * m * m);
      // 7 λ stay below it: a Cholesky per λ, with df's inverse diagonal (none with df: false)
      const list = { ...gcv, ridge: Array.from({ length: 7 }, (_, i) => 10 ** (i - 6)) };
      expect(ridgeSolveFlops(list, m, 1)).toBe(7 * ((2 * m ** 3) / 3 + 4 * m * m));
      expect(ridgeSolveFlops({ ...list, df: false }, m, 1)).toBe(7 * (m ** 3 / 3 + 4 * m * m));
      expect(eigenBreakEven(m, 'host')).toBe(26);
      expect([1, 2, 4, 5].map((solves) => spectrumPays('compiled', solves))).toEqual([
        true,
        true,
        true,
        true,
      ]);
      // its bytes: as the JavaScript solver's less Qᵀ and the sorted copy (the addon works in the
      // vectors' array), plus up to 16m² of merge scratch
      const size = { n: m, d: 16, k: 1, testN: 0 };
      expect(neuralTangentKernel.estimate!({ ...gcv, ridgeSolver: 'eigen' }, size)!.bytes).toBe(
        direct(m) + 4 * ((m * (m + 1)) / 2) + 4 * m * m + 36 * m * m,
      );
      expect([4, 5].map((solves) => spectrumPays('host', solves))).toEqual([false, true]);
    } finally {
      registerCompiledEigen('cpu', undefined);
    }
    // unregistered: the WebAssembly build of that solver serves cpu again
    expect(symmetricEigenSolver(1024)).toBe('webassembly');
  });
});

describe('nt: the estimate takes the system the fit solves', () => {
  // the fit (readout/tangent.ts) is primal when its features, N·d plus N with the readout, are no
  // more than n; the estimate had counted N·d only, so train: both at N·d ≤ n < N(d + 1) was costed
  // as a primal system of N·d features while the fit solved the n×n kernel
  it.each([
    ['first', 50, 'primal', 50],
    ['both', 55, 'dual', 0],
    ['both', 60, 'primal', 60],
  ] as const)('train: %s, N = 10, d = 5, n = %i: %s', (train, n, system, p) => {
    const o = neuralTangent.options.parse({ width: 10, train, ridge: 1e-3 });
    const size = { n, d: 5, k: 1, testN: 20 };
    const want =
      system === 'primal'
        ? featureRidgeEstimate(p, 2 * (n + 20) * p, o, size)
        : kernelRidgeEstimate(2 * (5 + 10), o, size);
    expect(neuralTangent.estimate!(o, size)).toEqual(want);
  });
});
