/** The hashes a run folder's spec copy (spec.json) stands for, to tell whether rows are its spec's. */
import { legacySpecHash, parseSpecText, planExperiment, type Registry } from '@regimes/core';

/**
 * The hashes rows of the spec in `text` carry (the plan's and the legacy one), or undefined when it
 * does not plan with `registry` (a plugin not loaded) or cannot be judged. A run's copy holds its
 * plugin paths made absolute, and the hash covers them: with `plugins`, the run's own list is put
 * back before hashing; without it, a copy that lists plugins cannot be judged (its rows were hashed
 * with paths as the spec wrote them).
 */
export function specCopyHashes(
  text: string,
  source: string,
  registry: Registry,
  plugins?: readonly string[],
): string[] | undefined {
  try {
    const parsed = parseSpecText(text, source);
    if (!plugins && parsed.plugins.length) return undefined;
    const spec = plugins ? { ...parsed, plugins: [...plugins] } : parsed;
    return [planExperiment(spec, registry, source).specHash, legacySpecHash(spec)];
  } catch {
    return undefined;
  }
}
