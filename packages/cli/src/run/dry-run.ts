/** Text for `regimes run --dry-run`: the cells, and the work their learners estimate. */
import { totalmem } from 'node:os';
import { type Cell, type Plan, type Registry, Rng, rowCount, shardCells } from '@regimes/core';
import type { Shard } from '../results/files.js';
import { counted } from '../words.js';

const gflop = (f: number) =>
  f >= 1e12 ? `${(f / 1e12).toFixed(1)} TFLOP` : `${(f / 1e9).toPrecision(3)} GFLOP`;
const mib = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(b / 2 ** 20)} MiB`;

/** The backend a dry run measured: its float32 GEMM rate turns FLOPs into seconds. */
export interface Calibration {
  backend: string;
  gflops: number;
}

const duration = (s: number) =>
  s < 1
    ? '< 1 s'
    : s < 120
      ? `${s.toPrecision(2)} s`
      : s < 7200
        ? `${(s / 60).toPrecision(2)} min`
        : `${(s / 3600).toPrecision(2)} h`;

export function describePlan(
  plan: Plan,
  registry: Registry,
  shard?: Shard,
  calibration?: Calibration,
  /** The machine's memory in bytes; a learner whose largest fit holds more is warned about. */
  memory = totalmem(),
): string {
  const cells = shardCells(plan.cells, shard);
  return [
    `spec ${plan.spec.name} (hash ${plan.specHash}): ${counted(plan.cells.length, 'cell')}` +
      (shard ? `; shard ${shard.index}/${shard.count} takes ${cells.length}` : '') +
      `, ${counted(rowCount(cells), '(cell, learner) row')}, test n = ${plan.spec.test.n}`,
    '',
    'cells (learners):',
    ...cellLines(cells),
    '',
    'work estimate (leading-order dense algebra, and a cost per tfjs op of each training step; usually low, within 2–4× of the fits on CPU backends, docs/spec.md):',
    ...estimateLines(workPerLearner(plan, registry, cells), calibration, memory),
    '',
  ].join('\n');
}

/** The cells with their learners; of more than 40, the first 30 and the last 5. */
function cellLines(cells: readonly Cell[]): string[] {
  const shown = cells.length > 40 ? [...cells.slice(0, 30), undefined, ...cells.slice(-5)] : cells;
  return shown.map((c) =>
    c ? `  ${c.key}  (${c.learners.map((l) => l.id).join(', ')})` : `  ... ${cells.length - 35} more`,
  );
}

interface LearnerWork {
  rows: number;
  flops: number;
  bytes: number;
  /** Some fit has no estimate (its kind gives none). */
  unknown: boolean;
}

/** Per learner entry of the spec (a learner sweep's ids together): its rows, total FLOPs, peak bytes. */
function workPerLearner(plan: Plan, registry: Registry, cells: readonly Cell[]): Map<string, LearnerWork> {
  const dimOf = targetDims(registry);
  const perLearner = new Map<string, LearnerWork>();
  for (const c of cells) {
    const { d, k } = dimOf(c);
    for (const l of c.learners) {
      const base = l.id.replace(/\(.*\)$/, '');
      const entry = perLearner.get(base) ?? { rows: 0, flops: 0, bytes: 0, unknown: false };
      const factory = registry.get('learner', l.kind);
      const e = factory.estimate?.(l.options, { n: c.n, d, k, testN: plan.spec.test.n });
      entry.rows++;
      if (e) {
        entry.flops += e.flops;
        entry.bytes = Math.max(entry.bytes, e.bytes);
      } else entry.unknown = true;
      perLearner.set(base, entry);
    }
  }
  return perLearner;
}

/**
 * A cell's input and output dimensions: from the target factory's `dims` (nothing is drawn, so a
 * huge d costs nothing here), else from the target built once per distinct options.
 */
function targetDims(registry: Registry): (c: Cell) => { d: number; k: number } {
  const dims = new Map<string, { d: number; k: number }>();
  return (c) => {
    const factory = registry.get('target', c.target.kind);
    const declared = factory.dims?.(c.target.options);
    if (declared) return declared;
    const id = JSON.stringify(c.target.options);
    let dim = dims.get(id);
    if (!dim) {
      const t = factory.create(c.target.options, { rng: Rng.fromSeed(c.seed) });
      dim = { d: t.dim, k: t.outputDim };
      dims.set(id, dim);
    }
    return dim;
  };
}

/** The estimate as an aligned table (with seconds at the backend's GEMM rate), and the total. */
function estimateLines(
  perLearner: ReadonlyMap<string, LearnerWork>,
  calibration: Calibration | undefined,
  memory: number,
): string[] {
  const seconds = (flops: number) => (calibration ? duration(flops / (calibration.gflops * 1e9)) : '');
  const table = [['learner', 'rows', 'total', ...(calibration ? ['≈ time'] : []), 'largest fit holds']];
  let total = 0;
  let unknown = false;
  for (const [id, e] of perLearner) {
    total += e.flops;
    unknown ||= e.unknown;
    table.push([
      id,
      String(e.rows),
      e.unknown ? '(no estimate)' : gflop(e.flops),
      ...(calibration ? [e.unknown ? '-' : seconds(e.flops)] : []),
      e.unknown ? '-' : mib(e.bytes),
    ]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const rate = calibration
    ? `≈ ${seconds(total)} on ${calibration.backend} at its measured ${calibration.gflops.toFixed(1)} GFLOP/s float32 GEMM rate (usually low: solves, elementwise work and transfers run slower)`
    : "seconds ≈ GFLOP ÷ the backend's GFLOP/s (`regimes backends` measures it), a lower bound";
  // the figure is the fit's own arrays; the process (node, tfjs) adds ~0.25 GiB
  const over = [...perLearner].filter(([, e]) => !e.unknown && e.bytes + 2 ** 28 > memory);
  return [
    ...table.map((r) => `  ${r.map((v, i) => v.padEnd(widths[i]!)).join('  ')}`.trimEnd()),
    `  all: ${gflop(total)}${unknown ? ' and the fits without an estimate' : ''}; ${rate}`,
    ...over.map(
      ([id, e]) =>
        `  warning: ${id}'s largest fit holds ${mib(e.bytes)} (+ ~0.25 GiB for the process), more than this machine's ${mib(memory)} of memory: it will fail for want of memory; fit fewer points, or for kernel ridge use ridgeSolver: auto / cg (FALKON, no n×n kernel)`,
    ),
  ];
}
