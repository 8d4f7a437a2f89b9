/**
 * From results rows to what a figure shows: the rows kept, the series (one per value of --by),
 * the mean over seeds with its band, each seed's value, and the theory curves that the target
 * and learner factories give for the axis. Pure: no files, no rendering.
 */
import {
  closestMatch,
  type Registry,
  RegimesError,
  type ResultRow,
  rowLabel,
  type Scalar,
} from '@regimes/core';
import { meanStd } from '../results/summary.js';
import {
  formatScalar,
  keyAddresses,
  type Key,
  lastSegment,
  namesIn,
  type PlotPoint,
  resolveKey,
  stripLabel,
} from './keys.js';
import { counted } from '../words.js';
import { type TheoryPoint, theoryPoints } from './theory.js';

export type BandKind = 'std' | 'sem' | 'minmax' | 'se' | 'none';

export interface PlotOptions {
  /** Cell key on the x axis (`n`, `target.d`, or the short `d`); `step` with `curves`. */
  x: string;
  /** Metric (or diagnostic) on the y axis; a trace field with `curves`. */
  y?: string | undefined;
  /** What makes a line: `learner` (the key's part after `|`) or a key. */
  by: string;
  facet?: string | undefined;
  theory: boolean;
  /** Training curves from the rows' `trace` instead of one value per row. */
  curves: boolean;
  band: BandKind;
  /** Draw each seed's value as a point. */
  points: boolean;
  /** Linear axes (default: log-log, or linear x and log y for training curves). */
  linear: boolean;
}

export type { PlotPoint };

export interface MeanPoint extends PlotPoint {
  lo: number;
  hi: number;
  seeds: number;
}

export interface PlotData {
  title: string;
  subtitle: string[];
  xTitle: string;
  yTitle: string;
  seriesTitle: string;
  facetTitle?: string;
  xLog: boolean;
  /**
   * A symmetric-log x axis (log away from 0, linear near it): the axis would be log but x has
   * values ≤ 0 (η = 0, the baseline), which a log axis cannot show. `xLog` is then false.
   */
  xSymlog?: boolean;
  yLog: boolean;
  panels: string[];
  /** Series of measured values, then theory series (drawn dashed), in legend order. */
  measuredSeries: string[];
  theorySeries: string[];
  /** Theory series that are reference levels (best constant, random subspace): drawn grey, dotted. */
  referenceSeries: string[];
  /** The colour of each series of measuredSeries then theorySeries (a learner keeps its colour). */
  colors: string[];
  /** The stroke dash of each series, in the same order: solid, theory dashes, reference dots. */
  dashes: number[][];
  /**
   * The point shape of each series, in the same order, when there are more series than colours
   * (a colour's second use is told apart by its shape); absent otherwise.
   */
  shapes?: string[];
  /** A fixed y domain (fractions in [0, 1] are drawn on a linear axis from 0 to 1). */
  yDomain?: [number, number];
  means: MeanPoint[];
  seeds: PlotPoint[];
  theory: TheoryPoint[];
  /** What was left out and why, for the subtitle and the console. */
  notes: string[];
  /** Rows used (status ok, with a value). */
  used: number;
}

/** The metric or diagnostic a row reports under `name`. */
function rowValue(row: ResultRow, name: string): number | undefined {
  return row.metrics[name] ?? row.diagnostics?.[name];
}

function valueNames(rows: readonly ResultRow[]): string[] {
  return [...new Set(rows.flatMap((r) => [...Object.keys(r.metrics), ...Object.keys(r.diagnostics ?? {})]))];
}

function traceNames(rows: readonly ResultRow[]): string[] {
  return [...new Set(rows.flatMap((r) => (r.trace ?? []).flatMap((e) => Object.keys(e))))].filter(
    (k) => k !== 'step',
  );
}

function unknownValue(name: string, known: string[], what: string): RegimesError {
  const near = closestMatch(name, known);
  return new RegimesError(
    `-y '${name}' is not a ${what} of these rows${near ? ` (did you mean '${near}'?)` : ''}`,
    {
      hint: `${what}s: ${known.join(', ') || '(none)'}`,
    },
  );
}

/**
 * Labels in reading order: text as text, and each number in it (decimals and exponents too) by its
 * value, so 'd=6' comes before 'd=12', 'λ=0.01' before 'λ=0.1' and 'ridge-1e-3' before 'ridge-1e-1'.
 */
