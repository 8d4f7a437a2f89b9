import { type Backend, Rng } from '@regimes/core';
import {
  backendOrSkip,
  columnPanelsOf,
  describeBackendConformance,
  expectNoLeak,
  relativeError,
  symmetricWithSpectrum,
} from '@regimes/core/testing';
import {
  BlockCholeskyKernel,
  cholesky,
  choleskyPanels,
  choleskySolveTensor,
  disposeFactor,
  invertLower,
  NumericalError,
  ReluDualKernel,
  RELU_DUAL_COSINE_SNAP,
  reluDualSnap,
  reluDual,
} from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type DiagonalBlockProgram,
  diagonalBlockProgram,
  installBlockCholesky,
} from '../src/block-cholesky.js';
import { webgpu } from '../src/webgpu.js';

// Runs every check where a WebGPU adapter exists; elsewhere each is reported as skipped with the probe's reason.
describeBackendConformance('webgpu', { factory: webgpu });

describe('webgpu backend', () => {
  it('explains what to install when no adapter is found', async () => {
    const availability = await webgpu.create({}).probe();
    if (!availability.available) expect(availability.reason).toMatch(/webgpu|Vulkan|adapter/i);
    else expect(availability.device).toBeTruthy();
  });
});

describe('webgpu IsFinite and All (what a cell’s data check reads back: core’s engine/cell.ts)', () => {
  it('all(isFinite(x)) is false for one NaN, +∞ or −∞ among 4096 entries, and true for finite 3e38s', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const previous = tf.getBackend();
    await backend.activate();
    try {
      await expectNoLeak(async () => {
        const verdict = async (values: Float32Array) => {
          const x = tf.tensor2d(values, [512, 8]);
          const all = tf.tidy(() => tf.all(tf.isFinite(x)));
          const [v] = await all.data();
          tf.dispose([x, all]);
          return v;
        };
        const huge = new Float32Array(4096).fill(3e38);
        expect(await verdict(huge)).toBe(1);
        for (const [value, at] of [
          [NaN, 4095],
          [Infinity, 0],
          [-Infinity, 2049],
        ] as const) {
          const values = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i));
          values[at] = value;
          expect(await verdict(values)).toBe(0);
        }
      });
    } finally {
      await tf.setBackend(previous);
    }
  });
});

describe('webgpu diagonal-block program', () => {
  // bad-input: 6
  it('is rows unless REGIMES_WEBGPU_DIAGONAL_BLOCK says tiles, and names both for any other value', () => {
    const saved = process.env.REGIMES_WEBGPU_DIAGONAL_BLOCK;
    try {
      delete process.env.REGIMES_WEBGPU_DIAGONAL_BLOCK;
      expect(diagonalBlockProgram()).toBe('rows');
      process.env.REGIMES_WEBGPU_DIAGONAL_BLOCK = '';
      expect(diagonalBlockProgram()).toBe('rows');
      process.env.REGIMES_WEBGPU_DIAGONAL_BLOCK = 'tiles';
      expect(diagonalBlockProgram()).toBe('tiles');
      process.env.REGIMES_WEBGPU_DIAGONAL_BLOCK = 'Tiles';
      expect(() => diagonalBlockProgram()).toThrow(
        /REGIMES_WEBGPU_DIAGONAL_BLOCK is 'Tiles': set it to 'rows' .* or 'tiles' .*, or unset it/,
      );
    } finally {
      if (saved === undefined) delete process.env.REGIMES_WEBGPU_DIAGONAL_BLOCK;
      else process.env.REGIMES_WEBGPU_DIAGONAL_BLOCK = saved;
    }
  });
});

