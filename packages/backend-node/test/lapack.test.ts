// The native addon's own kernels against float64 references computed here: regimes' SGEMM (built
// with OpenBLAS hidden), and the Cholesky / triangular-solve kernels numerics uses where the addon
// has LAPACK; and the build script's messages where no compiler exists or OpenBLAS is hidden.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@regimes/core';
import { expectNoLeak } from '@regimes/core/testing';
import {
  cholesky,
  choleskyPanels,
  choleskySolve,
  choleskySolveTensor,
  denseCholeskyAvailable,
  disposeFactor,
  hostLapack,
  inverseDiagonal,
} from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type Blas, loadBlas, prebuiltAddon } from '../src/blas.js';
import { native } from '../src/native.js';
import { wasm } from '../src/wasm.js';
import { buildAddon, compiler } from './build-addon.js';
import { expectInfinitePivotFails } from './infinite-pivot.js';

const scratch = mkdtempSync(join(tmpdir(), 'regimes-native-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** op(A)·op(B) in float64, row-major. */
function reference(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[ta ? q * m + i : i * k + q]! * b[tb ? j * k + q : q * n + j]!;
      out[i * n + j] = s;
    }
  return out;
}

/** An addon's SGEMM against float64 products on every transpose, ragged edges and offsets. */
function sgemmMatches(own: Blas): void {
  const rng = Rng.fromSeed(17);
  // sizes across the 6×16 tile, the 96-row and 512-deep blocks, and past the threshold for
  // threads (12 Mflop each: 260×250×200 is 26 Mflop, two threads)
  for (const [m, n, k] of [
    [1, 1, 1],
    [0, 5, 3],
    [5, 4, 0],
    [7, 19, 5],
    [37, 53, 300],
    [101, 35, 517],
    [13, 2100, 3],
    [200, 96, 64],
    [260, 250, 200],
  ] as const)
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        // float32 accumulation of k products of unit normals: error ~ 1e-7·√k·k^½
        expect(sgemmError(own, rng, ta, tb, m, n, k), `${m}×${n}×${k} ${ta} ${tb}`).toBeLessThan(
          2e-6 * k + 1e-6,
        );
      }
  // a negative offset is refused (its size check had wrapped around: −1 read or wrote the float
  // before the array's view), as ssyrk, potrf and trsm refuse it
  const [a, b, out] = [new Float32Array(8), new Float32Array(8), new Float32Array(8)];
  for (const [ao, bo, oo] of [
    [-1, 0, 0],
    [0, -1, 0],
    [0, 0, -1],
  ])
    expect(() => own.sgemm(false, false, 2, 2, 2, a, ao!, b, bo!, out, oo!)).toThrow(/sgemm operands/);
}

describe('build-native script', () => {
  it('without a compiler says what to install, exits 0 and builds nothing', () => {
    const out = join(scratch, 'none.node');
    const { status, text } = buildAddon({ PATH: join(scratch, 'empty'), CC: '' }, out);
    expect(status).toBe(0);
    // what such a machine runs instead: the committed addon on linux-x64 and -arm64, wasm elsewhere
    expect(text).toMatch(
      prebuiltAddon()
        ? new RegExp(
            `no C compiler found.*loads the prebuilt addon committed for linux-${process.arch}.*apt-get install gcc.*npm run build:native`,
            's',
          )
        : /no C compiler found.*default backend stays wasm.*apt-get install gcc.*npm run build:native/s,
    );
    expect(existsSync(out)).toBe(false);
  });

  describe.skipIf(!compiler)('with OpenBLAS hidden (REGIMES_NO_OPENBLAS=1)', () => {
    const out = join(scratch, 'own.node');
    let own: Blas;

    it('builds on its own SGEMM, says how to get LAPACK, and the addon has no LAPACK entry points', () => {
      const { status, text } = buildAddon({ REGIMES_NO_OPENBLAS: '1' }, out);
      expect(status).toBe(0);
      expect(text).toMatch(
        /own SGEMM \(OpenBLAS hidden by REGIMES_NO_OPENBLAS\).*libopenblas-dev.*npm run build:native/s,
      );
      own = createRequire(import.meta.url)(out) as Blas;
      expect(own.openblas).toBe(false);
      expect(own.config()).toMatch(/regimes SGEMM/);
      expect(own.potrf).toBeUndefined();
      expect(own.syevd).toBeUndefined();
    });

    it('its SGEMM matches float64 products on every transpose and ragged edges, at offsets', () => {
      sgemmMatches(own);
    });

    it('its ssyrk (AᵀA, AAᵀ) equals its SGEMM on the same operands bit for bit, and float64', () => {
      syrkMatches(own, true);
    });

    it('its matrix-vector and outer products (gemv.c) match float64, AVX2 or not, the same bits on 1 or 3 threads', () => {
      vectorProducts(own);
    });
  });
});