export function compareLabels(a: string, b: string): number {
  const parts = (s: string) => s.split(/(\d+(?:\.\d+)?(?:e[-+]?\d+)?)/i);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    // odd indices are the numbers the split captured
    const order = i % 2 ? Number(pa[i]) - Number(pb[i]) : pa[i]!.localeCompare(pb[i]!);
    if (order) return order;
  }
  return pa.length - pb.length || a.localeCompare(b);
}

/** Sort numbers numerically, everything else as text. */
function sortValues<T extends Scalar>(values: T[]): T[] {
  return values.sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : compareLabels(String(a), String(b)),
  );
}

/**
 * The mean of a group and its band. `se`: ± the Monte-Carlo standard error of the mean over the
 * seeds' test sets, √(Σ se_i²)/S (independent test sets); absent when a row has no `<y>-se`.
 */
function bandOf(
  values: number[],
  band: BandKind,
  ses: readonly (number | undefined)[],
): { mean: number; lo: number; hi: number } {
  const { mean, std } = meanStd(values);
  if (band === 'std') return { mean, lo: mean - std, hi: mean + std };
  if (band === 'sem') {
    const sem = std / Math.sqrt(values.length);
    return { mean, lo: mean - sem, hi: mean + sem };
  }
  if (band === 'se') {
    if (ses.some((v) => v === undefined)) return { mean, lo: mean, hi: mean };
    const se = Math.sqrt(ses.reduce((a: number, b) => a + b! ** 2, 0)) / values.length;
    return { mean, lo: mean - se, hi: mean + se };
  }
  if (band === 'minmax')
    return { mean, lo: values.reduce((a, b) => Math.min(a, b)), hi: values.reduce((a, b) => Math.max(a, b)) };
  return { mean, lo: mean, hi: mean };
}

export const bandDescription: Record<BandKind, string> = {
  std: 'band: mean ± 1 sample std over seeds',
  sem: 'band: mean ± 1 standard error over seeds (std/√seeds)',
  minmax: 'band: min–max over seeds',
  se: 'band: mean ± 1 standard error of the test sets (√Σse²/seeds)',
  none: 'no band',
};

/** What the common options mean, for the x axis's title after the key itself. */
const X_MEANINGS: Readonly<Record<string, string>> = {
  n: 'training samples',
  d: 'input dimension',
  r: 'hidden dimension',
  width: 'neurons N',
  ridge: 'ridge λ',
  noise: 'label-noise std',
  steps: 'training steps',
  lr: 'learning rate',
  eta0: 'first-step learning rate η₀',
  layers: 'depth L',
};

/** The x axis's title: the key as written (`target.d`), with what it means where that is known. */
function xTitle(key: string): string {
  const meaning = X_MEANINGS[lastSegment(key)];
  return meaning ? `${key} (${meaning})` : key;
}

/** Everything the figure draws, from the rows of one results file. */
export function plotData(
  allRows: readonly ResultRow[],
  opts: PlotOptions,
  registry: Registry,
  warn: (message: string) => void = () => {},
): PlotData {
  const notes: string[] = [];
  const ok = okRows(allRows, notes);
  const axes = plotAxes(ok, opts);
  if (opts.y === undefined && !opts.curves && axes.y !== 'risk')
    notes.push(`y: ${axes.y}, the rows' first metric (they have no 'risk'; -y picks another)`);
  const rows = onceAcrossOthersKeys(ok, axes, notes);
  const layout = seriesLayout(rows, axes);
  const bounded = isFraction(axes.y, rows, opts);
  const logX = !opts.linear && !opts.curves;
  // x ≤ 0 (η = 0, a baseline) has no place on a log axis: a symlog axis shows it
  const xSymlog = logX && rows.some((r) => Number(axes.x.get(r)) <= 0);
  if (xSymlog) notes.push(`x has values ≤ 0: symmetric log x axis (linear near 0)`);
  const scales = { xLog: logX && !xSymlog, yLog: !opts.linear && !bounded };
  const points = collectPoints(rows, opts, axes, layout, scales, notes);
  const means = meanPoints(points, opts.band, scales.yLog, notes);
  if (opts.band === 'se') noteMissingSe(points, axes.y, notes);
  const panels = panelOrder(rows, means, axes.facet, layout.panelOf);
  const learnerOrder = [...new Set(allRows.map((r) => r.learner.id))];
  const rank = (series: string) => learnerOrder.indexOf(layout.learnerOfSeries.get(series) ?? '');
  const measuredSeries = [...new Set(means.map((m) => m.series))].sort(
    (a, b) => rank(a) - rank(b) || compareLabels(a, b),
  );
  const theory =
    opts.theory && !opts.curves
      ? theoryPoints({
          rows,
          panels,
          panelOf: layout.panelOf,
          xKey: axes.x,
          metric: axes.y,
          ...scales,
          registry,
          warn,
          notes,
          learnerName: learnerNames(rows),
          seriesOf: layout.seriesOf,
          dataMax: largest(means),
        })
      : [];
  const theorySeries = [...new Set(theory.map((t) => t.series))];
  const referenceSeries = [...new Set(theory.filter((t) => t.reference).map((t) => t.series))];
  const ties = new Map(theory.flatMap((t) => (t.tie === undefined ? [] : [[t.series, t.tie] as const])));
  return {
    ...titles(
      rows,
      opts,
      axes,
      means,
      theoryLegend(theorySeries.length - referenceSeries.length, referenceSeries.length),
      notes,
    ),
    ...scales,
    ...(xSymlog ? { xSymlog } : {}),
    ...(bounded ? { yDomain: [0, 1] as [number, number] } : {}),
    panels,
    measuredSeries,
    theorySeries,
    referenceSeries,
    ...seriesStyles(
      measuredSeries,
      theorySeries,
      referenceSeries,
      ties,
      layout.learnerOfSeries,
      learnerOrder,
    ),
    means,
    seeds: opts.points ? points.seeds : [],
    theory,
    notes,
    used: points.used,
  };
}

