/**
 * A spec rebuilt from the rows (no spec.json beside them) validates: the metrics without their `-se`
 * companions, the entries without the options their kinds say have no effect (a row records every
 * option with its default, `maxDegree` of a hermite target without an expression included).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpecText, planExperiment, runExperiment, silentLogger } from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/defaults.js';
import { specText } from '../src/report/sections.js';

// bad-input: 6
describe('the spec rebuilt from the rows', () => {
  it('validates with the registry; without it the rows’ every option and the -se columns stay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-rebuilt-'));
    const registry = createRegistry();
    const { rows } = await runExperiment(
      {
        name: 'rebuilt',
        backend: 'cpu',
        target: { kind: 'hermite', d: 4, degree: 2 },
        learners: [{ kind: 'rf', width: 16 }],
        metrics: ['risk'],
        sweep: { n: [16, 32] },
        test: { n: 64 },
      },
      { registry, out: join(dir, 'results.jsonl'), log: silentLogger },
    );
    const plan = (text: string) =>
      planExperiment(parseSpecText(text, 'rebuilt.yaml'), registry, 'rebuilt.yaml');
    const bare = specText(rows, dir);
    expect(bare.source).toBe('reconstructed from the rows');
    expect(bare.text).toContain('maxDegree');
    expect(() => plan(bare.text)).toThrow(/maxDegree: has no effect/);
    const rebuilt = specText(rows, dir, registry);
    expect(rebuilt.text).toContain('metrics: [ risk ]');
    expect(rebuilt.text).not.toContain('maxDegree');
    const again = plan(rebuilt.text);
    expect(again.cells.map((c) => c.n)).toEqual([16, 32]);
  }, 120_000);
});
