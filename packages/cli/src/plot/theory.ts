/**
 * Theory curves on a figure: each distinct target entry asks its factory, and each learner kind
 * its own, for curves over the panel's x values; only curves for the y metric are kept.
 */
import {
  type KindFactory,
  type Registry,
  type ResultRow,
  Rng,
  type Scalar,
  type TargetStructure,
  type TheoryContext,
  type TheoryCurve,
} from '@regimes/core';
import { formatScalar, type Key, lastSegment, type PlotPoint } from './keys.js';

export interface TheoryPoint extends PlotPoint {
  /** Drawing order along the curve (two points at one x draw a vertical step). */
  order: number;
  /** A reference level (best constant, random subspace) rather than a prediction: drawn grey. */
  reference?: boolean;
  /** The measured series whose learner's theory this is (drawn in that series' colour). */
  tie?: string;
}

/**
 * A curve as drawn: a factory's theory, or one of the reference levels below. `learners`: the
 * learners (as JSON) whose theory gave it (none: the target's); `tie`: the one measured series
 * their rows make, when they make one.
 */
type DrawnCurve = TheoryCurve & { reference?: boolean; learners?: string[]; tie?: string };

/** Below this fraction of the largest value of a curve (or of the figure), a theory value is 0. */
export const ZERO_RELATIVE = 1e-12;
/** Two theory curves whose values agree within this relative difference at every x are one. */
export const SAME_RELATIVE = 1e-9;

export interface TheoryRequest {
  /** The rows of the figure, and the panel each belongs to. */
  rows: readonly ResultRow[];
  panels: readonly string[];
  panelOf: (row: ResultRow) => string;
  xKey: Key;
  metric: string;
  xLog: boolean;
  yLog: boolean;
  registry: Registry;
  warn: (message: string) => void;
  /** Where a curve is left out (0 on a log axis) is noted here. */
  notes: string[];
  /** A learner's name in the legend, from its id (`ntk#0` → `ntk`), for the tag of its curves. */
  learnerName?: (id: string) => string;
  /** The measured series of a row: a learner's curve whose rows make one series is tied to it. */
  seriesOf?: (row: ResultRow) => string;
  /** The largest value the figure draws: a theory value below ZERO_RELATIVE of it is 0. */
  dataMax?: number;
}

/**
 * The drawable points of every panel's theory curves; a curve that reaches 0 on a log axis is
 * noted. A value below ZERO_RELATIVE of the curve's (or the figure's) largest is 0 up to rounding
 * (a fit of full rank at 4e-16) and is not drawn on a log axis either. Curves equal at every x
 * (the target's staircase and a learner's own) are drawn once, named together.
 */
export function theoryPoints(r: TheoryRequest): TheoryPoint[] {
  const points: TheoryPoint[] = [];
  for (const panel of r.panels) {
    const inPanel = r.rows.filter((row) => r.panelOf(row) === panel);
    const curves = mergeCoincident(
      theoryCurves(inPanel, r.xKey, r.metric, r.registry, r.warn, r.learnerName, r.notes, r.seriesOf),
    );
    for (const curve of curves) {
      let zeroFrom: number | undefined;
      const largest = Math.max(
        r.dataMax ?? 0,
        ...curve.points.map((p) => Math.abs(p.y)).filter(Number.isFinite),
      );
      const zero = (y: number) => y <= ZERO_RELATIVE * largest;
      curve.points.forEach((p, order) => {
        const drawable =
          Number.isFinite(p.x) && Number.isFinite(p.y) && (!r.xLog || p.x > 0) && (!r.yLog || !zero(p.y));
        if (drawable)
          points.push({
            panel,
            series: curve.label,
            x: p.x,
            y: p.y,
            // the levels of several targets join into one line, drawn in x order
            order: curve.reference ? p.x : order,
            ...(curve.reference ? { reference: true } : {}),
            ...(curve.tie !== undefined ? { tie: curve.tie } : {}),
          });
        else if (r.yLog && zero(p.y)) zeroFrom ??= p.x;
      });
      if (zeroFrom !== undefined)
        r.notes.push(
          `theory '${curve.label}'${panel ? ` (${panel})` : ''} is 0 from ${r.xKey.name} = ${zeroFrom}: not drawn there (log axis)`,
        );
    }
  }
  return points;
}

/** Whether two curves have the same x's and values within SAME_RELATIVE of each other at each. */
function coincide(a: DrawnCurve, b: DrawnCurve): boolean {
  return (
    a.points.length === b.points.length &&
    a.points.every((p, i) => {
      const q = b.points[i]!;
      return p.x === q.x && Math.abs(p.y - q.y) <= SAME_RELATIVE * Math.max(Math.abs(p.y), Math.abs(q.y));
    })
  );
}