const { blas } = loadBlas();

/**
 * The largest |sgemm − float64| of op(A)·op(B), unit normals from rng, operands at offsets 3 and 5,
 * the output at 2 (the two entries before it must stay untouched).
 */
function sgemmError(
  addon: Blas,
  rng: Rng,
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
): number {
  const a = Float32Array.from(rng.normal(m * k + 3));
  const b = Float32Array.from(rng.normal(k * n + 5));
  const out = new Float32Array(m * n + 2).fill(Number.NaN);
  addon.sgemm(ta, tb, m, n, k, a, 3, b, 5, out, 2);
  expect(Number.isNaN(out[0]!) && Number.isNaN(out[1]!)).toBe(true);
  const want = reference(ta, tb, m, n, k, a.subarray(3), b.subarray(5));
  let worst = 0;
  for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(out[i + 2]! - want[i]!));
  return worst;
}

/**
 * Products with one row, one column or k = 1 (gemv.c's three forms, on every transpose): against
 * float64, on the AVX2 and the baseline build of the loops; and, past 2²² matrix entries, where
 * they spread over threads, the same bits on one thread and on three.
 */
function vectorProducts(addon: Blas): void {
  const rng = Rng.fromSeed(37);
  const shapes = [
    [1, 1, 1],
    [1, 1, 37],
    [7, 1, 3], // fewer than 4 rows and 8 terms: only the tails
    [13, 1, 9],
    [300, 1, 517],
    [1, 300, 517],
    [1, 45, 5],
    [517, 300, 1],
    [3, 70, 1],
  ] as const;
  const portable = process.env.REGIMES_GEMM_PORTABLE;
  try {
    for (const flag of ['0', '1']) {
      process.env.REGIMES_GEMM_PORTABLE = flag;
      for (const [m, n, k] of shapes)
        for (const ta of [false, true])
          for (const tb of [false, true])
            expect(
              sgemmError(addon, rng, ta, tb, m, n, k),
              `${m}×${n}×${k} ${ta} ${tb} portable=${flag}`,
            ).toBeLessThan(2e-6 * k + 1e-6);
    }
  } finally {
    if (portable === undefined) delete process.env.REGIMES_GEMM_PORTABLE;
    else process.env.REGIMES_GEMM_PORTABLE = portable;
  }
  const threads = process.env.REGIMES_GEMM_THREADS;
  try {
    for (const [m, n, k, ta, tb] of [
      [4100, 1, 1030, false, false], // rows of A
      [4100, 1, 1030, true, false], // a combination of the rows of A
      [1, 4100, 1030, false, true],
      [2100, 2000, 1, false, false], // outer
    ] as const) {
      const a = Float32Array.from(rng.normal(m * k));
      const b = Float32Array.from(rng.normal(k * n));
      const product = (count: string) => {
        process.env.REGIMES_GEMM_THREADS = count;
        const out = new Float32Array(m * n);
        addon.sgemm(ta, tb, m, n, k, a, 0, b, 0, out, 0);
        return out;
      };
      const one = product('1');
      const want = reference(ta, tb, m, n, k, a, b);
      let worst = 0;
      for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(one[i]! - want[i]!));
      expect(worst, `${m}×${n}×${k}`).toBeLessThan(2e-6 * k + 1e-6);
      expect(Buffer.from(product('3').buffer).equals(Buffer.from(one.buffer)), `${m}×${n}×${k}`).toBe(true);
    }
  } finally {
    if (threads === undefined) delete process.env.REGIMES_GEMM_THREADS;
    else process.env.REGIMES_GEMM_THREADS = threads;
  }
}