/** The rows with status ok; the others are counted in a note by status. Errors when none is left. */
function okRows(allRows: readonly ResultRow[], notes: string[]): ResultRow[] {
  if (!allRows.length) throw new RegimesError('no rows to plot: the results file is empty');
  const rows = allRows.filter((r) => r.status === 'ok');
  const failed = allRows.length - rows.length;
  if (failed) {
    const byStatus = new Map<string, number>();
    for (const r of allRows) if (r.status !== 'ok') byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    notes.push(
      `${failed} of ${allRows.length} rows left out (${[...byStatus].map(([s, k]) => `${k} ${s}`).join(', ')})`,
    );
  }
  if (!rows.length) throw new RegimesError(`no row has status ok (${allRows.length} rows, all failed)`);
  return rows;
}

/**
 * A top-level sweep key that sets one learner's option (`learners[rf].ridge`) makes the other
 * learners refit the same data once per value: cells that differ only in such keys. Of those
 * refits of one learner only the row at the keys' smallest values is kept, so that a line is not
 * split by a value its learner never used and a seed counts once. A key the figure shows (-x, --by,
 * --facet) is left alone: there every learner has a point at each of its values.
 */
function onceAcrossOthersKeys(rows: ResultRow[], axes: Axes, notes: string[]): ResultRow[] {
  const shown = new Set([axes.x.name, axes.by.name, axes.facet?.name]);
  const keys = namesIn(rows, (r) => r.cell).filter((k) => k.startsWith('learners[') && !shown.has(k));
  if (!keys.length) return rows;
  const ids = new Set(rows.map((r) => r.learner.id));
  const foreignOf = (r: ResultRow) => keys.filter((k) => k in r.cell && !keyAddresses(k, r, ids));
  const groupOf = (r: ResultRow, foreign: string[]) =>
    `${rowLabel(r)}|${JSON.stringify(Object.entries(r.cell).filter(([k]) => !foreign.includes(k)))}`;
  const before = (a: ResultRow, b: ResultRow, foreign: string[]) => {
    for (const k of foreign) {
      const [x, y] = [a.cell[k], b.cell[k]];
      const order =
        typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      if (order) return order < 0;
    }
    return false;
  };
  const chosen = new Map<string, ResultRow>();
  for (const r of rows) {
    const foreign = foreignOf(r);
    if (!foreign.length) continue;
    const group = groupOf(r, foreign);
    const seen = chosen.get(group);
    if (!seen || before(r, seen, foreign)) chosen.set(group, r);
  }
  const left = new Set<string>();
  const kept = rows.filter((r) => {
    const foreign = foreignOf(r);
    const keep = !foreign.length || chosen.get(groupOf(r, foreign)) === r;
    if (!keep) left.add(r.learner.id);
    return keep;
  });
  if (kept.length < rows.length)
    notes.push(
      `${rows.length - kept.length} rows of ${[...left].join(', ')} left out: refits in cells that differ only in another learner's option (the smallest value's kept)`,
    );
  return kept;
}