/**
 * Curves that coincide are drawn once (a curve exactly under another is a legend entry never
 * seen), labelled with every name, `A = B`: a learner's own curve first, and in its series'
 * colour when the ones merged are tied to one series only. Reference levels merge with reference
 * levels only: the same level of several targets (normalized risk's 1 at d = 8 and d = 16) is one
 * entry, named without the targets' suffixes.
 */
function mergeCoincident(curves: readonly DrawnCurve[]): DrawnCurve[] {
  const groups: DrawnCurve[][] = [];
  for (const c of curves) {
    const same = groups.find((g) => Boolean(g[0]!.reference) === Boolean(c.reference) && coincide(g[0]!, c));
    if (same) same.push(c);
    else groups.push([c]);
  }
  return groups.map((group) => {
    if (group.length === 1) return group[0]!;
    if (group[0]!.reference) return { ...group[0]!, label: referenceLabel(group.map((c) => c.label)) };
    const ordered = [
      ...group.filter((c) => c.tie !== undefined),
      ...group.filter((c) => c.tie === undefined),
    ];
    const ties = new Set(group.map((c) => c.tie).filter((t) => t !== undefined));
    const merged: DrawnCurve = { ...ordered[0]!, label: mergedLabel(ordered.map((c) => c.label)) };
    // tied to a line only when every learner's curve in it is that line's: one of a learner whose
    // rows make several lines (a λ list) is not, and the merge takes a colour no line has; the
    // target's own curves (no learners) join whichever line the learners' share
    const untiedLearner = group.some((c) => c.learners && c.tie === undefined);
    if (ties.size === 1 && !untiedLearner) merged.tie = [...ties][0]!;
    else delete merged.tie;
    return merged;
  });
}

/** One level of several targets: its name without their suffixes (` (d=8)`), where that is all they differ in. */
function referenceLabel(labels: readonly string[]): string {
  const heads = labels.map((l) => / \([^()]*\)$/.exec(l) && l.replace(/ \([^()]*\)$/, ''));
  return heads.every((h) => h !== null && h === heads[0]) ? heads[0]! : mergedLabel(labels);
}

/**
 * The label of curves drawn as one: `A = B`, a suffix they share (` (d=8)`) said once at the end
 * and one name's tags together (`its kernel’s staircase [ntk, rf] = kernel staircase … (d=8)`).
 */
export function mergedLabel(labels: readonly string[]): string {
  const suffix = / \([^()]*\)$/.exec(labels[0]!)?.[0] ?? '';
  const common = suffix !== '' && labels.every((l) => l.endsWith(suffix));
  const heads: string[] = [];
  const tags = new Map<string, string[]>();
  for (const label of labels) {
    const bare = common ? label.slice(0, -suffix.length) : label;
    const m = /^(.*) \[([^\]]+)\]$/.exec(bare);
    const [head, tag] = m ? [m[1]!, m[2]] : [bare, undefined];
    if (!tags.has(head)) heads.push(head);
    tags.set(head, [...(tags.get(head) ?? []), ...(tag === undefined ? [] : [tag])]);
  }
  const named = heads.map((h) => (tags.get(h)!.length ? `${h} [${tags.get(h)!.join(', ')}]` : h));
  return `${named.join(' = ')}${common ? suffix : ''}`;
}

/**
 * A theory's label with a normalization clause spliced in after a comma (`its kernel’s staircase,
 * / Var f*`, `… ℓ = ⌊log_d n⌋, / Var f*`) reads as the curve divided by it: the `/ X` moves up to
 * the head of the label, before its first comma (`its kernel’s staircase / Var f*, degree 3 …`).
 */
export function theoryLabel(label: string): string {
  const m = /^(.*?),\s*(\/\s*[^,]+?)\s*$/.exec(label);
  if (!m) return label;
  const [, rest, divisor] = m as unknown as [string, string, string];
  const comma = rest.indexOf(', ');
  return comma < 0 ? `${rest} ${divisor}` : `${rest.slice(0, comma)} ${divisor}${rest.slice(comma)}`;
}

/**
 * At most this many seeds' targets are built for a group's theory (their curves averaged); when
 * the first two give the same curves (a structure that does not depend on the seed) one is enough.
 * Each build can cost a second or more (a Monte-Carlo projection at r ≥ 4).
 */
export const THEORY_SEEDS = 4;

/**
 * Theory curves for the rows of one panel, one group of rows per distinct target entry. A target
 * whose structure depends on its seed (`quadratic`'s Ghorbani spectrum) gives each seed its own
 * curve: the one drawn is their mean over the group's seeds (the first THEORY_SEEDS), as the
 * measured line is the mean over them.
 */
