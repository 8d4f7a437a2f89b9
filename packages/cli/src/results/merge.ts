/**
 * Combining the results files of a sharded sweep (`regimes merge`): rows of one spec only (by
 * hash), duplicates across files reported, and the cells no file holds listed when the spec is
 * known.
 */
import {
  type BadLine,
  completeRows,
  latestRows,
  legacySpecHash,
  learnerKey,
  type Plan,
  planOrder,
  type ResultRow,
  readResults,
} from '@regimes/core';

export interface MergeInput {
  readonly path: string;
  readonly rows: number;
  readonly badLines: readonly number[];
  /** The bad lines with their reasons (cut, not a row, checksum). */
  readonly problems: readonly BadLine[];
  /** Lines of rows without a checksum (written before rows had one; read unchecked). */
  readonly unchecked: readonly number[];
  /** How many of them follow a checked row (pasted in, or edited). */
  readonly uncheckedAfter: number;
  /** Spec hashes in this file, with their row counts. */
  readonly hashes: Readonly<Record<string, number>>;
  /** The line numbers of the rows of each spec hash. */
  readonly hashLines: Readonly<Record<string, readonly number[]>>;
}

export interface MergeReport {
  /** The merged rows, in plan order when a plan is given, else in file order. */
  readonly rows: ResultRow[];
  readonly inputs: readonly MergeInput[];
  /** The hash the rows must have (the plan's, else the one every file agrees on). */
  readonly specHash: string | undefined;
  /** Files holding rows of another spec (nothing is merged when there is one). */
  readonly foreign: readonly { path: string; hash: string; rows: number; lines: readonly number[] }[];
  /**
   * Row keys present in more than one file. Of a fit in several files, one file's attempt is kept
   * whole: a complete one over a partial one, then one with every row ok, then the later.
   */
  readonly duplicates: readonly { key: string; files: string[] }[];
  /** `<cell>|<learner id>` of the plan that no file holds (only when a plan is given). */
  readonly missing: readonly string[];
}

const good = (row: ResultRow) => row.status === 'ok' || row.status === 'diverged';

export function mergeResults(paths: readonly string[], plan?: Plan): MergeReport {
  const inputs: MergeInput[] = [];
  const perFile: { path: string; rows: ResultRow[] }[] = [];
  for (const path of paths) {
    const { rows, rowLines, badLines, problems, unchecked, uncheckedAfter } = readResults(path);
    const hashes: Record<string, number> = {};
    const hashLines: Record<string, number[]> = {};
    rows.forEach((r, i) => {
      hashes[r.specHash] = (hashes[r.specHash] ?? 0) + 1;
      (hashLines[r.specHash] ??= []).push(rowLines[i]!);
    });
    inputs.push({
      path,
      rows: rows.length,
      badLines,
      problems,
      unchecked,
      uncheckedAfter,
      hashes,
      hashLines,
    });
    perFile.push({ path, rows: latestRows(rows) });
  }
  let specHash = plan?.specHash;
  const all = new Set(inputs.flatMap((i) => Object.keys(i.hashes)));
  if (!specHash) {
    if (all.size === 1) specHash = [...all][0];
  } else if (all.size === 1 && all.has(legacySpecHash(plan!.spec))) {
    // shards written before sweeps could grow carry the old hash of the same spec
    specHash = legacySpecHash(plan!.spec);
  }
  const foreign = inputs.flatMap((i) =>
    Object.entries(i.hashes)
      .filter(([h]) => h !== specHash)
      .map(([hash, rows]) => ({ path: i.path, hash, rows, lines: i.hashLines[hash]! })),
  );
  if (foreign.length) return { rows: [], inputs, specHash, foreign, duplicates: [], missing: [] };

  // each file's attempt of a fit (its standing rows of that fit) is taken or left whole, so that
  // the rows of two attempts are never mixed: a complete attempt over a partial one, then one whose
  // rows all succeeded, then the later one
  const keyFiles = new Map<string, string[]>();
  const attempts = new Map<string, { rows: ResultRow[]; path: string }[]>();
  for (const { path, rows } of perFile) {
    const byFit = new Map<string, ResultRow[]>();
    for (const row of rows) {
      keyFiles.set(row.key, [...(keyFiles.get(row.key) ?? []), path]);
      const fit = learnerKey(row);
      byFit.set(fit, [...(byFit.get(fit) ?? []), row]);
    }
    for (const [fit, group] of byFit)
      attempts.set(fit, [...(attempts.get(fit) ?? []), { rows: group, path }]);
  }
  const complete = (a: ResultRow[]) => a[0]!.fitRows === undefined || a.length >= a[0]!.fitRows;
  const finished = (a: ResultRow[]) => a.reduce((t, r) => (r.finishedAt > t ? r.finishedAt : t), '');
  const rank = (a: ResultRow[]) => [complete(a), a.every(good)] as const;
  const better = (a: ResultRow[], b: ResultRow[]) => {
    const [ra, rb] = [rank(a), rank(b)];
    if (ra[0] !== rb[0]) return ra[0];
    if (ra[1] !== rb[1]) return ra[1];
    return finished(a) > finished(b);
  };
  let rows = [...attempts.values()].flatMap(
    (candidates) => candidates.reduce((best, c) => (better(c.rows, best.rows) ? c : best)).rows,
  );
  const duplicates = [...keyFiles.entries()]
    .filter(([, files]) => files.length > 1)
    .map(([key, files]) => ({ key, files }));
  let missing: string[] = [];
  if (plan) {
    const order = planOrder(plan.cells);
    // a fit counts as present only with all its rows (a λ list's variants); its partial rows are kept
    const { rows: complete, incomplete } = completeRows(rows);
    const present = new Set(complete.map(learnerKey));
    const partial = new Map(incomplete.map((f) => [f.fit, f]));
    missing = [...order.keys()]
      .filter((k) => !present.has(k))
      .map((k) =>
        partial.has(k) ? `${k} (${partial.get(k)!.present} of ${partial.get(k)!.expected} rows)` : k,
      );
    rows = rows.sort(
      (a, b) => (order.get(learnerKey(a)) ?? Infinity) - (order.get(learnerKey(b)) ?? Infinity),
    );
  }
  return { rows, inputs, specHash, foreign, duplicates, missing };
}
