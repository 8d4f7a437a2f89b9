/** Learning-rate schedules: the factor on the learning rate at each step of a run. */
import { z } from '@regimes/core';

/** Learning-rate schedules over the steps of a run. */
export const scheduleOption = z
  .enum(['constant', 'cosine', 'step', 'inverse-sqrt', 'end-decay'])
  .default('constant')
  .describe(
    'learning rate over steps: constant, cosine to 0, ×0.1 every stepEvery steps, 1/√(1 + t/100), or end-decay: constant, then the factors of decay over the last part of the run',
  );

export type Schedule = z.output<typeof scheduleOption>;

/** One drop of `end-decay`: from the fraction `from` of the run on, the learning rate is × `factor` (of the base rate). */
export interface Drop {
  readonly from: number;
  readonly factor: number;
}

/**
 * The drops of `end-decay`. Default: Ghorbani, Mei, Misiakiewicz & Montanari 2019's NN runs —
 * lr/10 for the last 30k of 10⁵ steps, lr/15 for the last 15k (fractions 0.7 and 0.85; each
 * factor is on the base rate, not on the previous one).
 */
export const decayOption = z
  .array(
    z.strictObject({
      from: z.number().gt(0).lt(1).describe('fraction of the run from which this factor applies'),
      factor: z.number().positive().describe('factor on the base learning rate'),
    }),
  )
  .min(1)
  .default([
    { from: 0.7, factor: 0.1 },
    { from: 0.85, factor: 1 / 15 },
  ])
  .describe(
    'end-decay: the learning rate is × factor from the fraction `from` of the steps on (the latest drop reached applies)',
  );

export interface ScheduleSettings {
  /** Steps between ×0.1 drops (`step`). */
  readonly every: number;
  /** The drops of `end-decay`. */
  readonly decay?: readonly Drop[];
}

/** The factor at `step` (from 0) of a run of `total` steps. */
export function scheduleFactor(kind: Schedule, step: number, total: number, s: ScheduleSettings): number {
  switch (kind) {
    case 'constant':
      return 1;
    case 'cosine':
      return 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, total)));
    case 'step':
      return 0.1 ** Math.floor(step / s.every);
    case 'inverse-sqrt':
      return 1 / Math.sqrt(1 + step / 100);
    case 'end-decay': {
      // the drop with the largest `from` that step has reached; steps counted from 0, so with
      // total = 10⁵ and from = 0.7 steps 70 000 … 99 999 (the last 30k) are decayed
      let factor = 1;
      let reached = -1;
      for (const drop of s.decay ?? []) {
        if (step >= Math.round(drop.from * total) && drop.from > reached) {
          reached = drop.from;
          factor = drop.factor;
        }
      }
      return factor;
    }
  }
}
