/**
 * Damian, Lee & Soltanolkotabi 2022, scaled down (docs/papers/damian.md): on a degree-3 multi-index
 * target the network beats the kernel at the same n, and its risk is the numpy port's
 * (test/reference/damian.py, the authors' protocol); with U learnt on a source task, a readout on a
 * new g' on the same U beats learning g' from scratch, and its risk is the port's. (Whether that risk
 * is independent of d is measured by the sweep in docs/papers/damian.md, not asserted here.)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { disposeDataset, type LearnerFactory, Registry, Rng, type Target } from '@regimes/core';
import { createTarget, makeFitContext, numpyMissing } from '@regimes/core/testing';
import { loadBlas, native } from '@regimes/backend-node';
import { hermite, transfer as transferTarget } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { damian, neuralTangentKernel as ntk, plugin as learnersPlugin, transfer } from '../src/index.js';

const reference = fileURLToPath(new URL('./reference/damian.py', import.meta.url));

const noNumpy = numpyMissing();

/** The numpy port's result for one configuration (a child process: it runs beside our fits). */
async function port(config: Record<string, unknown>): Promise<Record<string, number>> {
  const { stdout } = await promisify(execFile)('python3', [reference, JSON.stringify(config)]);
  return JSON.parse(stdout) as Record<string, number>;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1));

const registry = Registry.with(learnersPlugin);

/**
 * Fit each of `learners` on one draw of `n` samples and return, on one shared test set of `m` points,
 * each one's squared errors against the noiseless f* (per point, for paired standard errors).
 */
async function squaredErrors(
  target: Target,
  learners: [LearnerFactory, Record<string, unknown>][],
  n: number,
  seed: number,
  m = 8192,
): Promise<Float32Array[]> {
  const train = target.sample(n, Rng.fromSeed(seed).child('train'));
  const test = target.sample(m, Rng.fromSeed(seed).child('test'));
  const f = target.evaluate(test.x);
  const tasks = target.structure.tasks;
  const out: Float32Array[] = [];
  try {
    for (const [factory, options] of learners) {
      const ctx = makeFitContext(Rng.fromSeed(seed).child('learner'), undefined, registry);
      const p = await factory
        .create(factory.options.parse(options))
        .fit(train, tasks ? { ...ctx, tasks } : ctx);
      const e = tf.tidy(() => tf.reshape(tf.squaredDifference(p.predict(test.x), f), [-1]));
      out.push((await e.data()) as Float32Array);
      tf.dispose(e);
      p.dispose();
    }
  } finally {
    tf.dispose(f);
    disposeDataset(train);
    disposeDataset(test);
  }
  return out;
}

/** Mean of a − b over the test points and its standard error. */
function paired(a: Float32Array, b: Float32Array): { diff: number; se: number } {
  const v = Array.from(a, (x, i) => x - b[i]!);
  return { diff: mean(v), se: sd(v) / Math.sqrt(v.length) };
}