/** ssyrk against float64 Gram matrices (and the addon's own sgemm, bit for bit where `same`). */
function syrkMatches(addon: Blas, same: boolean): void {
  const rng = Rng.fromSeed(23);
  // across the 192-row blocks and the thread threshold; k = 0 gives zeros
  for (const [n, k] of [
    [1, 1],
    [3, 0],
    [7, 5],
    [193, 40],
    [401, 300],
  ] as const)
    for (const trans of [true, false]) {
      const a = Float32Array.from(rng.normal(n * k + 3));
      const out = new Float32Array(n * n + 2).fill(Number.NaN);
      addon.ssyrk(trans, n, k, a, 3, out, 2);
      const want = reference(trans, !trans, n, n, k, a.subarray(3), a.subarray(3));
      let worst = 0;
      for (let i = 0; i < n * n; i++) worst = Math.max(worst, Math.abs(out[i + 2]! - want[i]!));
      expect(worst, `${n}×${k} ${trans}`).toBeLessThan(2e-6 * k + 1e-6);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < i; j++) expect(out[2 + i * n + j]).toBe(out[2 + j * n + i]);
      expect(Number.isNaN(out[0]!) && Number.isNaN(out[1]!)).toBe(true);
      if (same) {
        const product = new Float32Array(n * n);
        addon.sgemm(trans, !trans, n, n, k, a, 3, a, 3, product, 0);
        for (let i = 0; i < n; i++)
          for (let j = 0; j <= i; j++) expect(out[2 + i * n + j]).toBe(product[i * n + j]);
      }
    }
}

