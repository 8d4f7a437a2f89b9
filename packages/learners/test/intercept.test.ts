// The unpenalised intercept of the ridge readouts (rf, nt, ntk, kernel) and the output bias of `nn`,
// against float64 references written here: ridge with an intercept in the primal and in the dual,
// brute-force leave-one-out refits, and the population risk of the neural tangent model on
// Ghorbani et al.'s quadratic target.
import { type Dataset, disposeDataset, Rng } from '@regimes/core';
import { createTarget, expectNoLeak, makeFitContext } from '@regimes/core/testing';
import { hermite, quadratic } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { drawFirstLayer, kernelRidge, network, neuralTangent, randomFeatures } from '../src/index.js';

type Matrix = number[][];

/** Solve A X = B in float64 by Gaussian elimination with partial pivoting (A, B consumed). */
function solveDense(a: Matrix, b: Matrix): Matrix {
  const m = a.length;
  for (let c = 0; c < m; c++) {
    let pivot = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r;
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    [b[c], b[pivot]] = [b[pivot]!, b[c]!];
    for (let r = c + 1; r < m; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      if (f === 0) continue;
      for (let q = c; q < m; q++) a[r]![q]! -= f * a[c]![q]!;
      for (let q = 0; q < b[r]!.length; q++) b[r]![q]! -= f * b[c]![q]!;
    }
  }
  for (let r = m - 1; r >= 0; r--)
    for (let q = 0; q < b[r]!.length; q++) {
      let s = b[r]![q]!;
      for (let k = r + 1; k < m; k++) s -= a[r]![k]! * b[k]![q]!;
      b[r]![q] = s / a[r]![r]!;
    }
  return b;
}

const column = (v: number[]): Matrix => v.map((x) => [x]);
const trace = (m: Matrix) => m.reduce((s, row, i) => s + row[i]!, 0);

/** A fitted reference: predictions from a row of features or kernel values, train predictions, df. */
interface Reference {
  predict(row: number[]): number;
  train: number[];
  df: number;
}

/**
 * Primal, float64: min (1/n)‖y − Φw − b1‖² + λ‖w‖² by its (p+1)×(p+1) normal equations in θ = (b, w),
 * (ZᵀZ + diag(0, nλ, …, nλ))θ = Zᵀy with Z = [1, Φ] — no centring, b simply unpenalised. `shiftN`
 * is the n of nλ (the full n for leave-one-out refits). df = tr(Z(ZᵀZ + P)⁻¹Zᵀ).
 */
function primalReference(phi: Matrix, y: number[], lambda: number, shiftN = phi.length): Reference {
  const z = phi.map((row) => [1, ...row]);
  const p = z[0]!.length;
  const gram = () =>
    Array.from({ length: p }, (_, i) =>
      Array.from(
        { length: p },
        (_, j) => z.reduce((s, row) => s + row[i]! * row[j]!, 0) + (i === j && i > 0 ? shiftN * lambda : 0),
      ),
    );
  const zty = Array.from({ length: p }, (_, i) => z.reduce((s, row, r) => s + row[i]! * y[r]!, 0));
  const theta = solveDense(gram(), column(zty)).map((r) => r[0]!);
  const predict = (row: number[]) => theta[0]! + row.reduce((s, v, j) => s + v * theta[j + 1]!, 0);
  // tr(Z A⁻¹ Zᵀ) = tr(A⁻¹ ZᵀZ)
  const ztz = Array.from({ length: p }, (_, i) =>
    Array.from({ length: p }, (_, j) => z.reduce((s, row) => s + row[i]! * row[j]!, 0)),
  );
  return { predict, train: phi.map(predict), df: trace(solveDense(gram(), ztz)) };
}

/**
 * Dual, float64: the stationarity conditions of min (1/n)‖y − Kα − b1‖² + λαᵀKα,
 *   [K + nλI  1] [α]   [y]
 *   [1ᵀ       0] [b] = [0],
 * predictions k(x)ᵀα + b; the hat matrix H = [K 1]·M⁻¹[:, :n], df = tr H.
 */