describe('webgpu ReLU dual kernel', () => {
  it('gives the arc-cosine kernels of float64 (m×1 and 1×n variances, and per entry) in 2 dispatches', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const [m, n] = [37, 53];
    const rng = Rng.fromSeed(21);
    const qa = Array.from(rng.normal(m), (z) => 0.5 + z * z);
    const qb = Array.from(rng.normal(n), (z) => 0.5 + z * z);
    const qaFull = Array.from(rng.normal(m * n), (z) => 0.5 + z * z);
    const qbFull = Array.from(rng.normal(m * n), (z) => 0.5 + z * z);
    // covariances inside the Cauchy–Schwarz bound, and a few at it (cos = ±1)
    const cos = Array.from(rng.normal(m * n), (z, k) => (k % 17 === 0 ? Math.sign(z) : Math.tanh(z)));
    const dual = (a: number, b: number, c: number) => {
      const rest = Math.PI - Math.acos(c);
      return [(Math.sqrt(a * b) * (Math.sqrt(1 - c * c) + rest * c)) / (2 * Math.PI), rest / (2 * Math.PI)];
    };
    const previous = tf.getBackend();
    await backend.activate();
    try {
      expect(tf.getKernel(ReluDualKernel, 'webgpu')).toBeDefined();
      for (const perEntry of [false, true]) {
        const a = (i: number, j: number) => (perEntry ? qaFull[i * n + j]! : qa[i]!);
        const b = (i: number, j: number) => (perEntry ? qbFull[i * n + j]! : qb[j]!);
        const rho = Float32Array.from({ length: m * n }, (_, k) => {
          const [i, j] = [Math.floor(k / n), k % n];
          return cos[k]! * Math.sqrt(a(i, j) * b(i, j));
        });
        let kernels = 0;
        await expectNoLeak(async () => {
          const r = tf.tensor2d(rho, [m, n]);
          const ta = perEntry ? tf.tensor2d(qaFull, [m, n]) : tf.tensor2d(qa, [m, 1]);
          const tb = perEntry ? tf.tensor2d(qbFull, [m, n]) : tf.tensor2d(qb, [1, n]);
          let out: { value: tf.Tensor; derivative: tf.Tensor } | undefined;
          kernels = (await tf.profile(() => (out = reluDual(r, ta, tb)))).kernels.length;
          const [value, derivative] = [await out!.value.data(), await out!.derivative.data()];
          // [value, derivative] worst errors with |cos| ≤ 0.99, and over all
          const worst = [0, 0];
          const worstAll = [0, 0];
          for (let k = 0; k < m * n; k++) {
            const [i, j] = [Math.floor(k / n), k % n];
            // the reference at the float32 cosine the kernel sees
            const c = Math.max(
              -1,
              Math.min(1, rho[k]! / Math.sqrt(Math.fround(a(i, j)) * Math.fround(b(i, j)))),
            );
            const [v, d] = dual(Math.fround(a(i, j)), Math.fround(b(i, j)), c);
            const errors = [
              Math.abs(value[k]! - v) / Math.sqrt(a(i, j) * b(i, j)),
              Math.abs(derivative[k]! - d),
            ];
            for (const e of [0, 1]) {
              worstAll[e] = Math.max(worstAll[e]!, errors[e]!);
              if (Math.abs(c) <= 0.99) worst[e] = Math.max(worst[e]!, errors[e]!);
            }
          }
          // inside, float32 rounding (the kernel's own arc cosine; llvmpipe's acos, which the ops
          // call, was off by up to 1.6e-4 rad there); near |cos| = 1 an error δ in the float32 cosine
          // moves θ by up to √(2δ) ≈ 5e-4, in any float32 computation
          expect(worst[0]).toBeLessThan(1e-6);
          expect(worst[1]).toBeLessThan(1e-6);
          expect(worstAll[0]).toBeLessThan(2e-4);
          expect(worstAll[1]).toBeLessThan(2e-4);
          tf.dispose([r, ta, tb, out!.value, out!.derivative]);
        });
        expect(kernels).toBe(1); // the one RegimesReluDual call (its two programs are inside it)
      }
    } finally {
      await tf.setBackend(previous);
    }
  });
});