describe.skipIf(!blas)('the Gram of one tensor on native (ssyrk)', () => {
  it('the loaded addon matches float64; matMul(a, a, true, false) on native takes it and agrees', async () => {
    syrkMatches(blas!, !blas!.openblas);
    await native.create({}).activate();
    try {
      const rng = Rng.fromSeed(29);
      const x = Float32Array.from(rng.normal(300 * 70));
      const want = reference(true, false, 70, 70, 300, x, x);
      await expectNoLeak(async () => {
        const t = tf.tensor2d(x, [300, 70]);
        const u = tf.tensor2d(x, [300, 70]);
        const gram = tf.matMul(t, t, true, false);
        const other = tf.matMul(t, u, true, false); // distinct tensors: sgemm
        const [g, o] = [await gram.data(), await other.data()];
        tf.dispose([t, u, gram, other]);
        for (let i = 0; i < 70 * 70; i++) {
          expect(Math.abs(g[i]! - want[i]!)).toBeLessThan(1e-3);
          expect(Math.abs(o[i]! - want[i]!)).toBeLessThan(1e-3);
        }
      });
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe.skipIf(!blas)('batched products on native', () => {
  it('broadcast their batch axes as the cpu backend does (the addon pairs equal or single batches), and refuse what does not broadcast', async () => {
    const rng = Rng.fromSeed(31);
    const cases: [number[], number[]][] = [
      [
        [2, 1, 3, 4],
        [1, 2, 4, 5],
      ], // both ways: wasm's kernel
      [
        [1, 2, 3, 4],
        [2, 1, 4, 5],
      ],
      [
        [3, 2, 3, 4],
        [2, 4, 5],
      ], // one side's axes broadcast: wasm's kernel
      [
        [2, 3, 3, 4],
        [2, 3, 4, 5],
      ], // equal batches: the addon
      [
        [3, 3, 4],
        [4, 5],
      ], // one single matrix: the addon
      [
        [3, 4],
        [2, 4, 5],
      ],
      [
        [1, 1, 3, 4],
        [2, 3, 4, 5],
      ],
    ];
    const operands = cases.map(([sa, sb]) =>
      [sa, sb].map((s) => Float32Array.from(rng.normal(s.reduce((x, y) => x * y, 1)))),
    );
    const products = async () => {
      const out: { shape: number[]; values: Float32Array }[] = [];
      for (const [c, [sa, sb]] of cases.entries()) {
        const [a, b] = [tf.tensor(operands[c]![0]!, sa), tf.tensor(operands[c]![1]!, sb)];
        const p = tf.matMul(a, b);
        out.push({ shape: p.shape, values: (await p.data()) as Float32Array });
        tf.dispose([a, b, p]);
      }
      return out;
    };
    await tf.setBackend('cpu');
    const want = await products();
    await native.create({}).activate();
    try {
      await expectNoLeak(async () => {
        const got = await products();
        for (const [c, [sa, sb]] of cases.entries()) {
          expect(got[c]!.shape, `${sa} · ${sb}`).toEqual(want[c]!.shape);
          for (let i = 0; i < want[c]!.values.length; i++)
            expect(Math.abs(got[c]!.values[i]! - want[c]!.values[i]!), `${sa} · ${sb}`).toBeLessThan(1e-5);
        }
        // [2,3]·[3,2] batches of 6 each do not broadcast: an error, not six paired products
        const [a, b] = [tf.ones([2, 3, 4, 4]), tf.ones([3, 2, 4, 4])];
        expect(() => tf.matMul(a, b)).toThrow();
        tf.dispose([a, b]);
      });
      const before = (tf.memory() as { numDataBuffers: number }).numDataBuffers;
      const [a, b] = [tf.ones([2, 3, 4]), tf.ones([3, 4, 5])];
      expect(() => tf.matMul(a, b)).toThrow();
      tf.dispose([a, b]);
      expect((tf.memory() as { numDataBuffers: number }).numDataBuffers).toBe(before);
      // inner sizes that differ are the error cpu gives, on every path (the addon's SGEMM would read
      // the first rows of a longer B: a product of the right shape with wrong numbers)
      const [x, w, wt] = [tf.ones([5, 6]), tf.ones([7, 16]), tf.ones([16, 7])];
      const [xb, wb] = [tf.ones([2, 5, 6]), tf.ones([2, 7, 16])];
      for (const [p, q, tb] of [
        [x, w, false],
        [x, wt, true],
        [xb, wb, false],
      ] as const) {
        expect(() => tf.matMul(p, q, false, tb)).toThrow(
          `Error in matMul: inner shapes (6) and (7) of Tensors with shapes ${p.shape} and ${q.shape} and transposeA=false and transposeB=${tb} must match.`,
        );
      }
      // the same tensor twice without a transpose (a Gram path's operands) is refused too
      expect(() => tf.matMul(x, x)).toThrow('inner shapes (6) and (5)');
      tf.dispose([x, w, wt, xb, wb]);
      expect((tf.memory() as { numDataBuffers: number }).numDataBuffers).toBe(before);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe.skipIf(!blas)(
  'matrix-vector and outer products of the loaded addon (gemv.c on either build)',
  () => {
    it('match float64, AVX2 or not, the same bits on 1 or 3 threads', () => {
      vectorProducts(blas!);
    });
  },
);

describe.skipIf(!blas?.openblas)('threads per call on OpenBLAS', () => {
  it('products stay exact as calls switch between one thread and all, and threads() names all', () => {
    const all = blas!.threads();
    const expected = Number(process.env.OPENBLAS_NUM_THREADS) || availableParallelism();
    expect(all).toBe(expected);
    const rng = Rng.fromSeed(31);
    // one thread: 200×130×16 (small k), 8×300×300 (few rows), 600×2×500 (a small matrix-vector
    // product); all: 260×256×260 (large every way), 4100×1×1030 and 2100×2000×1 (≥ 2²² entries)
    for (const [m, n, k] of [
      [200, 130, 16],
      [260, 256, 260],
      [8, 300, 300],
      [600, 2, 500],
      [4100, 1, 1030],
      [2100, 2000, 1],
      [260, 256, 260],
      [200, 130, 16],
    ] as const) {
      expect(sgemmError(blas!, rng, false, false, m, n, k), `${m}×${n}×${k}`).toBeLessThan(2e-6 * k + 1e-6);
      // the count a caller sees (the device line, the bench) is what OpenBLAS started with, not the last call's
      expect(blas!.threads()).toBe(all);
    }
  });
});

describe.skipIf(!blas?.potrf)('Cholesky and triangular solves on LAPACK (native on OpenBLAS)', () => {
  // A = XXᵀ/d + I-ish SPD matrix from a fixed seed, and the float64 host reference
  const m = 300;
  const block = 64;
  const rng = Rng.fromSeed(5);
  const x = rng.normal(m * 40);
  const a = new Float32Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let q = 0; q < 40; q++) s += x[i * 40 + q]! * x[j * 40 + q]!;
      a[i * m + j] = s / 40;
    }
  const b = Float32Array.from(rng.normal(m * 2));
  const shift = 0.05;
  const panels = (s: number, size: number) =>
    tf.tidy(() => tf.slice(tf.tensor2d(a, [m, m]), [s, s], [m - s, size]) as tf.Tensor2D);

  const host = Float64Array.from(a);
  for (let i = 0; i < m; i++) host[i * m + i]! += shift;
  const l = cholesky(Float64Array.from(host), m);
  const want = choleskySolve(l, m, Float64Array.from(b), 2);
  const wantDiagonal = Array.from({ length: m }, (_, i) => {
    const e = new Float64Array(m);
    e[i] = 1;
    return choleskySolve(l, m, e)[i]!;
  });

  it('factors whole by spotrf and solves by strsm, matching float64; wasm goes back to panels', async () => {
    await native.create({}).activate();
    try {
      expect(denseCholeskyAvailable()).toBe(true);
      await expectNoLeak(async () => {
        const f = await choleskyPanels(panels, m, { shift, block });
        expect(f.dense).toBeDefined();
        expect(f.jitter).toBe(0);
        const rhs = tf.tensor2d(b, [m, 2]);
        const solution = choleskySolveTensor(f, rhs);
        const got = await solution.data();
        const diagonal = await inverseDiagonal(f);
        tf.dispose([rhs, solution]);
        disposeFactor(f);
        // condition number ~ λ_max/shift ≈ 200 here: float32 answers to ~1e-4 relative
        const scale = Math.max(...want.map(Math.abs));
        for (let i = 0; i < 2 * m; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * scale);
        for (let i = 0; i < m; i++)
          expect(Math.abs(diagonal[i]! - wantDiagonal[i]!)).toBeLessThan(1e-4 * wantDiagonal[i]!);
      });
      await wasm.create({}).activate();
      expect(denseCholeskyAvailable()).toBe(false);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('assembles the matrix in the heap from views, reading no panel back, while building panels grows the heap', async () => {
    await native.create({}).activate();
    const be = tf.backend() as unknown as {
      readSync(dataId: object): unknown;
      typedArrayFromHeap(t: tf.Tensor): Float32Array;
    };
    const heapBytes = () => {
      const probe = tf.scalar(0);
      const bytes = be.typedArrayFromHeap(probe).buffer.byteLength;
      probe.dispose();
      return bytes;
    };
    const readSync = be.readSync.bind(be);
    let reads = 0;
    be.readSync = (dataId: object) => {
      reads++;
      return readSync(dataId);
    };
    try {
      const before = heapBytes();
      // each panel's build first takes (and frees) a block of a third of the heap, more each time:
      // the heap must grow while the matrix is being assembled, detaching earlier views of it
      let grown = 0;
      const growing = (s: number, size: number) => {
        grown += heapBytes() / 12;
        const filler = tf.fill([Math.ceil(grown)], 1);
        const panel = panels(s, size);
        filler.dispose();
        return panel;
      };
      const f = await choleskyPanels(growing, m, { shift, block });
      expect(heapBytes()).toBeGreaterThan(before);
      expect(f.dense).toBeDefined();
      // the status of the factorization is the one read (the panels stay in the heap)
      expect(reads).toBe(1);
      const rhs = tf.tensor2d(b, [m, 2]);
      const solution = choleskySolveTensor(f, rhs);
      const got = await solution.data();
      tf.dispose([rhs, solution]);
      disposeFactor(f);
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < 2 * m; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * scale);
    } finally {
      be.readSync = readSync;
      await tf.setBackend('cpu');
    }
  });

  it('fails an infinite pivot, which spotrf passes (its test is d > 0), in the dense factor and the host LAPACK', async () => {
    await native.create({}).activate();
    try {
      const infinite = Float32Array.from(a);
      infinite[123 * m + 123] = Infinity;
      const whole = tf.tensor2d(infinite, [m, m]);
      await expectNoLeak(async () => {
        await expect(
          choleskyPanels((s, size) => tf.slice(whole, [s, s], [m - s, size]), m, { shift, block }),
        ).rejects.toThrow(new RegExp(`on the last try pivot 123 \\(row 123 of 0\\.\\.${m - 1}\\)`));
      });
      whole.dispose();
      expectInfinitePivotFails(hostLapack()!);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('adds jitter where the matrix is singular in float32, as the panel path does', async () => {
    await native.create({}).activate();
    try {
      // rank 40 < m without a shift: spotrf fails and the retry with jitter succeeds
      const f = await choleskyPanels(panels, m, { block, meanDiagonal: 1 });
      expect(f.dense).toBeDefined();
      expect(f.jitter).toBeGreaterThan(0);
      expect(f.shift).toBe(f.jitter);
      disposeFactor(f);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe('wasm Slice from a heap view (wasm-slice.ts)', () => {
  it('matches the cpu backend on ranks 1–4, columns, int32, bool and empty slices, without leaks', async () => {
    const rng = Rng.fromSeed(9);
    const shapes: [number[], number[], number[]][] = [
      [[10], [3], [5]],
      [
        [7, 9],
        [2, 3],
        [4, 5],
      ],
      [
        [7, 9],
        [0, 0],
        [7, 9],
      ],
      [
        [7, 9],
        [6, 0],
        [1, 9],
      ],
      [
        [4, 5, 6],
        [1, 2, 3],
        [2, 3, 2],
      ],
      [
        [3, 4, 5, 6],
        [1, 0, 2, 1],
        [2, 4, 2, 5],
      ],
      [
        [5, 5],
        [2, 2],
        [0, 3],
      ],
      // a column: one element a row
      [
        [9, 3],
        [0, 1],
        [9, 1],
      ],
    ];
    const cases = shapes.map(([shape, begin, size]) => ({
      values: rng.normal(shape.reduce((a, b) => a * b, 1)),
      shape,
      begin,
      size,
    }));
    const run = () =>
      cases.flatMap(({ values, shape, begin, size }) => {
        const slices = tf.tidy(() => {
          const x = tf.tensor(values, shape);
          return [
            tf.slice(x, begin, size),
            tf.slice(tf.cast(tf.mul(x, 100), 'int32'), begin, size),
            tf.slice(tf.greater(x, 0), begin, size),
          ];
        });
        const out = slices.map((t) => t.arraySync());
        tf.dispose(slices);
        return out;
      });
    await tf.setBackend('cpu');
    const want = run();
    await wasm.create({}).activate();
    try {
      await expectNoLeak(async () => {
        expect(run()).toEqual(want);
      });
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe('wasm Sum and Mean over leading axes (wasm-reduce.ts)', () => {
  it('match a float64 reference on ranks 1–3 and keepDims; other axes and int32 unchanged; no leaks', async () => {
    const rng = Rng.fromSeed(31);
    const cases: [number[], number | number[]][] = [
      [[37, 11], 0],
      [[37, 11], [0]],
      [
        [5, 6, 7],
        [0, 1],
      ],
      [
        [5, 6, 7],
        [1, 0],
      ],
      [[5, 6, 7], 0],
      [[5, 6, 7], -3],
      [[300, 3], 0],
      [[1003, 13], 0], // 125 passes of eight rows and three rows alone
      [
        [8, 4, 5],
        [0, 1],
      ],
      [[5, 6, 7], 1], // not leading: the original kernel
      [
        [5, 6, 7],
        [0, 2],
      ],
      [[9], 0], // every axis: the original kernel
    ];
    const inputs = cases.map(([shape]) => rng.normal(shape.reduce((a, b) => a * b, 1)));
    /** float64 sums over the named axes, the reference for leading ones. */
    const reference = (values: number[], shape: number[], axis: number | number[]) => {
      const axes = tf.util.parseAxisParam(axis, shape);
      const outShape = shape.filter((_, d) => !axes.includes(d));
      const strides = tf.util.computeStrides(shape);
      const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
      values.forEach((v, flat) => {
        let o = 0;
        let rest = flat;
        shape.forEach((size, d) => {
          const index = d < shape.length - 1 ? Math.floor(rest / strides[d]!) : rest;
          rest -= d < shape.length - 1 ? index * strides[d]! : rest;
          if (!axes.includes(d)) o = o * size + index;
        });
        out[o]! += v;
      });
      const count = axes.reduce((a, d) => a * shape[d]!, 1);
      return { sum: Array.from(out), mean: Array.from(out, (s) => s / count), outShape };
    };
    await wasm.create({}).activate();
    try {
      await expectNoLeak(async () => {
        cases.forEach(([shape, axis], c) => {
          const want = reference(inputs[c]!, shape, axis);
          for (const keepDims of [false, true]) {
            const [sum, mean, ints] = tf.tidy(() => {
              const x = tf.tensor(inputs[c]!, shape);
              return [
                tf.sum(x, axis, keepDims),
                tf.mean(x, axis, keepDims),
                tf.sum(tf.cast(tf.mul(x, 100), 'int32'), axis, keepDims),
              ];
            });
            const axes = tf.util.parseAxisParam(axis, shape);
            const wantShape = keepDims
              ? shape.map((size, d) => (axes.includes(d) ? 1 : size))
              : want.outShape;
            expect(sum.shape).toEqual(wantShape);
            expect(mean.shape).toEqual(wantShape);
            const s = sum.dataSync();
            const m = mean.dataSync();
            const leading = axes.length < shape.length && [...axes].sort().every((a, i) => a === i);
            for (let j = 0; j < want.sum.length; j++) {
              // leading axes: summed in float64 and rounded once, so the float32 of the float64 sum
              if (leading) expect(s[j]).toBe(Math.fround(want.sum[j]!));
              expect(Math.abs(s[j]! - want.sum[j]!)).toBeLessThan(1e-5 * (1 + Math.abs(want.sum[j]!)));
              expect(Math.abs(m[j]! - want.mean[j]!)).toBeLessThan(1e-6 * (1 + Math.abs(want.mean[j]!)));
            }
            expect(ints.dtype).toBe('int32');
            tf.dispose([sum, mean, ints]);
          }
        });
      });
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe.skipIf(!prebuiltAddon())(
  `the prebuilt ${process.platform}-${process.arch} addon (prebuilt/, what a machine without a C compiler loads)`,
  () => {
    const pre = createRequire(new URL('../src/', import.meta.url))(prebuiltAddon()!) as Blas;

    it('is the build without OpenBLAS, and its SGEMM matches float64 products as the built one does', () => {
      expect(pre.openblas).toBe(false);
      expect(pre.config()).toMatch(/regimes SGEMM/);
      sgemmMatches(pre);
    });

    it('its ssyrk and matrix-vector products match as the built one’s do', () => {
      syrkMatches(pre, true);
      vectorProducts(pre);
    });
  },
);