function dualReference(k: Matrix, y: number[], lambda: number, shiftN = k.length): Reference {
  const n = k.length;
  const system = () => [
    ...k.map((row, i) => [...row.map((v, j) => v + (i === j ? shiftN * lambda : 0)), 1]),
    [...new Array<number>(n).fill(1), 0],
  ];
  const solution = solveDense(system(), column([...y, 0])).map((r) => r[0]!);
  const predict = (row: number[]) => solution[n]! + row.reduce((s, v, i) => s + v * solution[i]!, 0);
  const identity = Array.from({ length: n + 1 }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
  const inverse = solveDense(system(), identity); // M⁻¹[:, :n]
  let df = 0;
  for (let i = 0; i < n; i++) df += inverse[n]![i]! + k[i]!.reduce((s, v, j) => s + v * inverse[j]![i]!, 0);
  return { predict, train: k.map(predict), df };
}

const rows = async (t: tf.Tensor2D): Promise<Matrix> => (await t.array()) as Matrix;

/** relu(x Wᵀ)/√N in float64 (rf's features without biases). */
const reluFeatures = (x: Matrix, w: Matrix) =>
  x.map((row) =>
    w.map(
      (wj) =>
        Math.max(
          0,
          wj.reduce((s, v, c) => s + v * row[c]!, 0),
        ) / Math.sqrt(w.length),
    ),
  );

/** exp(−‖a − b‖²/(2ℓ²d)), the `kernel` learner's RBF, in float64. */
const rbf = (a: number[], b: number[], bandwidth: number) =>
  Math.exp(-a.reduce((s, v, c) => s + (v - b[c]!) ** 2, 0) / a.length / (2 * bandwidth ** 2));

const meanSquare = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;

/** A shifted target: y = 2 + f* (a mean the intercept must carry), noisy hermite of degree 2 in d = 5. */
function shiftedSample(n: number, seed: number): Dataset {
  const t = createTarget({ factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } });
  const data = t.sample(n, Rng.fromSeed(seed));
  const y = tf.add(data.y, 2) as tf.Tensor2D;
  data.y.dispose();
  return { x: data.x, y };
}

describe('ridge with an unpenalised intercept against float64 references', () => {
  // Tolerances: float32 with condition numbers κ ≤ 1 + μ_max/(nλ) ≲ 1e3 here (rf: diag ΦᵀΦ ≤ n/N·‖x‖²;
  // rbf: K_ii = 1, μ_max ≤ n): coefficients to ~5·eps32·κ = 6e-4 relative, so predictions to 1e-3 of
  // their largest magnitude; df and train risk to 1e-3 relative.
  it.each([
    ['primal', 24, 100],
    ['dual', 200, 50],
  ])('rf in the %s (width %i, n %i) predicts as the float64 reference', async (mode, width, n) => {
    const lambda = 1e-2;
    const train = shiftedSample(n, 1);
    const test = shiftedSample(40, 2);
    await expectNoLeak(async () => {
      const p = await randomFeatures
        .create(randomFeatures.options.parse({ width, ridge: lambda }))
        .fit(train, makeFitContext(Rng.fromSeed(3)));
      expect(p.diagnostics!.dual).toBe(mode === 'dual' ? 1 : 0);
      const w = await rows(p.features!);
      const phi = reluFeatures(await rows(train.x), w);
      const y = (await rows(train.y)).map((r) => r[0]!);
      const primal = primalReference(phi, y, lambda);
      const phiTest = reluFeatures(await rows(test.x), w);
      const expected = phiTest.map(primal.predict);
      // the two float64 references (primal normal equations, dual KKT system) agree: the derivation
      const kernel = phi.map((a) => phi.map((b) => a.reduce((s, v, j) => s + v * b[j]!, 0)));
      const dual = dualReference(kernel, y, lambda);
      const dualTest = phiTest.map((a) =>
        dual.predict(phi.map((b) => a.reduce((s, v, j) => s + v * b[j]!, 0))),
      );
      dualTest.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-9));
      expect(Math.abs(dual.df - primal.df)).toBeLessThan(1e-8);
      const prediction = p.predict(test.x);
      const got = await prediction.data();
      prediction.dispose();
      const scale = Math.max(...expected.map(Math.abs));
      expected.forEach((e, i) => expect(Math.abs(got[i]! - e)).toBeLessThan(1e-3 * scale));
      const risk = meanSquare(primal.train, y);
      expect(Math.abs(p.diagnostics!['train-risk']! - risk)).toBeLessThan(1e-3 * risk);
      expect(Math.abs(p.diagnostics!.df! - primal.df)).toBeLessThan(1e-3 * primal.df);
      p.dispose();
    });
    disposeDataset(train);
    disposeDataset(test);
  });

  it.each(['cholesky', 'eigen'] as const)(
    'kernel (rbf, dual, %s) over a list of λ predicts as the float64 KKT reference, with its df and train risk',
    async (ridgeSolver) => {
      const [n, bandwidth, lambdas] = [60, 1.5, [1e-3, 1e-1]];
      const train = shiftedSample(n, 4);
      const test = shiftedSample(40, 5);
      await expectNoLeak(async () => {
        const p = await kernelRidge
          .create(kernelRidge.options.parse({ type: 'rbf', bandwidth, ridge: lambdas, ridgeSolver }))
          .fit(train, makeFitContext(Rng.fromSeed(6)));
        const x = await rows(train.x);
        const xTest = await rows(test.x);
        const y = (await rows(train.y)).map((r) => r[0]!);
        const k = x.map((a) => x.map((b) => rbf(a, b, bandwidth)));
        for (const [i, variant] of p.variants!.entries()) {
          const reference = dualReference(k, y, lambdas[i]!);
          const d = variant.predictor.diagnostics!;
          expect(d.eigen).toBe(ridgeSolver === 'eigen' ? 1 : 0);
          const expected = xTest.map((a) => reference.predict(x.map((b) => rbf(a, b, bandwidth))));
          const prediction = variant.predictor.predict(test.x);
          const got = await prediction.data();
          prediction.dispose();
          const scale = Math.max(...expected.map(Math.abs));
          expected.forEach((e, j) => expect(Math.abs(got[j]! - e)).toBeLessThan(1e-3 * scale));
          const risk = meanSquare(reference.train, y);
          expect(Math.abs(d['train-risk']! - risk)).toBeLessThan(1e-3 * risk);
          expect(Math.abs(d.df! - reference.df)).toBeLessThan(1e-3 * reference.df);
        }
        p.dispose();
      });
      disposeDataset(train);
      disposeDataset(test);
    },
  );
});

