/**
 * The keys a figure is laid out by (-x, --by, --facet): a swept cell value, a target or learner
 * option, or the learner's label; and labels without the options an axis already shows.
 */
import { closestMatch, RegimesError, type ResultRow, rowLabel, type Scalar } from '@regimes/core';

/** Reads one scalar of a row: a swept cell value, a target or learner option, or the learner label. */
export interface Key {
  /** Canonical name, as shown on axes. */
  name: string;
  get(row: ResultRow): Scalar | undefined;
}

/** A value as a figure names it (`?` for none). */
export const formatScalar = (v: Scalar | undefined): string => (v === undefined ? '?' : String(v));

/** The short name of a key: `target.d` → `d`, `learners[0].width` → `width`. */
export function lastSegment(key: string): string {
  return key.replace(/.*[.\]]/, '');
}

/**
 * Whether a swept cell key bears on a row's learner: `learners[<id or kind>].<opt>` only on that
 * learner's rows (by id when `ids`, the learners of the rows, has one so named, else by kind, as
 * the plan resolves it); every other key (n, seed, target.*, learners.*) on all rows.
 */
export function keyAddresses(key: string, row: ResultRow, ids: ReadonlySet<string>): boolean {
  const ref = /^learners\[([^\]]+)\]\./.exec(key)?.[1];
  if (ref === undefined) return true;
  return ids.has(ref) ? ref === row.learner.id : ref === row.learner.kind;
}

/** The distinct names among one record field of the rows (their cell keys, target options, ...). */
export function namesIn(rows: readonly ResultRow[], field: (row: ResultRow) => object): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(field(r))))];
}

/**
 * A learner label without the `k=v` of keys the figure shows on an axis: `rf#0(width=64,bias=1)`
 * with -x width is `rf#0(bias=1)`, `rf#0:ridge=0.001` with -x ridge is `rf#0`.
 */
export function stripLabel(label: string, drop: ReadonlySet<string>): string {
  const m = /^([^(:]*)(?:\((.*)\))?(?::(.*))?$/.exec(label);
  if (!m) return label;
  const keep = (list?: string) => (list ?? '').split(',').filter((p) => p && !drop.has(p.split('=')[0]!));
  const own = keep(m[2]);
  const variant = keep(m[3]);
  return `${m[1]}${own.length ? `(${own.join(',')})` : ''}${variant.length ? `:${variant.join(',')}` : ''}`;
}

const cellValue = (k: string): Key => ({ name: k, get: (r) => r.cell[k] });
const targetOption = (k: string): Key => ({
  name: `target.${k}`,
  get: (r) => r.target[k] as Scalar | undefined,
});
const learnerOption = (k: string): Key => ({
  name: `learner.${k}`,
  get: (r) => r.learner[k] as Scalar | undefined,
});

/** Resolve a key name against the rows: `learner`, a cell key, `target.<opt>`, `learner.<opt>`, or a short name. */
export function resolveKey(rows: readonly ResultRow[], name: string, role: string): Key {
  const cellKeys = namesIn(rows, (r) => r.cell);
  const targetKeys = namesIn(rows, (r) => r.target);
  const learnerKeys = namesIn(rows, (r) => r.learner);
  if (name === 'learner') return { name, get: rowLabel };
  if (cellKeys.includes(name)) return cellValue(name);
  if (name.startsWith('target.') && targetKeys.includes(name.slice(7))) return targetOption(name.slice(7));
  if (name.startsWith('learner.') && learnerKeys.includes(name.slice(8))) return learnerOption(name.slice(8));
  const short = cellKeys.filter((k) => lastSegment(k) === name);
  if (short.length === 1) return cellValue(short[0]!);
  if (short.length > 1)
    throw new RegimesError(`${role} '${name}' is ambiguous: it names the cell keys ${short.join(', ')}`, {
      hint: `give the full key, e.g. ${role === '-x' ? '-x' : role} ${short[0]}`,
    });
  if (targetKeys.includes(name)) return targetOption(name);
  if (learnerKeys.includes(name)) return learnerOption(name);
  // a swept target option is a cell key and a target key: named once
  throw unknownKey(name, role, [
    ...new Set(['learner', ...cellKeys, ...targetKeys.map((k) => `target.${k}`)]),
  ]);
}

function unknownKey(name: string, role: string, known: string[]): RegimesError {
  const near = closestMatch(name, known);
  return new RegimesError(
    `${role} '${name}' is not a key of these rows${near ? ` (did you mean '${near}'?)` : ''}`,
    { hint: `keys: ${known.join(', ')}` },
  );
}

/** A point of a series in a panel (seed values; means and theory points add to it). */
export interface PlotPoint {
  panel: string;
  series: string;
  x: number;
  y: number;
}
