import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expectNoLeak, pythonMissing } from '@regimes/core/testing';
import {
  RELU_DUAL_COSINE_SNAP,
  ReluDualKernel,
  ReluDualShiftedKernel,
  reluDual,
  reluDualOps,
  reluDualShifted,
  reluDualShiftedOps,
  reluDualSnap,
} from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBlas } from '../src/blas.js';
import { native } from '../src/native.js';
import { wasm } from '../src/wasm.js';

/**
 * The closed form in float64 (Cho & Saul's arc-cosine kernels of degrees 1 and 0), with the paths'
 * convention that a cosine within RELU_DUAL_COSINE_SNAP of ±1 is ±1.
 */
function reference(rho: number, qa: number, qb: number) {
  const scale = Math.sqrt(qa * qb);
  // 0 where a variance is 0 (a zero input row); no floor above it
  const clamped = Math.min(1, Math.max(-1, scale > 0 ? rho / scale : 0));
  const cos = Math.abs(clamped) > 1 - RELU_DUAL_COSINE_SNAP ? Math.sign(clamped) : clamped;
  const theta = Math.acos(cos);
  return {
    value: (scale * (Math.sqrt(1 - cos * cos) + (Math.PI - theta) * cos)) / (2 * Math.PI),
    derivative: (Math.PI - theta) / (2 * Math.PI),
    scale,
  };
}

/** Fixed inputs: variances in [0.05, 2.05], covariances up to ±1.2·√(q_a q_b) (so some clamp), the edges exact. */
function inputs(m: number, n: number) {
  const qa = Float32Array.from({ length: m }, (_, i) => 0.05 + ((i * 37) % 101) / 50);
  const qb = Float32Array.from({ length: n }, (_, j) => 0.05 + ((j * 53) % 97) / 48);
  const rho = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const s = Math.sqrt(qa[i]! * qb[j]!);
      rho[i * n + j] = s * 1.2 * Math.sin(0.7 * i + 1.3 * j);
    }
  // the edges: θ = 0, θ = π, ρ = 0
  rho[0] = Math.sqrt(qa[0]! * qb[0]!);
  rho[1] = -2 * Math.sqrt(qa[0]! * qb[1]!);
  rho[2] = 0;
  return { rho, qa, qb };
}

/** Largest error against the float64 closed form: the value's relative to √(q_a q_b), the derivative's absolute. */
function worstError(
  values: Float32Array,
  derivatives: Float32Array,
  x: ReturnType<typeof inputs>,
  n: number,
) {
  let worst = 0;
  for (let k = 0; k < x.rho.length; k++) {
    const i = Math.floor(k / n);
    const j = k % n;
    const r = reference(x.rho[k]!, x.qa[i]!, x.qb[j]!);
    worst = Math.max(
      worst,
      Math.abs(values[k]! - r.value) / r.scale,
      Math.abs(derivatives[k]! - r.derivative),
    );
  }
  return worst;
}

const { blas } = loadBlas();

