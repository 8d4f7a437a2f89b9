#!/usr/bin/env node
// One kernel ridge fit in a process of its own, for its peak memory: the ntk learner (relu, L = 1)
// at a fixed λ on n points in d = 64. Prints {"seconds", "maxRssBytes"} (the RSS high-water mark of
// this process, start-up and all).   node bench/ridge-memory.mjs <n> [backend]
//
// --direct [--test N] [--heap-limit BYTES]: ridgeSolver cholesky instead of auto (a direct solve at
// any n: above 16384 points, or above --heap-limit bytes of kernel, in host memory on the native
// backend), on the target y = x₀x₁ + x₂ + 0.1ε, then predictions at N fresh points (default 8192);
// adds "testRisk" (mean squared error against the noiseless target) and "predictSeconds".
//   node bench/ridge-memory.mjs 40000 native --direct --test 8192
import { activateBackend, Rng } from '@regimes/core';
import { createRegistry } from '@regimes/cli';
import { neuralTangentKernel, setHeapSystemLimit } from '@regimes/learners';
import * as tf from '@tensorflow/tfjs-core';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => (flag(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const positional = args.filter(
  (a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--heap') && !args[i - 1]?.startsWith('--test'),
);
const n = Number(positional[0]);
const d = 64;
const direct = flag('--direct');
await activateBackend(createRegistry(), positional[1]);
if (flag('--heap-limit')) setHeapSystemLimit(value('--heap-limit'));
const silent = { debug() {}, info() {}, warn() {} };

/** n points of d Gaussian inputs and y = x₀x₁ + x₂ (+ 0.1ε): the noiseless f too. */
function draw(count, seed) {
  const x = tf.tensor2d(Rng.fromSeed(seed).normal(count * d), [count, d]);
  const f = tf.tidy(() => {
    const c = (j) => tf.slice(x, [0, j], [-1, 1]);
    return tf.add(tf.mul(c(0), c(1)), c(2));
  });
  const y = direct
    ? tf.tidy(() => tf.add(f, tf.mul(tf.tensor2d(Rng.fromSeed(seed + 1).normal(count), [count, 1]), 0.1)))
    : tf.tensor2d(Rng.fromSeed(seed + 1).normal(count), [count, 1]);
  return { x, y, f };
}

const train = draw(n, 3);
const learner = neuralTangentKernel.create(
  neuralTangentKernel.options.parse({ ridge: 1e-3, ...(direct ? { ridgeSolver: 'cholesky' } : {}) }),
);
const t0 = performance.now();
const fitted = await learner.fit(
  { x: train.x, y: train.y },
  { rng: Rng.fromSeed(5), signal: new AbortController().signal, progress() {}, log: silent },
);
const seconds = (performance.now() - t0) / 1000;
const out = { seconds };
if (direct) {
  const test = draw(value('--test', 8192), 11);
  const t1 = performance.now();
  const prediction = fitted.predict(test.x);
  const risk = tf.tidy(() => tf.mean(tf.squaredDifference(prediction, test.f)));
  out.testRisk = (await risk.data())[0];
  out.predictSeconds = (performance.now() - t1) / 1000;
  out.diagnostics = fitted.diagnostics;
  tf.dispose([prediction, risk, test.x, test.y, test.f]);
}
fitted.dispose();
tf.dispose([train.x, train.y, train.f]);
out.maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify(out)}\n`);
