// Figures a reviewer could read: colours that tie a theory curve to its line and never repeat
// unseen, theory values 0 up to rounding off a log axis, one x drawn as points with error bars,
// x ≤ 0 on a symlog axis, a default y without `risk`, labels that read, ticks that never overlap,
// and coinciding theory curves drawn once. Checked on the data and the Vega-Lite spec, not pixels.
import type { Registry, ResultRow, TheoryContext } from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { compareLabels, plotData, type PlotData, PALETTE, REFERENCE_COLOR } from '../src/plot/data.js';
import { mergedLabel, theoryLabel } from '../src/plot/theory.js';
import { ticksFit, vegaLiteSpec } from '../src/plot/vega-lite.js';
import { plotOptionsWith } from './plot-options.js';

/** A theory curve a fake kind draws: its label and its y at each of the context's x (in order). */
interface FakeCurve {
  label: string;
  ys: number[];
}

const asIs = { safeParse: (v: unknown) => ({ success: true, data: v }), parse: (v: unknown) => v };
const theoryOf = (options: unknown, context: TheoryContext) =>
  ((options as { theory?: FakeCurve[] }).theory ?? []).map((c) => ({
    label: c.label,
    metric: context.metric,
    points: context.xs.map((x, i) => ({ x, y: c.ys[i] ?? Number.NaN })),
  }));

/**
 * A registry of a target kind `fake` and a learner kind `fake-l` whose theories are the curves
 * their entries list; the target has Var f* = 1 (the best-constant reference level).
 */
const registry = {
  has: (point: string, kind: string) =>
    (point === 'target' && kind === 'fake') || (point === 'learner' && kind === 'fake-l'),
  get: (point: string) => ({
    kind: point === 'target' ? 'fake' : 'fake-l',
    options: asIs,
    theory: theoryOf,
    create: () => ({ dim: 4, structure: { hermiteEnergy: [0, 1] } }),
  }),
} as unknown as Registry;

function row(
  x: number,
  seed: number,
  id: string,
  y: number,
  extra: { theory?: FakeCurve[]; target?: FakeCurve[]; xKey?: string; metrics?: Record<string, number> } = {},
): ResultRow {
  const xKey = extra.xKey ?? 'n';
  return {
    spec: 'review',
    specHash: '0123456789abcdef',
    key: `${xKey}=${x},seed=${seed}|${id}`,
    cellKey: `${xKey}=${x},seed=${seed}`,
    cell: { [xKey]: x, seed },
    learner: { id, kind: 'fake-l', ...(extra.theory ? { theory: extra.theory } : {}) },
    target: { kind: 'fake', d: 4, ...(extra.target ? { theory: extra.target } : {}) },
    metrics: extra.metrics ?? { risk: y },
    diagnostics: {},
    timing: { fit_s: 0.1, eval_s: 0.1 },
    backend: 'cpu',
    status: 'ok',
    seed,
    versions: { '@regimes/core': '0.1.0' },
    finishedAt: '2026-01-01T00:00:00.000Z',
  };
}

const options = plotOptionsWith;

/** Each legend entry's colour, dash and shape, from the spec's series scales. */
function legendStyles(data: PlotData) {
  const series = [...data.measuredSeries, ...data.theorySeries];
  return new Map(
    series.map((s, i) => [s, { color: data.colors[i]!, dash: data.dashes[i]!, shape: data.shapes?.[i] }]),
  );
}

