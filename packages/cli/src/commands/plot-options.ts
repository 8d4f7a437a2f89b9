/** The options `plot` and `report` share: what the figure shows, and how. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { BandKind, PlotOptions } from '../plot/data.js';
import { pluginOption, type PluginFlags } from './shared.js';

export interface PlotFlags extends PluginFlags {
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
}

export function plotOptions(flags: PlotFlags): PlotOptions {
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

function scaleArg(value: string): number {
  const v = Number(value);
  if (!(Number.isFinite(v) && v > 0 && v <= 8))
    throw new InvalidArgumentError('give a number in (0, 8], e.g. 2');
  return v;
}

/** Add the figure options (and --plugin, for theory curves) to `plot` or `report`. */
export function addPlotOptions(command: Command): Command {
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
      new Option(
        '--band <kind>',
        "band around the mean: spread over seeds (std, minmax), sem: ± the standard error over seeds (std/√seeds), or se: ± the test sets' standard error (<y>-se)",
      )
        .choices(['std', 'sem', 'minmax', 'se', 'none'])
        .default('std'),
    )
    .option('--points', "draw each seed's value as a point")
    .option('--linear', 'linear axes (default: log-log; with --curves, log y only)')
    .option('--scale <factor>', 'PNG pixels per SVG pixel (a number > 0, at most 8)', scaleArg, 2)
    .addOption(pluginOption('extra plugins (for their theory curves)'));
}
