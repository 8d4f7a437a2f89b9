/**
 * Work estimates for `regimes run --dry-run`: leading-order flop counts of the dense algebra each
 * learner does (a multiply-add counts 2) and the bytes of the largest float32 tensors it holds.
 * They ignore elementwise work and constants of the blocked algorithms: expect the real cost
 * within a small factor, not better.
 */
import type { FitSize, WorkEstimate } from '@regimes/core';

const F32 = 4;

type RidgeChoice = {
  ridge: number | number[] | 'gcv' | 'loo';
  ridgeGrid: number[];
  ridgeSolver?: 'auto' | 'eigen' | 'cholesky';
};

/** How many values of λ a ridge option fits: 1, a list's length, or the gcv/loo grid's. */
export function ridgeSolves(o: RidgeChoice): number {
  if (typeof o.ridge === 'number') return 1;
  return Array.isArray(o.ridge) ? o.ridge.length : o.ridgeGrid.length;
}

/**
 * Flops of the m×m solves: a Cholesky (m³/3) per λ, or — where the eigen path is taken, as on the
 * native backend — one decomposition, costed as the break-even number of Cholesky solves it
 * replaces (see ridge.ts), then O(m²) per λ. gcv/loo add the inverse diagonal (another m³/3 each
 * on the Cholesky path).
 */
export function ridgeSolveFlops(o: RidgeChoice, m: number, k: number): number {
  const count = ridgeSolves(o);
  const perCholesky = (typeof o.ridge === 'string' ? 2 : 1) * (m ** 3 / 3) + 4 * m * m * k;
  const breakEven = Math.max(2, Math.ceil((3 * m) / 4096));
  const eigen = o.ridgeSolver === 'eigen' || (o.ridgeSolver !== 'cholesky' && count >= breakEven);
  return eigen ? (breakEven * m ** 3) / 3 + count * 6 * m * m : count * perCholesky;
}

/** Ridge on p explicit features: primal (p ≤ n, a p×p Gram) or dual (an n×n kernel). */
export function featureRidgeEstimate(
  p: number,
  featureFlops: number,
  o: RidgeChoice,
  s: FitSize,
): WorkEstimate {
  const { n, k, testN } = s;
  if (p <= n)
    return {
      flops: featureFlops + 2 * n * p * p + ridgeSolveFlops(o, p, k) + 2 * testN * p * k,
      bytes: F32 * (n * p + 2 * p * p + testN * p),
    };
  return {
    flops: featureFlops + 2 * n * n * p + ridgeSolveFlops(o, n, k) + 2 * testN * n * p,
    bytes: F32 * (n * p + 2 * n * n + testN * p),
  };
}

/** Kernel ridge with a kernel costing `perEntry` flops per pair (2d for a dot product). */
export function kernelRidgeEstimate(perEntry: number, o: RidgeChoice, s: FitSize): WorkEstimate {
  const { n, k, testN } = s;
  return {
    flops: n * n * perEntry + ridgeSolveFlops(o, n, k) + testN * n * (perEntry + 2 * k),
    bytes: F32 * 2 * n * n,
  };
}

/** Gradient training: forward + backward ≈ 3 × the forward matmuls per step. */
export function trainingEstimate(
  steps: number,
  batch: number,
  forwardFlopsPerPoint: number,
  activationsPerPoint: number,
  s: FitSize,
): WorkEstimate {
  return {
    flops: 3 * steps * batch * forwardFlopsPerPoint + s.testN * forwardFlopsPerPoint,
    bytes: F32 * (s.n * s.d + 3 * batch * activationsPerPoint),
  };
}
