/** The plot options of the tests: the CLI's defaults (log axes, theory, ± std bands), overridden. */
import type { PlotOptions } from '../src/plot/data.js';

export const plotOptionsWith = (o: Partial<PlotOptions> = {}): PlotOptions => ({
  x: 'n',
  by: 'learner',
  theory: true,
  curves: false,
  band: 'std',
  points: false,
  linear: false,
  ...o,
});
