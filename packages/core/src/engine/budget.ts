/**
 * Memory bounded before work starts: a cell's data (training and test sets) and each fit's largest
 * tensors (its learner's `estimate`) are compared with a budget — free memory by default, or
 * `RunOptions.memory` — and a fit that cannot fit is refused with the numbers and the way out, as an
 * error row, so the other cells still run and a rerun does not repeat a crash.
 */
import { freemem } from 'node:os';
import type { FitSize } from '../contracts/contracts.js';
import { RegimesError } from '../contracts/errors.js';
import type { Registry } from '../registry/registry.js';
import type { Cell, LearnerPlan, Plan } from '../spec/plan.js';

const F32 = 4;
const gib = (bytes: number) => {
  const [unit, scale] = (
    [
      ['GiB', 2 ** 30],
      ['MiB', 2 ** 20],
      ['KiB', 2 ** 10],
    ] as const
  ).find(([, v]) => bytes >= v) ?? ['bytes', 1];
  return `${Number((bytes / scale).toPrecision(3))} ${unit}`;
};

/** A fit (or a cell's data) that needs more memory than the run may use. */
export class MemoryBudgetError extends RegimesError {
  override name = 'MemoryBudgetError';
}

/** The bytes a run may use: the given budget, else the memory free now. */
export function memoryBudget(bytes?: number): number {
  return bytes ?? freemem();
}

/** The sizes a cell's fits see: n, the target's d and k (from its `dims`, without creating it), the test n. */
export function fitSize(registry: Registry, plan: Plan, cell: Cell): FitSize | undefined {
  const dims = registry.get('target', cell.target.kind).dims?.(cell.target.options);
  return dims ? { n: cell.n, d: dims.d, k: dims.k, testN: plan.spec.test.n } : undefined;
}

/** float32 bytes of a cell's training and test sets (inputs and labels). */
export function dataBytes(s: FitSize): number {
  return F32 * (s.n + s.testN) * (s.d + s.k);
}

/** Throws MemoryBudgetError when the cell's data alone exceed the budget. */
export function checkDataBudget(s: FitSize | undefined, budget: number): void {
  if (!s) return;
  const bytes = dataBytes(s);
  if (bytes > budget)
    throw new MemoryBudgetError(
      `the cell's data need ${gib(bytes)} (n = ${s.n} and ${s.testN} test points in d = ${s.d}), more than the ${gib(budget)} this run may use`,
      {
        hint: 'lower n, the test n or d, or raise the budget with --memory (e.g. --memory 16G; RunOptions.memory in code) on a larger machine',
      },
    );
}

/** Throws MemoryBudgetError when a fit's estimate plus the cell's data exceed the budget. */
export function checkFitBudget(
  registry: Registry,
  l: LearnerPlan,
  s: FitSize | undefined,
  budget: number,
): void {
  if (!s) return;
  let estimate: { bytes: number } | undefined;
  try {
    estimate = registry.get('learner', l.kind).estimate?.(l.options, s);
  } catch {
    return; // an estimate that fails is no estimate: the fit is not refused for it
  }
  if (!estimate || !Number.isFinite(estimate.bytes)) return;
  const bytes = estimate.bytes + dataBytes(s);
  if (bytes > budget)
    throw new MemoryBudgetError(
      `learner ${l.id} needs about ${gib(bytes)} at n = ${s.n} (its largest tensors ${gib(estimate.bytes)}, the data ${gib(dataBytes(s))}), more than the ${gib(budget)} this run may use`,
      {
        hint: 'lower n or the learner’s width, or raise the budget with --memory (e.g. --memory 16G; RunOptions.memory in code); `regimes run --dry-run` lists every fit’s memory',
      },
    );
}