describe('webgpu ReLU dual kernel at the edges', () => {
  it('keeps the angle for variances from 1e-30 to 1e30 and gives NaN for NaN or a negative variance', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const scales = [0, 1e-30, 1e-13, 1, 1e20, 1e30];
    const cases: [number, number, number][] = scales.flatMap((qa) =>
      scales.flatMap((qb) => [1, 0.5, 0, -0.3, -1].map((c): [number, number, number] => [qa, qb, c])),
    );
    const rho = cases.map(([qa, qb, c]) => c * Math.sqrt(qa) * Math.sqrt(qb));
    // ρ NaN; q_a NaN; q_b negative; q_a ∞ against q_b 0 (√q_a·√q_b is NaN)
    const bad = [
      [Number.NaN, 1, 1],
      [0.5, Number.NaN, 1],
      [0.5, 1, -1],
      [0, Infinity, 0],
    ];
    const k = cases.length + bad.length;
    const column = (f: (e: number) => number) =>
      tf.tensor2d(
        Float32Array.from({ length: k }, (_, e) => f(e)),
        [k, 1],
      );
    const pick = (e: number, i: 0 | 1 | 2) =>
      e < cases.length ? (i === 0 ? rho[e]! : cases[e]![i - 1]!) : bad[e - cases.length]![i]!;
    const previous = tf.getBackend();
    await backend.activate();
    try {
      await expectNoLeak(async () => {
        const [r, a, b] = [column((e) => pick(e, 0)), column((e) => pick(e, 1)), column((e) => pick(e, 2))];
        const out = reluDual(r, a, b);
        const [value, derivative] = [await out.value.data(), await out.derivative.data()];
        tf.dispose([r, a, b, out.value, out.derivative]);
        for (let e = 0; e < cases.length; e++) {
          const [qa, qb, cos] = cases[e]!;
          const [q32a, q32b] = [Math.fround(qa), Math.fround(qb)];
          const scale = Math.sqrt(q32a * q32b);
          const clamped = scale > 0 ? Math.max(-1, Math.min(1, Math.fround(rho[e]!) / scale)) : 0;
          // within RELU_DUAL_COSINE_SNAP of ±1 the cosine is ±1: the rounding of ρ and q no longer
          // moves θ by up to 5e-4 at |cos| = 1 (the tolerance there was 2e-4)
          const c = Math.abs(clamped) > 1 - RELU_DUAL_COSINE_SNAP ? Math.sign(clamped) : clamped;
          const rest = Math.PI - Math.acos(c);
          const want = [(scale * (Math.sqrt(1 - c * c) + rest * c)) / (2 * Math.PI), rest / (2 * Math.PI)];
          const tolerance = 1e-6;
          const label = `q_a ${qa}, q_b ${qb}, cos ${cos}`;
          expect(Math.abs(derivative[e]! - want[1]!), label).toBeLessThan(tolerance);
          if (scale === 0) expect(value[e], label).toBe(0);
          else expect(Math.abs(value[e]! - want[0]!) / scale, label).toBeLessThan(tolerance);
        }
        for (let e = cases.length; e < k; e++) {
          expect(value[e], `bad input ${bad[e - cases.length]}`).toBeNaN();
          expect(derivative[e], `bad input ${bad[e - cases.length]}`).toBeNaN();
        }
      });
    } finally {
      await tf.setBackend(previous);
    }
  });

  it("takes its caller's tolerance (reluDualSnap(d), one program each)", async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const previous = tf.getBackend();
    await backend.activate();
    try {
      // cosines 1 − 4e-6 and −1 + 4e-6: past the default 2⁻¹⁹, inside reluDualSnap(3072) = 6.6e-6
      // (dataSync needs a canvas on webgpu: read with data)
      const outputs = tf.tidy(() => {
        const r = tf.tensor2d([1 - 4e-6, 4e-6 - 1, 0.5], [1, 3]);
        const q = tf.ones([1, 3]);
        const qa = tf.ones([1, 1]);
        return [reluDual(r, qa, q, reluDualSnap(3072)), reluDual(r, qa, q)].map((o) => o.derivative);
      });
      const [given, fixed] = await Promise.all(outputs.map((o) => o.data()));
      tf.dispose(outputs);
      expect(Array.from(given.subarray(0, 2))).toEqual([0.5, 0]);
      const theta = Math.acos(Math.fround(1 - 4e-6));
      expect(Math.abs(fixed[0]! - (0.5 - theta / (2 * Math.PI)))).toBeLessThan(2e-5);
      expect(Math.abs(fixed[1]! - theta / (2 * Math.PI))).toBeLessThan(2e-5);
      expect(given[2]).toBe(fixed[2]);
    } finally {
      await tf.setBackend(previous);
    }
  });
});

