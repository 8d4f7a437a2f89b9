/**
 * A figure as a Vega-Lite spec: per series a band (mean ± spread over seeds), the mean line with
 * points, each seed's value, and the theory curves dashed; log axes with readable ticks.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { PlotData } from './data.js';
import type { TheoryPoint } from './theory.js';

export const plotFont = 'DejaVu Sans';
const PANEL_WIDTH = 420;
const PANEL_HEIGHT = 300;
/** A theory value drawn as a short horizontal stroke, 32 px wide (a curve of one point). */
const THEORY_TICK = {
  type: 'point',
  shape: 'stroke',
  size: 32 ** 2,
  strokeWidth: 2.5,
  filled: false,
  opacity: 1,
} as const;
/** Pixels kept free between two tick labels. */
const LABEL_GAP = 8;
/** A tick label's width in pixels, about (DejaVu Sans digits at 12 px are 7.6 px wide). */
const labelWidth = (text: string) => 7.7 * text.length;
const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Ticks of a log axis over [lo, hi]: powers of ten when they are at least four, else 1-2-5, else
 * 1-2-3-5-7, else every digit per decade (Vega's own log ticks label every digit, and crowd).
 */
export function logTicks(lo: number, hi: number): number[] {
  const sets = [[1], [1, 2, 5], [1, 2, 3, 5, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
  let ticks: number[] = [];
  for (const mantissas of sets) {
    ticks = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(12));
        if (v >= lo && v <= hi) ticks.push(v);
      }
    if (ticks.length >= 4) break;
  }
  // a range within one decade and between digits (0.52–0.58): its ends and middle, 2 digits each
  if (ticks.length < 2)
    ticks = [...new Set([lo, Math.sqrt(lo * hi), hi].map((v) => Number(v.toPrecision(2))))];
  return ticks;
}

/** The Vega-Lite spec of a figure: band, mean line with points, seed points, dashed theory. */
export function vegaLiteSpec(data: PlotData): TopLevelSpec {
  const top = {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(data),
    config: CONFIG,
    data: { values: dataValues(data) },
  };
  const layer = { layer: layers(data), width: PANEL_WIDTH, height: PANEL_HEIGHT };
  if (!data.facetTitle) return { ...top, ...layer } as TopLevelSpec;
  return {
    ...top,
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: data.panels,
      header: { labelFontWeight: 'bold' },
    },
    columns: Math.min(3, data.panels.length),
    spec: layer,
    // a wrapped grid (more panels than columns) draws a shared x axis under the bottom row only,
    // under an empty cell for a column whose last panel is higher up: one under each panel instead
    resolve: {
      scale: { x: 'shared', y: 'shared' },
      ...(data.panels.length > 3 ? { axis: { x: 'independent' } } : {}),
    },
  } as TopLevelSpec;
}

/** The series' colour and dash (one legend), and the band's fill (no legend of its own). */
function seriesEncodings(data: PlotData) {
  const series = [...data.measuredSeries, ...data.theorySeries];
  const legend = {
    title: data.seriesTitle,
    labelLimit: 420,
    orient: 'bottom' as const,
    direction: 'vertical' as const,
  };
  // the colours are data's (a learner keeps its colour across the figures of a run)
  const color = {
    field: 'series',
    type: 'nominal' as const,
    scale: { domain: series, range: data.colors },
    legend,
  };
  // The same field on color and strokeDash merges them into one legend: theory entries show dashed
  // (in a dash of their own where two curves share a colour)
  const strokeDash = {
    field: 'series',
    type: 'nominal' as const,
    scale: { domain: series, range: data.dashes },
    legend,
  };
  // past the palette's size a colour's second use has a point shape of its own (merged legend too)
  const shape = data.shapes
    ? { field: 'series', type: 'nominal' as const, scale: { domain: series, range: data.shapes }, legend }
    : undefined;
  // the band fills with the series' colour but stays out of the legend, which shows the lines
  // (its own field name, so that vega-lite does not merge it into the series legend and disable that)
  const fill = {
    field: 'band',
    type: 'nominal' as const,
    scale: { domain: series, range: data.colors },
    legend: null,
  };
  return { color, strokeDash, fill, shape };
}

/** The measured x values, sorted and distinct. */
function measuredXs(data: PlotData): number[] {
  return [...new Set(data.means.map((m) => m.x))].sort((a, b) => a - b);
}

/**
 * A quantitative position channel: a log scale from tick to tick around the data (`domain`: so a
 * point never lies beyond the last labelled tick), plus `padding` pixels; or linear (a fixed
 * `domain` for fractions).
 */
