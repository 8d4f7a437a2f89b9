#!/usr/bin/env node
// One kernel ridge fit in a process of its own, for its peak memory: the ntk learner (relu, L = 1)
// at a fixed λ on n points in d = 64. Prints {"seconds", "maxRssBytes"} (the RSS high-water mark of
// this process, start-up and all).   node bench/ridge-memory.mjs <n> [backend]
import { activateBackend, Rng } from '@regimes/core';
import { createRegistry } from '@regimes/cli';
import { neuralTangentKernel } from '@regimes/learners';
import * as tf from '@tensorflow/tfjs-core';

const n = Number(process.argv[2]);
const d = 64;
await activateBackend(createRegistry(), process.argv[3]);
const silent = { debug() {}, info() {}, warn() {} };
const x = tf.tensor2d(Rng.fromSeed(3).normal(n * d), [n, d]);
const y = tf.tensor2d(Rng.fromSeed(4).normal(n), [n, 1]);
const learner = neuralTangentKernel.create(neuralTangentKernel.options.parse({ ridge: 1e-3 }));
const t0 = performance.now();
const fitted = await learner.fit(
  { x, y },
  { rng: Rng.fromSeed(5), signal: new AbortController().signal, progress() {}, log: silent },
);
const seconds = (performance.now() - t0) / 1000;
fitted.dispose();
tf.dispose([x, y]);
process.stdout.write(`${JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