const { blas } = loadBlas();
// ~15 s of fits on an idle machine; the long limits are for a loaded one
const timeout = blas ? 300_000 : 900_000;
beforeAll(async () => {
  if (blas) await native.create({}).activate();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('damian vs the kernel on (Σh₂(zᵢ) + Σh₃(zᵢ))/√(2r), r = 2, d = 12, n = 512', () => {
  const d = 12;
  const n = 512;
  const width = 256;
  const options = { d, r: 2, preset: 'damian', degree: 3, normalize: true };
  const seeds = [0, 1];

  it.skipIf(noNumpy)(
    'the network beats the NTK by > 3 paired SE, and its risk is the numpy port’s',
    async () => {
      const pending = Promise.all(
        seeds.map((seed) =>
          port({ seed, d, n, width, noise: 0, r: 2, degree: 3, target: 'damian', test: 8192 }),
        ),
      );
      const t = createTarget({ factory: hermite, options });
      const ours: number[] = [];
      for (const seed of seeds) {
        const [net, kernel] = await squaredErrors(
          t,
          [
            [damian, { width }],
            [ntk, { bias: 1, ridge: 'gcv', ridgeGrid: [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1] }],
          ],
          n,
          seed,
        );
        // measured (seeds 0, 1): network 0.226, 0.319 against the NTK's 0.448, 0.396 (f* has variance
        // 1): differences 0.222 ± 0.015 and 0.077 ± 0.011
        const { diff, se } = paired(kernel!, net!);
        expect(diff).toBeGreaterThan(3 * se);
        ours.push(mean(Array.from(net!)));
      }
      const theirs = (await pending).map((r) => r.risk!);
      // the draws are unrelated (U, W, data): within 3 SE of the seed means, or 0.03 absolute
      // (measured: ours 0.226, 0.319; the port 0.152, 0.258)
      const tolerance = 3 * Math.sqrt((sd(ours) ** 2 + sd(theirs) ** 2) / seeds.length);
      expect(Math.abs(mean(ours) - mean(theirs))).toBeLessThan(Math.max(tolerance, 0.03));
    },
    timeout,
  );
});

describe('transfer: U learnt on the damian task, a readout on g′ = (z₁z₂ + He₃(z₁))/√7, n = 256', () => {
  const n = 256;
  const width = 256;
  const dims = [6, 12];
  // the step needs n ≳ d²r source samples: 16·d² at each d keeps the learnt U equally good
  const sourceN = (d: number) => 16 * d * d;
  const target = (d: number) =>
    createTarget({
      factory: transferTarget,
      options: {
        d,
        r: 2,
        source: { preset: 'damian', degree: 3, normalize: true },
        destination: { expression: 'z1*z2 + z1^3 - 3*z1', normalize: true },
      },
    });
  const ridge = { ridge: 'loo', ridgeGrid: [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1] };

  it.skipIf(noNumpy)(
    'the target-task risk beats damian from scratch at d = 12 and is the port’s at d = 6 and 12',
    async () => {
      const pending = Promise.all(
        dims.map((d) =>
          port({
            seed: 0,
            d,
            n: sourceN(d),
            width,
            noise: 0,
            r: 2,
            degree: 3,
            target: 'damian',
            dest: 'z1z2+he3',
            ndest: n,
          }),
        ),
      );
      const moved: Float32Array[] = [];
      const scratch: Float32Array[] = [];
      for (const d of dims) {
        const [a, b] = await squaredErrors(
          target(d),
          [
            [transfer, { base: { kind: 'damian', width }, sourceN: sourceN(d), ...ridge }],
            ...(d === 12 ? [[damian, { width }] as [LearnerFactory, Record<string, unknown>]] : []),
          ],
          n,
          0,
        );
        moved.push(a!);
        if (b) scratch.push(b);
      }
      const risk = (e: Float32Array) => mean(Array.from(e));
      // measured: transfer 0.133 (d = 6), 0.283 (d = 12), test-set SE 0.02–0.04; from scratch 0.507 at d = 12
      // from scratch at d = 12 the step has 256 samples for d²r = 288: it loses by > 3 paired SE
      const { diff, se: pse } = paired(scratch[0]!, moved[1]!);
      expect(diff).toBeGreaterThan(3 * pse);
      // the port, its own draws (measured 0.307 at d = 6, 0.229 at d = 12): one draw of U and W moves
      // the risk by more than its test set's SE, so the means over the two d are compared within 3 SE
      // of the draws' spread (theory: the risk does not depend on d; the sweep in docs/papers/damian.md
      // measures how much it does)
      const theirs = (await pending).map((p) => p.risk!);
      const ours = moved.map(risk);
      const tolerance = 3 * Math.sqrt((sd(ours) ** 2 + sd(theirs) ** 2) / dims.length);
      expect(Math.abs(mean(ours) - mean(theirs))).toBeLessThan(tolerance);
    },
    timeout,
  );
});
