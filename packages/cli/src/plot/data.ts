/**
 * From results rows to what a figure shows: the rows kept, the series (one per value of --by),
 * the mean over seeds with its band, each seed's value, and the theory curves that the target
 * and learner factories give for the axis. Pure: no files, no rendering.
 */
import {
  closestMatch,
  type Registry,
  RegimesError,
  type ResultRow,
  Rng,
  rowLabel,
  type Scalar,
  type TheoryCurve,
} from '@regimes/core';
import { meanStd } from '../results/summary.js';

export type BandKind = 'std' | 'minmax' | 'none';

export interface PlotOptions {
  /** Cell key on the x axis (`n`, `target.d`, or the short `d`); `step` with `curves`. */
  x: string;
  /** Metric (or diagnostic) on the y axis; a trace field with `curves`. */
  y?: string | undefined;
  /** What makes a line: `learner` (the key's part after `|`) or a key. */
  by: string;
  facet?: string | undefined;
  theory: boolean;
  /** Training curves from the rows' `trace` instead of one value per row. */
  curves: boolean;
  band: BandKind;
  /** Draw each seed's value as a point. */
  points: boolean;
  /** Linear axes (default: log-log, or linear x and log y for training curves). */
  linear: boolean;
}

export interface MeanPoint {
  panel: string;
  series: string;
  x: number;
  y: number;
  lo: number;
  hi: number;
  seeds: number;
}

export interface PlotData {
  title: string;
  subtitle: string[];
  xTitle: string;
  yTitle: string;
  seriesTitle: string;
  facetTitle?: string;
  xLog: boolean;
  yLog: boolean;
  panels: string[];
  /** Series of measured values, then theory series (drawn dashed), in legend order. */
  measuredSeries: string[];
  theorySeries: string[];
  means: MeanPoint[];
  seeds: { panel: string; series: string; x: number; y: number }[];
  theory: { panel: string; series: string; x: number; y: number; order: number }[];
  /** What was left out and why, for the subtitle and the console. */
  notes: string[];
  /** Rows used (status ok, with a value). */
  used: number;
}

/** Reads one scalar of a row: a swept cell value, a target or learner option, or the learner label. */
interface Key {
  /** Canonical name, as shown on axes. */
  name: string;
  get(row: ResultRow): Scalar | undefined;
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

function lastSegment(key: string): string {
  return key.replace(/.*[.\]]/, '');
}

/** Resolve a key name against the rows: `learner`, a cell key, `target.<opt>`, `learner.<opt>`, or a short name. */
export function resolveKey(rows: readonly ResultRow[], name: string, role: string): Key {
  const cellKeys = [...new Set(rows.flatMap((r) => Object.keys(r.cell)))];
  const targetKeys = [...new Set(rows.flatMap((r) => Object.keys(r.target)))];
  const learnerKeys = [...new Set(rows.flatMap((r) => Object.keys(r.learner)))];
  const cell = (k: string): Key => ({ name: k, get: (r) => r.cell[k] });
  const target = (k: string): Key => ({ name: `target.${k}`, get: (r) => r.target[k] as Scalar | undefined });
  const learner = (k: string): Key => ({
    name: `learner.${k}`,
    get: (r) => r.learner[k] as Scalar | undefined,
  });
  if (name === 'learner') return { name, get: rowLabel };
  if (cellKeys.includes(name)) return cell(name);
  if (name.startsWith('target.') && targetKeys.includes(name.slice(7))) return target(name.slice(7));
  if (name.startsWith('learner.') && learnerKeys.includes(name.slice(8))) return learner(name.slice(8));
  const short = cellKeys.filter((k) => lastSegment(k) === name);
  if (short.length === 1) return cell(short[0]!);
  if (short.length > 1)
    throw new RegimesError(`${role} '${name}' is ambiguous: it names the cell keys ${short.join(', ')}`, {
      hint: `give the full key, e.g. ${role === '-x' ? '-x' : role} ${short[0]}`,
    });
  if (targetKeys.includes(name)) return target(name);
  if (learnerKeys.includes(name)) return learner(name);
  const known = ['learner', ...cellKeys, ...targetKeys.map((k) => `target.${k}`)];
  const near = closestMatch(name, known);
  throw new RegimesError(
    `${role} '${name}' is not a key of these rows${near ? ` (did you mean '${near}'?)` : ''}`,
    {
      hint: `keys: ${known.join(', ')}`,
    },
  );
}

