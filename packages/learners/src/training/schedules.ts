/** Learning-rate schedules: the factor on the learning rate at each step of a run. */
import { z } from '@regimes/core';

/** Learning-rate schedules over the steps of a run. */
export const scheduleOption = z
  .enum(['constant', 'cosine', 'step', 'inverse-sqrt'])
  .default('constant')
  .describe('learning rate over steps: constant, cosine to 0, ×0.1 every stepEvery steps, or 1/√(1 + t/100)');

export type Schedule = z.output<typeof scheduleOption>;

export function scheduleFactor(kind: Schedule, step: number, total: number, every: number): number {
  switch (kind) {
    case 'constant':
      return 1;
    case 'cosine':
      return 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, total)));
    case 'step':
      return 0.1 ** Math.floor(step / every);
    case 'inverse-sqrt':
      return 1 / Math.sqrt(1 + step / 100);
  }
}