describe('leave-one-out and GCV with an intercept against brute force', () => {
  /** Mean squared error of refits without sample i (same shift nλ, full n), in float64. */
  const bruteForceLoo = (n: number, y: number[], refit: (keep: number[], out: number) => number) => {
    let sum = 0;
    for (let out = 0; out < n; out++) {
      const keep = Array.from({ length: n }, (_, i) => i).filter((i) => i !== out);
      sum += (y[out]! - refit(keep, out)) ** 2;
    }
    return sum / n;
  };

  it.each(['cholesky', 'eigen'] as const)(
    'kernel (rbf, dual, %s): the closed-form LOO and GCV choose and score as the references',
    async (ridgeSolver) => {
      const [n, bandwidth, grid] = [30, 1.5, [1e-3, 1e-1]];
      const train = shiftedSample(n, 8);
      const x = await rows(train.x);
      const y = (await rows(train.y)).map((r) => r[0]!);
      const k = x.map((a) => x.map((b) => rbf(a, b, bandwidth)));
      const loo = grid.map((lambda) =>
        bruteForceLoo(n, y, (keep, out) =>
          dualReference(
            keep.map((i) => keep.map((j) => k[i]![j]!)),
            keep.map((i) => y[i]!),
            lambda,
            n,
          ).predict(keep.map((j) => k[out]![j]!)),
        ),
      );
      const gcv = grid.map((lambda) => {
        const r = dualReference(k, y, lambda);
        return meanSquare(r.train, y) / (1 - r.df / n) ** 2;
      });
      await expectNoLeak(async () => {
        for (const [ridge, scores] of [
          ['loo', loo],
          ['gcv', gcv],
        ] as const) {
          const p = await kernelRidge
            .create(
              kernelRidge.options.parse({ type: 'rbf', bandwidth, ridge, ridgeGrid: grid, ridgeSolver }),
            )
            .fit(train, makeFitContext(Rng.fromSeed(9)));
          const best = Math.min(...scores);
          expect(p.diagnostics!.lambda).toBe(grid[scores.indexOf(best)]);
          // float32 at κ ≤ 1 + n/(nλ) = 1e3: 1e-3 relative
          expect(Math.abs(p.diagnostics![ridge]! - best)).toBeLessThan(1e-3 * best);
          p.dispose();
        }
      });
      disposeDataset(train);
    },
  );

  it('rf in the primal (width 12, n 40): the closed-form LOO scores as brute-force refits', async () => {
    const [n, width, grid] = [40, 12, [1e-3, 1e-1]];
    const train = shiftedSample(n, 10);
    const y = (await rows(train.y)).map((r) => r[0]!);
    await expectNoLeak(async () => {
      const p = await randomFeatures
        .create(randomFeatures.options.parse({ width, ridge: 'loo', ridgeGrid: grid }))
        .fit(train, makeFitContext(Rng.fromSeed(11)));
      const phi = reluFeatures(await rows(train.x), await rows(p.features!));
      const scores = grid.map((lambda) =>
        bruteForceLoo(n, y, (keep, out) =>
          primalReference(
            keep.map((i) => phi[i]!),
            keep.map((i) => y[i]!),
            lambda,
            n,
          ).predict(phi[out]!),
        ),
      );
      const best = Math.min(...scores);
      expect(p.diagnostics!.lambda).toBe(grid[scores.indexOf(best)]);
      expect(Math.abs(p.diagnostics!.loo! - best)).toBeLessThan(1e-3 * best);
      p.dispose();
    });
    disposeDataset(train);
  });
});
