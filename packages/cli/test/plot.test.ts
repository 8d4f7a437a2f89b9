// `regimes plot` and `regimes report` on a synthetic results file whose means and spreads are known.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ResultRow, Rng } from '@regimes/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/defaults.js';
import { fontMetrics } from '../src/plot/font-metrics.js';
import { plotData } from '../src/plot/data.js';
import { drawFigure } from '../src/plot/figure.js';
import { stripLabel } from '../src/plot/keys.js';
import { enclosingLogTicks, logTicks, vegaLiteSpec } from '../src/plot/vega-lite.js';
import { formatSummary, formatSummaryMarkdown, markdownCell, summarize } from '../src/results/summary.js';
import { writeReport } from '../src/report/report.js';
import { specText } from '../src/report/sections.js';
import { appendProvenance, gitCommit, machine } from '../src/run/provenance.js';
import { plotOptionsWith } from './plot-options.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/regimes.js');

/** Run the built command; the commands of this file run concurrently (each spends seconds importing). */
function regimes(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

// g = 2 h1(z) + h3(z) on d = 4: energies ‖P_1‖² = 4, ‖P_3‖² = 1. Staircase over n ∈ [2, 32]:
// 5 for n < 4, then 1 (degree 2 is empty, so nothing changes at 16).
const target = {
  kind: 'hermite',
  d: 4,
  r: 1,
  terms: [
    { coef: 2, alpha: [1] },
    { coef: 1, alpha: [3] },
  ],
  degree: 2,
  maxDegree: 8,
  normalize: false,
  noise: 0,
};
const ns = [2, 8, 32];
/** Learner a: seeds give m·(0.5, 0.5, 2), so mean m and sample std m·√0.75 (min–max is m·[0.5, 2]); m = 1/√n. */
const spreadA = Math.sqrt(0.75);
const meanA = (n: number) => 1 / Math.sqrt(n);
/** Learner b: seeds give m·(0.8, 1, 1.2); m = 2/n. */
const meanB = (n: number) => 2 / n;

function row(
  n: number,
  seed: number,
  learner: string,
  risk: number,
  extra: Partial<ResultRow> = {},
): ResultRow {
  const [id, variant] = learner.split(':') as [string, string | undefined];
  return {
    spec: 'synthetic',
    specHash: '0123456789abcdef',
    key: `n=${n},seed=${seed}|${learner}`,
    cellKey: `n=${n},seed=${seed}`,
    ...(variant === undefined ? {} : { variant }),
    cell: { n, seed },
    learner: { id, kind: 'rf', width: 16 },
    target,
    metrics: { risk },
    diagnostics: { 'train-risk': risk / 2 },
    timing: { fit_s: 0.5, eval_s: 0.1 },
    backend: 'cpu',
    status: 'ok',
    seed,
    versions: { '@regimes/core': '0.1.0', '@tensorflow/tfjs-core': '4.22.0' },
    finishedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

function fixtureRows(): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const n of ns)
    [0.5, 0.5, 2].forEach((f, seed) => {
      rows.push(row(n, seed, 'a', meanA(n) * f));
      rows.push(row(n, seed, 'b', meanB(n) * [0.8, 1, 1.2][seed]!));
      // a ridge variant of a third learner: its own series
      rows.push(row(n, seed, 'rf#0:ridge=0.1', 0.3));
    });
  rows.push({ ...row(32, 3, 'b', Number.NaN), status: 'error', error: 'boom: the solve failed' });
  return rows;
}

function writeFixture(rows = fixtureRows()): string {
  const dir = mkdtempSync(join(tmpdir(), 'regimes-plot-'));
  writeFileSync(join(dir, 'results.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir;
}

const options = plotOptionsWith;

describe('plot data', () => {
  const registry = createRegistry();

  it('means and bands over seeds, failed rows left out and counted', () => {
    const data = plotData(fixtureRows(), options(), registry);
    // the one rf learner is named by its kind (its automatic id rf#0 says nothing more)
    expect(data.measuredSeries).toEqual(['a', 'b', 'rf:ridge=0.1']);
    const a8 = data.means.find((m) => m.series === 'a' && m.x === 8)!;
    expect(a8.y).toBeCloseTo(meanA(8), 12);
    expect(a8.lo).toBeCloseTo(meanA(8) * (1 - spreadA), 12);
    expect(a8.hi).toBeCloseTo(meanA(8) * (1 + spreadA), 12);
    // on the log axis a band edge below half the smallest value is clipped there (and said so)
    const a32 = data.means.find((m) => m.series === 'a' && m.x === 32)!;
    expect(meanA(32) * (1 - spreadA)).toBeLessThan(0.025);
    expect(a32.lo).toBe(0.025); // half of b's smallest seed value, 0.8 · 2/32
    expect(data.notes).toContain('lower band edge clipped at 0.025 at 1 point (log axis)');
    const linear = plotData(fixtureRows(), options({ linear: true }), registry);
    expect(linear.means.find((m) => m.series === 'a' && m.x === 32)!.lo).toBeCloseTo(
      meanA(32) * (1 - spreadA),
      12,
    );
    const b2 = plotData(fixtureRows(), options({ band: 'minmax' }), registry).means.find(
      (m) => m.series === 'b' && m.x === 2,
    )!;
    expect([b2.lo, b2.y, b2.hi]).toEqual([meanB(2) * 0.8, meanB(2), meanB(2) * 1.2]);
    expect(data.notes[0]).toBe('1 of 28 rows left out (1 error)');
    expect(data.subtitle[0]).toContain('mean ± 1 sample std');
  });

  it("a key that sets another learner's option neither splits a line nor counts its refits as seeds", () => {
    // learners[a].ridge swept at the top level: b refits the same data at each value
    const swept = (n: number, seed: number, learner: string, ridge: number, risk: number) => {
      const r = row(n, seed, learner, risk);
      return { ...r, cell: { ...r.cell, 'learners[a].ridge': ridge } };
    };
    const rows = [0.1, 0.01].flatMap((ridge) =>
      [0, 1].flatMap((seed) => [
        swept(8, seed, 'a', ridge, ridge + seed),
        swept(8, seed, 'b', ridge, ridge === 0.01 ? 0.2 + seed : 0.3 + seed),
      ]),
    );
    const data = plotData(rows, options({ theory: false }), registry);
    expect(data.measuredSeries).toEqual(['a, ridge=0.01', 'a, ridge=0.1', 'b']);
    const b = data.means.find((m) => m.series === 'b')!;
    expect([b.seeds, b.y]).toEqual([2, 0.7]); // seeds 0 and 1 at ridge 0.01, the smallest: 0.2, 1.2
    expect(data.notes).toContain(
      "2 rows of b left out: refits in cells that differ only in another learner's option (the smallest value's kept)",
    );
    // on the x axis every learner has a point at each of its values: b's refits are its line there
    const onX = plotData(rows, options({ theory: false, x: 'learners[a].ridge' }), registry);
    expect(
      onX.means
        .filter((m) => m.series === 'b')
        .map((m) => [m.x, m.seeds])
        .sort((u, v) => u[0]! - v[0]!),
    ).toEqual([
      [0.01, 2],
      [0.1, 2],
    ]);
    // zipped with another key (d moves with a's ridge) b's cells are all different: none left out
    const zipped = rows.map((r) => ({
      ...r,
      cell: { ...r.cell, d: r.cell['learners[a].ridge'] === 0.1 ? 4 : 8 },
    }));
    const both = plotData(zipped, options({ theory: false }), registry);
    expect(both.means.filter((m) => m.series.startsWith('b')).map((m) => m.seeds)).toEqual([2, 2]);
    expect(both.notes.join('\n')).not.toContain('left out: refits');
  });

  it("a reference level from a seed-dependent target is the mean over the seeds' targets", () => {
    // quadratic with the Ghorbani spectrum: Var f* = 2Σλ² differs from seed to seed
    const quadratic = {
      kind: 'quadratic',
      d: 20,
      spectrum: 'ghorbani',
      rank: 1,
      power: 1,
      linear: 0,
      normalize: false,
      noise: 0,
    };
    const rows = [0, 1, 2, 3].map((seed) => ({ ...row(64, seed, 'a', 1), target: quadratic }));
    const factory = registry.get('target', 'quadratic');
    const variances = [0, 1, 2, 3].map((seed) => {
      const { kind: _k, ...o } = quadratic;
      const e = factory.create(factory.options.parse(o), { rng: Rng.fromSeed(seed).child('target') })
        .structure.hermiteEnergy!;
      return e.reduce((a, b) => a + b, 0);
    });
    expect(Math.max(...variances) - Math.min(...variances)).toBeGreaterThan(0.1); // seed 0's alone is off
    const level = plotData(rows, options({ linear: true }), registry).theory.filter(
      (t) => t.series === 'best constant (Var f*)',
    );
    expect(level.map((p) => p.y)).toEqual([expect.closeTo(variances.reduce((a, b) => a + b, 0) / 4, 10)]);
  });

  it('on a log axis, a seed value ≤ 0 stays in the mean over seeds; a mean ≤ 0 is left out', () => {
    // excess risk: seeds (0.3, −0.1, 0.1) at n = 8, mean 0.1 (was 0.2: the mean of the positive two);
    // (−0.2, 0.1) at n = 16, mean −0.05, which a log axis cannot draw
    const rows = [
      row(8, 0, 'a', 0.3),
      row(8, 1, 'a', -0.1),
      row(8, 2, 'a', 0.1),
      row(16, 0, 'a', -0.2),
      row(16, 1, 'a', 0.1),
    ];
    const data = plotData(rows, options({ theory: false, points: true, band: 'minmax' }), registry);
    expect(data.means.map((m) => [m.x, m.seeds])).toEqual([[8, 3]]);
    expect(data.means[0]!.y).toBeCloseTo(0.1, 12);
    expect(data.means[0]!.hi).toBe(0.3);
    expect(data.means[0]!.lo).toBeCloseTo(0.05, 12); // −0.1 clipped at half the smallest value drawn
    expect(data.seeds.map((p) => p.y)).toEqual([0.3, 0.1, 0.1]);
    expect(data.notes).toContain("2 seeds' values ≤ 0 in their means, not drawn (log axis)");
    expect(data.notes).toContain('1 mean over seeds ≤ 0 left out (log axis; --linear shows it)');
    const linear = plotData(rows, options({ theory: false, linear: true }), registry);
    expect(linear.means.map((m) => m.y)).toEqual([expect.closeTo(0.1, 12), expect.closeTo(-0.05, 12)]);
  });

  it("--band se: ± the rows' <y>-se (one seed: its own; several: √Σse²/S), and says where a row has none", () => {
    const withSe = (r: ResultRow, se: number) => ({ ...r, metrics: { ...r.metrics, 'risk-se': se } });
    const one = [withSe(row(8, 0, 'a', 0.4), 0.1), withSe(row(16, 0, 'a', 0.2), 0.05)];
    const single = plotData(one, options({ band: 'se', theory: false }), registry);
    expect(single.means.map((m) => [m.x, m.lo, m.y, m.hi])).toEqual([
      [8, 0.30000000000000004, 0.4, 0.5],
      [16, 0.15000000000000002, 0.2, 0.25],
    ]);
    expect(single.subtitle[0]).toBe(
      'line: mean over 1 seed; band: mean ± 1 standard error of the test sets (√Σse²/seeds)',
    );
    const two = [withSe(row(8, 0, 'a', 0.4), 0.3), withSe(row(8, 1, 'a', 0.6), 0.4), row(16, 0, 'a', 0.2)];
    const data = plotData(two, options({ band: 'se' }), registry);
    const [m8, m16] = data.means;
    expect(m8!.y).toBeCloseTo(0.5, 12);
    expect(m8!.hi - m8!.y).toBeCloseTo(0.25, 12); // √(0.3² + 0.4²)/2
    expect([m16!.lo, m16!.hi]).toEqual([0.2, 0.2]);
    expect(data.notes).toContain(
      "1 of 2 points without a band: their rows have no 'risk-se' (a metric records it as <name>-se)",
    );
  });

  it('asks the target for its theory: the hermite staircase over the measured n', () => {
    const data = plotData(fixtureRows(), options(), registry);
    // the staircase, and the best constant's risk Var f* = 4 + 1 as a reference level (grey, dotted)
    expect(data.theorySeries).toEqual([
      'kernel staircase ‖P>ℓ f*‖², ℓ = ⌊log_d n⌋',
      'best constant (Var f*)',
    ]);
    expect(data.referenceSeries).toEqual(['best constant (Var f*)']);
    expect(data.theory.filter((t) => t.reference).map((t) => [t.x, t.y])).toEqual([
      [2, 5],
      [32, 5],
    ]);
    expect(data.colors.at(-1)).toBe('#777777');
    expect(data.theory.filter((t) => !t.reference).map((t) => [t.x, t.y])).toEqual([
      [2, 5],
      [4, 5],
      [4, 1],
      [16, 1],
      [16, 1],
      [32, 1],
    ]);
    expect(plotData(fixtureRows(), options({ theory: false }), registry).theory).toEqual([]);
    // no theory for a diagnostic
    expect(plotData(fixtureRows(), options({ y: 'train-risk' }), registry).theory).toEqual([]);
  });

  it('splits series by swept keys it does not plot, and names unknown keys with the closest', () => {
    const rows = fixtureRows().map((r) => ({ ...r, cell: { ...r.cell, 'target.d': r.seed === 0 ? 4 : 8 } }));
    const data = plotData(rows, options({ by: 'learner' }), registry);
    expect(data.measuredSeries).toContain('a, d=4');
    expect(() => plotData(rows, options({ y: 'rsik' }), registry)).toThrow(/did you mean 'risk'/);
    expect(() => plotData(rows, options({ x: 'dd' }), registry)).toThrow(/not a key/);
    expect(plotData(rows, options({ facet: 'd' }), registry).panels).toEqual([
      'target.d = 4',
      'target.d = 8',
    ]);
  });

  it('draws the spread of a series with one x (a band of no width) as a bar from lo to hi', () => {
    // learner a at n = 8 and 16, learner b at n = 8 only: b's band would be invisible
    const rows = [0, 1].flatMap((seed) => [
      row(8, seed, 'a', 0.5 + seed / 10),
      row(16, seed, 'a', 0.3 + seed / 10),
      row(8, seed, 'b', 0.4 + seed / 5),
    ]);
    const spec = vegaLiteSpec(plotData(rows, options(), registry)) as unknown as {
      data: { values: { kind: string; series: string; lone?: boolean; lo: number; hi: number }[] };
      layer: { mark: { type: string }; transform?: { filter: string }[] }[];
    };
    const means = spec.data.values.filter((v) => v.kind === 'mean');
    expect(means.map((m) => [m.series, m.lone])).toEqual([
      ['a', false],
      ['a', false],
      ['b', true],
    ]);
    const bar = spec.layer.find(
      (l) => l.mark.type === 'rule' && l.transform?.[0]?.filter.includes('datum.lone'),
    );
    expect(bar).toBeDefined();
    const b = means.find((m) => m.series === 'b')!;
    expect(b.hi - b.lo).toBeCloseTo(2 * Math.sqrt(0.02), 12); // ± one sample std of 0.4 and 0.6
    // sem: ± std/√seeds, here 0.1
    const sem = plotData(rows, options({ band: 'sem' }), registry);
    const bSem = sem.means.find((m) => m.series === 'b')!;
    expect([bSem.lo, bSem.hi].map((v) => Number(v.toFixed(12)))).toEqual([0.4, 0.6]);
    expect(sem.subtitle[0]).toBe(
      'line: mean over 2 seeds; band: mean ± 1 standard error over seeds (std/√seeds); dashed: theory; dotted grey: reference level',
    );
  });

  it('wraps a long subtitle line at spaces instead of widening the figure', () => {
    const data = plotData([row(8, 0, 'a', 0.5), row(16, 0, 'a', 0.3)], options(), registry);
    const note = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' '); // 409 characters
    const spec = vegaLiteSpec({ ...data, subtitle: [data.subtitle[0]!, note] }) as unknown as {
      title: { subtitle: string[] };
    };
    const lines = spec.title.subtitle.slice(1);
    expect(lines.length).toBe(4);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(128);
    expect(lines.map((l) => l.trim()).join(' ')).toBe(note);
  });

  it('titles the x axis with the key and, for the common options, what it means', () => {
    const rows = [4, 8].map((d) => ({
      ...row(16, 0, 'a', 1 / d),
      cell: { n: 16, seed: 0, 'target.d': d, 'learners[a].eta0': d },
    }));
    expect(plotData(rows, options(), registry).xTitle).toBe('n (training samples)');
    expect(plotData(rows, options({ x: 'target.d' }), registry).xTitle).toBe('target.d (input dimension)');
    expect(plotData(rows, options({ x: 'learners[a].eta0' }), registry).xTitle).toBe(
      'learners[a].eta0 (first-step learning rate η₀)',
    );
  });

  it('heads a panel per learner with the name its legend entry has, not its id', () => {
    const rows = [0, 1].flatMap((seed) => [
      row(8, seed, 'rf#0', 0.5),
      row(16, seed, 'rf#0', 0.3),
      row(8, seed, 'ntk#1', 0.4),
      row(16, seed, 'ntk#1', 0.2),
    ]);
    const data = plotData(rows, options({ facet: 'learner' }), registry);
    expect(data.panels).toEqual(['learner = ntk', 'learner = rf']);
    expect(data.measuredSeries).toEqual(['rf', 'ntk']);
  });

  it('training curves: the mean of the trace over seeds at each step', () => {
    const rows = [0, 1].map((seed) =>
      row(8, seed, 'a', 0.1, {
        trace: [0, 10, 20].map((step) => ({ step, 'test-risk': (seed + 1) / (step + 1) })),
      }),
    );
    const data = plotData(rows, options({ curves: true }), registry);
    expect(data.yTitle).toBe('test-risk');
    expect(data.subtitle[0]).toBe('line: mean over 2 seeds; band: mean ± 1 sample std over seeds');
    expect(plotData(rows.slice(0, 1), options({ curves: true }), registry).subtitle[0]).toBe(
      'line: mean over 1 seed; no band (one seed)',
    );
    // rows without a trace (kernel fits): said so, not as an unknown -y the user never gave
    expect(() => plotData([row(8, 0, 'a', 0.1)], options({ curves: true }), registry)).toThrow(
      '--curves draws learning curves, and no row of these results records one',
    );
    expect(data.xLog).toBe(false);
    expect(data.means.map((m) => [m.x, m.y])).toEqual([
      [0, 1.5],
      [10, 1.5 / 11],
      [20, 1.5 / 21],
    ]);
  });
});

describe('log ticks', () => {
  it('powers of ten over four decades or more, else 1-2-5, else finer', () => {
    expect(logTicks(1, 1e4)).toEqual([1, 10, 100, 1000, 10000]);
    expect(logTicks(0.02, 0.3)).toEqual([0.02, 0.05, 0.1, 0.2]);
    expect(logTicks(512, 4096)).toEqual([700, 1000, 2000, 3000]);
    expect(logTicks(0.6, 0.9)).toEqual([0.6, 0.7, 0.8, 0.9]);
  });
  it('between two digits of one decade: the ends and the middle, never no tick', () => {
    expect(logTicks(0.52, 0.58)).toEqual([0.52, 0.55, 0.58]);
  });
});

describe('series', () => {
  it('drops the learner options shown on an axis from its label, and never averages two learners', () => {
    expect(stripLabel('rf#0(width=64,bias=1)', new Set(['width']))).toBe('rf#0(bias=1)');
    expect(stripLabel('rf#0:ridge=0.001', new Set(['ridge']))).toBe('rf#0');
    expect(stripLabel('ntk#0', new Set(['n']))).toBe('ntk#0');
    // a learner sweep over width: -x width gives one line, not one point per width
    const rows = [16, 32, 64].flatMap((width) =>
      [0, 1].map((seed) =>
        row(8, seed, `rf#0(width=${width})`, 1 / width, {
          learner: { id: `rf#0(width=${width})`, kind: 'rf', width },
        }),
      ),
    );
    const byWidth = plotData(rows, options({ x: 'width', theory: false }), createRegistry());
    expect(byWidth.measuredSeries).toEqual(['rf']);
    expect(byWidth.means.map((m) => [m.x, m.seeds])).toEqual([
      [16, 2],
      [32, 2],
      [64, 2],
    ]);
    // --by a key other than the learner: two learners stay two lines
    const two = [...fixtureRows()];
    const byN = plotData(two, options({ x: 'seed', by: 'n', theory: false, linear: true }), createRegistry());
    expect(byN.measuredSeries.length).toBe(ns.length * new Set(two.map((r) => r.key.split('|')[1])).size);
  });
});

describe('figures a referee would accept (issue 15)', () => {
  // a zipped sweep: d with n = d² and ntk's ridge moving with d; two rf widths and one ntk
  const zipped = (): ResultRow[] =>
    [4, 8, 16].flatMap((d, i) =>
      [0, 1].flatMap((seed) => {
        const cell = { 'target.d': d, 'learners[ntk].ridge': [1e-2, 1e-3, 1e-4][i]!, n: d * d, seed };
        const at = (id: string, learner: ResultRow['learner'], risk: number) =>
          row(d * d, seed, id, risk, {
            cell,
            learner,
            target: { ...target, d },
            metrics: { risk, alignment: 1 / d },
          });
        return [
          at('rf#0', { id: 'rf#0', kind: 'rf', width: 128 }, 1 / d),
          at('rf#1', { id: 'rf#1', kind: 'rf', width: 512 }, 0.5 / d),
          at('ntk#0', { id: 'ntk#0', kind: 'ntk', ridge: [1e-2, 1e-3, 1e-4][i] }, 0.7 / d),
        ];
      }),
    );

  it('keys that move with x (zipped, derived) neither split a line nor name it', () => {
    const data = plotData(zipped(), options({ x: 'd', theory: false }), createRegistry());
    expect(data.measuredSeries).toEqual(['rf(width=128)', 'rf(width=512)', 'ntk']);
    expect(data.means.filter((m) => m.series === 'ntk').map((m) => [m.x, m.seeds])).toEqual([
      [4, 2],
      [8, 2],
      [16, 2],
    ]);
  });

  it('gives a learner the same colour in every figure of the run (spec order), whatever is drawn', () => {
    const rows = zipped().map((r) =>
      // the first rf and the ntk report no alignment: the alignment figure draws the second rf alone
      r.learner.id === 'rf#1' ? r : { ...r, metrics: { risk: r.metrics.risk! } },
    );
    const risk = plotData(rows, options({ x: 'd', theory: false }), createRegistry());
    expect(risk.colors).toEqual(['#1f77b4', '#ff7f0e', '#2ca02c']);
    const alignment = plotData(rows, options({ x: 'd', y: 'alignment', theory: false }), createRegistry());
    expect(alignment.measuredSeries).toEqual(['rf(width=512)']);
    expect(alignment.colors).toEqual(['#ff7f0e']);
  });

  it('draws a fraction on a linear axis from 0 to 1, with the random first layer r/d as reference', () => {
    const data = plotData(zipped(), options({ x: 'd', y: 'alignment' }), createRegistry());
    expect([data.yLog, data.yDomain]).toEqual([false, [0, 1]]);
    // the fixture target has r = 1: r/d at d = 4, 8, 16, one line along x
    expect(data.referenceSeries).toEqual(['random first layer (r/d)']);
    expect(data.theory.filter((t) => t.reference).map((t) => [t.x, t.y])).toEqual([
      [4, 0.25],
      [8, 0.125],
      [16, 0.0625],
    ]);
    expect(plotData(zipped(), options({ x: 'd' }), createRegistry()).yLog).toBe(true);
  });

  it('encloses the data in labelled log ticks: no point below the lowest tick or above the highest', () => {
    for (const [lo, hi] of [
      [0.45, 1.2],
      [3e-4, 2],
      [0.012, 0.9],
      [0.52, 0.58],
      [1e-9, 1],
    ] as const) {
      const ticks = enclosingLogTicks(lo, hi);
      // within 10%: the axis pads a little past its last tick
      expect(ticks[0]).toBeLessThanOrEqual(lo * 1.1);
      expect(ticks.at(-1)).toBeGreaterThanOrEqual(hi / 1.1);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.length).toBeLessThanOrEqual(10);
    }
    expect(enclosingLogTicks(0.45, 1.2)).toEqual([0.3, 0.5, 0.7, 1, 2]);
    // damian-vs-kernels: a band from 0.2 to 1.05 is [0.2, 1], not [0.2, 2]
    expect(enclosingLogTicks(0.2, 1.05)).toEqual([0.2, 0.3, 0.5, 0.7, 1]);
    expect(enclosingLogTicks(1e-3, 1)).toEqual([1e-3, 1e-2, 0.1, 1]);
  });

  it('prints one seed as its value, not as a spread of 0', () => {
    const one = formatSummary(summarize([row(8, 0, 'a', 0.25), row(16, 0, 'a', 0.5), row(16, 1, 'a', 1)]));
    expect(one).toMatch(/\ba\s+8\s+1\s+0\.2500\s/);
    expect(one).toMatch(/\ba\s+16\s+2\s+0\.7500 ± 0\.3536\s/);
    expect(one).not.toContain('± 0.000');
  });
});

describe('summary table', () => {
  it('counts a λ-list fit that failed as a failed run of each λ, and times only the fits that stand', () => {
    const failed = {
      ...row(8, 2, 'a', Number.NaN),
      status: 'error' as const,
      metrics: {},
      timing: { fit_s: 0, eval_s: 0 },
    };
    const groups = summarize([
      row(8, 0, 'a:ridge=0.1', 0.25),
      row(8, 0, 'a:ridge=1', 0.5),
      row(8, 1, 'a:ridge=0.1', 0.35),
      row(8, 1, 'a:ridge=1', 0.7),
      failed,
    ]);
    expect(groups.map((g) => [g.learner, g.runs, g.failed, g.metrics.risk!.count, g.fitSeconds])).toEqual([
      ['a:ridge=0.1', 3, 1, 2, 0.5],
      ['a:ridge=1', 3, 1, 2, 0.5],
    ]);
    const lone = summarize([failed]);
    expect(lone.map((g) => [g.learner, g.runs, g.failed])).toEqual([['a', 1, 1]]);
    expect(formatSummary(lone)).toMatch(/\ba\s+8\s+1 \(1 failed\)\s+-\s*$/m);
  });

  it('leaves out a metric JSON wrote as null (NaN in a hand-edited file), where the mean had taken it as 0', () => {
    const nulled = { ...row(8, 4, 'a', 0), metrics: { risk: null as unknown as number } };
    const [group] = summarize([row(8, 0, 'a', 0.5), row(8, 1, 'a', 1), nulled]);
    expect(group!.metrics.risk).toMatchObject({ mean: 0.75, count: 2 });
  });
});

describe('font metrics', () => {
  const font = (name: string) =>
    fontMetrics(new Uint8Array(readFileSync(join(root, 'node_modules/dejavu-fonts-ttf/ttf', name))));

  it('reads advance widths: DejaVu Sans Mono is 1233/2048 em per character', () => {
    const mono = font('DejaVuSansMono.ttf');
    expect(mono.unitsPerEm).toBe(2048);
    expect(mono.width('risk ℓ', 2048)).toBe(6 * 1233);
    const sans = font('DejaVuSans.ttf');
    expect(sans.width('i', 12)).toBeLessThan(sans.width('M', 12));
    expect(sans.width('iM', 12)).toBeCloseTo(sans.width('i', 12) + sans.width('M', 12), 12);
  });
});

/** The text of each `<g>` whose class names `role`, up to its matching `</g>`. */
function groups(svg: string, role: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<g class="[^"]*${role}[^"]*"`, 'g');
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    const start = m.index;
    const tag = /<(\/?)g\b[^>]*?(\/?)>/g;
    tag.lastIndex = start;
    let depth = 0;
    for (let t = tag.exec(svg); t; t = tag.exec(svg)) {
      if (t[2]) continue;
      depth += t[1] ? -1 : 1;
      if (depth === 0) {
        out.push(svg.slice(start, tag.lastIndex));
        break;
      }
    }
  }
  return out;
}

/** Checks that every tag opens and closes in order (well-formed as XML, attributes aside). */
function wellFormed(svg: string): boolean {
  const stack: string[] = [];
  for (const t of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (t[3]) continue;
    if (!t[1]) stack.push(t[2]!);
    else if (stack.pop() !== t[2]) return false;
  }
  return stack.length === 0;
}

const dir = writeFixture();
const withSpec = writeFixture();
writeFileSync(join(withSpec, 'spec.yaml'), 'name: synthetic\n# the spec as written\n');
// rows of a learner kind that only a plugin registers, with a theory curve of its own
const plugin = join(root, 'packages/cli/test/fixtures/kinds-plugin.js');
const pluginDir = writeFixture(
  ns.flatMap((n) =>
    [0, 1].map((seed) => row(n, seed, 'm', 0.5, { learner: { id: 'm', kind: 'fixture-mean' } })),
  ),
);
let runs: Record<
  'plot' | 'report' | 'plotPlain' | 'plotPlugin' | 'reportPlugin',
  Awaited<ReturnType<typeof regimes>>
>;
beforeAll(async () => {
  const [plot, report, plotPlain, plotPlugin, reportPlugin] = await Promise.all([
    regimes('plot', dir, '--out', join(dir, 'fig'), '--points'),
    regimes('report', dir, '--out', join(dir, 'report')),
    regimes('plot', pluginDir, '--out', join(pluginDir, 'plain')),
    regimes('plot', pluginDir, '--out', join(pluginDir, 'plugin'), '--plugin', plugin),
    regimes('report', pluginDir, '--out', join(pluginDir, 'report'), '--plugin', plugin),
  ]);
  runs = {
    plot: plot!,
    report: report!,
    plotPlain: plotPlain!,
    plotPlugin: plotPlugin!,
    reportPlugin: reportPlugin!,
  };
  // five CLI processes (each ~3 s of CPU when idle) on two cores: a budget that holds under load
}, 300_000);

describe('regimes plot', () => {
  let svg: string;
  let png: Buffer;
  beforeAll(() => {
    const r = runs.plot;
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('27 rows, 3 series, 1 theory curve, 1 reference level');
    expect(r.stderr).toContain('note: 1 of 28 rows left out (1 error)');
    svg = readFileSync(join(dir, 'fig.svg'), 'utf8');
    png = readFileSync(join(dir, 'fig.png'));
  });

  it('writes a well-formed SVG: one line per learner and one dashed theory line, in the legend', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(wellFormed(svg)).toBe(true);
    const lines = [...svg.matchAll(/<path [^>]*aria-roledescription="line mark"[^>]*>/g)].map((m) => m[0]);
    expect(lines).toHaveLength(5);
    expect(lines.filter((l) => l.includes('stroke-dasharray="7,4"'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('stroke-dasharray="2,3"'))).toHaveLength(1);
    const legend = [...svg.matchAll(/role-legend-label[\s\S]*?<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(legend).toEqual([
      'a',
      'b',
      'rf:ridge=0.1',
      'kernel staircase ‖P&gt;ℓ f*‖², ℓ = ⌊log_d n⌋',
      'best constant (Var f*)',
    ]);
    expect(svg).toContain('1 of 28 rows left out (1 error)');
    // one band per learner, and each seed's point (27 ok rows)
    expect(svg.match(/aria-roledescription="area mark"/g)).toHaveLength(3);
    expect(svg.match(/role-mark layer_2_marks/g)).not.toBeNull();
  });

  it('draws log axes, and the band of learner a spans mean ± std in data space', () => {
    const yAxis = groups(svg, 'role-axis').find((g) => g.includes('x2="-5"'))!;
    const tickYs = [
      ...groups(yAxis, 'role-axis-tick')[0]!.matchAll(/<line transform="translate\(0,([\d.]+)\)"/g),
    ].map((m) => Number(m[1]));
    // one text per tick, in tick order (an unlabelled tick has an empty one)
    const texts = [
      ...groups(yAxis, 'role-axis-label')[0]!.matchAll(
        /<text [^>]*translate\(-?[\d.]+,([\d.]+)\)"[^>]*?(?:\/>|>([^<]*)<\/text>)/g,
      ),
    ].map((m) => ({ y: Number(m[1]), value: m[2] ? Number(m[2]) : undefined }));
    expect(texts.length).toBe(tickYs.length);
    // ticks are rounded to whole pixels, labels are not, and sit a baseline offset below them
    const offset = texts.reduce((sum, t, i) => sum + t.y - tickYs[i]!, 0) / texts.length;
    const labelled = texts.filter((t) => t.value !== undefined);
    // the axis group is shifted by half a pixel against the marks (crisp lines)
    const ticks = labelled.map((l) => l.y - offset + 0.5);
    const labels = labelled.map((l) => l.value!);
    expect(ticks.length).toBeGreaterThan(3);
    // pixel is affine in log10(value): the fit through the extreme ticks predicts the middle ones
    const [p0, p1] = [ticks[0]!, ticks.at(-1)!];
    const [l0, l1] = [Math.log10(labels[0]!), Math.log10(labels.at(-1)!)];
    const toValue = (pixel: number) => 10 ** (l0 + ((pixel - p0) * (l1 - l0)) / (p1 - p0));
    ticks.forEach((t, i) => expect(toValue(t) / labels[i]!).toBeCloseTo(1, 6));
    // and not affine in the value itself (a linear axis would be)
    const linear = labels[0]! + ((ticks[1]! - p0) * (labels.at(-1)! - labels[0]!)) / (p1 - p0);
    expect(Math.abs(linear / labels[1]! - 1)).toBeGreaterThan(0.05);

    // the area of a: lower edge forward, upper edge back; its first x is n = 2
    const area = svg.match(/<path aria-label="[^"]*band: a"[^>]*d="M([^"]+)Z"/)!;
    const points = area[1]!.split('L').map((p) => p.split(',').map(Number) as [number, number]);
    const lo = toValue(points[0]![1]);
    const hi = toValue(points.at(-1)![1]);
    expect(points[0]![0]).toBe(points.at(-1)![0]);
    expect(lo / (meanA(2) * (1 - spreadA))).toBeCloseTo(1, 1.5);
    expect(hi / (meanA(2) * (1 + spreadA))).toBeCloseTo(1, 1.5);
    // x is logarithmic too: n = 2, 8, 32 are equally spaced
    const xs = points.slice(0, 3).map((p) => p[0]);
    expect(xs[2]! - xs[1]!).toBeCloseTo(xs[1]! - xs[0]!, 1);
  });

  it('writes a PNG of twice the SVG’s size', () => {
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    const [w, h] = svg
      .match(/width="(\d+)" height="(\d+)"/)!
      .slice(1)
      .map(Number);
    expect(png.readUInt32BE(16)).toBe(2 * w!);
    expect(png.readUInt32BE(20)).toBe(2 * h!);
  });
});

describe('a learner name longer than the legend may show', () => {
  it('is cut with an ellipsis at the legend’s limit, and the figure keeps its width', async () => {
    const long = 'L'.repeat(200);
    const rows = fixtureRows().map((r) =>
      r.learner.id === 'a' ? { ...r, learner: { ...r.learner, id: long } } : r,
    );
    const { svg } = await drawFigure(rows, options({ theory: false }), [], () => {}, 1);
    const width = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
    const short = Number(
      /<svg[^>]* width="([\d.]+)"/.exec(
        (await drawFigure(fixtureRows(), options({ theory: false }), [], () => {}, 1)).svg,
      )![1],
    );
    expect(svg).toMatch(/>L{20,}…</);
    expect(svg).not.toContain(`>${long}<`); // (whole in the marks' aria-labels, for screen readers)
    expect(width).toBeLessThan(short + 450); // the label's 420 px limit, not its full 2000-odd px
  });
});

describe('the summary table', () => {
  it("gives a metric's -se as the test sets' error of the mean, counts seeds that lack a value, escapes Markdown", () => {
    const withSe = (n: number, seed: number, learner: string, risk: number, se: number) =>
      row(n, seed, learner, risk, { metrics: { risk, 'risk-se': se } });
    const rows = [
      withSe(8, 0, 'a', 0.3, 0.03),
      withSe(8, 1, 'a', 0.24, 0.04),
      withSe(8, 2, 'a', 0.3, 0.12),
      // a value JSON wrote as null (NaN in an edited file): left out, and said
      row(8, 0, 'x<b>&"y', Number.NaN, { metrics: { risk: null as unknown as number } }),
      row(8, 1, 'x<b>&"y', 0.5),
      row(8, 2, 'x<b>&"y', 0),
    ];
    const text = formatSummary(summarize(rows));
    // √(0.03² + 0.04² + 0.12²)/3 = 0.13/3
    expect(text).toMatch(/a\s+8\s+3\s+0\.2800 ± 0\.03464\s+0\.04333\s/);
    expect(text).toContain('risk-se (of the mean: √Σse²/runs)');
    expect(text).toMatch(/x<b>&"y\s+8\s+3\s+0\.2500 ± 0\.3536 \(2 of 3\)/);
    const md = formatSummaryMarkdown(summarize(rows));
    expect(md).toContain('| x&lt;b&gt;&amp;"y | 8 | 3 | 0.2500 ± 0.3536 (2 of 3) |');
    expect(markdownCell('boom | with pipe\nsecond <b>')).toBe('boom \\| with pipe<br>second &lt;b&gt;');
  });
});

describe('regimes report', () => {
  it('writes report.md and a self-contained report.html: spec, figure, table, versions, failures', () => {
    const out = join(dir, 'report');
    expect(runs.report.code).toBe(0);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Spec (reconstructed from the rows)');
    expect(md).toContain('sweep:\n  n: [ 2, 8, 32 ]\n  seed: [ 0, 1, 2, 3 ]');
    expect(md).toContain('| learner | n | runs | risk (mean ± std) | fit s |');
    // learner a at n = 2: mean 1/√2, std √0.75/√2
    expect(md).toContain('| a | 2 | 3 | 0.7071 ± 0.6124 |');
    expect(md).toContain('| b | 32 | 4 (1 failed) |');
    expect(md).toContain('| backend | cpu (28) |');
    expect(md).toContain('| error | 1 | boom: the solve failed | n=32,seed=3\\|b |');
    expect(md).toContain('![figure](report-figure.svg)');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('<td>0.7071 ± 0.6124</td>');
    expect(html).not.toMatch(/<(link|script|img)\b|src=|url\(/);
    expect(readFileSync(join(out, 'report-figure.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('includes the spec file of the run folder when there is one', async () => {
    // in-process (the command's own code path, without a second process)
    const written = await writeReport({
      rows: fixtureRows(),
      resultsFile: join(withSpec, 'results.jsonl'),
      runDir: withSpec,
      outDir: withSpec,
      figure: () => drawFigure(fixtureRows(), options({ theory: false }), [], () => {}, 1),
      warn: () => {},
    });
    expect(written.map((f) => f.slice(withSpec.length + 1))).toEqual([
      'report-figure.svg',
      'report-figure.png',
      'report.md',
      'report.html',
    ]);
    const md = readFileSync(join(withSpec, 'report.md'), 'utf8');
    expect(md).toContain('## Spec (spec.yaml)\n\n```yaml\nname: synthetic\n# the spec as written\n```');
    // provenance: the spec hash and dates of the rows, each learner's options; no run recorded here
    expect(md).toContain(`| spec hash | ${fixtureRows()[0]!.specHash} |`);
    expect(md).toMatch(/\| rows computed \| \S+ to \S+ \|/);
    expect(md).toContain('| (none recorded: the rows predate provenance.jsonl, or were merged) |');
    expect(md).toMatch(
      /## Learners' resolved options\n\n\| learner \| options \|\n\| --- \| --- \|\n\| a \| \{"kind":/,
    );
  });

  it("rebuilds a λ list's learner from its variant rows: ridge listed, not the first λ", () => {
    const variant = (seed: number, ridge: number) => {
      const r = row(8, seed, `rf#0:ridge=${ridge}`, 0.5);
      return { ...r, learner: { ...r.learner, ridge } };
    };
    const rows = [variant(0, 0.0001), variant(0, 0.1), variant(1, 0.0001), variant(1, 0.1)];
    const { text, source } = specText(rows, mkdtempSync(join(tmpdir(), 'regimes-spec-')));
    expect(source).toContain('reconstructed');
    expect(text).toMatch(/ridge:\s*\[ 0\.0001, 0\.1 \]/);
  });

  it('lists each recorded run of the folder: command, commit, Node, machine, backend and device', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'regimes-provenance-'));
    const stamp = '2026-01-02T03:04:05.000Z';
    appendProvenance(
      runDir,
      {
        startedAt: stamp,
        finishedAt: stamp,
        command: ['run', 'spec.yaml', '-j', '2'],
        cwd: '/home/me',
        spec: 'synthetic',
        specHash: '0123456789abcdef', // the rows'
        rows: { ran: 20, resumed: 8, failed: 1 },
        specCommit: 'not in a git repository',
        ...(await machine()),
        backend: 'cpu',
        device: 'host CPU',
        jobs: 2,
      },
      () => {},
    );
    // a run of another spec into the folder (--force), whose rows are gone: left out, and said
    const [first] = readFileSync(join(runDir, 'provenance.jsonl'), 'utf8').split('\n');
    appendFileSync(
      join(runDir, 'provenance.jsonl'),
      `${JSON.stringify({ ...JSON.parse(first!), startedAt: '2026-01-01T00:00:00.000Z', specHash: 'fedcba9876543210' })}\n`,
    );
    await writeReport({
      rows: fixtureRows(),
      resultsFile: join(runDir, 'results.jsonl'),
      runDir,
      outDir: runDir,
      figure: () => Promise.reject(new Error('not needed')),
      warn: () => {},
    });
    const md = readFileSync(join(runDir, 'report.md'), 'utf8');
    expect(md).not.toContain('| 2026-01-01T00:00:00.000Z |');
    expect(md).toContain(
      '| (1 run(s) of another spec left out: fedcba9876543210; their rows are not in the file) |',
    );
    const line = md.split('\n').find((l) => l.startsWith(`| ${stamp} |`))!;
    expect(line).toContain('| 20 / 8 / 1 |');
    expect(line).toContain(`| ${process.versions.node} |`);
    expect(line).toContain(`× ${cpus().length},`);
    expect(line).toContain('| cpu (host CPU); -j 2, BLAS threads');
    expect(line).toContain('| regimes run spec.yaml -j 2 (in /home/me) |');
    expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toContain('<h2>Runs (provenance.jsonl)</h2>');
    // the commit is regimes' only where its checkout is the repository (not a project it is installed in)
    const own = await gitCommit(join(root, 'packages/cli'), root);
    if (own !== 'not in a git repository') {
      expect(own).toMatch(/^[0-9a-f]{40}( \+ local changes)?$/);
      expect(await gitCommit(join(root, 'packages/cli'), tmpdir())).toBe(
        'an installed package, not a git checkout',
      );
    }
  });
});

describe('plot and report --plugin', () => {
  it('draw the theory curve of a learner kind the plugin registers, which is absent without it', () => {
    expect(runs.plotPlain.code).toBe(0);
    expect(runs.plotPlain.stdout).toContain('6 rows, 1 series, 1 theory curve, 1 reference level');
    expect(readFileSync(join(pluginDir, 'plain.svg'), 'utf8')).not.toContain('fixture theory');
    expect(runs.plotPlugin.code).toBe(0);
    expect(runs.plotPlugin.stdout).toContain('6 rows, 1 series, 2 theory curves, 1 reference level');
    expect(readFileSync(join(pluginDir, 'plugin.svg'), 'utf8')).toContain('fixture theory [m]');
    expect(runs.reportPlugin.code).toBe(0);
    expect(readFileSync(join(pluginDir, 'report', 'report-figure.svg'), 'utf8')).toContain(
      'fixture theory [m]',
    );
  });
});