/** The keys of the figure: x (`step` for curves), lines (--by), panels (--facet) and the y value. */
interface Axes {
  x: Key;
  by: Key;
  facet: Key | undefined;
  /** The metric, diagnostic or trace field on the y axis. */
  y: string;
}

function plotAxes(rows: readonly ResultRow[], opts: PlotOptions): Axes {
  const x: Key = opts.curves ? { name: 'step', get: () => undefined } : resolveKey(rows, opts.x, '-x');
  const by = resolveKey(rows, opts.by, '--by');
  const facetName =
    opts.facet ?? (opts.curves && new Set(rows.map((r) => r.cell.n)).size > 1 ? 'n' : undefined);
  const facet = facetName === undefined ? undefined : resolveKey(rows, facetName, '--facet');
  return { x, by, facet, y: yName(rows, opts) };
}

/** The y value: -y, else `risk` (for curves: `test-risk`, `loss`, or the first trace field). */
function yName(rows: readonly ResultRow[], opts: PlotOptions): string {
  if (opts.curves) {
    const names = traceNames(rows);
    if (!names.length)
      throw new RegimesError(
        '--curves draws learning curves, and no row of these results records one (a trace: trained networks do, kernel and ridge fits do not)',
        {
          hint: 'plot them without --curves (risk against n), or run a learner that trains (nn, deep, ntk-dynamics)',
        },
      );
    const y = opts.y ?? ['test-risk', 'loss'].find((n) => names.includes(n)) ?? names[0]!;
    if (!names.includes(y)) throw unknownValue(y, names, 'trace field');
    return y;
  }
  const names = valueNames(rows);
  const y = opts.y ?? defaultMetric(rows, names);
  if (!names.includes(y)) throw unknownValue(y, names, 'metric or diagnostic');
  return y;
}

/**
 * Without -y: `risk` when the rows have it, else the first metric of the rows (the spec's first,
 * in the order the rows record them: `normalized-risk`, `error`), not a standard error.
 */
function defaultMetric(rows: readonly ResultRow[], names: readonly string[]): string {
  if (names.includes('risk')) return 'risk';
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
  return metrics.find((m) => !(m.endsWith('-se') && metrics.includes(m.slice(0, -3)))) ?? 'risk';
}

/** Which series (line) and panel a row belongs to. */
interface SeriesLayout {
  seriesOf: (row: ResultRow) => string;
  panelOf: (row: ResultRow) => string;
  /** The learner id whose rows make each series (absent when a series mixes learners). */
  learnerOfSeries: Map<string, string>;
}

function seriesLayout(rows: readonly ResultRow[], axes: Axes): SeriesLayout {
  const { facet } = axes;
  const names = learnerNames(rows);
  // a panel per learner is headed by the name its legend entry has (rf, not its id rf#0)
  const panelOf = (r: ResultRow) =>
    facet
      ? `${facet.name} = ${facet.name === 'learner' ? names(rowLabel(r)) : formatScalar(facet.get(r))}`
      : '';
  const moving = keysMovingWithX(rows, axes.x, panelOf);
  // Other swept keys that vary (besides x, facet, by and the seed) split a series, never average into
  // it; a key that moves with x (a zipped or derived one, n = d^2 with -x d) is a coordinate of the line
  const used = new Set([axes.x.name, axes.facet?.name, axes.by.name, 'seed', ...moving]);
  const splitting = namesIn(rows, (r) => r.cell).filter(
    (k) => !used.has(k) && new Set(rows.map((r) => JSON.stringify(r.cell[k]))).size > 1,
  );
  // A learner's label loses the options shown on an axis; unless lines are learners, learners still
  // split lines (two learners are never averaged as if they were seeds).
  const byLearner = axes.by.name === 'learner';
  const drop = new Set(
    [axes.x.name, axes.facet?.name, byLearner ? undefined : axes.by.name, ...moving]
      .filter((k): k is string => k !== undefined)
      .map(lastSegment),
  );
  const ids = new Set(rows.map((r) => r.learner.id));
  const label = (r: ResultRow) => stripLabel(names(rowLabel(r)), drop);
  const learnerSplits = !byLearner && new Set(rows.map(label)).size > 1;
  // the learner's label after the --by value, unless it already starts with it (--by learner.kind
  // and a learner named by its kind: "rf", not "rf, rf")
  const lineName = (r: ResultRow) => {
    const by = byLearner ? label(r) : formatScalar(axes.by.get(r));
    if (!learnerSplits) return [by];
    const own = label(r);
    return own === by || own.startsWith(`${by}:`) || own.startsWith(`${by}(`) ? [own] : [by, own];
  };
  const seriesOf = (r: ResultRow) =>
    [
      ...lineName(r),
      ...splitting
        .filter((k) => keyAddresses(k, r, ids))
        .map((k) => `${lastSegment(k)}=${formatScalar(r.cell[k])}`),
    ].join(', ');
  const learnerOfSeries = new Map<string, string>();
  const mixed = new Set<string>();
  for (const r of rows) {
    const series = seriesOf(r);
    const known = learnerOfSeries.get(series);
    if (known !== undefined && known !== r.learner.id) mixed.add(series);
    learnerOfSeries.set(series, r.learner.id);
  }
  for (const series of mixed) learnerOfSeries.delete(series);
  return { seriesOf, panelOf, learnerOfSeries };
}

