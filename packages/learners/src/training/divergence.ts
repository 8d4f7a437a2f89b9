/** The divergence check of a training run, on each recorded loss. */
import { DivergenceError } from '@regimes/core';

/** Throws DivergenceError when a recorded loss is not finite or exceeds the bound. */
export function checkDivergence(
  loss: number,
  step: number,
  lastFinite: number | undefined,
  bound: number,
): void {
  if (!Number.isFinite(loss) || loss > bound) {
    throw new DivergenceError(
      `training diverged at step ${step}: loss ${loss} (bound ${bound.toExponential(1)}); lower the learning rate`,
      step,
      lastFinite,
    );
  }
}