/** L⁻¹ of A + shift·I in float64 (A row-major b×b). */
function inverseFactor(a: Float64Array, b: number, shift: number): Float64Array {
  const l = Float64Array.from(a);
  for (let i = 0; i < b; i++) l[i * b + i]! += shift;
  return invertLower(cholesky(l, b), b);
}

/** An r×b panel whose top b×b block is A's lower triangle; its upper triangle and the rows below hold noise. */
function panelOf(a: Float64Array, b: number, r: number, rng: Rng): tf.Tensor2D {
  const noise = rng.normal(r * b);
  return tf.tensor2d(
    Float32Array.from({ length: r * b }, (_, e) => {
      const [i, k] = [Math.floor(e / b), e % b];
      return i < b && k <= i ? a[i * b + k]! : 1e3 * noise[e]!;
    }),
    [r, b],
  );
}

/**
 * Runs fn on webgpu with the diagonal-block program installed, checked for leaks; then the default
 * program and the backend before are restored.
 */
async function withDiagonalProgram(
  backend: Backend,
  program: DiagonalBlockProgram,
  fn: () => Promise<void>,
): Promise<void> {
  const previous = tf.getBackend();
  await backend.activate();
  const { webgpu_util } = await import('@tensorflow/tfjs-backend-webgpu');
  try {
    expect(await installBlockCholesky(webgpu_util, program)).toBeUndefined();
    await expectNoLeak(fn);
  } finally {
    await installBlockCholesky(webgpu_util);
    await tf.setBackend(previous);
  }
}

