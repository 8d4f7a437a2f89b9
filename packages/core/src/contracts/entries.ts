/** Typed spec entries, for experiments composed in TypeScript. */
import type { z } from 'zod';
import type { SweepSchema } from '../spec/sweep.js';

export type EntryOptions<S extends z.ZodType> = z.input<S> & {
  id?: string;
  sweep?: z.input<typeof SweepSchema>;
};

/**
 * A typed spec entry for TypeScript: `kindEntry('rf', randomFeaturesOptions)` is a function whose
 * `({ width: 512 })` gives `{ kind: 'rf', width: 512 }`, with the kind's options checked by the
 * compiler (a misspelt key is a type error). `id` and `sweep` apply to learner entries.
 */
export function kindEntry<K extends string, S extends z.ZodType>(kind: K, _options: S) {
  return (
    ...args: object extends z.input<S> ? [options?: EntryOptions<S>] : [options: EntryOptions<S>]
  ): { kind: K } & EntryOptions<S> => ({ kind, ...(args[0] ?? {}) }) as { kind: K } & EntryOptions<S>;
}