function position(
  field: 'x' | 'y',
  title: string,
  log: boolean | 'symlog',
  padding: number,
  axis: object,
  domain?: readonly [number, number],
  constant = 1,
) {
  const range = domain ? { domain: [...domain] } : {};
  const scale =
    log === 'symlog'
      ? { type: 'symlog' as const, constant, nice: false, padding, ...range }
      : log
        ? { type: 'log' as const, nice: false, padding, ...range }
        : { zero: false, ...range };
  return {
    field,
    type: 'quantitative' as const,
    title,
    scale,
    // labels never overlap: a label that would is hidden (explicit ticks are chosen to fit first),
    // and the last label is centred on its tick rather than pushed onto its neighbour
    axis: {
      grid: true,
      labelOverlap: true,
      labelSeparation: LABEL_GAP,
      ...(field === 'x' ? { labelFlush: false } : {}),
      ...(log ? { format: '~g' } : {}),
      ...axis,
    },
  };
}

/** Every m·10^e (m of `mantissas`) from the largest at or below lo to the smallest at or above hi. */
function enclose(mantissas: readonly number[], lo: number, hi: number): number[] {
  const all: number[] = [];
  for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)) + 1; e++)
    for (const m of mantissas) all.push(Number((m * 10 ** e).toPrecision(12)));
  // a value within 10% beyond a tick is covered by it (the axis pads a little past its last tick)
  const below = all.filter((v) => v <= lo * 1.1).at(-1) ?? all[0]!;
  const above = all.find((v) => v >= hi / 1.1) ?? all.at(-1)!;
  return all.filter((v) => v >= below && v <= above);
}

/**
 * Log ticks that enclose [lo, hi] (a tick at or below the lowest value, one at or above the highest,
 * up to 10%),
 * so no point lies beyond the labelled range: the coarsest of powers of ten, 1-2-5, 1-2-3-5-7 and
 * every digit that gives 4 to 10 ticks without widening the range more than 3×; else the narrowest
 * range of 2 to 10 ticks.
 */