/** The metric or diagnostic a row reports under `name`. */
function rowValue(row: ResultRow, name: string): number | undefined {
  return row.metrics[name] ?? row.diagnostics?.[name];
}

function valueNames(rows: readonly ResultRow[]): string[] {
  return [...new Set(rows.flatMap((r) => [...Object.keys(r.metrics), ...Object.keys(r.diagnostics ?? {})]))];
}

function traceNames(rows: readonly ResultRow[]): string[] {
  return [...new Set(rows.flatMap((r) => (r.trace ?? []).flatMap((e) => Object.keys(e))))].filter(
    (k) => k !== 'step',
  );
}

function unknownValue(name: string, known: string[], what: string): RegimesError {
  const near = closestMatch(name, known);
  return new RegimesError(
    `-y '${name}' is not a ${what} of these rows${near ? ` (did you mean '${near}'?)` : ''}`,
    {
      hint: `${what}s: ${known.join(', ') || '(none)'}`,
    },
  );
}

const format = (v: Scalar | undefined) => (v === undefined ? '?' : String(v));

/** Sort numbers numerically, everything else as text. */
function sortValues<T extends Scalar>(values: T[]): T[] {
  return values.sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
  );
}

function bandOf(values: number[], band: BandKind): { mean: number; lo: number; hi: number } {
  const { mean, std } = meanStd(values);
  if (band === 'std') return { mean, lo: mean - std, hi: mean + std };
  if (band === 'minmax')
    return { mean, lo: values.reduce((a, b) => Math.min(a, b)), hi: values.reduce((a, b) => Math.max(a, b)) };
  return { mean, lo: mean, hi: mean };
}

export const bandDescription: Record<BandKind, string> = {
  std: 'band: mean ± 1 sample std over seeds',
  minmax: 'band: min–max over seeds',
  none: 'no band',
};

