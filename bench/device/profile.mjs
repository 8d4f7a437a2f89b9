#!/usr/bin/env node
// Where the time of the ntk fit and of the training step goes on one backend, a step at a time,
// each step run twice and the second (warm) reported, ended by a read of one value so that a GPU's
// queue is done. Written for the GPU machine (bench/device/run.sh --profile), runs anywhere:
//   node bench/device/profile.mjs [--backend webgpu] [--n 8192]
// Prints one line a step: its milliseconds, the kernels it dispatched and the reads it made.
import { activateBackend, Rng } from '@regimes/core';
import { createRegistry } from '@regimes/cli';
import { dualSystem, kernelPanels, neuralTangentKernel, ntkKernel } from '@regimes/learners';
import {
  BlockCholeskyKernel,
  choleskyPanels,
  choleskySolveTensor,
  disposeFactor,
  inverseDiagonal,
  reluDual,
  symmetricProduct,
} from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from '../args.mjs';
import { countDispatches } from '../dispatch-counts.mjs';
import { twoLayerTraining } from '../train-step.mjs';

const args = parseArgs(
  process.argv.slice(2),
  { values: ['--backend', '--n'] },
  'node bench/device/profile.mjs [--backend KIND] [--n 8192]',
);
const n = Number(args.value('--n', 8192));
if (!Number.isInteger(n) || n < 256)
  args.refuse(`--n is ${args.value('--n')}: give a whole number of points, 256 or more`);
const d = 64;
const { kind } = await activateBackend(createRegistry(), args.value('--backend', undefined));

const counts = countDispatches();

/**
 * Runs fn twice and prints the second run's time, kernels and reads; where fn ends with `sync`, also
 * the time until then (the host's: what the dispatches cost JavaScript and Dawn before any wait).
 */
let synced;
async function step(name, fn) {
  await fn();
  const before = { ...counts };
  synced = undefined;
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const host = synced === undefined ? '' : `  (host ${(synced - t0).toFixed(2)} ms before the final wait)`;
  console.log(
    `${name.padEnd(58)} ${ms.toFixed(2).padStart(9)} ms  ${String(counts.kernels - before.kernels).padStart(5)} kernels  ${counts.reads - before.reads} reads${host}`,
  );
  return ms;
}

/** Waits for everything queued before it: reads one value of t. */
async function sync(t) {
  synced = performance.now();
  const corner = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1]));
  await corner.data();
  corner.dispose();
}

console.log(`profile on ${kind} (${tf.getBackend()}), n = ${n}, d = ${d}`);
const one = tf.scalar(1);
await step('read latency: one add, one read of 1 value', async () => {
  const y = tf.add(one, 1);
  await y.data();
  y.dispose();
});
for (const [size, count] of [
  [1, 200],
  [1 << 20, 100],
]) {
  const x = tf.ones([size]);
  await step(`${count} adds of ${size} floats, one read`, async () => {
    let y = x;
    for (let i = 0; i < count; i++) {
      const next = tf.add(y, 1);
      if (y !== x) y.dispose();
      y = next;
    }
    await sync(y);
    y.dispose();
  });
  x.dispose();
}
{
  // the same traffic without a scalar operand, a multiply by one, and a copy (concat)
  const a = tf.ones([1 << 20]);
  const b = tf.ones([1 << 20]);
  await step('100 adds of two 1M-float tensors, one read', async () => {
    let y = a;
    for (let i = 0; i < 100; i++) {
      const next = tf.add(y, b);
      if (y !== a) y.dispose();
      y = next;
    }
    await sync(y);
    y.dispose();
  });
  await step('100 concats of two 1M-float tensors, one read', async () => {
    let last;
    for (let i = 0; i < 100; i++) {
      last?.dispose();
      last = tf.concat([a, b]);
    }
    await sync(last);
    last.dispose();
  });
  const p = tf.ones([n, 64]);
  const q = tf.ones([256, 64]);
  await step(`32 products ${n}×64 · 64×256, one read`, async () => {
    let last;
    for (let i = 0; i < 32; i++) {
      last?.dispose();
      last = tf.matMul(p, q, false, true);
    }
    await sync(last);
    last.dispose();
  });
  tf.dispose([a, b, p, q]);
}
if (tf.getKernel(BlockCholeskyKernel, tf.getBackend())) {
  // the Cholesky's diagonal blocks on the GPU alone: one workgroup, so their time is latency; on
  // webgpu each of its programs, the one the environment chooses last (REGIMES_WEBGPU_DIAGONAL_BLOCK);
  // the n = 8192 factor's 32 blocks of 256, and the 64 of 128 and 128 of 64 that a smaller block
  // would have (a shorter chain a block, more of them and more dispatches around them)
  const blocks = [256, 128, 64].map((b) =>
    tf.tidy(() => {
      const g = tf.randomNormal([b, b], 0, 1, 'float32', 7);
      return tf.add(tf.matMul(g, g, false, true), tf.mul(tf.eye(b), b));
    }),
  );
  let programs = [{ label: '', install: async () => undefined }];
  if (tf.getBackend() === 'webgpu') {
    const { DIAGONAL_BLOCK_PROGRAMS, diagonalBlockProgram, installBlockCholesky } =
      await import('@regimes/backend-webgpu');
    const { webgpu_util } = await import('@tensorflow/tfjs-backend-webgpu');
    const chosen = diagonalBlockProgram();
    programs = [...DIAGONAL_BLOCK_PROGRAMS.filter((p) => p !== chosen), chosen].map((program) => ({
      label: ` (${program})`,
      install: () => installBlockCholesky(webgpu_util, program),
    }));
  }
  for (const { label, install } of programs) {
    const refused = await install();
    if (refused) throw new Error(refused);
    for (const block of blocks) {
      const b = block.shape[0];
      await step(`${8192 / b} diagonal blocks ${b}×${b} factored on the GPU${label}, one read`, async () => {
        let last;
        for (let i = 0; i < 8192 / b; i++) {
          last?.dispose();
          last = tf.engine().runKernel(BlockCholeskyKernel, { p: block }, { shift: 0 });
        }
        await sync(last);
        last.dispose();
      });
    }
  }
  tf.dispose(blocks);
}

