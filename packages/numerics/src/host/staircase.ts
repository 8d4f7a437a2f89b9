/**
 * The kernel staircase as a step function of the sample size n (Ghorbani, Mei, Misiakiewicz &
 * Montanari 2021, Ann. Statist. 49(2); Mei, Misiakiewicz & Montanari 2022, ACHA 59): with
 * d^ℓ ≤ n < d^(ℓ+1) in high dimension, kernel ridge regression learns what its kernel reaches at
 * polynomial order ≤ ℓ, and its risk is the energy it has not reached. Targets and learners give
 * the risk at each level; the steps are drawn here.
 */

/** ℓ(n): the largest ℓ with d^ℓ ≤ n (0 when n < d; every degree at once when d ≤ 1). */
export function staircaseLevel(n: number, d: number): number {
  if (d <= 1) return Number.POSITIVE_INFINITY;
  let level = 0;
  for (let power = d; power <= n; power *= d) level++;
  return level;
}

/**
 * The staircase over [min xs, max xs], `riskAt(ℓ)` the risk at level ℓ: a jump at every n = d^ℓ
 * inside, drawn as two points at that n (the value before and after).
 */
export function staircasePoints(
  riskAt: (level: number) => number,
  d: number,
  xs: readonly number[],
): { x: number; y: number }[] {
  if (!xs.length) return [];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const first = staircaseLevel(lo, d);
  const last = staircaseLevel(hi, d);
  const points = [{ x: lo, y: riskAt(first) }];
  for (let level = first + 1; level <= last && Number.isFinite(level); level++) {
    const jump = d ** level;
    if (jump > lo) points.push({ x: jump, y: riskAt(level - 1) }, { x: jump, y: riskAt(level) });
  }
  points.push({ x: hi, y: riskAt(last) });
  return points;
}
