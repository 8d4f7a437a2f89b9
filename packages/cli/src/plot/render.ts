/**
 * A figure as a Vega-Lite spec, rendered on the server: Vega's headless view writes SVG, and
 * resvg (WebAssembly) rasterizes it to PNG with DejaVu Sans, the font Vega measured text with.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initWasm, Resvg } from '@resvg/resvg-wasm';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { fontMetrics, type FontMetrics } from './font-metrics.js';
import type { PlotData } from './data.js';

export const plotFont = 'DejaVu Sans';
const PANEL_WIDTH = 420;
const PANEL_HEIGHT = 300;
const THEORY_DASH = [7, 4];
/** d3's category10: neighbours stay distinct (tableau10 puts orange next to red). */
const SCHEME = 'category10';

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
  const series = [...data.measuredSeries, ...data.theorySeries];
  const legend = {
    title: data.seriesTitle,
    labelLimit: 420,
    orient: 'bottom' as const,
    direction: 'vertical' as const,
  };
  const color = {
    field: 'series',
    type: 'nominal' as const,
    scale: { domain: series, scheme: SCHEME },
    legend,
  };
  // The same field on color and strokeDash merges them into one legend: theory entries show dashed.
  const strokeDash = {
    field: 'series',
    type: 'nominal' as const,
    scale: {
      domain: series,
      range: series.map((s) => (data.theorySeries.includes(s) ? THEORY_DASH : [1, 0])),
    },
    legend,
  };
  // Log axes end at the data (plus a margin), not at the next power of ten; few measured x values
  // are the ticks themselves.
  const xs = [...new Set(data.means.map((m) => m.x))].sort((a, b) => a - b);
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: data.xTitle,
    scale: data.xLog ? { type: 'log' as const, nice: false, padding: 16 } : { zero: false },
    axis: {
      grid: true,
      ...(data.xLog ? { format: '~g' } : {}),
      ...(xs.length <= 8 ? { values: xs } : data.xLog ? { values: logTicks(xs[0]!, xs.at(-1)!) } : {}),
    },
  };
  const ys = [
    ...data.means.flatMap((m) => [m.y, m.lo, m.hi]),
    ...data.seeds.map((p) => p.y),
    ...data.theory.map((t) => t.y),
  ];
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: data.yTitle,
    scale: data.yLog ? { type: 'log' as const, nice: false, padding: 12 } : { zero: false },
    axis: {
      grid: true,
      ...(data.yLog
        ? {
            format: '~g',
            values: logTicks(
              ys.reduce((a, b) => Math.min(a, b)),
              ys.reduce((a, b) => Math.max(a, b)),
            ),
          }
        : {}),
    },
  };
  // the band fills with the series' colour but stays out of the legend, which shows the lines
  // (its own field name, so that vega-lite does not merge it into the series legend and disable that)
  const fill = {
    field: 'band',
    type: 'nominal' as const,
    scale: { domain: series, scheme: SCHEME },
    legend: null,
  };
  const only = (kind: string) => [{ filter: `datum.kind === '${kind}'` }];
  const layers: object[] = [];
  if (data.means.some((m) => m.lo !== m.hi))
    layers.push({
      transform: only('mean'),
      mark: { type: 'area', opacity: 0.18 },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, fill },
    });
  layers.push({
    transform: only('mean'),
    // markers on the measured x values, unless they are so many (training steps) that they blur the line
    mark: { type: 'line', strokeWidth: 2, ...(xs.length <= 12 ? { point: { filled: true, size: 36 } } : {}) },
    encoding: { x, y, color, strokeDash },
  });
  if (data.seeds.length)
    layers.push({
      transform: only('seed'),
      mark: { type: 'point', size: 18, opacity: 0.55, filled: true },
      encoding: { x, y, color },
    });
  if (data.theory.length)
    layers.push({
      transform: only('theory'),
      mark: { type: 'line', strokeWidth: 2 },
      encoding: { x, y, color, strokeDash, order: { field: 'order', type: 'quantitative' as const } },
    });
  const values = [
    ...data.means.map((m) => ({ kind: 'mean', band: m.series, ...m })),
    ...data.seeds.map((s) => ({ kind: 'seed', ...s })),
    ...data.theory.map((t) => ({ kind: 'theory', ...t })),
  ];
  const title = {
    text: data.title,
    subtitle: data.subtitle,
    anchor: 'start' as const,
    fontSize: 15,
    subtitleFontSize: 12,
    subtitleColor: '#444',
    offset: 12,
  };
  const config = {
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
  const layer = { layer: layers, width: PANEL_WIDTH, height: PANEL_HEIGHT };
  if (!data.facetTitle)
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      config,
      data: { values },
      ...layer,
    } as TopLevelSpec;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config,
    data: { values },
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

const require = createRequire(import.meta.url);

/** DejaVu Sans regular and bold, and their advance widths. */
export interface PlotFonts {
  regular: Uint8Array;
  bold: Uint8Array;
  metrics: { regular: FontMetrics; bold: FontMetrics };
}

export function loadFonts(): PlotFonts {
  const file = (name: string) =>
    new Uint8Array(readFileSync(require.resolve(`dejavu-fonts-ttf/ttf/${name}`)));
  const regular = file('DejaVuSans.ttf');
  const bold = file('DejaVuSans-Bold.ttf');
  return { regular, bold, metrics: { regular: fontMetrics(regular), bold: fontMetrics(bold) } };
}

type TextItem = { fontSize?: number; fontWeight?: string | number; limit?: number; ellipsis?: string };

/** Vega's text width for an item, measured with the font the PNG is drawn in (and Vega's truncation). */
function textWidth(fonts: PlotFonts) {
  return (item: TextItem, text: unknown): number => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const weight = item.fontWeight;
    const bold = weight === 'bold' || (typeof weight === 'number' && weight >= 600) || Number(weight) >= 600;
    const m = bold ? fonts.metrics.bold : fonts.metrics.regular;
    let s = text == null ? '' : String(text).trim();
    const width = (t: string) => m.width(t, size);
    if (item.limit && item.limit > 0 && width(s) > item.limit) {
      const ellipsis = item.ellipsis ?? '…';
      while (s.length && width(s + ellipsis) > item.limit) s = s.slice(0, -1);
      s += ellipsis;
    }
    return width(s);
  };
}

/** Render a Vega-Lite spec to SVG text with Vega's headless view. */
export async function renderSvg(spec: TopLevelSpec, fonts: PlotFonts): Promise<string> {
  // vega re-exports vega-scenegraph's textMetrics, which its typings leave out
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } })
    .textMetrics;
  const previous = metrics.width;
  // Vega measures text through this hook (as vl-convert does); restored after the render.
  metrics.width = textWidth(fonts);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
    metrics.width = previous;
  }
}

/** Rasterize SVG to PNG at `scale` × its size, with the plot fonts and no system fonts. */
export async function svgToPng(svg: string, fonts: PlotFonts, scale = 2): Promise<Uint8Array> {
  try {
    await initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  } catch (error) {
    // resvg's wasm is process-wide and may be initialized once only
    if (!/already initialized/i.test((error as Error).message)) throw error;
  }
  const resvg = new Resvg(svg, {
    font: {
      fontBuffers: [fonts.regular, fonts.bold],
      defaultFontFamily: plotFont,
      sansSerifFamily: plotFont,
    },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
  });
  try {
    const image = resvg.render();
    const png = image.asPng();
    image.free();
    return png;
  } finally {
    resvg.free();
  }
}
