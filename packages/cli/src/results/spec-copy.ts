/** A run folder's spec copy (spec.json): the hashes it stands for, the refusal of a folder of another spec's results, and its writing. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import {
  legacySpecHash,
  parseSpecText,
  planExperiment,
  RegimesError,
  type Registry,
  type Spec,
} from '@regimes/core';
import { firstSpecHash, folderResultsFiles, writeAtomic } from './files.js';

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

/**
 * Refuses a run whose folder holds results files of another spec beside its own (judged by the
 * first row of each: a file holds one spec, which every reader checks).
 */
export function refuseOtherSpecs(
  outDir: string,
  out: string,
  specHashes: readonly string[],
  registry: Registry,
  plugins: readonly string[],
): void {
  const files = folderResultsFiles(outDir).filter((f) => resolve(f) !== resolve(out));
  const others = files.flatMap((f) => {
    const hash = firstSpecHash(f);
    return hash !== undefined && !specHashes.includes(hash) ? [`${basename(f)} (spec ${hash})`] : [];
  });
  // another run's file with no row yet (a shard on its first fit) says nothing itself; the spec.json
  // its run wrote does
  const copy = join(outDir, 'spec.json');
  const copyHash =
    !others.length && files.length && existsSync(copy)
      ? specCopyHashes(readFileSync(copy, 'utf8'), copy, registry, plugins)
      : undefined;
  if (copyHash && !copyHash.some((h) => specHashes.includes(h)))
    others.push(
      `spec.json (spec ${copyHash[0]}) beside ${files.map((f) => basename(f)).join(', ')}, which another run writes`,
    );
  if (others.length)
    throw new RegimesError(
      `${outDir} holds results of another spec: ${others.join(', ')}; this run's rows (spec ${specHashes[0]}) and its spec.json would be mixed with them`,
      { hint: `write this run to another folder with -o, or move those files out of ${outDir}` },
    );
}

/** The spec beside its results, with plugin paths made absolute, for merge and report. */
export function writeSpecCopy(outDir: string, spec: Spec, baseDir: string): void {
  const plugins = spec.plugins.map((p) => (p.startsWith('.') || isAbsolute(p) ? resolve(baseDir, p) : p));
  writeAtomic(join(outDir, 'spec.json'), `${JSON.stringify({ ...spec, plugins }, null, 2)}\n`);
}
