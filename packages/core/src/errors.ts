/**
 * Every error a user can cause has a class here and a message that says what to change.
 * The CLI prints `message` alone (no stack) unless `--verbose`.
 */
export class RegimesError extends Error {
  override name = 'RegimesError';
  /** A line or two on how to fix it, printed after the message. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options?.hint;
  }
}

/** A spec (file or object) that does not validate: a wrong field, type, value or kind. */
export class SpecError extends RegimesError {
  override name = 'SpecError';
  /** One line per problem, each starting with the path of the field. */
  readonly problems: string[];
  constructor(problems: string[], options?: { source?: string; hint?: string }) {
    const where = options?.source ? ` in ${options.source}` : '';
    super(`invalid spec${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
    this.problems = problems;
  }
}

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

/** A backend that is not installed or has no device here. Never silently replaced by another. */
export class BackendUnavailable extends RegimesError {
  override name = 'BackendUnavailable';
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

/** Numbers that are not finite where finite numbers are required (data, predictions, solves). */
export class NumericalError extends RegimesError {
  override name = 'NumericalError';
}
