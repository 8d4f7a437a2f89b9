/**
 * Ridge solves shared by the kernel-side learners. A system is A = M + nλI with M positive
 * semi-definite given by column panels (the kernel matrix K in the dual, ΦᵀΦ in the primal),
 * described by the diagnostics the results row records: train risk, effective degrees of freedom
 * df = tr(M A⁻¹), the relative residual of the solve, and which solver ran. λ may be a number, a
 * list (one row per λ), or chosen in closed form by GCV or LOO over a grid.
 *
 * Two solvers (solvers.ts): a Cholesky per λ, or one eigen-decomposition for every λ; either is
 * refined once. `ridgeSolver: auto` takes the eigen path when it is available and the measured cost rule
 * (`eigenPays` in cost.ts) says one decomposition costs less than the factorizations it replaces.
 * A dual system above the backend's heap limit (n > 16384) takes the host-memory Cholesky of
 * host-direct.ts, or fails with what to change where the backend has none.
 */
import { RegimesError } from '@regimes/core';
import {
  hostEigenLimit,
  hostScalar,
  hostValues,
  symmetricEigenSolver,
  symmetricProduct,
} from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { takesEigen } from '../cost.js';
import { exceedsHeap, fitRidgeHost, hostLapackFor } from './host-direct.js';
import { type RidgeOptions } from './options.js';
import { choleskyInverse, EIGEN_RESOLUTION, EigenRidge, type ShiftedInverse } from './solvers.js';
import { disposeFit, type RidgeFit, type RidgeSystem } from './systems.js';

export { disposeFit, type RidgeFit } from './systems.js';

type Selection = 'gcv' | 'loo' | undefined;

/** The λ to fit — the number, the list, or the grid gcv / loo choose from — and the criterion. */
function lambdasOf(options: RidgeOptions): { select: Selection; lambdas: number[] } {
  const select = typeof options.ridge === 'string' ? options.ridge : undefined;
  const lambdas: number[] = select
    ? options.ridgeGrid
    : Array.isArray(options.ridge)
      ? options.ridge
      : [options.ridge as number];
  return { select, lambdas };
}

/**
 * gcv / loo rank a λ only where float32 resolves its score well enough to choose. On the Cholesky
 * path the shift nλ must be at least 1e-6 of tr(M) (λ at least 1e-6·(m/n)·mean diag M): below it
 * df = n − nλ·tr(A⁻¹) from the float32 factorization loses the digits GCV divides by in (1 − df/n)².
 * Measured against float64 numpy on 20 relu NTK systems (n = 256 … 2048, docs/learners.md), that
 * score was off by at most 0.17% at 1.7e-5 of the trace, 0.3–19% at 1.7e-6 and 11% to 2400-fold at
 * 1.7e-7 (df above n); without a floor GCV picked λ ≤ 1e-7 on all 12 systems at n = 512 and 1024,
 * with test risk 6–25% above float64 GCV's choice. The eigen path (a float64 decomposition of the
 * float32 matrix, df and leverages from its eigenvalues) resolves 10× lower on a primal system (the
 * Gram ΦᵀΦ of features, of rank at most their number, whose float32 entries move its null eigenvalues
 * by ~1e-8 of the trace): the gcv / loo scores of damian's readout were within 6e-4 of float64's down
 * to nλ = 3e-8 of the trace (examples/papers/damian-sample-complexity.yaml, n = 2896; noiseless
 * labels there want λ that small: the 1e-6 floor doubled damian's risk, 0.037 against 0.019), so its
 * floor is 1e-7 of the trace. Not on a dual kernel's: a relu NTK interpolating noiseless labels
 * (df → n) had its float32 score 10× off at 5e-8 of the trace, 14% at 1.8e-7 and 1.4% at 5.4e-7
 * (test/gcv-floor.test.ts). A grid value within 2× of the floor is ranked: a mean diagonal of 1.03
 * must not drop the nominal 1e-6 (the relu NTK with bias of that example lost λ = 1e-6 in 82 of 96
 * rows, its risk 9% above the float64 choice's).
 */