const x = tf.tensor2d(Rng.fromSeed(3).normal(n * d), [n, d]);
const y = tf.tensor2d(Rng.fromSeed(4).normal(n), [n, 1]);
const shift = n * 1e-3;
const { panels, release } = kernelPanels(x, ntkKernel('relu', 'both'));
await step(`NTK kernel panels n=${n}, no reads`, async () => {
  let last;
  for (let s = 0; s < n; s += 256) {
    last?.dispose();
    last = panels(s, Math.min(256, n - s));
  }
  await sync(last);
  last.dispose();
});
{
  // a panel's parts: the scaled products alone, and the ReLU dual alone on a panel's ρ
  const rho = tf.tidy(() => tf.div(tf.matMul(x, tf.slice(x, [0, 0], [256, d]), false, true), d));
  const qa = tf.tidy(() => tf.div(tf.sum(tf.square(x), 1, true), d));
  const qb = tf.tidy(() => tf.reshape(tf.slice(qa, [0, 0], [256, 1]), [1, 256]));
  await step(`${Math.ceil(n / 256)} panels of ρ, q_a, q_b only (no dual)`, async () => {
    let last;
    for (let s = 0; s < n; s += 256) {
      last?.dispose();
      last = tf.tidy(() => {
        const a = tf.slice(x, [s, 0], [-1, -1]);
        const b = tf.slice(x, [s, 0], [256, -1]);
        const r = tf.div(tf.matMul(a, b, false, true), d);
        const q1 = tf.div(tf.sum(tf.square(a), 1, true), d);
        const q2 = tf.reshape(tf.div(tf.sum(tf.square(b), 1), d), [1, -1]);
        return tf.add(tf.add(r, q1), q2);
      });
    }
    await sync(last);
    last.dispose();
  });
  await step(`32 ReLU duals of a ${n}×256 ρ`, async () => {
    let last;
    for (let i = 0; i < 32; i++) {
      tf.dispose(last ? [last.value, last.derivative] : []);
      last = reluDual(rho, qa, qb);
    }
    await sync(last.derivative);
    tf.dispose([last.value, last.derivative]);
  });
  tf.dispose([rho, qa, qb]);
}
await step(`dualSystem (the diagonal's mean)`, async () => {
  const system = await dualSystem(x, y, ntkKernel('relu', 'both'));
  system.release();
});
await step('choleskyPanels (with its kernel build)', async () => {
  disposeFactor(await choleskyPanels(panels, n, { shift }));
});
// the same factor with smaller blocks than the default 256: what the block size trades on this backend
for (const block of [128, 64]) {
  await step(`choleskyPanels, block ${block} (with its kernel build)`, async () => {
    disposeFactor(await choleskyPanels(panels, n, { shift, block }));
  });
}
const factor = await choleskyPanels(panels, n, { shift });
await step('solve, 1 right-hand side', async () => {
  const s = choleskySolveTensor(factor, y);
  await sync(s);
  s.dispose();
});
await step('inverseDiagonal', async () => {
  await inverseDiagonal(factor);
});
disposeFactor(factor);
await step('symmetricProduct (kernel rebuilt), 1 column', async () => {
  const p = symmetricProduct(panels, n, y);
  await sync(p);
  p.dispose();
});
const learner = neuralTangentKernel.create(neuralTangentKernel.options.parse({ ridge: 1e-3 }));
const context = {
  rng: Rng.fromSeed(5),
  signal: new AbortController().signal,
  progress() {},
  log: { debug() {}, info() {}, warn() {} },
};
await step('ntk learner fit, λ fixed, all diagnostics', async () => {
  (await learner.fit({ x, y }, context)).dispose();
});
release();
tf.dispose([x, y, one]);

// the bench's training step: one step and its read, then ten steps and one read
{
  const [m, dim, width] = [4096, 256, 1024];
  const training = twoLayerTraining(m, dim, width);
  await step(`training step n=${m} d=${dim} width=${width}, read of a`, async () => {
    training.step();
    await training.params.a.data();
  });
  await step('10 training steps, one read of 1 value', async () => {
    for (let i = 0; i < 10; i++) training.step();
    await sync(training.params.a);
  });
  await step('forward X·Wᵀ only (4096×256 · 256×1024), one read', async () => {
    const h = tf.matMul(training.x, training.params.w, false, true);
    await sync(h);
    h.dispose();
  });
  training.dispose();
}
console.log(`tensors left: ${tf.memory().numTensors}`);
