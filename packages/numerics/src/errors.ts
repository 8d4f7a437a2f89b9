/**
 * The base of every error a user can cause (`hint`: how to fix it), and the errors the numerics
 * throw. @regimes/core re-exports these and adds its own (unknown kinds, plugins, divergence).
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

/** A backend that is not installed or has no device here. Never silently replaced by another. */
export class BackendUnavailable extends RegimesError {
  override name = 'BackendUnavailable';
}

/** Numbers that are not finite where finite numbers are required (data, predictions, solves). */
export class NumericalError extends RegimesError {
  override name = 'NumericalError';
}
