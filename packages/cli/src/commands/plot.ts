/** `regimes plot`: a results file (or run folder) drawn as SVG and PNG. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Figure } from '../plot/figure.js';
import { loadRows, resultsPath } from '../results/files.js';
import { addPlotOptions, type PlotFlags, plotOptions } from './plot-options.js';
import { counted } from '../words.js';
import { warnOnStderr } from './shared.js';

export function registerPlot(program: Command): void {
  addPlotOptions(
    program
      .command('plot')
      .description(
        'draw results (a results.jsonl or a run folder) as SVG and PNG: mean over seeds, band, theory',
      )
      .argument('<results>', 'results.jsonl, or the run folder holding it'),
  )
    .option(
      '-o, --out <stem>',
      'output file stem: writes <stem>.svg and <stem>.png (default: <run folder>/plot-<y>-vs-<x>)',
    )
    .action(async (results: string, flags: PlotFlags) => {
      const file = resultsPath(results);
      const rows = loadRows(file, warnOnStderr);
      const { drawFigure } = await import('../plot/figure.js');
      const figure = await drawFigure(rows, plotOptions(flags), flags.plugin, warnOnStderr, flags.scale);
      const stem = figureStem(flags, file, figure);
      mkdirSync(dirname(stem), { recursive: true });
      writeFileSync(`${stem}.svg`, figure.svg);
      writeFileSync(`${stem}.png`, figure.png);
      for (const note of figure.data.notes) process.stderr.write(`note: ${note}\n`);
      process.stdout.write(
        `${counted(figure.data.used, 'row')}, ${figure.data.measuredSeries.length} series, ${counted(figure.data.theorySeries.length - figure.data.referenceSeries.length, 'theory curve')}, ${counted(figure.data.referenceSeries.length, 'reference level')}\n${stem}.svg\n${stem}.png\n`,
      );
    });
}

/** The figure's files without extension: --out, else `plot-<y>-vs-<x>` or `curves-<y>` beside the results. */
function figureStem(flags: PlotFlags, resultsFile: string, figure: Figure): string {
  const name = flags.curves
    ? `curves-${figure.data.yTitle}`
    : `plot-${figure.data.yTitle}-vs-${basename(flags.x)}`;
  return resolve(flags.out?.replace(/\.(svg|png)$/, '') ?? join(dirname(resultsFile), name));
}