/** Everything the figure draws, from the rows of one results file. */
export function plotData(
  allRows: readonly ResultRow[],
  opts: PlotOptions,
  registry: Registry,
  warn: (message: string) => void = () => {},
): PlotData {
  if (!allRows.length) throw new RegimesError('no rows to plot: the results file is empty');
  const rows = allRows.filter((r) => r.status === 'ok');
  const notes: string[] = [];
  const failed = allRows.length - rows.length;
  if (failed) {
    const byStatus = new Map<string, number>();
    for (const r of allRows) if (r.status !== 'ok') byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    notes.push(
      `${failed} of ${allRows.length} rows left out (${[...byStatus].map(([s, k]) => `${k} ${s}`).join(', ')})`,
    );
  }
  if (!rows.length) throw new RegimesError(`no row has status ok (${allRows.length} rows, all failed)`);

  const xKey: Key = opts.curves ? { name: 'step', get: () => undefined } : resolveKey(rows, opts.x, '-x');
  const byKey = resolveKey(rows, opts.by, '--by');
  const facetName =
    opts.facet ?? (opts.curves && new Set(rows.map((r) => r.cell.n)).size > 1 ? 'n' : undefined);
  const facetKey = facetName === undefined ? undefined : resolveKey(rows, facetName, '--facet');

  let yName: string;
  if (opts.curves) {
    const names = traceNames(rows);
    yName = opts.y ?? ['test-risk', 'loss'].find((n) => names.includes(n)) ?? names[0] ?? 'loss';
    if (!names.includes(yName)) throw unknownValue(yName, names, 'trace field');
  } else {
    yName = opts.y ?? 'risk';
    const names = valueNames(rows);
    if (!names.includes(yName)) throw unknownValue(yName, names, 'metric or diagnostic');
  }

  // Other swept keys that vary (besides x, facet, by and the seed) split a series, never average into it.
  const used = new Set([xKey.name, facetKey?.name, byKey.name, 'seed']);
  const cellKeys = [...new Set(rows.flatMap((r) => Object.keys(r.cell)))];
  const splitting = cellKeys.filter(
    (k) => !used.has(k) && new Set(rows.map((r) => JSON.stringify(r.cell[k]))).size > 1,
  );
  // A learner's label loses the options shown on an axis; unless lines are learners, learners still
  // split lines (two learners are never averaged as if they were seeds).
  const drop = new Set(
    [xKey.name, facetKey?.name, byKey.name === 'learner' ? undefined : byKey.name]
      .filter((k): k is string => k !== undefined)
      .map(lastSegment),
  );
  const label = (r: ResultRow) => stripLabel(rowLabel(r), drop);
  const learnerSplits = byKey.name !== 'learner' && new Set(rows.map(label)).size > 1;
  const seriesOf = (r: ResultRow) =>
    [
      byKey.name === 'learner' ? label(r) : format(byKey.get(r)),
      ...(learnerSplits ? [label(r)] : []),
      ...splitting.map((k) => `${lastSegment(k)}=${format(r.cell[k])}`),
    ].join(', ');
  const panelOf = (r: ResultRow) => (facetKey ? `${facetKey.name} = ${format(facetKey.get(r))}` : '');

  const xLog = !opts.linear && !opts.curves;
  const yLog = !opts.linear;
  let dropped = 0;
  const keep = (x: number, y: number) => {
    const ok = Number.isFinite(x) && Number.isFinite(y) && (!xLog || x > 0) && (!yLog || y > 0);
    if (!ok) dropped++;
    return ok;
  };

  // (panel, series, x) → values over seeds
  const groups = new Map<string, { panel: string; series: string; x: number; values: number[] }>();
  const seeds: PlotData['seeds'] = [];
  let usedRows = 0;
  let withoutTrace = 0;
  const add = (panel: string, series: string, x: number, y: number) => {
    const id = JSON.stringify([panel, series, x]);
    const group = groups.get(id) ?? { panel, series, x, values: [] };
    group.values.push(y);
    groups.set(id, group);
    seeds.push({ panel, series, x, y });
  };
  for (const r of rows) {
    const panel = panelOf(r);
    const series = seriesOf(r);
    if (opts.curves) {
      const trace = (r.trace ?? []).filter((e) => e[yName] !== undefined);
      if (!trace.length) {
        withoutTrace++;
        continue;
      }
      usedRows++;
      for (const e of trace) if (keep(e.step, e[yName]!)) add(panel, series, e.step, e[yName]!);
    } else {
      const x = Number(xKey.get(r));
      const y = rowValue(r, yName);
      if (y === undefined) continue;
      usedRows++;
      if (keep(x, y)) add(panel, series, x, y);
    }
  }
  if (withoutTrace) notes.push(`${withoutTrace} rows without a '${yName}' trace left out`);
  if (dropped) notes.push(`${dropped} values ${yLog || xLog ? '≤ 0 or ' : ''}not finite left out`);
  if (!groups.size) throw new RegimesError(`nothing to plot: no row has a usable '${yName}'`);

  const means: MeanPoint[] = [...groups.values()].map((g) => {
    const { mean, lo, hi } = bandOf(g.values, opts.band);
    return { panel: g.panel, series: g.series, x: g.x, y: mean, lo, hi, seeds: g.values.length };
  });
  // A band edge at or below 0 has no place on a log axis: clip it at half the smallest positive value.
  if (yLog) {
    // a loop, not Math.min(...): training curves can hold more values than a call's arguments
    let smallest = Infinity;
    for (const v of means) smallest = Math.min(smallest, v.y);
    for (const v of seeds) smallest = Math.min(smallest, v.y);
    const floor = smallest / 2;
    const clipped = means.filter((m) => m.lo < floor);
    for (const m of clipped) m.lo = floor;
    if (clipped.length)
      notes.push(
        `lower band edge clipped at ${floor.toPrecision(2)} at ${clipped.length} point${clipped.length === 1 ? '' : 's'} (log axis)`,
      );
  }

  const panels = sortValues([...new Set(means.map((m) => m.panel))]);
  if (facetKey) {
    const numeric = new Map(rows.map((r) => [panelOf(r), facetKey.get(r)]));
    panels.sort((a, b) => {
      const [va, vb] = [numeric.get(a), numeric.get(b)];
      return typeof va === 'number' && typeof vb === 'number' ? va - vb : a.localeCompare(b);
    });
  }
  const measuredSeries = [...new Set(means.map((m) => m.series))].sort((a, b) => a.localeCompare(b));

  const theory: PlotData['theory'] = [];
  if (opts.theory && !opts.curves) {
    for (const panel of panels) {
      const inPanel = rows.filter((r) => panelOf(r) === panel);
      for (const curve of theoryCurves(inPanel, xKey, yName, registry, warn)) {
        let zeroFrom: number | undefined;
        curve.points.forEach((p, order) => {
          const drawable =
            Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog || p.x > 0) && (!yLog || p.y > 0);
          if (drawable) theory.push({ panel, series: curve.label, x: p.x, y: p.y, order });
          else if (yLog && p.y <= 0) zeroFrom ??= p.x;
        });
        if (zeroFrom !== undefined)
          notes.push(
            `theory '${curve.label}'${panel ? ` (${panel})` : ''} is 0 from ${xKey.name} = ${zeroFrom}: not drawn there (log axis)`,
          );
      }
    }
  }
  const theorySeries = [...new Set(theory.map((t) => t.series))];

  const spec = [...new Set(rows.map((r) => r.spec))].join(', ');
  const seedCounts = new Set(means.map((m) => m.seeds));
  const seedText =
    seedCounts.size === 1
      ? `${[...seedCounts][0]} seed${[...seedCounts][0] === 1 ? '' : 's'}`
      : `${Math.min(...seedCounts)}–${Math.max(...seedCounts)} seeds`;
  const subtitle = [
    `line: mean over ${seedText}; ${Math.max(...seedCounts) > 1 ? bandDescription[opts.band] : 'no band (one seed)'}${theorySeries.length ? '; dashed: theory' : ''}`,
    ...notes,
  ];
  return {
    title: `${spec}: ${yName} vs ${xKey.name}`,
    subtitle,
    xTitle: opts.curves ? 'training step' : xKey.name === 'n' ? 'n (training samples)' : xKey.name,
    yTitle: yName,
    seriesTitle: byKey.name,
    ...(facetKey ? { facetTitle: facetKey.name } : {}),
    xLog,
    yLog,
    panels,
    measuredSeries,
    theorySeries,
    means,
    seeds: opts.points ? seeds : [],
    theory,
    notes,
    used: usedRows,
  };
}

