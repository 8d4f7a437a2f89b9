/**
 * Work estimates for `regimes run --dry-run`: leading-order flop counts of the dense algebra each
 * learner does (a multiply-add counts 2) and the bytes of the largest float32 tensors it holds.
 * They ignore elementwise work and constants of the blocked algorithms: expect the real cost
 * within a small factor, not better.
 */
import type { FitSize, WorkEstimate } from '@regimes/core';

const F32 = 4;

/** How many systems a ridge option solves: a list's length, a grid for gcv/loo (×2 for the inverse diagonal). */
export function ridgeSolves(o: { ridge: number | number[] | 'gcv' | 'loo'; ridgeGrid: number[] }): number {
  if (typeof o.ridge === 'number') return 1;
  if (Array.isArray(o.ridge)) return o.ridge.length;
  return 2 * o.ridgeGrid.length;
}

/** Ridge on p explicit features: primal (p ≤ n, a p×p Gram) or dual (an n×n kernel). */
export function featureRidgeEstimate(
  p: number,
  featureFlops: number,
  solves: number,
  s: FitSize,
): WorkEstimate {
  const { n, k, testN } = s;
  if (p <= n)
    return {
      flops: featureFlops + 2 * n * p * p + solves * (p ** 3 / 3 + 4 * p * p * k) + 2 * testN * p * k,
      bytes: F32 * (n * p + 2 * p * p + testN * p),
    };
  return {
    flops: featureFlops + 2 * n * n * p + solves * (n ** 3 / 3 + 4 * n * n * k) + 2 * testN * n * p,
    bytes: F32 * (n * p + 2 * n * n),
  };
}

/** Kernel ridge with a kernel costing `perEntry` flops per pair (2d for a dot product). */
export function kernelRidgeEstimate(perEntry: number, solves: number, s: FitSize): WorkEstimate {
  const { n, k, testN } = s;
  return {
    flops: n * n * perEntry + solves * (n ** 3 / 3 + 4 * n * n * k) + testN * n * (perEntry + 2 * k),
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
