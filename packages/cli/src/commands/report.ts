/** `regimes report`: report.md and report.html for a run (spec, figure, summary, versions, failures). */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadRows, resultsPath } from '../results/files.js';
import { addPlotOptions, type PlotFlags, plotOptions } from './plot-options.js';
import { warnOnStderr } from './shared.js';

export function registerReport(program: Command): void {
  addPlotOptions(
    program
      .command('report')
      .description(
        'write report.md and report.html (spec, figure, summary table, versions, failures) for a run',
      )
      .argument('<results>', 'results.jsonl, or the run folder holding it'),
  )
    .option('-o, --out <dir>', 'output folder (default: the run folder)')
    .action(async (results: string, flags: PlotFlags) => {
      const file = resultsPath(results);
      const rows = loadRows(file, warnOnStderr);
      const [{ drawFigure }, { writeReport }, { registryWith }] = await Promise.all([
        import('../plot/figure.js'),
        import('../report/report.js'),
        import('../kinds/registry.js'),
      ]);
      const registry = await registryWith(flags.plugin);
      const written = await writeReport({
        rows,
        resultsFile: file,
        runDir: dirname(file),
        outDir: resolve(flags.out ?? dirname(file)),
        figure: () => drawFigure(rows, plotOptions(flags), registry, warnOnStderr, flags.scale),
        warn: warnOnStderr,
        registry,
      });
      process.stdout.write(`${written.join('\n')}\n`);
    });
}
