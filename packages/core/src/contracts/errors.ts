/**
 * Every error a user can cause has a class and a message that says what to change; the CLI prints
 * `message` alone (no stack) unless `--verbose`. The base class and the errors numerics can throw
 * (SpecError, BackendUnavailable, NumericalError) live in @regimes/numerics, the lowest layer, so
 * that one hierarchy covers both packages; core re-exports them beside its own.
 */
import { RegimesError } from '@regimes/numerics';

export { BackendUnavailable, NumericalError, RegimesError, SpecError } from '@regimes/numerics';
/** A kind (target, learner, metric, backend) that no loaded plugin registers. */
export class UnknownKindError extends RegimesError {
  override name = 'UnknownKindError';
  constructor(
    readonly point: string,
    readonly kind: string,
    readonly registered: string[],
    closest: string | undefined,
  ) {
    super(
      `unknown ${point} kind '${kind}'` +
        (closest ? ` (did you mean '${closest}'?)` : '') +
        `; registered ${point} kinds: ${registered.length ? registered.join(', ') : '(none)'}`,
      { hint: `add the plugin that provides '${kind}' to the spec's plugins: list, or fix the name` },
    );
  }
}

/** A plugin that cannot be found, imported, or does not satisfy the manifest contract. */
export class PluginError extends RegimesError {
  override name = 'PluginError';
}

/** A fit whose loss became non-finite or exceeded its bound. */
export class DivergenceError extends RegimesError {
  override name = 'DivergenceError';
  constructor(
    message: string,
    readonly step?: number,
    readonly lastFiniteLoss?: number,
  ) {
    super(message);
  }
}