export const SELECTION_RESOLUTION = 1e-6;
/** The eigen path's resolution on a primal system (see SELECTION_RESOLUTION). */
export const EIGEN_SELECTION_RESOLUTION = 1e-7;

/** The smallest λ that gcv / loo may pick for this system on this path (0 for an all-zero M). */
export function selectionFloor(
  system: Pick<RidgeSystem, 'm' | 'n' | 'meanDiagonal' | 'matrix'>,
  eigen = false,
): number {
  const trace = system.m * system.meanDiagonal;
  const resolution = eigen && system.matrix ? EIGEN_SELECTION_RESOLUTION : SELECTION_RESOLUTION;
  return trace > 0 ? (resolution * trace) / system.n : 0;
}

/**
 * Whether nλ lies below the eigen path's resolution (EIGEN_RESOLUTION of tr M): λ = 0, or so small
 * that float32 cannot tell it from 0 on a rank-deficient M.
 */
export const unresolvedShift = (
  system: Pick<RidgeSystem, 'm' | 'n' | 'meanDiagonal' | 'scaleDiagonal'>,
  lambda: number,
) =>
  lambda === 0 ||
  system.n * lambda <= EIGEN_RESOLUTION * system.m * Math.max(system.scaleDiagonal ?? system.meanDiagonal, 0);

/** The grid values gcv / loo rank above a floor: within 2× of it counts. */
const rankable = (lambdas: readonly number[], floor: number) => lambdas.filter((l) => l >= floor / 2);

/** Whether the eigen path serves this system (`ridgeSolver: eigen` where it is missing: an error). */
export function useEigen(options: RidgeOptions, m: number, solves: number): boolean {
  const requested = options.ridgeSolver ?? 'auto';
  if (requested === 'cg')
    throw new RegimesError(
      'ridgeSolver: cg serves the kernel learners (ntk, nngp, kernel, empirical-ntk) only',
      {
        hint: "use ridgeSolver: 'auto', 'eigen' or 'cholesky' here",
      },
    );
  if (requested === 'eigen' && !symmetricEigenSolver(m))
    throw new RegimesError(
      `ridgeSolver: eigen needs a symmetric eigen-decomposition of the ${m}×${m} system: the active backend (tfjs '${tf.getBackend()}') has no eigen kernel, and the host solver takes systems up to ${hostEigenLimit()}×${hostEigenLimit()}`,
      {
        hint: "use ridgeSolver: 'auto' or 'cholesky', or the native backend built on OpenBLAS (apt-get install libopenblas-dev, then npm run build:native), whose LAPACK has the eigen solver",
      },
    );
  return takesEigen(requested, m, solves);
}

/**
 * c = A⁻¹b with one step of iterative refinement, c ← c + A⁻¹(b − Ac), and the relative residual
 * ‖b − Ac‖/‖b‖ after it.
 */
async function refinedSolve(
  system: RidgeSystem,
  inverse: ShiftedInverse,
  product: (c: tf.Tensor2D) => tf.Tensor2D,
): Promise<{ coefficients: tf.Tensor2D; residual: number }> {
  const residualOf = (c: tf.Tensor2D) => {
    const mc = product(c);
    try {
      return tf.tidy(() => tf.sub(system.rhs, tf.add(mc, tf.mul(c, inverse.shift))) as tf.Tensor2D);
    } finally {
      mc.dispose();
    }
  };
  // every intermediate is freed on every path (a kernel that fails mid-way included)
  let first: tf.Tensor2D | undefined;
  let r0: tf.Tensor2D | undefined;
  let correction: tf.Tensor2D | undefined;
  let coefficients: tf.Tensor2D | undefined;
  let r1: tf.Tensor2D | undefined;
  try {
    first = inverse.solve(system.rhs);
    r0 = residualOf(first);
    correction = inverse.solve(r0);
    coefficients = tf.add(first, correction) as tf.Tensor2D;
    tf.dispose([first, correction, r0]);
    r1 = residualOf(coefficients);
    // a pseudo-inverse solves the system on the directions it keeps: its residual is measured there
    const kept = inverse.kept;
    const norm = (r: tf.Tensor2D) => hostScalar(kept ? tf.tidy(() => tf.norm(kept(r))) : tf.norm(r));
    const residual = (await norm(r1)) / Math.max(await norm(system.rhs), Number.MIN_VALUE);
    return { coefficients, residual };
  } catch (error) {
    tf.dispose([first, r0, correction, coefficients].filter((t): t is tf.Tensor2D => t !== undefined));
    throw error;
  } finally {
    r1?.dispose();
  }
}