function theoryCurves(
  rows: readonly ResultRow[],
  xKey: Key,
  metric: string,
  registry: Registry,
  warnOnce: (message: string) => void,
  name: (id: string) => string = (id) => id,
  notes: string[] = [],
  seriesOf?: (row: ResultRow) => string,
): DrawnCurve[] {
  const warned = new Set<string>();
  const warn = (message: string) => {
    if (!warned.has(message)) warnOnce(message);
    warned.add(message);
  };
  const byTarget = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const id = JSON.stringify(r.target);
    byTarget.set(id, [...(byTarget.get(id) ?? []), r]);
  }
  const differing = differingOptions([...byTarget.values()].map((g) => g[0]!.target));
  const out: DrawnCurve[] = [];
  for (const group of byTarget.values()) {
    const target = group[0]!.target;
    const suffix = differing.length
      ? ` (${differing.map((k) => `${k}=${formatScalar(target[k] as Scalar)}`).join(', ')})`
      : '';
    // a reference level of each target joins the others' along x (r/d against -x d is one line)
    const along = differing.filter((k) => k !== lastSegment(xKey.name));
    const referenceSuffix = along.length
      ? ` (${along.map((k) => `${k}=${formatScalar(target[k] as Scalar)}`).join(', ')})`
      : '';
    const seeds = [...new Set(group.map(seedOf))].sort((a, b) => a - b);
    const curvesOf = (seed: number) => {
      const context = theoryContext(group, xKey, metric, registry, seed);
      const curves: DrawnCurve[] = [];
      /** Ask one kind for its curves, kept for the metric and labelled with `tag` and the suffix. */
      const ask = (
        what: string,
        factory: TheoryKind,
        raw: Record<string, unknown>,
        tag: string,
        learner?: string,
      ) => {
        if (!factory.theory) return;
        const parsed = factory.options.safeParse(raw);
        if (!parsed.success) return warn(`theory of ${what} skipped: the rows' options do not parse`);
        try {
          for (const c of factory.theory(parsed.data, context)) {
            if (c.metric !== metric) continue;
            const label = `${theoryLabel(c.label)}${tag}${suffix}`;
            // the variants of a λ list ask once each: a curve they share (the staircase) is drawn once
            const shared = curves.find((o) => o.label === label);
            if (shared) {
              if (learner !== undefined) shared.learners = [...(shared.learners ?? []), learner];
            } else curves.push({ ...c, label, ...(learner !== undefined ? { learners: [learner] } : {}) });
          }
        } catch (error) {
          warn(`theory of ${what} failed: ${(error as Error).message}`);
        }
      };
      const { kind, ...targetOptions } = target;
      if (registry.has('target', kind))
        ask(`target ${kind}`, registry.get('target', kind), targetOptions, '');
      else warn(`target kind '${kind}' is not registered here: no theory curve for it`);
      for (const learner of new Map(group.map((r) => [JSON.stringify(r.learner), r.learner])).values()) {
        const { kind: learnerKind, id, ...learnerOptions } = learner;
        if (registry.has('learner', learnerKind))
          ask(
            `learner ${id}`,
            registry.get('learner', learnerKind),
            learnerOptions,
            ` [${name(id)}]`,
            JSON.stringify(learner),
          );
      }
      for (const c of referenceCurves(metric, context))
        curves.push({ ...c, label: `${c.label}${referenceSuffix}`, reference: true });
      return curves.map((c) => withTie(c, group, seriesOf));
    };
    const perSeed = [curvesOf(seeds[0]!)];
    if (seeds.length > 1) perSeed.push(curvesOf(seeds[1]!));
    if (perSeed.length > 1 && JSON.stringify(perSeed[0]) !== JSON.stringify(perSeed[1])) {
      perSeed.push(...seeds.slice(2, THEORY_SEEDS).map(curvesOf));
      if (seeds.length > THEORY_SEEDS)
        notes.push(`theory averaged over the targets of the first ${THEORY_SEEDS} of ${seeds.length} seeds`);
    } else perSeed.length = 1;
    out.push(...meanCurves(perSeed));
  }
  return out;
}

/**
 * A learner's curve is tied to the measured series its rows make, when they make one (a λ variant,
 * a learner at one target); the target's curves and reference levels are tied to none.
 */
function withTie(
  curve: DrawnCurve,
  group: readonly ResultRow[],
  seriesOf: ((row: ResultRow) => string) | undefined,
): DrawnCurve {
  if (!seriesOf || !curve.learners || curve.reference) return curve;
  const learners = new Set(curve.learners);
  const series = new Set(group.filter((r) => learners.has(JSON.stringify(r.learner))).map(seriesOf));
  return series.size === 1 ? { ...curve, tie: [...series][0]! } : curve;
}

