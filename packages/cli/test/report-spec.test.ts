/**
 * A spec rebuilt from the rows (no spec.json beside them) validates: the metrics without their `-se`
 * companions, the entries without the options their kinds say have no effect (a row records every
 * option with its default, `maxDegree` of a hermite target without an expression included).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpecText, planExperiment, runExperiment, silentLogger } from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/defaults.js';
import { specText } from '../src/report/sections.js';

// the run's spec, and the copy of it a run writes beside its rows
const spec = {
  name: 'rebuilt',
  backend: 'cpu',
  target: { kind: 'hermite', d: 4, degree: 2 },
  learners: [{ kind: 'rf', width: 16 }],
  metrics: ['risk'],
  sweep: { n: [16, 32] },
  test: { n: 64 },
};

// bad-input: 6
describe('the spec rebuilt from the rows', () => {
  it('validates with the registry; without it the rows’ every option and the -se columns stay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-rebuilt-'));
    const registry = createRegistry();
    const { rows } = await runExperiment(spec, {
      registry,
      out: join(dir, 'results.jsonl'),
      log: silentLogger,
    });
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
    // a spec.json beside them: shown when it is theirs, else (another spec's) rebuilt and said so
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    expect(specText(rows, dir, registry).source).toBe('spec.json');
    // the same spec with fewer n (a later, smaller run resumed here rewrote it): said
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ ...spec, sweep: { n: [16] } }));
    expect(specText(rows, dir, registry).source).toBe(
      'spec.json; 1 of the rows are of cells it does not list (e.g. n=32): a larger sweep of the same spec ran into this folder before',
    );
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ ...spec, learners: [{ kind: 'rf', width: 32 }] }));
    const other = specText(rows, dir, registry);
    expect(other.source).toMatch(
      /^reconstructed from the rows; spec\.json beside them is another spec \(hash [0-9a-f]{16}\), not these rows'$/,
    );
    expect(other.text).toBe(rebuilt.text);
    // a copy that lists plugins holds their paths made absolute, which the rows' hash did not see:
    // it cannot be judged by its hash: shown, saying so, when it bears the rows' spec name
    const withPlugins = {
      ...spec,
      plugins: ['/somewhere/regimes-plugin-x'],
      learners: [{ kind: 'rf', width: 32 }],
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(withPlugins));
    expect(specText(rows, dir, registry).source).toBe(
      "spec.json; not checked against the rows' hash: it lists plugins, their paths made absolute in the copy",
    );
    // and rebuilt when it bears another, or does not parse
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ ...withPlugins, name: 'unrelated' }));
    expect(specText(rows, dir, registry).source).toBe(
      "reconstructed from the rows; spec.json beside them is another spec (named unrelated, the rows' rebuilt)",
    );
    writeFileSync(join(dir, 'spec.json'), '{ "name": "something else", "oops": ');
    expect(specText(rows, dir, registry).source).toMatch(
      /^reconstructed from the rows; spec\.json beside them does not parse \(/,
    );
    // a stale spec.yaml beside the rows' own spec.json: the spec.json
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    writeFileSync(
      join(dir, 'spec.yaml'),
      'name: rebuilt\ntarget: { kind: hermite, d: 4 }\nlearners: [{ kind: ntk }]\nsweep: { n: [16] }\n',
    );
    expect(specText(rows, dir, registry).source).toBe('spec.json');
  }, 120_000);

  it('holds one target entry when a target option is swept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-rebuilt-'));
    const registry = createRegistry();
    const { rows } = await runExperiment(
      { ...spec, name: 'swept-target', sweep: { n: [16], 'target.d': [3, 4] }, test: { n: 32 } },
      { registry, log: silentLogger },
    );
    const rebuilt = specText(rows, dir, registry);
    const again = planExperiment(parseSpecText(rebuilt.text, 'rebuilt.yaml'), registry, 'rebuilt.yaml');
    expect(again.cells.map((c) => c.values['target.d'])).toEqual([3, 4]);
    expect(again.spec.target).not.toHaveProperty('d');
  }, 120_000);

  it("folds a learner's own sweep back into one entry, and leaves a swept learner option to the sweep", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimes-rebuilt-'));
    const registry = createRegistry();
    const { rows, plan } = await runExperiment(
      {
        ...spec,
        name: 'swept-learners',
        learners: [
          { kind: 'rf', width: 16 },
          { kind: 'rf', id: 'wide', sweep: { width: [8, 24] } },
        ],
        sweep: { n: [16], 'learners[rf#0].bias': [0, 0.5] },
        test: { n: 32 },
      },
      { registry, log: silentLogger },
    );
    const rebuilt = specText(rows, dir, registry);
    const again = planExperiment(parseSpecText(rebuilt.text, 'rebuilt.yaml'), registry, 'rebuilt.yaml');
    expect(again.spec.learners.map((l) => [l.id, l.sweep])).toEqual([
      ['rf#0', undefined],
      ['wide', { width: [8, 24] }],
    ]);
    expect(again.spec.learners[0]).not.toHaveProperty('bias');
    const fits = (p: typeof plan) => p.cells.flatMap((c) => c.learners.map((l) => `${c.key}|${l.id}`));
    expect(fits(again)).toEqual(fits(plan));
  }, 120_000);
});