/** Every mark layer of a single-panel spec (read loosely: the spec is a tree of objects). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const layersOf = (data: PlotData) => (vegaLiteSpec(data) as { layer: Record<string, any>[] }).layer;

const ns = [16, 64, 256, 1024];

describe('colours (review item 1)', () => {
  it("a learner's theory curve takes exactly its line's colour; other curves a colour no line has", () => {
    // 12 learners, each with its own curve, and the target's curve: 25 entries, more than 10 colours
    const ids = Array.from({ length: 12 }, (_, i) => `l${i}`);
    const rows = ns.flatMap((n, j) =>
      ids
        .map((id, i) =>
          row(n, 0, id, (i + 1) / n, {
            theory: [{ label: 'own', ys: ns.map((m) => (i + 1.5) / m) }],
            target: [{ label: 'target curve', ys: ns.map((m) => 0.5 / m) }],
          }),
        )
        .concat(j === 0 ? [] : []),
    );
    const data = plotData(rows, options(), registry);
    const style = legendStyles(data);
    for (const id of ids) expect(style.get(`own [${id}]`)!.color).toBe(style.get(id)!.color);
    const lineColors = ids.map((id) => style.get(id)!.color);
    expect(new Set(lineColors).size).toBe(12);
    expect(lineColors).not.toContain(style.get('target curve')!.color);
    expect(lineColors).not.toContain(REFERENCE_COLOR);
    expect(style.get('best constant (Var f*)')!.color).toBe(REFERENCE_COLOR);
    // the spec's series scales are those colours and dashes
    const encoding = layersOf(data).find((l) => l.mark.type === 'line')!.encoding;
    expect(encoding.color.scale.range).toEqual(data.colors);
    expect(encoding.strokeDash.scale.range).toEqual(data.dashes);
    // no two entries look alike
    const looks = [...style.values()].map((s) => JSON.stringify(s));
    expect(new Set(looks).size).toBe(looks.length);
  });

  it('two curves of one line share its colour in dashes of their own', () => {
    const rows = ns.map((n) =>
      row(n, 0, 'a', 1 / n, {
        theory: [
          { label: 'first', ys: ns.map((m) => 2 / m) },
          { label: 'second', ys: ns.map((m) => 3 / m) },
        ],
      }),
    );
    const style = legendStyles(plotData(rows, options(), registry));
    expect(style.get('first [a]')!.color).toBe(style.get('a')!.color);
    expect(style.get('second [a]')!.color).toBe(style.get('a')!.color);
    expect(style.get('first [a]')!.dash).not.toEqual(style.get('second [a]')!.dash);
  });

  it('two learners whose curves coincide draw them in dashes out of phase, so both colours show', () => {
    const rows = ns.flatMap((n) =>
      // the same up to n = 64, apart after (identical curves would be one legend entry)
      ['a', 'b'].map((id, i) =>
        row(n, 0, id, 1 / n, {
          theory: [{ label: 'staircase', ys: ns.map((m) => (m < 256 ? 0.5 : 0.3 - 0.1 * i)) }],
        }),
      ),
    );
    const style = legendStyles(plotData(rows, options(), registry));
    const [a, b] = [style.get('staircase [a]')!.dash, style.get('staircase [b]')!.dash];
    const period = (d: number[]) => d.reduce((x, y) => x + y, 0);
    expect(period(a)).toBe(period(b));
    // b's first visible dash starts where a's first gap does: one's dashes fall in the other's gaps
    expect(b[0]).toBe(0);
    expect(b[1]).toBe(a[1]);
    expect(b[2]).toBe(a[0]);
  });

  it('past the palette, a colour reused by a line has another point shape, and a free curve none', () => {
    const ids = Array.from({ length: PALETTE.length + 3 }, (_, i) => `l${i}`);
    const rows = ns.flatMap((n) =>
      ids.map((id, i) =>
        row(n, 0, id, (i + 1) / n, { target: [{ label: 'target curve', ys: ns.map(() => 1) }] }),
      ),
    );
    const data = plotData(rows, options(), registry);
    const style = legendStyles(data);
    const lines = ids.map((id) => style.get(id)!);
    expect(new Set(lines.map((s) => `${s.color} ${s.shape}`)).size).toBe(ids.length);
    expect(lines.map((s) => s.color)).not.toContain(style.get('target curve')!.color);
    const line = layersOf(data).find((l) => l.mark.type === 'line')!;
    expect(line.encoding.shape.scale.range).toEqual(data.shapes);
  });
});

describe('theory values 0 up to rounding (review item 2)', () => {
  it('are left out on a log axis, counted in a note, and do not stretch the axis', () => {
    const rows = ns.map((n) =>
      row(n, 0, 'nn', 1 / n, { theory: [{ label: 'best fit', ys: [0.05, 0.01, 4e-16, 3e-16] }] }),
    );
    const data = plotData(rows, options(), registry);
    const fit = data.theory.filter((t) => t.series === 'best fit [nn]');
    expect(fit.map((t) => t.x)).toEqual([16, 64]);
    expect(data.notes).toContain("theory 'best fit [nn]' is 0 from n = 256: not drawn there (log axis)");
    const y = layersOf(data).find((l) => l.mark.type === 'line')!.encoding.y;
    expect(Math.min(...y.axis.values)).toBeGreaterThanOrEqual(1e-4);
    expect(y.scale.domain[0]).toBeGreaterThanOrEqual(1e-4);
    // on a linear axis they are drawn, as they are
    expect(
      plotData(rows, options({ linear: true }), registry).theory.filter((t) => t.series === 'best fit [nn]'),
    ).toHaveLength(4);
  });
});

describe('one x value (review item 3)', () => {
  const rows = [0, 1, 2].flatMap((seed) => [
    row(8192, seed, 'small', 0.4 + 0.05 * seed, {
      theory: [{ label: 'own', ys: [0.35] }],
      target: [{ label: 'staircase', ys: [0.5] }],
    }),
    row(8192, seed, 'unit', 0.8 + 0.05 * seed, { target: [{ label: 'staircase', ys: [0.5] }] }),
  ]);

  it('draws means as points with error bars, a learner curve beside its point, the others across', () => {
    const data = plotData(rows, options(), registry);
    const layers = layersOf(data);
    const marks = layers.map((l) => (typeof l.mark === 'string' ? l.mark : l.mark.type));
    expect(marks).not.toContain('line');
    expect(marks).not.toContain('area');
    const bar = layers.find((l) => l.mark.type === 'errorbar')!;
    expect([bar.encoding.y.field, bar.encoding.y2.field]).toEqual(['lo', 'hi']);
    expect(bar.encoding.x.type).toBe('ordinal');
    expect(bar.encoding.xOffset.scale.domain).toEqual(['small', 'unit']);
    // the learner's own value: a visible stroke at its line's offset; the target's and the level: rules
    const values = (vegaLiteSpec(data) as { data: { values: Record<string, unknown>[] } }).data.values;
    expect(values.find((v) => v.series === 'own [small]')).toMatchObject({ slot: 'small', y: 0.35 });
    expect(values.find((v) => v.series === 'staircase')).toMatchObject({ slot: null, y: 0.5 });
    const stroke = layers.find((l) => l.mark.type === 'point' && l.mark.shape === 'stroke')!;
    expect(stroke.mark.size).toBeGreaterThanOrEqual(400);
    expect(stroke.encoding.xOffset.field).toBe('slot');
    const rule = layers.find((l) => l.mark.type === 'rule')!;
    expect(rule.encoding.x).toBeUndefined();
    expect(data.subtitle[0]).toMatch(/^point: mean over 3 seeds; bar: mean ± 1 sample std/);
  });

  it('with several x, a curve of one drawable point is a visible stroke, not a lone line vertex', () => {
    const many = ns.map((n) =>
      row(n, 0, 'a', 1 / n, {
        theory: [{ label: 'at the end', ys: [Number.NaN, Number.NaN, Number.NaN, 0.001] }],
      }),
    );
    const data = plotData(many, options(), registry);
    const layers = layersOf(data);
    const stroke = layers.find((l) => l.mark.type === 'point' && l.mark.shape === 'stroke')!;
    expect(stroke.transform[0].filter).toContain('datum.single && !datum.reference');
    const values = (vegaLiteSpec(data) as { data: { values: Record<string, unknown>[] } }).data.values;
    expect(values.find((v) => v.series === 'at the end [a]')).toMatchObject({ single: true, x: 1024 });
  });
});

describe('x ≤ 0 on a log axis (review item 4)', () => {
  it('is drawn on a symlog axis, η = 0 and the best-constant level with it', () => {
    const etas = [0, 0.5, 2, 8, 32];
    const rows = etas.map((eta) => row(eta, 0, 'one-step', 0.5 - eta / 100, { xKey: 'eta' }));
    const data = plotData(rows, options({ x: 'eta' }), registry);
    expect(data.xLog).toBe(false);
    expect(data.xSymlog).toBe(true);
    expect(data.means.map((m) => m.x)).toEqual(etas);
    expect(data.notes).toContain('x has values ≤ 0: symmetric log x axis (linear near 0)');
    const level = data.theory.filter((t) => t.series === 'best constant (Var f*)');
    expect(level.map((t) => t.x)).toEqual([0, 32]);
    const x = layersOf(data).find((l) => l.mark.type === 'line')!.encoding.x;
    expect(x.scale).toMatchObject({ type: 'symlog', constant: 0.5 });
    expect(x.axis.values).toContain(0);
  });
});

describe('default y (review item 5)', () => {
  it("is the rows' first metric when they have no risk, and the figure says so", () => {
    const rows = ns.map((n) =>
      row(n, 0, 'a', 0, { metrics: { 'normalized-risk': 1 / n, 'normalized-risk-se': 0.01 } }),
    );
    const data = plotData(rows, options(), registry);
    expect(data.yTitle).toBe('normalized-risk');
    expect(data.subtitle).toContain(
      "y: normalized-risk, the rows' first metric (they have no 'risk'; -y picks another)",
    );
    expect(
      plotData(
        rows.map((r) => ({ ...r, metrics: { error: 0.2, 'error-se': 0.01 } })),
        options(),
        registry,
      ).yTitle,
    ).toBe('error');
  });
});

describe('theory labels (review item 6)', () => {
  it('read as the curve divided by Var f*, not a clause after a comma', () => {
    expect(theoryLabel('its kernel’s staircase, / Var f*')).toBe('its kernel’s staircase / Var f*');
    expect(theoryLabel('kernel staircase ‖P>ℓ f*‖², ℓ = ⌊log_d n⌋, / Var f*')).toBe(
      'kernel staircase ‖P>ℓ f*‖² / Var f*, ℓ = ⌊log_d n⌋',
    );
    expect(theoryLabel('its kernel’s staircase, degree 3 never learned, / Var f*')).toBe(
      'its kernel’s staircase / Var f*, degree 3 never learned',
    );
    expect(theoryLabel('eigenlearning, λ=0.1')).toBe('eigenlearning, λ=0.1');
    const rows = ns.map((n) =>
      row(n, 0, 'ntk', 1 / n, {
        theory: [{ label: 'its kernel’s staircase, / Var f*', ys: [0.9, 0.8, 0.7, 0.6] }],
      }),
    );
    expect(plotData(rows, options(), registry).theorySeries).toContain(
      'its kernel’s staircase / Var f* [ntk]',
    );
  });
});

describe('tick labels (review item 7)', () => {
  it('on a linear axis, measured x that would crowd are not the ticks; labels never overlap', () => {
    const xs = [32, 64, 128, 256, 512, 1024, 2048];
    const data = plotData(
      xs.map((n) => row(n, 0, 'a', 1 / n)),
      options({ linear: true }),
      registry,
    );
    const x = layersOf(data).find((l) => l.mark.type === 'line')!.encoding.x;
    expect(x.axis.values).toBeUndefined();
    expect(x.axis.tickCount).toBeLessThanOrEqual(6);
    expect(x.axis).toMatchObject({ labelOverlap: true, labelFlush: false });
    expect(x.axis.labelSeparation).toBeGreaterThan(0);
    // the same x on a log axis are evenly spread and stay the ticks
    const log = layersOf(
      plotData(
        xs.map((n) => row(n, 0, 'a', 1 / n)),
        options(),
        registry,
      ),
    ).find((l) => l.mark.type === 'line')!.encoding.x;
    expect(log.axis.values).toEqual(xs);
  });

  it('ticksFit: labels side by side need their half widths and a gap', () => {
    const linear = (v: number) => (v - 32) / (2048 - 32);
    expect(ticksFit([32, 64, 2048], linear, String)).toBe(false);
    expect(ticksFit([0, 500, 1000, 1500, 2000], (v) => v / 2000, String)).toBe(true);
  });
});

describe('coinciding theory curves (review item 8)', () => {
  it('are drawn once, named together, in the colour of the learner whose curve it is', () => {
    const same = ns.map((m) => 1 / m);
    const rows = ns.map((n) =>
      row(n, 0, 'ntk-bias', 1.2 / n, {
        theory: [{ label: 'its kernel’s staircase', ys: same.map((y) => y * (1 + 1e-12)) }],
        target: [{ label: 'kernel staircase', ys: same }],
      }),
    );
    const data = plotData(rows, options(), registry);
    const merged = 'its kernel’s staircase [ntk-bias] = kernel staircase';
    expect(data.theorySeries).toEqual([merged, 'best constant (Var f*)']);
    expect(data.theory.filter((t) => t.series === merged)).toHaveLength(4);
    const style = legendStyles(data);
    expect(style.get(merged)!.color).toBe(style.get('ntk-bias')!.color);
    // 1e-6 apart: two curves
    const apart = rows.map((r) => ({
      ...r,
      learner: {
        ...r.learner,
        theory: [{ label: 'its kernel’s staircase', ys: same.map((y) => y * (1 + 1e-6)) }],
      },
    }));
    expect(plotData(apart, options(), registry).theorySeries).toHaveLength(3);
  });

  it('of a learner with one line and one with several (a λ list) take a colour neither line has', () => {
    const same = ns.map((m) => 1 / m);
    const theory = [{ label: 'its kernel’s staircase', ys: same }];
    const rows = ns.flatMap((n) => [
      row(n, 0, 'a', 1.2 / n, { theory }),
      // the list's two variants: one learner entry, two lines
      ...[1, 2].map((ridge) => ({
        ...row(n, 0, 'list', ridge / n, { theory }),
        key: `n=${n},seed=0|list:ridge=${ridge}`,
        variant: `ridge=${ridge}`,
      })),
    ]);
    const data = plotData(rows, options(), registry);
    const merged = 'its kernel’s staircase [a, list]';
    expect(data.theorySeries).toContain(merged);
    const style = legendStyles(data);
    const lines = ['a', 'list:ridge=1', 'list:ridge=2'].map((s) => style.get(s)!.color);
    expect(lines).not.toContain(style.get(merged)!.color);
  });

  it("one reference level of several targets is one legend entry (normalized risk's 1)", () => {
    const rows = [8, 16].flatMap((d) =>
      ns.map((n) => ({
        ...row(n, 0, 'l', 1 / n, { metrics: { 'normalized-risk': 1 / n, risk: 1 / n } }),
        target: { kind: 'fake', d },
      })),
    );
    const level = (metric: string) =>
      plotData(rows, options({ by: 'target.d', y: metric }), registry).theorySeries.filter((s) =>
        s.startsWith('best constant'),
      );
    expect(level('normalized-risk')).toEqual(['best constant (Var f*)']);
    // the fake target's Var f* is 1 at every d, so its risk level is one line too; labels that differ
    // in more than a suffix would stay apart (A = B)
    expect(level('risk')).toEqual(['best constant (Var f*)']);
  });

  it('merged labels say a shared suffix once and put the tags of one name together', () => {
    expect(
      mergedLabel([
        'its kernel’s staircase [a] (d=8)',
        'its kernel’s staircase [b] (d=8)',
        'kernel staircase (d=8)',
      ]),
    ).toBe('its kernel’s staircase [a, b] = kernel staircase (d=8)');
  });
});

describe('series order', () => {
  it('reads the numbers in labels by value: d=6 before d=12, 0.01 before 0.1, 1e-3 before 1e-1', () => {
    const sorted = (labels: string[]) => [...labels].sort(compareLabels);
    expect(sorted(['ntk, d=16', 'ntk, d=12', 'ntk, d=6', 'ntk, d=8'])).toEqual([
      'ntk, d=6',
      'ntk, d=8',
      'ntk, d=12',
      'ntk, d=16',
    ]);
    expect(sorted(['λ=0.1', 'λ=0.01', 'λ=1'])).toEqual(['λ=0.01', 'λ=0.1', 'λ=1']);
    expect(sorted(['ridge-1e-1', 'ridge-1e-3', 'ridge-1'])).toEqual(['ridge-1e-3', 'ridge-1e-1', 'ridge-1']);
    expect(sorted(['width=2', 'width=16', 'rf'])).toEqual(['rf', 'width=2', 'width=16']);
  });
});