describe('webgpu diagonal-block Cholesky kernel', () => {
  it.for(['rows', 'tiles'] as const)(
    '%s: gives L⁻¹ of A + shift·I as float64 does, reads only the lower triangle, and flags the first bad pivot',
    async (program, ctx) => {
      const backend = await backendOrSkip(webgpu, ctx);
      const rng = Rng.fromSeed(31);
      await withDiagonalProgram(backend, program, async () => {
        // the default block, an odd one, a last panel's (r = b), and sizes about the tiles' 32
        for (const [b, r] of [
          [256, 300],
          [37, 50],
          [5, 5],
          [1, 1],
          [32, 32],
          [33, 40],
          [224, 224],
          [255, 256],
        ] as const) {
          // condition 1e3, shift 1e-2 of the top eigenvalue
          const a = symmetricWithSpectrum(b, (i) => 1e3 ** (-i / Math.max(1, b - 1)), rng);
          const shift = 1e-2;
          const panel = panelOf(a, b, r, rng);
          const out = tf.engine().runKernel(BlockCholeskyKernel, { p: panel }, { shift }) as tf.Tensor2D;
          expect(out.shape).toEqual([b + 1, b]);
          const values = await out.data();
          tf.dispose([panel, out]);
          expect(Array.from(values.subarray(b * b))).toEqual(new Array(b).fill(0)); // status 0
          const expected = inverseFactor(a, b, shift);
          // κ(L) ≤ 10: float32 gives ~1e-6; the upper triangle is exactly zero
          expect(relativeError(values.subarray(0, b * b), expected), `b = ${b}`).toBeLessThan(2e-5);
          for (let i = 0; i < b; i++) for (let k = i + 1; k < b; k++) expect(values[i * b + k]).toBe(0);
        }
        // A = BBᵀ with pivot p made negative (its Schur complement −B_pp²): status p + 1, in the first
        // tile and past it
        for (const [b, bad] of [
          [24, 9],
          [80, 45],
        ] as const) {
          const lower = Float64Array.from(rng.normal(b * b), (z, e) =>
            e % b < Math.floor(e / b) ? z : e % b === Math.floor(e / b) ? 1 + Math.abs(z) : 0,
          );
          const a = new Float64Array(b * b);
          for (let i = 0; i < b; i++)
            for (let k = 0; k < b; k++) {
              let s = 0;
              for (let q = 0; q <= Math.min(i, k); q++) s += lower[i * b + q]! * lower[k * b + q]!;
              a[i * b + k] = s;
            }
          a[bad * b + bad]! -= 2 * lower[bad * b + bad]! ** 2;
          const panel = panelOf(a, b, b, rng);
          const out = tf.engine().runKernel(BlockCholeskyKernel, { p: panel }, { shift: 0 }) as tf.Tensor2D;
          expect((await out.data())[b * b]).toBe(bad + 1);
          tf.dispose([panel, out]);
        }
      });
    },
  );

  it('lets choleskyPanels factor with one read, and fail on an indefinite matrix as on the host', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const m = 200;
    const rng = Rng.fromSeed(32);
    const spd = symmetricWithSpectrum(m, (i) => 1 + i, rng);
    const indefinite = symmetricWithSpectrum(m, (i) => (i === m - 1 ? -1 : 1 + i), rng);
    const previous = tf.getBackend();
    await backend.activate();
    const gpu = tf.backend() as unknown as { read(id: object): Promise<unknown> };
    const read = gpu.read.bind(gpu);
    let reads = 0;
    gpu.read = (id) => {
      reads += 1;
      return read(id);
    };
    try {
      await expectNoLeak(async () => {
        const factor = await choleskyPanels(columnPanelsOf(spd, m), m, { block: 64 });
        expect(reads).toBe(1); // the pivots' status, once for 4 panels
        expect(factor.jitter).toBe(0);
        disposeFactor(factor);
        await expect(choleskyPanels(columnPanelsOf(indefinite, m), m, { block: 64 })).rejects.toThrow(
          NumericalError,
        );
      });
    } finally {
      gpu.read = read;
      await tf.setBackend(previous);
    }
  });
});

describe('webgpu Cholesky on panels that are not float32 or not finite', () => {
  it('refuses an int32 panel in the kernel; choleskyPanels casts int32 panels and solves as float64; an infinite pivot fails', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    // an integer SPD matrix: 40 on the diagonal, 0 or ±1 off it (diagonally dominant: Gershgorin)
    const m = 40;
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++)
        a[i * m + j] = i === j ? m : (i + j) % 3 === 0 ? -1 : (i * j) % 5 === 1 ? 1 : 0;
    const y = Float64Array.from({ length: m }, (_, i) => (i % 7) - 3);
    const l = cholesky(a.slice(), m);
    const expected = y.slice();
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < i; k++) expected[i]! -= l[i * m + k]! * expected[k]!;
      expected[i]! /= l[i * m + i]!;
    }
    for (let i = m - 1; i >= 0; i--) {
      for (let k = i + 1; k < m; k++) expected[i]! -= l[k * m + i]! * expected[k]!;
      expected[i]! /= l[i * m + i]!;
    }
    const int32Panels = (start: number, size: number) => {
      const panel = columnPanelsOf(a, m)(start, size);
      try {
        return tf.cast(panel, 'int32') as tf.Tensor2D;
      } finally {
        panel.dispose();
      }
    };
    const previous = tf.getBackend();
    await backend.activate();
    try {
      await expectNoLeak(async () => {
        // before the cast, the shader failed to compile on int32 and its output read as a status of 0
        const panel = int32Panels(0, 16);
        expect(() => tf.engine().runKernel(BlockCholeskyKernel, { p: panel }, { shift: 0 })).toThrow(
          /int32 \[40,16\], expected float32/,
        );
        panel.dispose();
        const factor = await choleskyPanels(int32Panels, m, { block: 16 });
        const rhs = tf.tensor2d(Float32Array.from(y), [m, 1]);
        const x = choleskySolveTensor(factor, rhs);
        const got = await x.data();
        tf.dispose([rhs, x]);
        disposeFactor(factor);
        expect(factor.jitter).toBe(0);
        expect(relativeError(got, expected)).toBeLessThan(1e-5);
        // pivot 20 (the second panel of 16) infinite: fails as on the host, not a factor with 1/∞ = 0
        const infinite = a.slice();
        infinite[20 * m + 20] = Infinity;
        await expect(choleskyPanels(columnPanelsOf(infinite, m), m, { block: 16 })).rejects.toThrow(
          /on the last try pivot 20 \(row 20 of /,
        );
      });
    } finally {
      await tf.setBackend(previous);
    }
  });
});

