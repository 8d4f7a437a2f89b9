/**
 * Where results live: the results file of a run folder, the shard files of a sharded sweep, the
 * rows that stand in a file, and files written whole or not at all.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { completeRows, incompleteText, readResults, RegimesError, type ResultRow } from '@regimes/core';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

const SHARD_FILE = /^results\.shard-\d+-of-\d+\.jsonl$/;

/** The results file of a run: `results.jsonl`, or `results.shard-<i>-of-<N>.jsonl` for a shard. */
export function resultsFileName(shard?: Shard): string {
  return shard ? `results.shard-${shard.index}-of-${shard.count}.jsonl` : 'results.jsonl';
}

/** The shard files in a run folder, in shard order. */
export function shardFiles(folder: string): string[] {
  const shards = readdirSync(folder)
    .filter((f) => SHARD_FILE.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (!shards.length) throw new RegimesError(`${folder}: no results.shard-<i>-of-<N>.jsonl files in it`);
  return shards.map((f) => join(folder, f));
}

/** The results file of RESULTS: the file itself, or `results.jsonl` in a run folder. */
export function resultsPath(path: string): string {
  const full = resolve(path);
  if (!existsSync(full)) throw new RegimesError(`no such file or folder: ${path}`);
  if (!statSync(full).isDirectory()) return full;
  const file = join(full, resultsFileName());
  if (!existsSync(file))
    throw new RegimesError(`${path} is a folder without results.jsonl`, {
      hint: 'give a results.jsonl file or the run folder that `regimes run` wrote',
    });
  return file;
}

/**
 * The rows of a results file that stand: the latest of each key, of complete fits only; lines cut
 * off by a kill and fits with rows missing (a λ list cut short) are reported and left out.
 */
export function loadRows(file: string, warn: (m: string) => void): ResultRow[] {
  const { rows, badLines } = readResults(file);
  if (badLines.length)
    warn(`${file}: ${badLines.length} line(s) did not parse (lines ${badLines.join(', ')}), left out`);
  const hashes = new Map<string, number>();
  for (const r of rows) hashes.set(r.specHash, (hashes.get(r.specHash) ?? 0) + 1);
  if (hashes.size > 1)
    throw new RegimesError(
      `${file} holds rows of ${hashes.size} different specs (${[...hashes]
        .map(([hash, n]) => `hash ${hash}: ${n} row(s)`)
        .join(', ')}), which would be drawn as one`,
      {
        hint: 'keep one spec per results file: remove the foreign lines, or combine shards with `regimes merge --spec`',
      },
    );
  const { rows: complete, incomplete } = completeRows(rows);
  if (incomplete.length)
    warn(`${file}: ${incompleteText(incomplete)}, left out; rerun the spec to complete them`);
  return complete;
}

/** Write a file whole or not at all (shards on a shared file system may write at once). */
export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
