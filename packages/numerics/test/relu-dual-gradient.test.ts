/**
 * Gradients through the ReLU dual's ops (`reluDualOps`, what `reluDual` runs under `tf.grad`): against
 * central differences of the closed form in float64, at random interior points and through a whole
 * NTK Σ_ij V_ij + ρ_ij D_ij of inputs X, whose diagonal (cos θ = 1) the ops' own gradients made NaN.
 */
import { Rng } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { reluDualOps } from '../src/tensor/relu-dual.js';

/** V and D of the dual in float64. */
function dual(rho: number, qa: number, qb: number): [number, number] {
  const s = Math.sqrt(qa) * Math.sqrt(qb);
  const c = Math.min(1, Math.max(-1, rho / s));
  const theta = Math.acos(c);
  return [
    (s * (Math.sqrt(1 - c * c) + (Math.PI - theta) * c)) / (2 * Math.PI),
    (Math.PI - theta) / (2 * Math.PI),
  ];
}

describe('the ReLU dual under tf.grad', () => {
  it('∂V and ∂D by ρ, q_a, q_b equal central differences of the float64 closed form (1e-3) at |cos θ| < 0.95', () => {
    const rng = Rng.fromSeed(4);
    const [m, n] = [5, 4];
    const qa = Array.from({ length: m }, () => 0.3 + 2 * rng.uniform());
    const qb = Array.from({ length: n }, () => 0.3 + 2 * rng.uniform());
    const rho = Array.from({ length: m * n }, (_, k) => {
      const s = Math.sqrt(qa[Math.floor(k / n)]!) * Math.sqrt(qb[k % n]!);
      return s * (1.9 * rng.uniform() - 0.95);
    });
    for (const [part, index] of [
      ['value', 0],
      ['derivative', 1],
    ] as const) {
      const [gRho, gQa, gQb] = tf.tidy(() =>
        tf
          .grads((r: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.sum(reluDualOps(r, a, b)[part]))([
            tf.tensor2d(rho, [m, n]),
            tf.tensor2d(qa, [m, 1]),
            tf.tensor2d(qb, [1, n]),
          ])
          .map((g) => Array.from(g.dataSync())),
      );
      const h = 1e-6;
      const f = (r: number[], a: number[], b: number[]) => {
        let sum = 0;
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) sum += dual(r[i * n + j]!, a[i]!, b[j]!)[index];
        return sum;
      };
      const central = (vary: (x: number) => number) => (vary(h) - vary(-h)) / (2 * h);
      const close = (got: number, want: number) =>
        expect(Math.abs(got - want)).toBeLessThan(1e-3 * Math.max(1, Math.abs(want)));
      for (let k = 0; k < m * n; k++)
        close(
          gRho![k]!,
          central((e) =>
            f(
              rho.map((x, i) => (i === k ? x + e : x)),
              qa,
              qb,
            ),
          ),
        );
      for (let i = 0; i < m; i++)
        close(
          gQa![i]!,
          central((e) =>
            f(
              rho,
              qa.map((x, l) => (l === i ? x + e : x)),
              qb,
            ),
          ),
        );
      for (let j = 0; j < n; j++)
        close(
          gQb![j]!,
          central((e) =>
            f(
              rho,
              qa,
              qb.map((x, l) => (l === j ? x + e : x)),
            ),
          ),
        );
    }
  });

  it('through an NTK of inputs X (its diagonal at cos θ = 1 included): finite, and central differences to 1e-3', () => {
    const [n, d] = [6, 3];
    const x = Rng.fromSeed(8).normal(n * d);
    // Σ_ij V_ij + ρ_ij D_ij with ρ = ⟨x_i, x_j⟩/d, q_i = ‖x_i‖²/d (the two-layer ReLU NTK, σ_w² = 1)
    const ntk = (v: ArrayLike<number>) => {
      const dot = (i: number, j: number) => {
        let s = 0;
        for (let k = 0; k < d; k++) s += v[i * d + k]! * v[j * d + k]!;
        return s / d;
      };
      let sum = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          // the diagonal in closed form, V = q/2 and D = 1/2 at cos θ = 1: through acos, float64's
          // rounding of cos θ near 1 (θ ≈ √(2·1e-16)) would put 1e-3 of noise on the differences
          const [value, derivative] = i === j ? [dot(i, i) / 2, 0.5] : dual(dot(i, j), dot(i, i), dot(j, j));
          sum += value + dot(i, j) * derivative;
        }
      return sum;
    };
    const gradient = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) => {
          const rho = tf.div(tf.matMul(t as tf.Tensor2D, t as tf.Tensor2D, false, true), d);
          const q = tf.div(tf.sum(tf.square(t), 1, true), d);
          const { value, derivative } = reluDualOps(rho, q, tf.transpose(q));
          return tf.sum(tf.add(value, tf.mul(rho, derivative)));
        })(tf.tensor2d(x, [n, d]))
        .dataSync(),
    );
    const h = 1e-6;
    for (let k = 0; k < n * d; k++) {
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      plus[k]! += h;
      minus[k]! -= h;
      const want = (ntk(plus) - ntk(minus)) / (2 * h);
      expect(Number.isFinite(gradient[k]!)).toBe(true);
      expect(Math.abs(gradient[k]! - want)).toBeLessThan(1e-3 * Math.max(1, Math.abs(want)));
    }
  });

  it('leaves no tensor, with and without a gradient taken', () => {
    const before = tf.memory().numTensors;
    const rho = tf.tensor2d([0.2, 1, -0.4, 0], [2, 2]);
    const qa = tf.tensor2d([1, 0.5], [2, 1]);
    const qb = tf.tensor2d([1, 2], [1, 2]);
    tf.dispose(Object.values(tf.tidy(() => reluDualOps(rho, qa, qb))));
    tf.dispose(
      tf.grads((r: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.sum(reluDualOps(r, a, b).value))([
        rho,
        qa,
        qb,
      ]),
    );
    tf.dispose([rho, qa, qb]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
