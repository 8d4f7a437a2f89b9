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
    // at step 0 no update has run: the labels' own scale is over the bound, not the learning rate
    const fix =
      step === 0
        ? "the loss before any step is over it, so no learning rate is to blame: the labels' scale (a target with large noise) or the network's output at initialization is; rescale it, or raise the learner's `divergence` bound (nn, deep)"
        : 'lower the learning rate';
    throw new DivergenceError(
      `training diverged at step ${step}: loss ${loss} (bound ${bound.toExponential(1)}); ${fix}`,
      step,
      lastFinite,
    );
  }
}