/**
 * Theory curves for the rows of one panel: each distinct target entry asks its factory, and each
 * learner kind its own, for curves over the panel's x values; only curves for the y metric are kept.
 */
function theoryCurves(
  rows: readonly ResultRow[],
  xKey: Key,
  metric: string,
  registry: Registry,
  warn: (message: string) => void,
): TheoryCurve[] {
  const byTarget = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const id = JSON.stringify(r.target);
    byTarget.set(id, [...(byTarget.get(id) ?? []), r]);
  }
  // Options that differ between the targets of one panel name their curves apart.
  const targets = [...byTarget.values()].map((g) => g[0]!.target);
  const differing = [...new Set(targets.flatMap((t) => Object.keys(t)))].filter(
    (k) => new Set(targets.map((t) => JSON.stringify(t[k]))).size > 1,
  );
  const out: TheoryCurve[] = [];
  for (const group of byTarget.values()) {
    const target = group[0]!.target;
    const xs = [...new Set(group.map((r) => Number(xKey.get(r))))]
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const seed = Math.min(...group.map((r) => Number(r.cell.seed ?? r.seed ?? 0)));
    const context = { xKey: xKey.name, xs, metric, target, rng: Rng.fromSeed(seed).child('target') };
    const suffix = differing.length
      ? ` (${differing.map((k) => `${k}=${format(target[k] as Scalar)}`).join(', ')})`
      : '';
    const ask = (what: string, f: () => TheoryCurve[], tag: string) => {
      try {
        for (const c of f()) if (c.metric === metric) out.push({ ...c, label: `${c.label}${tag}${suffix}` });
      } catch (error) {
        warn(`theory of ${what} failed: ${(error as Error).message}`);
      }
    };
    if (registry.has('target', target.kind)) {
      const factory = registry.get('target', target.kind);
      if (factory.theory) {
        const { kind: _kind, ...raw } = target;
        const parsed = factory.options.safeParse(raw);
        if (parsed.success) ask(`target ${target.kind}`, () => factory.theory!(parsed.data, context), '');
        else warn(`theory of target ${target.kind} skipped: the rows' options do not parse`);
      }
    } else warn(`target kind '${target.kind}' is not registered here: no theory curve for it`);
    const learners = new Map(group.map((r) => [r.learner.id, r.learner]));
    for (const learner of learners.values()) {
      if (!registry.has('learner', learner.kind)) continue;
      const factory = registry.get('learner', learner.kind);
      if (!factory.theory) continue;
      const { kind: _kind, id: _id, ...raw } = learner;
      const parsed = factory.options.safeParse(raw);
      if (parsed.success)
        ask(`learner ${learner.id}`, () => factory.theory!(parsed.data, context), ` [${learner.id}]`);
      else warn(`theory of learner ${learner.id} skipped: the rows' options do not parse`);
    }
  }
  return out;
}
