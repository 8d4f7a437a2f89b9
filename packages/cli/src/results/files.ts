/**
 * Where results live: the results file of a run folder, the shard files of a sharded sweep, the
 * rows that stand in a file, and files written whole or not at all.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  badLinesText,
  completeRows,
  incompleteText,
  readResults,
  RegimesError,
  type ResultRow,
  uncheckedText,
} from '@regimes/core';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** A shard's results file name, its index and count captured. */
const SHARD_FILE = /^results\.shard-(\d+)-of-(\d+)\.jsonl$/;

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

/** A run folder's results files: results.jsonl and its shard files, those that exist. */
export function folderResultsFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return [resultsFileName(), ...readdirSync(folder).filter((f) => SHARD_FILE.test(f))]
    .map((f) => join(folder, f))
    .filter((f) => existsSync(f));
}

/** The spec hash of a results file's first row (read from its first 1 MiB), if it has one there. */
export function firstSpecHash(file: string): string | undefined {
  // a regular file only (a named pipe would block), and one this user can read
  let fd: number;
  try {
    if (!statSync(file).isFile()) return undefined;
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(1 << 20);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    for (const line of text.split('\n')) {
      try {
        const hash = (JSON.parse(line) as { specHash?: unknown } | null)?.specHash;
        if (typeof hash === 'string') return hash;
      } catch {
        // a cut or damaged line: the next
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
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
 * The rows of a results file that stand: the latest of each key, of complete fits only. Lines that
 * are not intact rows (cut short, failing their checksum, not rows) and fits with rows missing (a
 * λ list cut short) are named in a warning and left out; rows of more than one spec are refused,
 * with the lines of the fewer named.
 */
/** How to recompute the damaged fits of a results file: the run that resumes into it, where it has one. */
function rerunAdvice(file: string): string {
  const folder = dirname(file);
  const copy = join(folder, 'spec.json');
  const spec = existsSync(copy) ? copy : '<its spec>';
  const shard = SHARD_FILE.exec(basename(file));
  if (shard || basename(file) === resultsFileName())
    return `rerun the spec into this folder (\`regimes run ${spec} -o ${folder}${shard ? ` --shard ${shard[1]}/${shard[2]}` : ''}\` resumes, recomputing exactly those)`;
  // a file of another name, which no run writes: as results.jsonl of a folder, a run resumes it
  return `copy it to DIR/results.jsonl and rerun its spec there (\`regimes run ${spec} -o DIR\` resumes, recomputing exactly those)`;
}

export function loadRows(file: string, warn: (m: string) => void): ResultRow[] {
  const read = readResults(file);
  const { rows, rowLines, problems } = read;
  if (problems.length)
    warn(
      `${badLinesText(file, problems)}; left out. Their fits are drawn from later intact rows if a rerun wrote them; otherwise ${rerunAdvice(file)}`,
    );
  const unchecked = uncheckedText(file, read);
  if (unchecked) warn(unchecked);
  const hashes = new Map<string, number[]>();
  rows.forEach((r, i) => hashes.set(r.specHash, [...(hashes.get(r.specHash) ?? []), rowLines[i]!]));
  if (hashes.size > 1) {
    const [major, ...others] = [...hashes].sort((a, b) => b[1].length - a[1].length);
    const foreign = others.flatMap(([, lines]) => lines).sort((a, b) => a - b);
    throw new RegimesError(
      `${file} holds rows of ${hashes.size} different specs (${[major!, ...others]
        .map(([hash, lines]) => `hash ${hash}: ${lines.length} row(s)`)
        .join(', ')}), which would be drawn as one; the rows not of hash ${major![0]} are on line(s) ${foreign
        .slice(0, 10)
        .join(', ')}${foreign.length > 10 ? ', …' : ''}`,
      {
        hint: 'keep one spec per results file: remove the foreign lines (or the others), or combine shards with `regimes merge --spec`',
      },
    );
  }
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