/**
 * Swept keys that take one value at each (panel, x) and more than one overall: they move with x
 * (zipped with it, or derived from it) and so neither split a line nor belong in its label.
 */
function keysMovingWithX(rows: readonly ResultRow[], x: Key, panelOf: (row: ResultRow) => string): string[] {
  return namesIn(rows, (r) => r.cell).filter((k) => {
    if (k === x.name || k === 'seed') return false;
    const overall = new Set<string>();
    const at = new Map<string, string>();
    for (const r of rows) {
      const value = JSON.stringify(r.cell[k]);
      overall.add(value);
      const where = JSON.stringify([panelOf(r), x.get(r)]);
      if ((at.get(where) ?? value) !== value) return false;
      at.set(where, value);
    }
    return overall.size > 1;
  });
}

/**
 * Legend names for learner labels: an id the spec gave stays; an automatic `<kind>#<i>` becomes its
 * kind, with the options that tell it from the other learners of that kind (`rf(width=512)`), and
 * keeps `#i` only where two are alike. Swept options and variants (`(bias=1)`, `:ridge=0.1`) follow.
 */
function learnerNames(rows: readonly ResultRow[]): (label: string) => string {
  const auto = /^(.+)#\d+$/;
  const byId = new Map<string, ResultRow['learner'][]>();
  for (const r of rows) byId.set(r.learner.id, [...(byId.get(r.learner.id) ?? []), r.learner]);
  const baseOf = (id: string) => /^[^(:]*/.exec(id)![0];
  const byKind = new Map<string, string[]>();
  for (const id of new Set([...byId.keys()].map(baseOf))) {
    const kind = auto.exec(id)?.[1];
    if (kind !== undefined) byKind.set(kind, [...(byKind.get(kind) ?? []), id]);
  }
  const display = new Map<string, { name: string; extra: string[] }>();
  for (const [kind, ids] of byKind) {
    const options = ids.map((id) =>
      [...byId.entries()].filter(([full]) => baseOf(full) === id).flatMap(([, ls]) => ls),
    );
    // options constant within each learner and differing between them
    const keys = [...new Set(options.flatMap((ls) => ls.flatMap((l) => Object.keys(l))))].filter(
      (k) => k !== 'id' && k !== 'kind',
    );
    const differing = keys.filter((k) => {
      const per = options.map((ls) => new Set(ls.map((l) => JSON.stringify(l[k]))));
      return per.every((set) => set.size === 1) && new Set(per.map((set) => [...set][0])).size > 1;
    });
    const extras = options.map((ls) =>
      differing.map(
        (k) => `${k}=${typeof ls[0]![k] === 'object' ? JSON.stringify(ls[0]![k]) : String(ls[0]![k])}`,
      ),
    );
    const alike = new Set(extras.map((e) => e.join(','))).size < ids.length;
    ids.forEach((id, i) => display.set(id, { name: alike ? id : kind, extra: extras[i]! }));
  }
  return (label) => {
    const m = /^([^(:]*)(?:\((.*)\))?(:.*)?$/.exec(label);
    const shown = m && display.get(m[1]!);
    if (!m || !shown) return label;
    const own = [...shown.extra, ...(m[2] ? m[2].split(',') : [])];
    return `${shown.name}${own.length ? `(${own.join(',')})` : ''}${m[3] ?? ''}`;
  };
}

/**
 * d3's category20 without its greys (grey is the reference levels'), dark shades first: the first
 * nine are category10's, so a learner keeps its colour across the figures of a run.
 */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#bcbd22',
  '#17becf',
  '#aec7e8',
  '#ffbb78',
  '#98df8a',
  '#ff9896',
  '#c5b0d5',
  '#c49c94',
  '#f7b6d2',
  '#dbdb8d',
  '#9edae5',
];
export const REFERENCE_COLOR = '#777777';
/** A theory curve tied to no line once the palette is spent: near black, told apart by its dash. */
export const SPARE_THEORY_COLOR = '#222222';
export const SOLID: number[] = [1, 0];
export const REFERENCE_DASH = [2, 3];
/**
 * Theory dashes: the first for every curve; the others tell apart curves of one colour. Each shows
 * its pattern within the legend's ~12-px stroke (a dash-dot of 12 + 3 + 2 + 3 showed there as one
 * solid dash, like a measured line).
 */
export const THEORY_DASHES = [
  [7, 4],
  [6, 2, 1.5, 2],
  [4, 2],
  [4, 2, 1.5, 2, 1.5, 2],
];
/**
 * The first theory dash shifted by its gap (gap 4, dash 7: a zero-length dash first, which a butt cap
 * leaves unseen), for the curves of every other learner: where two learners' curves coincide (a
 * kernel staircase both share up to some n), the one drawn on top shows its dashes and the other
 * shows in its gaps, instead of hiding it.
 */
export const THEORY_DASH_SHIFTED = [0, 4, 7, 0];
/** Point shapes of measured lines, one per use of the palette (beyond its size). */
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down'];

/**
 * Colour, dash and (past the palette) shape per series. When each learner makes one line, its
 * colour is its place among the run's learners (spec order), so a learner has one colour across
 * figures; otherwise lines take colours in legend order. A learner's theory curve tied to a line
 * takes exactly that line's colour, in a dash of its own among the curves of that colour; other
 * theory curves take the colours after the lines'; reference levels are grey, which no line is.
 * Past the palette, a line's colour is reused with another point shape and a curve's with
 * another dash.
 */
function seriesStyles(
  measured: readonly string[],
  theory: readonly string[],
  references: readonly string[],
  ties: ReadonlyMap<string, string>,
  learnerOfSeries: ReadonlyMap<string, string>,
  learnerOrder: readonly string[],
): Pick<PlotData, 'colors' | 'dashes' | 'shapes'> {
  const learners = measured.map((s) => learnerOfSeries.get(s));
  const oneLinePerLearner =
    learners.every((l) => l !== undefined) && new Set(learners).size === measured.length;
  const slots = oneLinePerLearner ? learners.map((l) => learnerOrder.indexOf(l!)) : measured.map((_, i) => i);
  const slotOf = new Map(measured.map((s, i) => [s, slots[i]!]));
  let next = Math.max(-1, ...slots) + 1;
  const colorOf = (slot: number) => PALETTE[slot % PALETTE.length]!;
  const cycle = (slot: number) => Math.floor(slot / PALETTE.length);
  const colors = slots.map(colorOf);
  const dashes: number[][] = measured.map(() => SOLID);
  const perTie = new Map<string, number>();
  for (const t of theory) {
    const tie = ties.get(t);
    if (references.includes(t)) {
      colors.push(REFERENCE_COLOR);
      dashes.push(REFERENCE_DASH);
    } else if (tie !== undefined && slotOf.has(tie)) {
      const rank = perTie.get(tie) ?? 0;
      perTie.set(tie, rank + 1);
      const slot = slotOf.get(tie)!;
      colors.push(colorOf(slot));
      dashes.push(
        rank === 0 && slot % 2 === 1 ? THEORY_DASH_SHIFTED : THEORY_DASHES[rank % THEORY_DASHES.length]!,
      );
    } else {
      const slot = next++;
      // a curve of no line never takes a line's colour: past the palette it is near black
      const spare = slot - PALETTE.length;
      colors.push(spare < 0 ? colorOf(slot) : SPARE_THEORY_COLOR);
      dashes.push(THEORY_DASHES[Math.max(0, spare) % THEORY_DASHES.length]!);
    }
  }
  if (slots.every((slot) => slot < PALETTE.length)) return { colors, dashes };
  const shapes = [
    ...slots.map((slot) => SHAPES[cycle(slot) % SHAPES.length]!),
    ...theory.map(() => 'stroke'),
  ];
  return { colors, dashes, shapes };
}

/** The largest value the means and their bands reach (a loop: there can be many). */
function largest(means: readonly MeanPoint[]): number {
  let top = 0;
  for (const m of means) top = Math.max(top, m.y, m.hi);
  return top;
}

/** A fraction in [0, 1] (an alignment, a fit's R²): drawn on a linear axis from 0 to 1. */
function isFraction(y: string, rows: readonly ResultRow[], opts: PlotOptions): boolean {
  if (!/alignment|(^|-)r2$|^level/.test(y)) return false;
  const values = opts.curves
    ? rows.flatMap((r) => (r.trace ?? []).map((e) => e[y]).filter((v): v is number => v !== undefined))
    : rows.map((r) => rowValue(r, y)).filter((v): v is number => v !== undefined);
  return values.every((v) => v >= 0 && v <= 1);
}

interface Group {
  panel: string;
  series: string;
  x: number;
  values: number[];
  /** Each value's standard error (`<y>-se` of its row), for `--band se`. */
  ses: (number | undefined)[];
}

/** The measured values: per (panel, series, x) over seeds, and each seed's own point. */
interface Points {
  groups: Group[];
  seeds: PlotData['seeds'];
  /** Rows that gave a value. */
  used: number;
}

/**
 * Every row's value (or trace) as points. A value that is not finite, or at x ≤ 0 on a log x axis,
 * is counted and left out. On a log y axis a finite y ≤ 0 stays in its group's mean (an
 * `excess-risk` or a Hermite component below 0 is an honest draw: leaving it out would bias the
 * mean over seeds up) and only its own point is not drawn; meanPoints drops a mean ≤ 0.
 */
function collectPoints(
  rows: readonly ResultRow[],
  opts: PlotOptions,
  axes: Axes,
  layout: SeriesLayout,
  scales: { xLog: boolean; yLog: boolean },
  notes: string[],
): Points {
  const { xLog, yLog } = scales;
  let dropped = 0;
  let undrawn = 0;
  const keep = (x: number, y: number) => {
    const ok = Number.isFinite(x) && Number.isFinite(y) && (!xLog || x > 0);
    if (!ok) dropped++;
    return ok;
  };
  const groups = new Map<string, Group>();
  const seeds: PlotData['seeds'] = [];
  const add = (panel: string, series: string, x: number, y: number, se: number | undefined) => {
    const id = JSON.stringify([panel, series, x]);
    const group = groups.get(id) ?? { panel, series, x, values: [], ses: [] };
    group.values.push(y);
    group.ses.push(se);
    groups.set(id, group);
    if (!yLog || y > 0) seeds.push({ panel, series, x, y });
    else undrawn++;
  };
  let used = 0;
  let withoutTrace = 0;
  for (const r of rows) {
    const panel = layout.panelOf(r);
    const series = layout.seriesOf(r);
    const values = opts.curves ? traceValues(r, axes.y) : rowPoint(r, axes);
    if (!values) {
      if (opts.curves) withoutTrace++;
      continue;
    }
    used++;
    const se = opts.curves ? undefined : rowValue(r, `${axes.y}-se`);
    for (const [x, y] of values) if (keep(x, y)) add(panel, series, x, y, se);
  }
  if (withoutTrace) notes.push(`${withoutTrace} rows without a '${axes.y}' trace left out`);
  if (dropped) notes.push(`${dropped} values ${xLog ? 'at x ≤ 0 or ' : ''}not finite left out`);
  if (undrawn && opts.points) notes.push(`${undrawn} seeds' values ≤ 0 in their means, not drawn (log axis)`);
  if (!groups.size) throw new RegimesError(`nothing to plot: no row has a usable '${axes.y}'`);
  return { groups: [...groups.values()], seeds, used };
}

/** A row's trace as (step, value) pairs of the field; undefined when it has none. */
function traceValues(row: ResultRow, field: string): [number, number][] | undefined {
  const trace = (row.trace ?? []).filter((e) => e[field] !== undefined);
  return trace.length ? trace.map((e) => [e.step, e[field]!]) : undefined;
}

/** A row's one (x, y) point; undefined when it does not report the y value. */
function rowPoint(row: ResultRow, axes: Axes): [number, number][] | undefined {
  const y = rowValue(row, axes.y);
  return y === undefined ? undefined : [[Number(axes.x.get(row)), y]];
}

/** With `--band se`: the points drawn without a band because a row has no standard error. */
function noteMissingSe(points: Points, y: string, notes: string[]): void {
  const without = points.groups.filter((g) => g.ses.some((v) => v === undefined)).length;
  if (without)
    notes.push(
      `${without} of ${points.groups.length} points without a band: their rows have no '${y}-se' (a metric records it as <name>-se)`,
    );
}

/**
 * Mean and band of each group over all its seeds; on a log axis a mean ≤ 0 is left out and a band
 * edge at or below 0 is clipped (both noted).
 */
function meanPoints(points: Points, band: BandKind, yLog: boolean, notes: string[]): MeanPoint[] {
  const all: MeanPoint[] = points.groups.map((g) => {
    const { mean, lo, hi } = bandOf(g.values, band, g.ses);
    return { panel: g.panel, series: g.series, x: g.x, y: mean, lo, hi, seeds: g.values.length };
  });
  if (!yLog) return all;
  const means = all.filter((m) => m.y > 0);
  if (means.length < all.length)
    notes.push(
      all.length - means.length === 1
        ? '1 mean over seeds ≤ 0 left out (log axis; --linear shows it)'
        : `${all.length - means.length} means over seeds ≤ 0 left out (log axis; --linear shows them)`,
    );
  if (!means.length)
    throw new RegimesError('nothing to plot on a log axis: every mean is ≤ 0', { hint: 'pass --linear' });
  clipBands(means, points.seeds, notes);
  return means;
}

/** A band edge at or below 0 has no place on a log axis: clip it at half the smallest positive value. */
function clipBands(means: MeanPoint[], seeds: PlotData['seeds'], notes: string[]): void {
  // a loop, not Math.min(...): training curves can hold more values than a call's arguments
  let smallest = Infinity;
  for (const v of means) smallest = Math.min(smallest, v.y);
  for (const v of seeds) smallest = Math.min(smallest, v.y);
  const floor = smallest / 2;
  const clipped = means.filter((m) => m.lo < floor);
  for (const m of clipped) m.lo = floor;
  if (clipped.length)
    notes.push(
      `lower band edge clipped at ${floor.toPrecision(2)} at ${counted(clipped.length, 'point')} (log axis)`,
    );
}

/** The panels in order: by the facet key's value, numerically where it is a number. */
function panelOrder(
  rows: readonly ResultRow[],
  means: readonly MeanPoint[],
  facet: Key | undefined,
  panelOf: (row: ResultRow) => string,
): string[] {
  const panels = sortValues([...new Set(means.map((m) => m.panel))]);
  if (facet) {
    const numeric = new Map(rows.map((r) => [panelOf(r), facet.get(r)]));
    panels.sort((a, b) => {
      const [va, vb] = [numeric.get(a), numeric.get(b)];
      return typeof va === 'number' && typeof vb === 'number' ? va - vb : compareLabels(a, b);
    });
  }
  return panels;
}

/** What the dashed and dotted lines are, for the subtitle. */
function theoryLegend(theories: number, references: number): string {
  return `${theories ? '; dashed: theory' : ''}${references ? '; dotted grey: reference level' : ''}`;
}

/** The figure's title, subtitle (seeds, band, theory, notes) and axis, legend and facet titles. */
function titles(
  rows: readonly ResultRow[],
  opts: PlotOptions,
  axes: Axes,
  means: readonly MeanPoint[],
  theoryText: string,
  notes: readonly string[],
): Pick<PlotData, 'title' | 'subtitle' | 'xTitle' | 'yTitle' | 'seriesTitle' | 'facetTitle'> {
  const spec = [...new Set(rows.map((r) => r.spec))].join(', ');
  const seedCounts = new Set(means.map((m) => m.seeds));
  // with one x the means are points with error bars, not lines with bands
  const oneX = new Set(means.map((m) => m.x)).size === 1;
  const seedText =
    seedCounts.size === 1
      ? counted([...seedCounts][0]!, 'seed')
      : `${Math.min(...seedCounts)}–${Math.max(...seedCounts)} seeds`;
  const subtitle = [
    `${oneX ? 'point' : 'line'}: mean over ${seedText}; ${Math.max(...seedCounts) > 1 || opts.band === 'se' ? (oneX ? bandDescription[opts.band].replace(/^band/, 'bar') : bandDescription[opts.band]) : `no ${oneX ? 'bar' : 'band'} (one seed)`}${theoryText}`,
    ...notes,
  ];
  return {
    title: `${spec}: ${axes.y} vs ${axes.x.name}`,
    subtitle,
    xTitle: opts.curves ? 'training step' : xTitle(axes.x.name),
    yTitle: axes.y,
    seriesTitle: axes.by.name,
    ...(axes.facet ? { facetTitle: axes.facet.name } : {}),
  };
}