describe.each([
  ['wasm', wasm, true],
  ['native', native, blas !== undefined],
] as const)('ReLU dual kernel on %s', (_name, kind, present) => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.skipIf(!present)(
    'is registered, agrees with the float64 closed form to float32 rounding, frees its tensors',
    async () => {
      await kind.create({}).activate();
      expect(tf.getKernel(ReluDualKernel, tf.getBackend())).toBeDefined();
      const [m, n] = [67, 45];
      const x = inputs(m, n);
      const { values, derivatives, viaOps } = await expectNoLeak(() =>
        tf.tidy(() => {
          const rho = tf.tensor2d(x.rho, [m, n]);
          const qa = tf.tensor2d(x.qa, [m, 1]);
          const qb = tf.tensor2d(x.qb, [1, n]);
          const kernel = reluDual(rho, qa, qb);
          const ops = reluDualOps(rho, qa, qb);
          return {
            values: kernel.value.dataSync() as Float32Array,
            derivatives: kernel.derivative.dataSync() as Float32Array,
            viaOps: worstError(
              ops.value.dataSync() as Float32Array,
              ops.derivative.dataSync() as Float32Array,
              x,
              n,
            ),
          };
        }),
      );
      // one rounding from float64: half an ulp of values up to ~2.05 (the ops round at each of 16 steps)
      const kernelError = worstError(values, derivatives, x, n);
      expect(kernelError).toBeLessThan(2.5e-7);
      expect(viaOps).toBeLessThan(1e-5);
      expect(values[0]).toBeCloseTo(reference(x.rho[0]!, x.qa[0]!, x.qb[0]!).value, 6); // θ = 0
      expect(values[1]).toBe(0); // θ = π: no overlap
      expect(derivatives[1]).toBe(0);
      expect(derivatives[2]).toBeCloseTo(0.25, 7); // ρ = 0: θ = π/2
    },
  );

  it.skipIf(!present)(
    'differentiates under tf.grad through the ops: ∂E[relu(u)relu(v)]/∂ρ = E[step(u)step(v)] (Price)',
    async () => {
      await kind.create({}).activate();
      const [m, n] = [12, 7];
      const x = inputs(m, n);
      const [gradient, derivative] = tf.tidy(() => {
        const qa = tf.tensor2d(x.qa, [m, 1]);
        const qb = tf.tensor2d(x.qb, [1, n]);
        // |cos θ| ≤ 0.6 (numerics' relu-dual-gradient.test.ts checks |cos θ| = 1)
        const rho = tf.mul(tf.tensor2d(x.rho, [m, n]), 0.6);
        const g = tf.grad((r: tf.Tensor) => tf.sum(reluDual(r, qa, qb).value))(rho);
        return [g.dataSync(), reluDual(rho, qa, qb).derivative.dataSync()];
      });
      for (let k = 0; k < m * n; k++) expect(gradient[k]).toBeCloseTo(derivative[k]!, 5);
    },
  );

  it.skipIf(!present)(
    "takes per-entry variances on either side (the layers' q ↦ E[σ(z)²]), as the ops do",
    async () => {
      await kind.create({}).activate();
      const q = Float32Array.from({ length: 9 }, (_, i) => 0.1 + i * 0.3);
      for (const shape of [
        [9, 1],
        [1, 9],
      ] as [number, number][]) {
        const [kernel, ops] = tf.tidy(() => {
          const t = tf.tensor2d(q, shape);
          const k = reluDual(t, t, t);
          const o = reluDualOps(t, t, t);
          return [k.value.dataSync(), o.value.dataSync()];
        });
        // at ρ = q_a = q_b = q: E[relu(z)²] = q/2
        for (let i = 0; i < q.length; i++) {
          expect(kernel[i]).toBeCloseTo(q[i]! / 2, 6);
          expect(ops[i]).toBeCloseTo(q[i]! / 2, 5);
        }
      }
    },
  );
});