export function enclosingLogTicks(lo: number, hi: number): number[] {
  const sets = [[1], [1, 2, 5], [1, 2, 3, 5, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
  const candidates = sets.map((m) => enclose(m, lo, hi));
  return (
    candidates.find((t) => t.length >= 4 && t.length <= 10 && t.at(-1)! / t[0]! <= (3 * hi) / lo) ??
    candidates
      .filter((t) => t.length >= 2 && t.length <= 10)
      .sort((a, b) => a.at(-1)! / a[0]! - b.at(-1)! / b[0]!)[0] ??
    logTicks(lo, hi)
  );
}

/**
 * Whether tick labels at `values` fit side by side on an axis of PANEL_WIDTH pixels, where `at`
 * maps a value to [0, 1] along it and `text` is its label.
 */
export function ticksFit(
  values: readonly number[],
  at: (v: number) => number,
  text: (v: number) => string,
): boolean {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.every((v, i) => {
    if (i === 0) return true;
    const u = sorted[i - 1]!;
    const gap = (at(v) - at(u)) * PANEL_WIDTH;
    return gap >= (labelWidth(text(u)) + labelWidth(text(v))) / 2 + LABEL_GAP;
  });
}

/** A value as a tick label: `~g` on log axes (2048), with thousands separators on linear ones (2,048). */
const tickText = (log: boolean) => (v: number) =>
  log ? String(Number(v.toPrecision(6))) : v.toLocaleString('en-US', { maximumFractionDigits: 6 });

/**
 * The x axis: few measured x values are the ticks themselves when their labels fit (a log axis
 * gets readable ones otherwise, a linear one about five round ticks); a symlog axis (x ≤ 0 on a
 * would-be log axis) is linear up to the smallest positive x and log above it, its ticks the
 * values ≤ 0 and log ticks above.
 */
function xEncoding(data: PlotData) {
  const xs = measuredXs(data);
  const [lo, hi] = [xs[0]!, xs.at(-1)!];
  if (data.xSymlog) {
    const positive = xs.filter((x) => x > 0);
    const constant = positive[0] ?? 1;
    const symlog = (v: number) => Math.sign(v) * Math.log1p(Math.abs(v / constant));
    const at = (v: number) => (symlog(v) - symlog(lo)) / (symlog(hi) - symlog(lo) || 1);
    const few = xs.length <= 8 && ticksFit(xs, at, tickText(true));
    const ticks = few
      ? xs
      : [...xs.filter((x) => x <= 0), ...(positive.length ? logTicks(positive[0]!, positive.at(-1)!) : [])];
    // Vega formats a symlog axis with the precision of a linear one (100 as 1e+2): format each
    return position(
      'x',
      data.xTitle,
      'symlog',
      16,
      { values: ticks, labelExpr: "format(datum.value, '~g')" },
      undefined,
      constant,
    );
  }
  if (data.xLog) {
    const at = (v: number) => Math.log(v / lo) / (Math.log(hi / lo) || 1);
    const ticks = xs.length <= 8 && ticksFit(xs, at, tickText(true)) ? xs : logTicks(lo, hi);
    return position('x', data.xTitle, true, 16, { values: ticks });
  }
  const at = (v: number) => (v - lo) / (hi - lo || 1);
  const ticks =
    xs.length <= 8 && ticksFit(xs, at, tickText(false))
      ? { values: xs }
      : { tickCount: Math.max(2, Math.floor(PANEL_WIDTH / 90)) };
  return position('x', data.xTitle, false, 16, ticks);
}

/** The y axis; on a log scale, ticks over every value drawn (means, band edges, seeds, theory). */
function yEncoding(data: PlotData) {
  if (!data.yLog) return position('y', data.yTitle, false, 12, {}, data.yDomain);
  const ys = [
    ...data.means.flatMap((m) => [m.y, m.lo, m.hi]),
    ...data.seeds.map((p) => p.y),
    ...data.theory.map((t) => t.y),
  ];
  const lo = ys.reduce((a, b) => Math.min(a, b));
  const hi = ys.reduce((a, b) => Math.max(a, b));
  const ticks = enclosingLogTicks(lo, hi);
  const domain: [number, number] = [Math.min(lo, ticks[0]!), Math.max(hi, ticks.at(-1)!)];
  return position('y', data.yTitle, true, 12, { values: ticks }, domain);
}

/** The marks, back to front: bands (where there is a spread), mean lines, seed points, theory. */
function layers(data: PlotData): object[] {
  if (measuredXs(data).length === 1) return singleXLayers(data);
  const { color, strokeDash, fill, shape } = seriesEncodings(data);
  const x = xEncoding(data);
  const y = yEncoding(data);
  const only = (kind: string) => [{ filter: `datum.kind === '${kind}'` }];
  const out: object[] = [];
  const spread = data.means.some((m) => m.lo !== m.hi);
  if (spread)
    out.push({
      transform: only('mean'),
      mark: { type: 'area', opacity: 0.18 },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, fill },
    });
  // markers on the measured x values, unless they are so many (training steps) that they blur the line
  const markers = measuredXs(data).length <= 12 ? { point: { filled: true, size: 36 } } : {};
  out.push({
    transform: only('mean'),
    mark: { type: 'line', strokeWidth: 2, ...markers },
    encoding: { x, y, color, strokeDash, ...(shape && markers.point ? { shape } : {}) },
  });
  if (data.seeds.length)
    out.push({
      transform: only('seed'),
      mark: { type: 'point', size: 18, opacity: 0.55, filled: true },
      encoding: { x, y, color },
    });
  // a series with one x in a panel, where the band has no width: its spread as a bar from lo to hi
  if (spread)
    out.push({
      transform: [{ filter: "datum.kind === 'mean' && datum.lone" }],
      mark: { type: 'rule', strokeWidth: 2, opacity: 0.6 },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
    });
  // a curve of several points is a line; of one point (the rest not drawable: x ≤ 0, a 0 on a log
  // axis) a short stroke at its x, or, for a level, a rule across the panel
  const theory = (filter: string) => [{ filter: `datum.kind === 'theory' && ${filter}` }];
  const single = singleTheory(data);
  if (data.theory.some((t) => !single(t)))
    out.push({
      transform: theory('!datum.single'),
      mark: { type: 'line', strokeWidth: 2 },
      encoding: { x, y, color, strokeDash, order: { field: 'order', type: 'quantitative' as const } },
    });
  if (data.theory.some((t) => single(t) && !t.reference))
    out.push({
      transform: theory('datum.single && !datum.reference'),
      mark: THEORY_TICK,
      encoding: { x, y, color, strokeDash },
    });
  if (data.theory.some((t) => single(t) && t.reference))
    out.push({
      transform: theory('datum.single && datum.reference'),
      mark: { type: 'rule', strokeWidth: 2 },
      encoding: { y, color, strokeDash },
    });
  return out;
}

/**
 * One measured x (one n, one width): lines and bands would be single points and zero-width, so
 * the x axis is that value as a category, each series at its own offset: its mean a point with an
 * error bar (the band), a learner's theory a short stroke beside it, and every other theory value
 * and level a rule across the panel. Nothing is listed that is not seen.
 */
function singleXLayers(data: PlotData): object[] {
  const { color, strokeDash, shape } = seriesEncodings(data);
  const y = yEncoding(data);
  const x = {
    field: 'x',
    type: 'ordinal' as const,
    title: data.xTitle,
    axis: { labelAngle: 0, grid: false },
    scale: { paddingInner: 0.2, paddingOuter: 0.2 },
  };
  const xOffset = {
    field: 'slot',
    type: 'nominal' as const,
    scale: { domain: data.measuredSeries, paddingOuter: 0.5 },
  };
  const where = (filter: string) => [{ filter }];
  const out: object[] = [];
  if (data.means.some((m) => m.lo !== m.hi))
    out.push({
      transform: where("datum.kind === 'mean'"),
      mark: { type: 'errorbar', ticks: { size: 10 }, thickness: 2 },
      encoding: { x, xOffset, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
    });
  out.push({
    transform: where("datum.kind === 'mean'"),
    mark: { type: 'point', filled: true, size: 70, opacity: 1 },
    encoding: { x, xOffset, y, color, ...(shape ? { shape } : {}) },
  });
  if (data.seeds.length)
    out.push({
      transform: where("datum.kind === 'seed'"),
      mark: { type: 'point', size: 18, opacity: 0.55, filled: true },
      encoding: { x, xOffset, y, color },
    });
  const tied = (t: TheoryPoint) => tiedSeries(data, t) !== null;
  if (data.theory.some(tied))
    out.push({
      transform: where("datum.kind === 'theory' && datum.slot !== null"),
      mark: THEORY_TICK,
      encoding: { x, xOffset, y, color, strokeDash },
    });
  if (data.theory.some((t) => !tied(t)))
    out.push({
      transform: where("datum.kind === 'theory' && datum.slot === null"),
      mark: { type: 'rule', strokeWidth: 2 },
      encoding: { y, color, strokeDash },
    });
  return out;
}

/** The measured series a theory value is drawn beside (its learner's line), or null (a level, the target's). */
function tiedSeries(data: PlotData, t: TheoryPoint): string | null {
  return !t.reference && t.tie !== undefined && data.measuredSeries.includes(t.tie) ? t.tie : null;
}

/** Whether a theory point is its curve's only one in its panel. */
function singleTheory(data: PlotData): (t: TheoryPoint) => boolean {
  const count = new Map<string, number>();
  const key = (t: TheoryPoint) => JSON.stringify([t.panel, t.series]);
  for (const t of data.theory) count.set(key(t), (count.get(key(t)) ?? 0) + 1);
  return (t) => count.get(key(t)) === 1;
}

/**
 * One data set for all layers, each value tagged with its kind (mean, seed, theory); `slot` is the
 * measured series a value stands beside with one x (a theory value: the series it is tied to, or
 * null), and `single` marks a theory curve with one point in its panel.
 */
function dataValues(data: PlotData): object[] {
  const single = singleTheory(data);
  // a series with one x in its panel: its band has no width, so its spread is drawn as a bar
  const xs = new Map<string, Set<number>>();
  for (const m of data.means) {
    const key = `${m.panel}\u0000${m.series}`;
    xs.set(key, (xs.get(key) ?? new Set()).add(m.x));
  }
  return [
    ...data.means.map((m) => ({
      kind: 'mean',
      band: m.series,
      slot: m.series,
      lone: xs.get(`${m.panel}\u0000${m.series}`)!.size === 1,
      ...m,
    })),
    ...data.seeds.map((s) => ({ kind: 'seed', slot: s.series, ...s })),
    ...data.theory.map((t) => ({
      kind: 'theory',
      ...t,
      slot: tiedSeries(data, t),
      single: single(t),
    })),
  ];
}

/**
 * Subtitle lines wrapped at spaces to the panels' width (~7 px a character at 12 px), and to no
 * fewer than 128 characters (~900 px: the usual first line, what is drawn, stays one line), so a
 * long note does not make the figure far wider than its panels (a staircase note made one 1930 px
 * wide).
 */
function wrappedSubtitle(data: PlotData): string[] {
  const columns = data.facetTitle ? Math.min(3, data.panels.length) : 1;
  const limit = Math.max(128, Math.floor((columns * (PANEL_WIDTH + 20) + 60) / 7));
  return data.subtitle.flatMap((line) => {
    const out: string[] = [];
    let rest = line;
    while (rest.length > limit) {
      const cut = rest.lastIndexOf(' ', limit);
      if (cut <= limit / 2) break;
      out.push(rest.slice(0, cut));
      rest = `  ${rest.slice(cut + 1)}`;
    }
    return [...out, rest];
  });
}

function figureTitle(data: PlotData) {
  return {
    text: data.title,
    subtitle: wrappedSubtitle(data),
    anchor: 'start' as const,
    fontSize: 15,
    subtitleFontSize: 12,
    subtitleColor: '#444',
    offset: 12,
  };
}

const CONFIG = {
  background: 'white',
  padding: 12,
  font: plotFont,
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal' as const, gridOpacity: 0.5 },
  legend: {
    labelFontSize: 12,
    titleFontSize: 12,
    symbolStrokeWidth: 2,
    symbolSize: 160,
    symbolType: 'stroke',
  },
  header: { labelFontSize: 13, titleFontSize: 13 },
  view: { stroke: null },
};
