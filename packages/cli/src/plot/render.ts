/**
 * A figure's Vega-Lite spec rendered on the server: Vega's headless view writes SVG, and resvg
 * (WebAssembly) rasterizes it to PNG with DejaVu Sans, the font Vega measured text with.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initWasm, Resvg } from '@resvg/resvg-wasm';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { fontMetrics, type FontMetrics } from './font-metrics.js';
import { plotFont } from './vega-lite.js';

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

type TextItem = { fontSize?: number; fontWeight?: string | number; limit?: number };

/** Vega's text width for an item, measured with the font the PNG is drawn in. */
function textWidth(fonts: PlotFonts) {
  return (item: TextItem, text: unknown): number => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const weight = item.fontWeight;
    const bold = weight === 'bold' || (typeof weight === 'number' && weight >= 600) || Number(weight) >= 600;
    const m = bold ? fonts.metrics.bold : fonts.metrics.regular;
    // Vega calls this hook for two things: to lay out a text (its bounds), and to truncate one past
    // its `limit` (legend labels), measuring pieces. At most the limit serves both: a longer text
    // lays out at the limit's width and still reads as too long to its truncation. (Measuring the
    // text truncated here made every text fit, and a long legend label ran off the figure in full;
    // measuring it whole made the figure as wide as the label.)
    const width = m.width(text == null ? '' : String(text).trim(), size);
    return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
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