describe('webgpu panel Cholesky with each diagonal-block program', () => {
  it.for(['rows', 'tiles'] as const)(
    '%s: solves A x = y as float64 does (panels of 128 over 300 rows: tiles of 32 and a last panel of 44)',
    async (program, ctx) => {
      const backend = await backendOrSkip(webgpu, ctx);
      const m = 300;
      const rng = Rng.fromSeed(33);
      // eigenvalues 1..10: κ = 10
      const a = symmetricWithSpectrum(m, (i) => 1 + (9 * i) / (m - 1), rng);
      const y = Float64Array.from(rng.normal(m));
      // float64 reference: x = A⁻¹y by the host Cholesky
      const l = cholesky(a.slice(), m); // in place
      const z = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let s = y[i]!;
        for (let k = 0; k < i; k++) s -= l[i * m + k]! * z[k]!;
        z[i] = s / l[i * m + i]!;
      }
      const expected = new Float64Array(m);
      for (let i = m - 1; i >= 0; i--) {
        let s = z[i]!;
        for (let k = i + 1; k < m; k++) s -= l[k * m + i]! * expected[k]!;
        expected[i] = s / l[i * m + i]!;
      }
      await withDiagonalProgram(backend, program, async () => {
        const factor = await choleskyPanels(columnPanelsOf(a, m), m, { block: 128 });
        expect(factor.jitter).toBe(0);
        const rhs = tf.tensor2d(Float32Array.from(y), [m, 1]);
        const x = choleskySolveTensor(factor, rhs);
        const got = await x.data();
        tf.dispose([rhs, x]);
        disposeFactor(factor);
        // κ = 10 in float32
        expect(relativeError(got, expected)).toBeLessThan(1e-5);
      });
    },
  );
});

describe('webgpu small uploads', () => {
  it('writes host values into pooled buffers in order with the queued work (float32, int32, bool)', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const previous = tf.getBackend();
    await backend.activate();
    try {
      expect((tf.backend() as unknown as { regimesUploads?: boolean }).regimesUploads).toBe(true);
      await expectNoLeak(async () => {
        // a chain of ops each with a fresh number operand; buffers of freed steps return to the pool
        // and are written again while earlier steps may still be queued
        let y = tf.fill([1000], 1);
        let expected = 1;
        for (let i = 1; i <= 50; i++) {
          const next = i % 2 ? tf.add(y, i) : tf.mul(y, 0.5);
          expected = i % 2 ? expected + i : expected * 0.5;
          y.dispose();
          y = next;
        }
        const values = await y.data();
        expect(values[0]).toBeCloseTo(expected, 3);
        expect(values[999]).toBe(values[0]);
        y.dispose();
        const ints = tf.tensor1d([3, -7, 2 ** 24 + 1], 'int32');
        const sum = tf.tidy(() => tf.add(ints, tf.scalar(1, 'int32')));
        expect(Array.from(await sum.data())).toEqual([4, -6, 2 ** 24 + 2]);
        const mask = tf.tensor1d([true, false, true], 'bool');
        const picked = tf.tidy(() => tf.where(mask, tf.tensor1d([1, 2, 3]), tf.tensor1d([-1, -2, -3])));
        expect(Array.from(await picked.data())).toEqual([1, -2, 3]);
        tf.dispose([ints, sum, mask, picked]);
      });
    } finally {
      await tf.setBackend(previous);
    }
  });
});
