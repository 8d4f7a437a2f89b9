/**
 * A figure as a Vega-Lite spec: per series a band (mean ± spread over seeds), the mean line with
 * points, each seed's value, and the theory curves dashed; log axes with readable ticks.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { PlotData } from './data.js';

export const plotFont = 'DejaVu Sans';
const PANEL_WIDTH = 420;
const PANEL_HEIGHT = 300;
const THEORY_DASH = [7, 4];
const REFERENCE_DASH = [2, 3];
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
    resolve: { scale: { x: 'shared', y: 'shared' } },
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
  // The same field on color and strokeDash merges them into one legend: theory entries show dashed.
  const strokeDash = {
    field: 'series',
    type: 'nominal' as const,
    scale: {
      domain: series,
      range: series.map((s) =>
        data.referenceSeries.includes(s)
          ? REFERENCE_DASH
          : data.theorySeries.includes(s)
            ? THEORY_DASH
            : [1, 0],
      ),
    },
    legend,
  };
  // the band fills with the series' colour but stays out of the legend, which shows the lines
  // (its own field name, so that vega-lite does not merge it into the series legend and disable that)
  const fill = {
    field: 'band',
    type: 'nominal' as const,
    scale: { domain: series, range: data.colors },
    legend: null,
  };
  return { color, strokeDash, fill };
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
  log: boolean,
  padding: number,
  axis: object,
  domain?: readonly [number, number],
) {
  const range = domain ? { domain: [...domain] } : {};
  return {
    field,
    type: 'quantitative' as const,
    title,
    scale: log ? { type: 'log' as const, nice: false, padding, ...range } : { zero: false, ...range },
    axis: { grid: true, ...(log ? { format: '~g' } : {}), ...axis },
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

/** The x axis: few measured x values are the ticks themselves (a log axis gets readable ones). */
function xEncoding(data: PlotData) {
  const xs = measuredXs(data);
  const ticks = xs.length <= 8 ? { values: xs } : data.xLog ? { values: logTicks(xs[0]!, xs.at(-1)!) } : {};
  return position('x', data.xTitle, data.xLog, 16, ticks);
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
  const { color, strokeDash, fill } = seriesEncodings(data);
  const x = xEncoding(data);
  const y = yEncoding(data);
  const only = (kind: string) => [{ filter: `datum.kind === '${kind}'` }];
  const out: object[] = [];
  if (data.means.some((m) => m.lo !== m.hi))
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
    encoding: { x, y, color, strokeDash },
  });
  if (data.seeds.length)
    out.push({
      transform: only('seed'),
      mark: { type: 'point', size: 18, opacity: 0.55, filled: true },
      encoding: { x, y, color },
    });
  if (data.theory.length)
    out.push({
      transform: only('theory'),
      mark: { type: 'line', strokeWidth: 2 },
      encoding: { x, y, color, strokeDash, order: { field: 'order', type: 'quantitative' as const } },
    });
  return out;
}

/** One data set for all layers, each value tagged with its kind (mean, seed, theory). */
function dataValues(data: PlotData): object[] {
  return [
    ...data.means.map((m) => ({ kind: 'mean', band: m.series, ...m })),
    ...data.seeds.map((s) => ({ kind: 'seed', ...s })),
    ...data.theory.map((t) => ({ kind: 'theory', ...t })),
  ];
}

function figureTitle(data: PlotData) {
  return {
    text: data.title,
    subtitle: data.subtitle,
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
