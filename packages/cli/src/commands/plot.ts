/** `regimes plot` and `regimes report`: figures and reports from a results file. */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { latestRows, loadPlugins, readResults, RegimesError, type ResultRow } from '@regimes/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createRegistry } from '../defaults.js';
import { type BandKind, plotData, type PlotData, type PlotOptions } from '../plot/data.js';
import { loadFonts, renderSvg, svgToPng, vegaLiteSpec } from '../plot/render.js';
import { writeReport } from '../report/report.js';

/** The results file of RESULTS: the file itself, or `results.jsonl` in a run folder. */
export function resultsPath(path: string): string {
  const full = resolve(path);
  if (!existsSync(full)) throw new RegimesError(`no such file or folder: ${path}`);
  if (!statSync(full).isDirectory()) return full;
  const file = join(full, 'results.jsonl');
  if (!existsSync(file))
    throw new RegimesError(`${path} is a folder without results.jsonl`, {
      hint: 'give a results.jsonl file or the run folder that `regimes run` wrote',
    });
  return file;
}

function scaleArg(value: string): number {
  const v = Number(value);
  if (!(Number.isFinite(v) && v > 0 && v <= 8))
    throw new InvalidArgumentError('give a number in (0, 8], e.g. 2');
  return v;
}

/** The rows of a results file, the latest of each key; lines cut off by a kill are reported. */
export function loadRows(file: string, warn: (m: string) => void): ResultRow[] {
  const { rows, badLines } = readResults(file);
  if (badLines.length)
    warn(`${file}: ${badLines.length} line(s) did not parse (lines ${badLines.join(', ')}), left out`);
  return latestRows(rows);
}

export interface Figure {
  data: PlotData;
  svg: string;
  png: Uint8Array;
}

/** Draw rows as SVG and PNG. */
export async function drawFigure(
  rows: readonly ResultRow[],
  options: PlotOptions,
  plugins: string[] = [],
  warn: (m: string) => void = () => {},
  scale = 2,
): Promise<Figure> {
  const registry = createRegistry();
  await loadPlugins(registry, plugins, process.cwd());
  const data = plotData(rows, options, registry, warn);
  const fonts = loadFonts();
  const svg = await renderSvg(vegaLiteSpec(data), fonts);
  return { data, svg, png: await svgToPng(svg, fonts, scale) };
}

interface PlotFlags {
  x: string;
  y?: string;
  by: string;
  facet?: string;
  out?: string;
  theory: boolean;
  curves?: boolean;
  band: BandKind;
  points?: boolean;
  linear?: boolean;
  scale: number;
  plugin: string[];
}

function plotOptions(flags: PlotFlags): PlotOptions {
  return {
    x: flags.x,
    y: flags.y,
    by: flags.by,
    facet: flags.facet,
    theory: flags.theory,
    curves: flags.curves ?? false,
    band: flags.band,
    points: flags.points ?? false,
    linear: flags.linear ?? false,
  };
}

const warnOnStderr = (message: string) => process.stderr.write(`warning: ${message}\n`);

function addPlotOptions(command: Command): Command {
  return command
    .option('-x <key>', 'cell key on the x axis: n, target.d, or a short name such as d', 'n')
    .option('-y <metric>', 'metric or diagnostic on the y axis (with --curves: a trace field)')
    .option(
      '--by <key>',
      "one line per value of this key ('learner': the id after '|', ridge variants apart)",
      'learner',
    )
    .option('--facet <key>', 'one panel per value of this key (with --curves: n by default)')
    .option('--no-theory', 'leave out the theory curves of the target and learners')
    .option('--curves', "training curves from the rows' trace: x = step, y = a trace field")
    .addOption(
      new Option('--band <kind>', 'spread over seeds drawn around the mean')
        .choices(['std', 'minmax', 'none'])
        .default('std'),
    )
    .option('--points', "draw each seed's value as a point")
    .option('--linear', 'linear axes (default: log-log; with --curves, log y only)')
    .option('--scale <factor>', 'PNG pixels per SVG pixel (a number > 0, at most 8)', scaleArg, 2)
    .addOption(new Option('--plugin <specifier...>', 'extra plugins (for their theory curves)').default([]));
}

/** Register `plot` and `report` on the program. */
export function registerPlotCommands(program: Command): void {
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
      const options = plotOptions(flags);
      const figure = await drawFigure(rows, options, flags.plugin, warnOnStderr, flags.scale);
      const stem = resolve(
        flags.out?.replace(/\.(svg|png)$/, '') ??
          join(
            dirname(file),
            options.curves
              ? `curves-${figure.data.yTitle}`
              : `plot-${figure.data.yTitle}-vs-${basename(flags.x)}`,
          ),
      );
      mkdirSync(dirname(stem), { recursive: true });
      writeFileSync(`${stem}.svg`, figure.svg);
      writeFileSync(`${stem}.png`, figure.png);
      for (const note of figure.data.notes) process.stderr.write(`note: ${note}\n`);
      process.stdout.write(
        `${figure.data.used} rows, ${figure.data.measuredSeries.length} series, ${figure.data.theorySeries.length} theory curves\n${stem}.svg\n${stem}.png\n`,
      );
    });

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
      const outDir = resolve(flags.out ?? dirname(file));
      const written = await writeReport({
        rows,
        resultsFile: file,
        runDir: dirname(file),
        outDir,
        figure: () => drawFigure(rows, plotOptions(flags), flags.plugin, warnOnStderr, flags.scale),
        warn: warnOnStderr,
      });
      process.stdout.write(`${written.join('\n')}\n`);
    });
}
