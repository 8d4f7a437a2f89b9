/** A figure from results rows: its data, the SVG Vega draws, and the PNG resvg rasterizes. */
import type { Registry, ResultRow } from '@regimes/core';
import { registryWith } from '../kinds/registry.js';
import { plotData, type PlotData, type PlotOptions } from './data.js';
import { vegaLiteSpec } from './vega-lite.js';

export interface Figure {
  data: PlotData;
  svg: string;
  png: Uint8Array;
}

/**
 * Draw rows as SVG and PNG; `plugins` add kinds (and their theory curves) to the default ones, or
 * are the registry to draw with.
 */
export async function drawFigure(
  rows: readonly ResultRow[],
  options: PlotOptions,
  plugins: string[] | Registry = [],
  warn: (m: string) => void = () => {},
  scale = 2,
): Promise<Figure> {
  // the registry itself where the caller has one (report: also for the rebuilt spec)
  const registry = Array.isArray(plugins) ? await registryWith(plugins) : plugins;
  const data = plotData(rows, options, registry, warn);
  // vega, vega-lite and resvg load here, not with the CLI: every `regimes` process (and sweep
  // worker start) paid ~0.35 CPU-s for them
  const { loadFonts, renderSvg, svgToPng } = await import('./render.js');
  const fonts = loadFonts();
  const svg = await renderSvg(vegaLiteSpec(data), fonts);
  return { data, svg, png: await svgToPng(svg, fonts, scale) };
}