/**
 * Mean of ((y_i − ŷ_i)/(1 − H_ii))² over samples and outputs: H_ii = φ_iᵀA⁻¹φ_i from the primal's
 * leverage rows, or 1 − shift·(A⁻¹)_ii in the dual; + 1/n with an intercept (H = 11ᵀ/n + H_c).
 */
async function leaveOneOut(
  system: RidgeSystem,
  inverse: ShiftedInverse,
  rows: tf.Tensor2D | undefined,
  prediction: tf.Tensor2D,
): Promise<number> {
  const n = system.n;
  const offset = system.intercept ? 1 / n : 0;
  const h = rows
    ? await inverse.quadraticForms(rows)
    : Float64Array.from(await inverse.inverseDiagonal(), (v) => 1 - inverse.shift * v);
  const residuals = await hostValues(tf.sub(system.labels, prediction));
  const k = system.labels.shape[1];
  let sum = 0;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) sum += (residuals[i * k + c]! / (1 - offset - h[i]!)) ** 2;
  return sum / (n * k);
}

/** The fit for one λ, its diagnostics, and its gcv / loo score when λ is being chosen. */
async function fitLambda(
  system: RidgeSystem,
  inverse: ShiftedInverse,
  product: (c: tf.Tensor2D) => tf.Tensor2D,
  lambda: number,
  select: Selection,
  rows: tf.Tensor2D | undefined,
  withDf: boolean,
): Promise<{ fit: RidgeFit; score: number | undefined }> {
  const { coefficients, residual } = await refinedSolve(system, inverse, product);
  let prediction: tf.Tensor2D | undefined;
  try {
    // the intercept is one more degree of freedom: df = 1 + tr(M_c A⁻¹); left out on request (a
    // Cholesky's diag(A⁻¹) costs as much as the factorization; loo of a primal system takes its
    // leverages without it), never where gcv needs it
    const df = withDf || select === 'gcv' ? (await inverse.df()) + (system.intercept ? 1 : 0) : undefined;
    prediction = system.trainPrediction(coefficients, inverse.shift, inverse.kept);
    const trainRisk = await hostScalar(
      tf.tidy(() => tf.mean(tf.squaredDifference(prediction!, system.labels))),
    );
    const diagnostics: Record<string, number> = {
      'train-risk': trainRisk,
      ...(df !== undefined ? { df } : {}),
      'solve-residual': residual,
      eigen: inverse.eigen ? 1 : 0,
      cg: 0,
      ...(inverse.jitter ? { jitter: inverse.jitter } : {}),
      ...(inverse.truncated ? { truncated: inverse.truncated } : {}),
    };
    let score: number | undefined;
    if (select === 'gcv') score = trainRisk / (1 - df! / system.n) ** 2;
    if (select === 'loo') score = await leaveOneOut(system, inverse, rows, prediction);
    if (score !== undefined) diagnostics[select!] = score;
    prediction.dispose();
    prediction = undefined;
    const readout = system.readout(coefficients);
    return { fit: { lambda, ...readout, diagnostics }, score };
  } catch (error) {
    coefficients.dispose();
    prediction?.dispose();
    throw error;
  }
}

