/**
 * The mixture's Bayes error (closed form through the χ² CDF) against a numpy Monte-Carlo estimate
 * that classifies full d-dimensional samples by the Gaussian log-likelihood ratio
 * (test/reference/mixture_bayes.py), and the Bayes line `theory` draws under the error metric.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Rng, type TheoryContext } from '@regimes/core';
import { numpyMissing } from '@regimes/core/testing';
import { describe, expect, it } from 'vitest';
import { mixture, mixtureBayes } from '../src/index.js';

const reference = fileURLToPath(new URL('./reference/mixture_bayes.py', import.meta.url));
const noNumpy = numpyMissing();

describe('mixture Bayes error', () => {
  it.skipIf(noNumpy)(
    'matches a numpy Monte-Carlo of the likelihood-ratio rule within 4 SE (d = 16; s = 4, 16)',
    async () => {
      for (const [s, delta] of [
        [4, 0.5],
        [16, 0.3],
      ] as const) {
        const { stdout } = await promisify(execFile)('python3', [
          reference,
          JSON.stringify({ d: 16, s, delta, m: 250_000, seed: s }),
        ]);
        const mc = JSON.parse(stdout) as { error: number; se: number };
        const exact = mixtureBayes(s, delta).error;
        console.log(
          `s=${s} Δ=${delta}: closed form ${exact.toFixed(5)}, numpy MC ${mc.error.toFixed(5)} ± ${mc.se.toFixed(5)}`,
        );
        expect(Math.abs(exact - mc.error)).toBeLessThan(4 * mc.se);
      }
    },
    120_000,
  );

  it('is drawn as theory under the error metric, flat in the width and per d when s = d', () => {
    const context = (xKey: string, metric = 'error'): TheoryContext => ({
      xKey,
      xs: [8, 16],
      metric,
      target: { kind: 'mixture', d: 16 },
      rng: Rng.fromSeed(0),
    });
    const o = mixture.options.parse({ d: 16, s: 4, delta: 0.5 });
    const [flat] = mixture.theory!(o, context('learners.width'));
    expect(flat!.points).toEqual([
      { x: 8, y: mixtureBayes(4, 0.5).error },
      { x: 16, y: mixtureBayes(4, 0.5).error },
    ]);
    const [perD] = mixture.theory!(mixture.options.parse({ d: 16, delta: 0.5 }), context('target.d'));
    expect(perD!.points.map((p) => p.y)).toEqual([mixtureBayes(8, 0.5).error, mixtureBayes(16, 0.5).error]);
    expect(mixture.theory!(o, context('n', 'risk'))).toEqual([]);
  });
});