const seedOf = (r: ResultRow) => Number(r.cell.seed ?? r.seed ?? 0);

/**
 * The pointwise mean of each curve over the seeds that drew it (the same label with the same x's;
 * a curve whose x's differ between seeds is the first seed's).
 */
function meanCurves(perSeed: readonly DrawnCurve[][]): DrawnCurve[] {
  const [first = [], ...rest] = perSeed;
  return first.map((curve) => {
    const same = rest
      .map((curves) => curves.find((c) => c.label === curve.label))
      .filter(
        (c): c is DrawnCurve =>
          c !== undefined &&
          c.points.length === curve.points.length &&
          c.points.every((p, i) => p.x === curve.points[i]!.x),
      );
    if (!same.length) return curve;
    const all = [curve, ...same];
    return {
      ...curve,
      points: curve.points.map((p, i) => ({
        x: p.x,
        y: all.reduce((sum, c) => sum + c.points[i]!.y, 0) / all.length,
      })),
    };
  });
}

/**
 * Reference levels a reader needs to judge a curve, across the panel's x range, from the target's
 * exact structure: the best constant predictor's risk (Var f*; 1 for normalized-risk), which a
 * curve above it does worse than; and for `alignment` the r/d of a random first layer.
 */
function referenceCurves(metric: string, context: TheoryContext): TheoryCurve[] {
  const { xs } = context;
  if (!xs.length || !context.targetStructure) return [];
  let built: { dim: number; structure: TargetStructure };
  try {
    built = context.targetStructure();
  } catch {
    return [];
  }
  const level = (label: string, y: number): TheoryCurve[] =>
    Number.isFinite(y) && y > 0
      ? [{ label, metric, points: [...new Set([xs[0]!, xs.at(-1)!])].map((x) => ({ x, y })) }]
      : [];
  const { hermiteEnergy, hermiteTail, subspaceRank } = built.structure;
  if (metric === 'risk' || metric === 'excess-risk') {
    if (!hermiteEnergy) return [];
    const variance = hermiteEnergy.slice(1).reduce((a, b) => a + b, 0) + (hermiteTail ?? 0);
    return level('best constant (Var f*)', variance);
  }
  if (metric === 'normalized-risk') return level('best constant (Var f*)', 1);
  if (metric === 'alignment' && subspaceRank !== undefined)
    return level('random first layer (r/d)', subspaceRank / built.dim);
  return [];
}

/** A target or learner factory, as far as its theory goes. */
type TheoryKind = Pick<KindFactory, 'options'> & {
  theory?(options: unknown, context: TheoryContext): TheoryCurve[];
};

/**
 * What a factory's theory is asked with: the group's x values, the metric, the target entry, the
 * RNG of one seed's target, and that target, built once on demand (for theories that weigh its
 * structure).
 */
function theoryContext(
  group: readonly ResultRow[],
  xKey: Key,
  metric: string,
  registry: Registry,
  seed: number,
): TheoryContext {
  const xs = [...new Set(group.map((r) => Number(xKey.get(r))))]
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const target = group[0]!.target;
  const rng = Rng.fromSeed(seed).child('target');
  const { kind, ...options } = target;
  if (!registry.has('target', kind)) return { xKey: xKey.name, xs, metric, target, rng };
  const factory = registry.get('target', kind);
  let built: Built | undefined;
  const targetStructure = () => {
    if (!built) {
      const cache = builtTargets.get(factory) ?? new Map<string, Built>();
      builtTargets.set(factory, cache);
      const key = JSON.stringify([options, seed]);
      built = cache.get(key);
      if (!built) {
        const made = factory.create(factory.options.parse(options), { rng });
        built = { dim: made.dim, structure: made.structure };
        cache.set(key, built);
        // the oldest out past 64 (a dashboard asks again on every refresh, and once per n of curves)
        if (cache.size > 64) cache.delete(cache.keys().next().value!);
      }
    }
    return built;
  };
  return { xKey: xKey.name, xs, metric, target, rng, targetStructure };
}

type Built = { dim: number; structure: TargetStructure };

/**
 * Targets built for theory, by factory and (options, seed): a target is a pure function of them
 * and owns no tensor, and one build can take a second (a Monte-Carlo projection at r ≥ 4).
 */
const builtTargets = new WeakMap<object, Map<string, Built>>();

/** Options that differ between the targets of one panel: they name the targets' curves apart. */
function differingOptions(targets: readonly Record<string, unknown>[]): string[] {
  return [...new Set(targets.flatMap((t) => Object.keys(t)))].filter(
    (k) => new Set(targets.map((t) => JSON.stringify(t[k]))).size > 1,
  );
}