/** Fit for each λ requested (one for a number, gcv or loo; several for a list). */
export async function fitRidge(
  system: RidgeSystem,
  options: RidgeOptions,
  signal: AbortSignal,
  block = 256,
): Promise<RidgeFit[]> {
  const { select, lambdas: requested } = lambdasOf(options);
  if (!system.matrix && exceedsHeap(system.m)) {
    if (options.ridgeSolver === 'cg') useEigen(options, system.m, requested.length); // its error
    const lapack = hostLapackFor(system.m, options.ridgeSolver ?? 'auto', select);
    signal.throwIfAborted();
    return fitRidgeHost(system, requested, lapack, signal, block);
  }
  // gcv / loo: only the λ whose score float32 resolves, lower on the eigen path than on Cholesky's
  // (the path is chosen for the λ the eigen path would rank)
  const choleskyFloor = select ? selectionFloor(system) : 0;
  const eigenFloor = select ? selectionFloor(system, true) : 0;
  // a λ whose shift float32 cannot resolve (λ = 0 above all) is solved as the ridgeless limit, by
  // the pseudo-inverse of the eigen path wherever the backend has it and the solver is not named
  const eigen =
    useEigen(
      options,
      system.m,
      select ? Math.max(1, rankable(requested, eigenFloor).length) : requested.length,
    ) ||
    (!select &&
      (options.ridgeSolver ?? 'auto') === 'auto' &&
      symmetricEigenSolver(system.m) !== undefined &&
      requested.some((lambda) => unresolvedShift(system, lambda)));
  const floor = eigen ? eigenFloor : choleskyFloor;
  const lambdas = select ? rankable(requested, floor) : requested;
  if (lambdas.length === 0)
    throw new RegimesError(
      `ridge: ${select} cannot rank any λ of ridgeGrid (${requested.join(', ')}): all lie below ${(floor / 2).toPrecision(3)}, where float32 resolves neither the degrees of freedom nor the leverages of this system (${((floor * system.n) / (system.m * system.meanDiagonal)).toPrecision(1)} of its trace)`,
      { hint: 'add larger values to ridgeGrid, or give ridge a number or a list (fitted as asked)' },
    );
  const fits: RidgeFit[] = [];
  let best: { score: number; fit: RidgeFit } | undefined;
  let decomposition: EigenRidge | undefined;
  const rows = select === 'loo' ? system.leverageRows?.() : undefined;
  try {
    signal.throwIfAborted();
    if (eigen) decomposition = await EigenRidge.create(system, block);
    const product = (c: tf.Tensor2D) =>
      decomposition ? decomposition.product(c) : symmetricProduct(system.panels, system.m, c, block);
    for (const lambda of lambdas) {
      signal.throwIfAborted();
      const shift = system.n * lambda;
      const served = decomposition?.serves(shift) ?? false;
      // a λ below the Cholesky path's floor is ranked only where the decomposition serves it
      if (select && !served && lambda < choleskyFloor / 2) continue;
      // a fitted λ the decomposition does not resolve whole takes its pseudo-inverse (the ridgeless
      // limit); gcv / loo rank only what it resolves
      const inverse =
        decomposition && (served || !select)
          ? decomposition.shifted(shift)
          : await choleskyInverse(system, shift, block);
      let fitted: Awaited<ReturnType<typeof fitLambda>>;
      try {
        fitted = await fitLambda(system, inverse, product, lambda, select, rows, options.df !== false);
      } finally {
        inverse.dispose();
      }
      const { fit, score } = fitted;
      if (score === undefined) fits.push(fit);
      else if (!best || score < best.score) {
        if (best) disposeFit(best.fit);
        best = { score, fit };
      } else disposeFit(fit);
    }
  } catch (error) {
    for (const fit of fits) disposeFit(fit);
    if (best) disposeFit(best.fit);
    throw error;
  } finally {
    decomposition?.dispose();
    rows?.dispose();
  }
  if (select && !best)
    // every λ left was below the Cholesky path's floor and the decomposition served none of them
    // (an M far from semi-definite: its smallest eigenvalue well below 0)
    throw new RegimesError(
      `ridge: ${select} could rank no λ of ridgeGrid (${requested.join(', ')}): the eigen-decomposition serves none of those below ${(choleskyFloor / 2).toPrecision(3)} (its smallest eigenvalue is negative)`,
      { hint: 'add larger values to ridgeGrid, or use ridgeSolver: cholesky' },
    );
  if (best) {
    best.fit.diagnostics.lambda = best.fit.lambda;
    best.fit.diagnostics['lambda-floor'] = floor;
    fits.push(best.fit);
  }
  return fits;
}
