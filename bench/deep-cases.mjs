// Cases of `npm run bench` for the deep kernels (issue 16): the analytic NTK of a depth-3 relu net
// (L = 3 hidden layers, σ_w² = 2, σ_b² = 0.1) built block by block, beside numpy running the same
// recursion in float32 (numpy_bench.py, kind deep-kernel-build); and the peak memory of kernel
// ridge (ntk, relu, fixed λ) at n = 32768, each side in a process of its own (its RSS high-water
// mark; the row's "seconds" columns hold GiB there, and "speed vs numpy" is numpy's GiB / ours).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@regimes/core';
import { deepKernel, kernelPanels } from '@regimes/learners';
import * as tf from '@tensorflow/tfjs-core';

const here = dirname(fileURLToPath(import.meta.url));
export const deepSpec = {
  activation: 'relu',
  layers: 3,
  weightVariance: 2,
  biasVariance: 0.1,
  train: 'both',
  sphere: false,
};

/** The cases, at the sizes of issue 16 (or smaller: `quick`, or `n` given for both). */
export function deepKernelCases({ quick = false, backend, buildN, memoryN } = {}) {
  const n = buildN ?? (quick ? 2048 : 8192);
  const m = memoryN ?? (quick ? 8192 : 32768);
  const d = 64;
  return [
    {
      name: `deep NTK kernel build n=${n} d=${d} (relu, L=3)`,
      kind: 'deep-kernel-build',
      n,
      d,
      ...deepSpec,
      run: async () => {
        const x = tf.tensor2d(Rng.fromSeed(3).normal(n * d), [n, d]);
        const { panels, release } = kernelPanels(x, deepKernel(deepSpec, 'ntk'));
        const t0 = performance.now();
        for (let s = 0; s < n; s += 256) {
          const p = panels(s, Math.min(256, n - s));
          await p.data();
          p.dispose();
        }
        const t = (performance.now() - t0) / 1000;
        release();
        x.dispose();
        return t;
      },
    },
    {
      name: `kernel ridge peak RSS n=${m} d=${d} (GiB, not s)`,
      kind: 'ridge-memory',
      once: true,
      n: m,
      d,
      run: async () => {
        const r = spawnSync(
          process.execPath,
          [join(here, 'ridge-memory.mjs'), String(m), ...(backend ? [backend] : [])],
          {
            encoding: 'utf8',
          },
        );
        if (r.status !== 0) throw new Error(`the memory case failed: ${r.stderr}`);
        return JSON.parse(r.stdout.trim().split('\n').at(-1)).maxRssBytes / 2 ** 30;
      },
    },
  ];
}
