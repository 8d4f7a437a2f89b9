/** Text for `regimes run --dry-run`: the cells, and the work their learners estimate. */
import { totalmem } from 'node:os';
import { type Cell, type Plan, type Registry, Rng, rowCount, shardCells } from '@regimes/core';
import type { Shard } from '../results/files.js';
import { counted } from '../words.js';

const gflop = (f: number) =>
  f >= 1e12 ? `${(f / 1e12).toFixed(1)} TFLOP` : `${(f / 1e9).toPrecision(3)} GFLOP`;
const mib = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(b / 2 ** 20)} MiB`;

/** The machine's memory, or the process's limit where one is set lower (a container's cgroup). */
function machineMemory(): number {
  const limit = typeof process === 'undefined' ? undefined : process.constrainedMemory?.();
  return limit && limit < totalmem() ? limit : totalmem();
}

/** The backend a dry run measured: its float32 GEMM rate turns FLOPs into seconds. */
export interface Calibration {
  backend: string;
  gflops: number;
  /** The most bytes its tensors can hold (Backend.heapBytes), where bounded apart from the machine's memory. */
  heapBytes?: number;
}

const duration = (s: number) =>
  s < 1
    ? '< 1 s'
    : s < 120
      ? `${s < 10 ? s.toPrecision(2) : Math.round(s)} s`
      : s < 7200
        ? `${(s / 60).toPrecision(2)} min`
        : `${(s / 3600).toPrecision(2)} h`;

export function describePlan(
  plan: Plan,
  registry: Registry,
  shard?: Shard,
  calibration?: Calibration,
  /** The machine's memory in bytes (or the process's limit, a cgroup's); a learner whose largest fit holds more is warned about. */
  memory = machineMemory(),
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
    'work estimate (leading-order dense algebra, and a cost per tfjs op of each training step; usually low on CPU backends: within 2–4× for fits of more than a few seconds, up to ~10× for shorter ones, whose elementwise work and fixed costs it leaves out; docs/spec.md):',
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
  /** The most of a fit's bytes held as the backend's tensors. */
  heapBytes: number;
  /** Why fits will be refused as they start, with how many. */
  refused: Map<string, number>;
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
      const entry = perLearner.get(base) ?? {
        rows: 0,
        flops: 0,
        bytes: 0,
        heapBytes: 0,
        refused: new Map<string, number>(),
        unknown: false,
      };
      const factory = registry.get('learner', l.kind);
      const e = factory.estimate?.(l.options, { n: c.n, d, k, testN: plan.spec.test.n });
      entry.rows++;
      if (e) {
        entry.flops += e.flops;
        entry.bytes = Math.max(entry.bytes, e.bytes);
        entry.heapBytes = Math.max(entry.heapBytes, e.heapBytes ?? e.bytes);
        if (e.refused) entry.refused.set(e.refused, (entry.refused.get(e.refused) ?? 0) + 1);
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
  const time = seconds(total);
  const rate = calibration
    ? `${time.startsWith('<') ? time : `≈ ${time}`} on ${calibration.backend} at its measured ${calibration.gflops.toFixed(1)} GFLOP/s float32 GEMM rate (usually low: solves, elementwise work and transfers run slower)`
    : "seconds ≈ GFLOP ÷ the backend's GFLOP/s (`regimes backends` measures it), a lower bound";
  // the figure is the fit's own arrays; the process (node, tfjs) adds ~0.25 GiB
  const over = [...perLearner].filter(([, e]) => !e.unknown && e.bytes + 2 ** 28 > memory);
  // a backend whose tensors live in a bounded heap (wasm, native: 4 GiB) stops a fit that needs more
  const heap = calibration?.heapBytes;
  const overHeap = heap ? [...perLearner].filter(([, e]) => !e.unknown && e.heapBytes > heap) : [];
  return [
    ...table.map((r) => `  ${r.map((v, i) => v.padEnd(widths[i]!)).join('  ')}`.trimEnd()),
    `  all: ${gflop(total)}${unknown ? ' and the fits without an estimate' : ''}; ${rate}`,
    ...[...perLearner].flatMap(([id, e]) =>
      [...e.refused].map(
        ([why, count]) =>
          `  warning: ${id}: ${counted(count, 'fit')} will be refused as ${count > 1 ? 'they start' : 'it starts'}: ${why}`,
      ),
    ),
    ...overHeap.map(
      ([id, e]) =>
        `  warning: ${id}'s largest fit holds ${mib(e.heapBytes)} as tensors, more than the ${mib(heap!)} WebAssembly heap where the ${calibration!.backend} backend keeps every tensor: it will stop with "memory access out of bounds"; fit fewer points, a narrower width or a minibatch (batchSize:), or for kernel ridge use ridgeSolver: auto / cg`,
    ),
    ...over.map(
      ([id, e]) =>
        `  warning: ${id}'s largest fit holds ${mib(e.bytes)} (+ ~0.25 GiB for the process), more than this machine's ${mib(memory)} of memory: it will fail for want of memory; fit fewer points, or for kernel ridge use ridgeSolver: auto / cg (FALKON, no n×n kernel)`,
    ),
  ];
}