describe('ReLU dual at every scale of the variances', () => {
  // q from 1e-30 to 1e30 on both sides (a deep ReLU net with σ_w² = 1 halves q each layer: 2⁻⁴⁰ ≈ 1e-12
  // at 40), cosines inside and at the bounds; a zero variance gives cos θ = 0. A floor of 1e-12 on
  // √(q_a q_b) had made cos θ ≈ 0 below it on every path, and √(q_a q_b) in float32 overflowed past
  // 3.4e38 on the ops (cpu, webgpu).
  const scales = [0, 1e-30, 1e-13, 1e-6, 1, 1e13, 1e20, 1e30];
  const cosines = [1, 0.5, 0, -0.3, -1];
  const cases = scales.flatMap((qa) => scales.flatMap((qb) => cosines.map((c) => [qa, qb, c] as const)));
  const rho = Float32Array.from(cases, ([qa, qb, c]) => c * Math.sqrt(qa) * Math.sqrt(qb));
  const qa = Float32Array.from(cases, ([q]) => q);
  const qb = Float32Array.from(cases, ([, q]) => q);

  // the ops form cos θ in float32: at |cos θ| = 1 an error δ there moves θ by up to √(2δ) ≈ 5e-4
  it.each([
    ['cpu (the ops)', undefined, true, 1e-5, 2e-4],
    ['wasm (the JavaScript loop)', wasm, true, 2.5e-7, 2.5e-7],
    ['native (the addon)', native, blas?.reluDual !== undefined, 2.5e-7, 2.5e-7],
  ] as const)('%s keeps the angle from 1e-30 to 1e30', async (_name, kind, present, inside, atBound) => {
    if (!present) return;
    if (kind) await kind.create({}).activate();
    else await tf.setBackend('cpu');
    try {
      const k = cases.length;
      const [value, derivative] = tf.tidy(() => {
        // per entry on both sides: k×1 columns as a k×1 matrix
        const r = reluDual(tf.tensor2d(rho, [k, 1]), tf.tensor2d(qa, [k, 1]), tf.tensor2d(qb, [k, 1]));
        return [r.value.dataSync(), r.derivative.dataSync()];
      });
      for (let e = 0; e < k; e++) {
        const want = reference(rho[e]!, qa[e]!, qb[e]!);
        const label = `q_a ${qa[e]}, q_b ${qb[e]}, cos ${cases[e]![2]}`;
        const tolerance = Math.abs(cases[e]![2]) === 1 ? atBound : inside;
        expect(Math.abs(derivative[e]! - want.derivative), label).toBeLessThan(tolerance);
        if (want.scale === 0) expect(value[e], label).toBe(0);
        else expect(Math.abs(value[e]! - want.value) / want.scale, label).toBeLessThan(tolerance);
      }
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe('ReLU dual with a tolerance of its caller (reluDualSnap of the input dimension)', () => {
  // cosines 1 − 4e-6 and −1 + 4e-6: past the default 2⁻¹⁹ ≈ 1.9e-6, inside reluDualSnap(3072) = 6.6e-6
  const snap = reluDualSnap(3072);
  const gap = 4e-6;
  const rho = Float32Array.from([1 - gap, gap - 1, 0.5]);
  const ones = new Float32Array(3).fill(1);

  it('is 2⁻¹⁹ up to d = 256, 2⁻²³√d past it, a multiple of 2⁻²⁴', () => {
    expect(reluDualSnap(16)).toBe(RELU_DUAL_COSINE_SNAP);
    expect(reluDualSnap(256)).toBe(RELU_DUAL_COSINE_SNAP);
    expect(snap).toBeGreaterThanOrEqual(2 ** -23 * Math.sqrt(3072));
    expect(snap - 2 ** -23 * Math.sqrt(3072)).toBeLessThan(2 ** -24);
    expect(Number.isInteger(snap * 2 ** 24)).toBe(true);
    expect(Math.fround(1 - snap)).toBe(1 - snap);
  });

  it.each([
    ['cpu (the ops)', undefined, true],
    ['wasm (the JavaScript loop)', wasm, true],
    ['native (the addon)', native, blas?.reluDual !== undefined],
  ] as const)(
    '%s takes cosines within it as ±1, and keeps the default without it',
    async (_name, kind, present) => {
      if (!present) return;
      if (kind) await kind.create({}).activate();
      else await tf.setBackend('cpu');
      try {
        const [given, fixed] = tf.tidy(() => {
          const [r, q] = [tf.tensor2d(rho, [1, 3]), tf.tensor2d(ones, [1, 3])];
          const qa = tf.tensor2d([1], [1, 1]);
          return [reluDual(r, qa, q, snap), reluDual(r, qa, q)].map((o) => o.derivative.dataSync());
        });
        // D = (π − θ)/(2π): 1/2 at θ = 0, 0 at θ = π
        expect(given[0]).toBe(0.5);
        expect(given[1]).toBe(0);
        // without it: θ = √(2·4e-6) = 2.8e-3, D = 1/2 − θ/(2π)
        const theta = Math.acos(Math.fround(1 - gap));
        expect(Math.abs(fixed[0]! - (0.5 - theta / (2 * Math.PI)))).toBeLessThan(2e-5);
        expect(Math.abs(fixed[1]! - theta / (2 * Math.PI))).toBeLessThan(2e-5);
        // inside: the same angle with and without it
        expect(given[2]).toBe(fixed[2]);
      } finally {
        await tf.setBackend('cpu');
      }
    },
  );

  it.skipIf(blas?.reluDual === undefined)('the addon refuses a tolerance outside [0, 1)', () => {
    const one = new Float32Array(1);
    for (const bad of [1, -0.1, Number.NaN])
      expect(() => blas!.reluDual!(1, 1, one, one, one, one, one, bad)).toThrow(/snap in \[0, 1\)/);
  });
});

describe('ReLU dual shifted by a constant (reluDualShifted: ρ = C + ρ̃, q = C + q̃, outputs less C/2 and 1/2)', () => {
  /**
   * float64: the dual of C + ρ̃, C + q̃_a, C + q̃_b less its value at θ = 0, the cosine's tolerance
   * relative to the deviations' scale, τ(√(q_a q_b) − C)/√(q_a q_b).
   */
  function shiftedReference(rho: number, qa: number, qb: number, shift: number, snap: number) {
    const scale = Math.sqrt((shift + qa) * (shift + qb));
    const tolerance = (snap * (scale - shift)) / scale;
    let cos = Math.min(1, Math.max(-1, (shift + rho) / scale));
    if (cos > 1 - tolerance) cos = 1;
    const theta = Math.acos(cos);
    return {
      value: (scale * (Math.sqrt(1 - cos * cos) + (Math.PI - theta) * cos)) / (2 * Math.PI) - shift / 2,
      derivative: -theta / (2 * Math.PI),
    };
  }
  // deviations of a covariance matrix (|ρ̃| ≤ √(q̃_a q̃_b)), so C + them is one too; the first entry θ = 0
  const [m, n] = [67, 45];
  const qa = Float32Array.from({ length: m }, (_, i) => 0.05 + ((i * 37) % 101) / 50);
  const qb = Float32Array.from({ length: n }, (_, j) => 0.05 + ((j * 53) % 97) / 48);
  const rho = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++)
      rho[i * n + j] = Math.sqrt(qa[i]! * qb[j]!) * 0.99 * Math.sin(0.7 * i + 1.3 * j);
  qb[0] = qa[0]!;
  rho[0] = qa[0]!;

  /** Worst errors over the entries: the value's and C·(derivative's), both over √(q̃_a q̃_b). */
  function worst(value: Float32Array, derivative: Float32Array, shift: number) {
    let [v, d] = [0, 0];
    for (let k = 0; k < m * n; k++) {
      const [i, j] = [Math.floor(k / n), k % n];
      const want = shiftedReference(rho[k]!, qa[i]!, qb[j]!, shift, RELU_DUAL_COSINE_SNAP);
      const size = Math.sqrt(qa[i]! * qb[j]!);
      v = Math.max(v, Math.abs(value[k]! - want.value) / size);
      d = Math.max(d, (Math.abs(derivative[k]! - want.derivative) * shift) / size);
    }
    return { v, d };
  }

  it.each([
    ['cpu (the ops)', undefined, true, 1e-6, 2e-5],
    ['wasm (the JavaScript loop)', wasm, true, 6e-8, 4e-6],
    ['native (the addon)', native, blas?.reluDualShifted !== undefined, 6e-8, 4e-6],
  ] as const)(
    '%s: within float32 rounding of the deviations at C = 1000, 10, 0.5, θ = 0 exact, frees its tensors',
    async (_name, kind, present, valueTolerance, derivativeTolerance) => {
      if (!present) return;
      if (kind) await kind.create({}).activate();
      else await tf.setBackend('cpu');
      try {
        expect(tf.getKernel(ReluDualShiftedKernel, tf.getBackend()) !== undefined).toBe(kind !== undefined);
        for (const shift of [1000, 10, 0.5]) {
          const [value, derivative, opsValue, opsDerivative] = await expectNoLeak(() =>
            tf.tidy(() => {
              const args = [
                tf.tensor2d(rho, [m, n]),
                tf.tensor2d(qa, [m, 1]),
                tf.tensor2d(qb, [1, n]),
              ] as const;
              const k = reluDualShifted(...args, shift);
              const o = reluDualShiftedOps(...args, shift);
              return [k.value, k.derivative, o.value, o.derivative].map((t) => t.dataSync() as Float32Array);
            }),
          );
          const error = worst(value!, derivative!, shift);
          expect(error.v, `C = ${shift}`).toBeLessThan(valueTolerance);
          expect(error.d, `C = ${shift}`).toBeLessThan(derivativeTolerance);
          // the ops on every backend: float32 formulas that never form C + ρ̃
          const ops = worst(opsValue!, opsDerivative!, shift);
          expect(ops.v, `ops, C = ${shift}`).toBeLessThan(1e-6);
          expect(ops.d, `ops, C = ${shift}`).toBeLessThan(2e-5);
          // θ = 0: the deviation of E[relu(u)²] = q/2, and no slope's deviation
          expect(value![0]).toBeCloseTo(qa[0]! / 2, 6);
          expect(Math.abs(derivative![0]!)).toBe(0);
        }
      } finally {
        await tf.setBackend('cpu');
      }
    },
  );

  // C + ρ̃ in float64 keeps deviations only to 1e-16·C: the loops once rebuilt it and lost a 45-layer
  // NTK's (review, 2026-12-07); here C up to 1e12 against a 60-digit reference (decimal, stdlib only)
  it.skipIf(pythonMissing() !== undefined)(
    'every path agrees with a 60-digit reference: small angles at C = 1e12, 1e6, 1000, every angle at C = 1000 and 1e6, near π at C = 0.01; frees its tensors',
    async () => {
      // [ρ̃, q̃_a, q̃_b, C, small]: `small` where θ is below 1/4 (the series), its derivative checked relatively
      const cases: [number, number, number, number, boolean][] = [];
      for (const shift of [1e12, 1e6, 1000])
        for (let k = 0; k < 40; k++) {
          const [a, b] = [0.05 + ((k * 37) % 101) / 50, 0.05 + ((k * 53) % 97) / 48];
          cases.push([
            Math.fround(Math.sqrt(a * b) * 0.99 * Math.sin(0.7 * k + 0.4)),
            Math.fround(a),
            Math.fround(b),
            shift,
            true,
          ]);
        }
      // deviations of C's size: θ from 0.3 (past the series) to 3.0 (past π/2), ρ̃ = s cos θ − C
      for (const shift of [1000, 1e6])
        [0.3, 0.8, 1.2, 1.6, 2.0, 2.6, 3.0].forEach((theta, k) => {
          const [a, b] = [Math.fround(shift * (1 + k / 10)), Math.fround(shift * (2 + k / 7))];
          const s = Math.sqrt((shift + a) * (shift + b));
          cases.push([Math.fround(Math.cos(theta) * s - shift), a, b, shift, false]);
        });
      // near π, π − θ from 1e-3 to 0.1: ρ < 0 with deviations far above C (q̃ = 50C, 80C); the ops
      // had taken θ from 2 − ε there, 2e-5 off at 1e-3 (review)
      for (const gap of [1e-3, 3e-3, 1e-2, 3e-2, 0.1]) {
        const [shift, a, b] = [0.01, Math.fround(0.5), Math.fround(0.8)];
        const s = Math.sqrt((shift + a) * (shift + b));
        cases.push([Math.fround(Math.cos(Math.PI - gap) * s - shift), a, b, shift, false]);
      }
      const run = promisify(execFile)('python3', [
        fileURLToPath(new URL('./reference/relu_dual_shifted.py', import.meta.url)),
      ]);
      run.child.stdin!.end(JSON.stringify({ cases: cases.map((c) => c.slice(0, 4)) }));
      const exact = JSON.parse((await run).stdout) as { value: string[]; derivative: string[] };
      const paths = [
        ['cpu (the ops)', undefined, true],
        ['wasm (the JavaScript loop)', wasm, true],
        ['native (the addon)', native, blas?.reluDualShifted !== undefined],
      ] as const;
      try {
        for (const [name, kind, present] of paths) {
          if (!present) continue;
          if (kind) await kind.create({}).activate();
          else await tf.setBackend('cpu');
          for (let e = 0; e < cases.length; e++) {
            const [r, a, b, shift, small] = cases[e]!;
            const [value, derivative] = await expectNoLeak(() =>
              tf.tidy(() => {
                const o = reluDualShifted(
                  tf.tensor2d([[r]]),
                  tf.tensor2d([[a]]),
                  tf.tensor2d([[b]]),
                  shift,
                  0,
                );
                return [o.value.dataSync()[0]!, o.derivative.dataSync()[0]!];
              }),
            );
            const [v, d] = [Number(exact.value[e]), Number(exact.derivative[e])];
            const label = `${name}: ρ̃ ${r}, q̃ ${a}, ${b}, C ${shift}`;
            // the value to float32 rounding of the deviations' scale; the derivative −θ/(2π) to its
            // own rounding (small θ) or to float32's of θ (the ops: 1.5e-6 at π − θ = 1e-3)
            expect(Math.abs(value - v) / Math.sqrt(a * b), label).toBeLessThan(kind ? 1e-7 : 1e-6);
            expect(Math.abs(derivative - d), label).toBeLessThan(
              small ? Math.abs(d) * (kind ? 1e-6 : 1e-5) + 1e-12 : kind ? 1e-7 : 5e-6,
            );
          }
        }
      } finally {
        await tf.setBackend('cpu');
      }
    },
  );

  it('refuses a shift that is not positive or that float32 cannot hold', () => {
    const t = tf.ones([1, 1]);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e39])
      expect(() => reluDualShifted(t, t, t, bad)).toThrow(/positive number a float32 holds/);
    t.dispose();
  });

  it.skipIf(blas?.reluDualShifted === undefined)('the addon refuses a shift that is not positive', () => {
    const one = new Float32Array(1);
    for (const bad of [0, -1, Number.NaN])
      expect(() => blas!.reluDualShifted!(1, 1, one, one, one, one, one, RELU_DUAL_COSINE_SNAP, bad)).toThrow(
        /shift > 0/,
      );
  });
});

describe('ReLU dual without the kernel', () => {
  it('runs as tfjs ops on a backend that has none (cpu), with the same values', async () => {
    await tf.setBackend('cpu');
    expect(tf.getKernel(ReluDualKernel, 'cpu')).toBeUndefined();
    const [m, n] = [20, 30];
    const x = inputs(m, n);
    const [values, derivatives] = tf.tidy(() => {
      const r = reluDual(tf.tensor2d(x.rho, [m, n]), tf.tensor2d(x.qa, [m, 1]), tf.tensor2d(x.qb, [1, n]));
      return [r.value.dataSync() as Float32Array, r.derivative.dataSync() as Float32Array];
    });
    expect(worstError(values, derivatives, x, n)).toBeLessThan(1e-5);
  });
});

/** The float32 spacing at |x| (one unit in the last place). */
function ulp32(x: number) {
  const a = Math.max(Math.abs(x), 2 ** -126);
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

describe.skipIf(blas?.reluDual === undefined)("the addon's loop (native/relu-dual.c)", () => {
  /** Each row a grid of cos θ over [−1.05, 1.05] (clamped past ±1), with ±1, ±1/2 and 0 exact and the switch of its arc cosine at ±1/2 approached from both sides. */
  function grid(m: number, n: number) {
    const qa = Float32Array.from({ length: m }, (_, i) => 0.03 + ((i * 29) % 89) / 40);
    const qb = Float32Array.from({ length: n }, (_, j) => 0.07 + ((j * 41) % 83) / 35);
    const cosines = Array.from({ length: n }, (_, j) => -1.05 + (2.1 * j) / (n - 1));
    cosines.splice(0, 9, 1, -1, 0.5, -0.5, 0, 0.5 - 1e-7, 0.5 + 1e-7, -0.5 + 1e-7, -0.5 - 1e-7);
    const rho = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) rho[i * n + j] = cosines[(j + 7 * i) % n]! * Math.sqrt(qa[i]! * qb[j]!);
    return { rho, qa, qb };
  }

  /** The largest gap to the float64 closed form, in float32 ulps of the closed form's value. */
  function ulpsOff(
    m: number,
    n: number,
    x: { rho: Float32Array; qa: Float32Array; qb: Float32Array },
    out: { value: Float32Array; derivative: Float32Array },
    perEntry = false,
  ) {
    let worst = 0;
    for (let k = 0; k < m * n; k++) {
      const i = Math.floor(k / n);
      const j = k % n;
      const r = reference(x.rho[k]!, perEntry ? x.qa[k]! : x.qa[i]!, perEntry ? x.qb[k]! : x.qb[j]!);
      // a value near 0 (θ near π) is a difference of two terms: its error is relative to their scale
      const valueUlps = Math.abs(out.value[k]! - r.value) / Math.max(ulp32(r.value), ulp32(r.scale) / 8);
      worst = Math.max(worst, valueUlps, Math.abs(out.derivative[k]! - r.derivative) / ulp32(r.derivative));
    }
    return worst;
  }

  const saved = { ...process.env };
  afterAll(() => {
    for (const name of ['REGIMES_GEMM_PORTABLE', 'REGIMES_GEMM_THREADS'])
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
  });

  it.each([
    ['AVX2/FMA where the CPU has it', '0', '1'],
    ['portable', '1', '1'],
    ['AVX2/FMA, rows over 3 threads', '0', '3'],
  ])(
    'agrees with the float64 closed form to within one float32 rounding (%s)',
    (_label, portable, threads) => {
      process.env.REGIMES_GEMM_PORTABLE = portable;
      process.env.REGIMES_GEMM_THREADS = threads;
      // 301 × 700 = 210 700 entries: three threads of 70 000 (a thread takes 65 536 at least)
      const [m, n] = [301, 700];
      const x = grid(m, n);
      const out = { value: new Float32Array(m * n), derivative: new Float32Array(m * n) };
      blas!.reluDual!(m, n, x.rho, x.qa, x.qb, out.value, out.derivative);
      // its arc cosine is off by a few float64 ulps (9e-16 relative on asin), so a float32 rounding
      // may fall the other way: at most one ulp (half for the rounding, the rest for ties)
      expect(ulpsOff(m, n, x, out)).toBeLessThanOrEqual(1);
      expect(out.derivative[1]).toBe(0); // cos θ = −1: θ = π
      expect(out.value[1]).toBe(0);
      expect(out.derivative[0]).toBe(0.5); // cos θ = 1
      expect(out.derivative[4]).toBe(0.25); // cos θ = 0
    },
  );

  it('reads per-entry variances on either side, passes NaN through, and refuses operands of the wrong size', () => {
    const [m, n] = [40, 50];
    const x = grid(m, n);
    // q per entry: the row's and the column's variance written out m×n
    const qa = Float32Array.from({ length: m * n }, (_, k) => x.qa[Math.floor(k / n)]!);
    const qb = Float32Array.from({ length: m * n }, (_, k) => x.qb[k % n]!);
    const perRow = { value: new Float32Array(m * n), derivative: new Float32Array(m * n) };
    blas!.reluDual!(m, n, x.rho, x.qa, x.qb, perRow.value, perRow.derivative);
    for (const [a, b] of [
      [qa, x.qb],
      [x.qa, qb],
      [qa, qb],
    ] as const) {
      const out = { value: new Float32Array(m * n), derivative: new Float32Array(m * n) };
      blas!.reluDual!(m, n, x.rho, a, b, out.value, out.derivative);
      expect(out.value).toEqual(perRow.value);
      expect(out.derivative).toEqual(perRow.derivative);
    }
    const rho = Float32Array.from(x.rho);
    rho[3] = Number.NaN;
    const out = { value: new Float32Array(m * n), derivative: new Float32Array(m * n) };
    blas!.reluDual!(m, n, rho, x.qa, x.qb, out.value, out.derivative);
    expect(out.value[3]).toBeNaN();
    expect(out.derivative[3]).toBeNaN();
    expect(Number.isNaN(out.value[4]!)).toBe(false);
    expect(() => blas!.reluDual!(m, n, x.rho, x.qa.subarray(1), x.qb, out.value, out.derivative)).toThrow(
      /reluDual operands are not Float32Arrays of m×n/,
    );
    expect(() => blas!.reluDual!(m, n, x.rho, x.qa, x.qb, out.value.subarray(1), out.derivative)).toThrow(
      /reluDual operands/,
    );
  });

  it('is the loop the native kind runs, and the wasm kind runs the JavaScript one, to the same float32 values', async () => {
    const [m, n] = [64, 96];
    const x = grid(m, n);
    const slot = () =>
      (tf.getKernel(ReluDualKernel, 'wasm') as unknown as Record<symbol, { dual?: unknown }>)[
        Symbol.for('regimes.reluDual')
      ];
    const results: { value: Float32Array; derivative: Float32Array }[] = [];
    for (const [kind, compiled] of [
      [native, true],
      [wasm, false],
    ] as const) {
      await kind.create({}).activate();
      expect(slot()?.dual !== undefined).toBe(compiled);
      results.push(
        tf.tidy(() => {
          const r = reluDual(
            tf.tensor2d(x.rho, [m, n]),
            tf.tensor2d(x.qa, [m, 1]),
            tf.tensor2d(x.qb, [1, n]),
          );
          return {
            value: r.value.dataSync() as Float32Array,
            derivative: r.derivative.dataSync() as Float32Array,
          };
        }),
      );
    }
    await tf.setBackend('cpu');
    for (const out of results) expect(ulpsOff(m, n, x, out)).toBeLessThanOrEqual(1);
    // equal but for the rare rounding that falls the other way
    let differ = 0;
    for (const key of ['value', 'derivative'] as const)
      results[0]![key].forEach((v, k) => (differ += v === results[1]![key][k] ? 0 : 1));
    expect(differ / (2 * m * n)).toBeLessThan(0.01);
  });
});
