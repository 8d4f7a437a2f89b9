/**
 * The cost model: what the ridge solvers cost (and so which one `ridgeSolver: auto` takes), and the
 * work estimates of `regimes run --dry-run` — leading-order flop counts of the dense algebra each
 * learner does (a multiply-add counts 2) and the bytes of the largest float32 tensors it holds.
 * The estimates ignore elementwise work and constants of the blocked algorithms, except the fixed
 * cost of each tfjs op in gradient training (OP_FLOPS), which dominates a small net's steps: expect
 * the real cost within 2–3×, not better.
 */
import { type FitSize, TEST_CHUNK, type WorkEstimate } from '@regimes/core';
import { type EigenSolverKind, symmetricEigenSolver } from '@regimes/numerics';
import { exceedsHeap, hostDirectProblem } from './readout/host-direct.js';
import { SPECTRUM_COST, spectrumPays } from './readout/iterative.js';
import { FALKON_ZERO, includesZero, type RidgeOptions } from './readout/options.js';
import { hostPanelCacheFloats } from './readout/systems.js';

const F32 = 4;

/**
 * Measured cost rule (native backend, 2 cores, OpenBLAS 0.3.21, NTK relu kernel d = 64, an ntk fit
 * over a list of 1 and of 4 λ, wall time with the kernel build, 2026-12-04 20:00 UTC, two runs,
 * nothing else running). A Cholesky solve per λ (the kernel rebuilt by panels and assembled in the
 * heap, spotrf in place, strsm) against one float64 dsyevd (plus assembling M) and O(m²) per λ:
 *
 *   m      Cholesky: 1 λ, each further λ    eigen, 1–4 λ    break-even
 *   1024   0.05 s, 0.027 s                  0.20 s          ~7
 *   2048   0.15–0.24 s, 0.08–0.13 s         1.42–1.50 s     ~11–15
 *   4096   0.85–0.97 s, 0.51–0.54 s         8.1–8.2 s       ~15
 *   8192   4.1–5.0 s, 2.9–4.0 s             51–61 s         ~15–18
 *
 * dsyevd's tridiagonalization is half matrix–vector products (memory-bound), so it grows faster
 * than the Cholesky path's m³. Hence max(2, ⌈3.1·log₂m − 23⌉) values of λ (least squares on log₂m
 * of the four): 5 at 512, 8 at 1024, 12 at 2048, 15 at 4096, 18 at 8192. The rule before,
 * max(2, ⌈1.25·log₂m − 7.5⌉) (5 / 7 / 8 / 9), was measured the same morning, before the ReLU dual
 * moved into the addon and the dense Cholesky's matrix was assembled in the heap (both cut the
 * Cholesky path's per-λ cost, not the decomposition's): with it, 8 λ at 4096 took the eigen path,
 * 7.9 s in the bench, where a Cholesky per λ took 4.1 s. (The rule of 2026-11, max(2, ⌈3m/4096⌉),
 * predates the LAPACK kernels.)
 *
 * Without the kernel (wasm, cpu, webgpu) the decomposition runs on the host, since 2026-12-05 in the
 * WebAssembly build of the compiled solver (below), else in float64 JavaScript (numerics'
 * symmetricEigenTridiagonal), against a Cholesky per λ on the backend. JavaScript, measured on `wasm`
 * (ntk relu, fitRidge with the kernel build): one λ fitted through the eigen path against Cholesky
 * 0.41 / 0.055 s at m = 512, 4.0 / 0.15 s at 1024, 35.7 / 0.68 s at 2048 — about m/40 solves, so the
 * host's break-even is max(2, ⌈m/40⌉). Compiled (the native addon without OpenBLAS, eigen-lite.c:
 * divide and conquer since 2026-12-05), against its own blocked Cholesky, the same fits over 1 and 4 λ
 * (2026-12-05, nothing else running): the eigen path took 0.06 / 0.26–0.28 / 1.37–1.45 / 10.7 s at
 * m = 512 / 1024 / 2048 / 4096 whatever the λ count (at 8192 the decomposition alone 94 s), each
 * further λ by Cholesky 0.014 / 0.029–0.038 / 0.11–0.15 / 0.59 / 3.6 s, so a decomposition is worth
 * ~4.4 / 7–9 / 10–12 / 18 / 27 Cholesky solves: max(2, ⌈5.5·log₂m − 47⌉) (least squares on log₂m of
 * the five), 3 / 8 / 14 / 19 / 25. (Before, with Householder + QL over the whole matrix, 0.14 /
 * 0.81 / 9.6 s at 512 / 1024 / 2048 and the rule max(2, ⌈m/100⌉).)
 *
 * The WebAssembly build of the compiled solver (numerics' host/eigen-wasm.ts, one thread), which
 * serves `wasm`, `cpu` and `webgpu` since 2026-12-05, against `wasm`'s Cholesky, the same fits (ntk
 * relu, d = 64): the eigen path took 0.11 / 0.62–0.64 / 4.3–4.4 / 36–40 s at m = 512 / 1024 / 2048 /
 * 4096, each further λ by Cholesky 0.045 / 0.150 / 0.568 / 3.49 s: worth ~2.5 / 4.2 / 7.7 / 11
 * solves, so max(2, ⌈2.9·log₂m − 24.1⌉): 2 / 5 / 8 / 11 (the JavaScript solver's ⌈m/40⌉ was 13 /
 * 26 / 52 / 103).
 */
export function eigenBreakEven(m: number, solver: EigenSolverKind): number {
  const rule = {
    host: m / 40,
    webassembly: 2.9 * Math.log2(m) - 24.1,
    compiled: 5.5 * Math.log2(m) - 47,
    kernel: 3.1 * Math.log2(m) - 23,
  }[solver];
  return Math.max(2, Math.ceil(rule));
}

/**
 * Whether one eigen-decomposition serving `solves` values of λ beats a Cholesky per λ, with the
 * eigen solver this backend has for m (none: never).
 */
export function eigenPays(
  m: number,
  solves: number,
  solver: EigenSolverKind | undefined = symmetricEigenSolver(m),
): boolean {
  return solver !== undefined && solves >= eigenBreakEven(m, solver);
}

/** Whether `ridgeSolver` (auto when absent) takes the eigen path for `solves` values of λ. */
export function takesEigen(
  requested: RidgeOptions['ridgeSolver'],
  m: number,
  solves: number,
  solver: EigenSolverKind | undefined = symmetricEigenSolver(m),
): boolean {
  return requested === 'eigen' || ((requested ?? 'auto') === 'auto' && eigenPays(m, solves, solver));
}

/**
 * Whether a ridge option's fit takes the eigen path: by the cost rule, or (auto) for a λ = 0 in what
 * it fits, solved as the ridgeless limit by the decomposition's pseudo-inverse wherever the backend
 * has one (readout/ridge.ts; a λ > 0 too small for float32 to resolve does so as well, which only
 * the fit, knowing tr M, can tell).
 */
export function ridgeTakesEigen(
  o: RidgeOptions,
  m: number,
  solver: EigenSolverKind | undefined = symmetricEigenSolver(m),
): boolean {
  return (
    takesEigen(o.ridgeSolver, m, ridgeSolves(o), solver) ||
    ((o.ridgeSolver ?? 'auto') === 'auto' && solver !== undefined && includesZero(o))
  );
}

/**
 * How many values of λ a ridge option fits: 1, a list's length, or the gcv/loo grid's. The estimates
 * count the whole grid; a direct fit ranks only the grid's λ above the float32 floor (readout/ridge.ts,
 * `selectionFloor`: 6–8 of the default 10 for the kernels of docs/learners.md), which the dry run
 * cannot know before the kernel exists. Near the break-even the estimate may therefore cost the
 * other path than the fit takes: the two costs differ by less than 2× there.
 */
export function ridgeSolves(o: RidgeOptions): number {
  if (typeof o.ridge === 'number') return 1;
  return Array.isArray(o.ridge) ? o.ridge.length : o.ridgeGrid.length;
}

/**
 * Flops of the m×m solves: a Cholesky (m³/3) per λ, or — where the eigen path is taken — one
 * decomposition, costed as the break-even number of Cholesky solves it replaces on the solver that
 * runs it (the active backend's: LAPACK's kernel, the host's compiled solver (~8 Cholesky solves at
 * m = 1024, 19 at 4096), its WebAssembly build (5 at 1024, 11 at 4096) or its JavaScript one at
 * ~m/40), then O(m²) per λ. df (unless `df: false`) and gcv/loo add the inverse diagonal (another
 * m³/3 each on the Cholesky path; it had been costed for gcv/loo alone, half a fixed λ's measured
 * cost), except where a dual system is past the heap limit (m > 16384): its host-memory Cholesky
 * records no df. A primal system (`system: 'primal'`, the p×p Gram matrix of p ≤ n features) is
 * solved on the backend whatever its size, and records df: it had been costed as the dual's, low by
 * that m³/3 for p > 16384. `regimes run --dry-run` activates the spec's backend before it asks.
 */
export function ridgeSolveFlops(
  o: RidgeOptions,
  m: number,
  k: number,
  solver: EigenSolverKind | undefined = symmetricEigenSolver(m),
  system: 'dual' | 'primal' = 'dual',
): number {
  const count = ridgeSolves(o);
  if (ridgeTakesEigen(o, m, solver))
    return (eigenBreakEven(m, solver ?? 'kernel') * m ** 3) / 3 + count * 6 * m * m;
  const hostMemory = system === 'dual' && exceedsHeap(m);
  const inverseDiagonal = typeof o.ridge === 'string' || (o.df !== false && !hostMemory);
  const perCholesky = (inverseDiagonal ? 2 : 1) * (m ** 3 / 3) + 4 * m * m * k;
  return count * perCholesky;
}

/**
 * Bytes the host eigen solver holds beyond the tensors while it decomposes an m×m matrix, all of
 * which may be alive at once before the collector runs (numerics' `symmetricEigenTensor` on the host
 * path). In JavaScript: the float32 data read back (4 m²), the float64 working copy, Qᵀ and the
 * sorted eigenvectors (8 m² each), and the float32 vectors handed to the new tensor (4 m²): 32 m².
 * Compiled: the data read back, the working copy and the eigenvector array the addon works in, plus
 * the divide and conquer's scratch (at most 16 m²: the kept rows and the rank-one problem's vectors
 * of the last merge, freed before the float32 vectors exist): 36 m². Its WebAssembly build: the
 * data read back, the working copy and the vectors in JavaScript, and the instance's memory (the
 * matrix, the vectors and the scratch: 32 m²) until the collector takes it, with the float32
 * vectors beside it: 56 m².
 */
export const hostEigenBytes = (m: number, solver = symmetricEigenSolver(m)): number =>
  (solver === 'compiled' ? 36 : solver === 'webassembly' ? 56 : 32) * m * m;

/**
 * Whether an m×m decomposition on the active backend runs on the host (compiled, WebAssembly or
 * JavaScript) rather than in its kernel.
 */
export function decomposesOnHost(m: number): boolean {
  const solver = symmetricEigenSolver(m);
  return solver !== undefined && solver !== 'kernel';
}

/**
 * Host eigen bytes of a ridge fit on an m×m system: 0 unless the eigen path runs on the host; a
 * system built from panels (`panels`: the dual kernel, not the primal Gram matrix) is also assembled
 * into a float32 host array first (4 m²).
 */
function ridgeHostBytes(o: RidgeOptions, m: number, panels: boolean): number {
  if (!decomposesOnHost(m) || !ridgeTakesEigen(o, m)) return 0;
  return hostEigenBytes(m) + (panels ? F32 * m * m : 0);
}

/**
 * The floats a direct solve on an n×n kernel holds at its peak: the factor (n², the dense Cholesky's
 * matrix or the panel factor's lower triangle with its diagonal blocks' inverses), the kernel's
 * panels kept for the fit's later passes (panelCache), and two panels being built. Measured
 * (2026-12-07, relu NTK, λ fixed, test n = 256): peak RSS less the process's 0.11 GiB, `native` on
 * OpenBLAS 0.45 GiB at n = 8192 and 1.15 GiB at 16 384, where this gives 0.39 and 1.03. Until then
 * it counted 2n², 1.7× the 16 384 case.
 */
const directFloats = (n: number): number => n * n + hostPanelCacheFloats(n) + 2 * 256 * n;

/** Ridge on p explicit features: primal (p ≤ n, a p×p Gram) or dual (an n×n kernel). */
export function featureRidgeEstimate(
  p: number,
  featureFlops: number,
  o: RidgeOptions,
  s: FitSize,
): WorkEstimate {
  const { n, k, testN } = s;
  // featurizing holds three n×p arrays at once (the pre-activation, σ of it and the features)
  const featurizing = 3 * n * p;
  if (p <= n)
    return {
      flops: featureFlops + 2 * n * p * p + ridgeSolveFlops(o, p, k, undefined, 'primal') + 2 * testN * p * k,
      bytes: F32 * (Math.max(featurizing, n * p + 2 * p * p) + testN * p) + ridgeHostBytes(o, p, false),
    };
  return {
    flops: featureFlops + 2 * n * n * p + ridgeSolveFlops(o, n, k) + 2 * testN * n * p,
    // Φ, the rows Φ[s:] a panel multiplies (a copy, up to n×p), and what kernel ridge holds
    bytes:
      F32 * (Math.max(featurizing, 2 * n * p + directFloats(n)) + testN * p) + ridgeHostBytes(o, n, true),
  };
}

/**
 * Above this many training points `ridgeSolver: auto` takes the iterative path (FALKON,
 * readout/iterative.ts) for kernel ridge: there a direct solve holds n×n float32 matrices of ≥ 1 GiB
 * (two for the eigen path) and its O(n³) takes minutes on 2 cores (≈ 50 s at 8192, ×8 per doubling),
 * while an iteration of FALKON costs n·m kernel entries.
 */
export const DIRECT_KERNEL_RIDGE_MAX = 16384;

/** Whether kernel ridge on n points takes ridgeSolver cg (asked, or auto above DIRECT_KERNEL_RIDGE_MAX). */
export function takesCg(requested: RidgeOptions['ridgeSolver'], n: number): boolean {
  return requested === 'cg' || ((requested ?? 'auto') === 'auto' && n > DIRECT_KERNEL_RIDGE_MAX);
}

/** FALKON's centres m: the option, else min(n, max(512, ⌈4√n⌉), 2048) (m ~ √n keeps the rates, Rudi et al. 2017). */
export function centresOf(n: number, centres?: number): number {
  return Math.min(n, centres ?? Math.min(2048, Math.max(512, Math.ceil(4 * Math.sqrt(n)))));
}

/** The points FALKON's gcv / loo hold-out fits on (the other fifth scores it). */
export const holdoutFitted = (n: number): number => n - Math.ceil(n / 5);

/** Assumed CG iterations per λ in the estimates (measured: 10–60 with FALKON's preconditioner at tolerance 1e-4). */
const CG_ITERATIONS = 40;

/**
 * Flops of FALKON's preconditioners for one problem of `solves` values of λ on m centres: one
 * eigen-decomposition of K_mm where the backend has LAPACK's (costed as the Cholesky solves it
 * replaces) or where the host's pays (`spectrumPays`, at SPECTRUM_COST preconditioners), else a
 * float64 host Cholesky preconditioner per λ (two factors, ~2m³/3).
 */
function falkonPreconditionerFlops(m: number, solves: number, solver: EigenSolverKind | undefined): number {
  const preconditioner = (2 * m ** 3) / 3;
  if (!spectrumPays(solver, solves)) return solves * preconditioner;
  return solver === 'kernel'
    ? (eigenBreakEven(m, 'kernel') * m ** 3) / 3
    : SPECTRUM_COST[solver!] * preconditioner;
}

/**
 * FALKON's work: the preconditioners (above), per iteration the products with K_nm (4·n·m·k) and —
 * where K_nm is not cached (n·m·4 bytes > 1 GiB) — its n·m entries again; gcv/loo: a hold-out fit
 * per grid λ on 4/5 of the points, then the refit of the chosen λ on all of them, which takes the
 * hold-out's decomposition of K_mm where there is one and both use the same centres (m ≤ 4n/5, as
 * `auto`'s FALKON always has: m ≤ 2048, n > 16384) and a Cholesky preconditioner otherwise. Bytes:
 * x, the cache or one block of K_nm (2²² entries, ×3 for temporaries), 3m² float64, and the host
 * decomposition's float64 working copy, Qᵀ and vectors (3m² more) where it runs.
 */
function falkonEstimate(perEntry: number, o: RidgeOptions, s: FitSize): WorkEstimate {
  const { n, k, d, testN } = s;
  const m = centresOf(n, o.centres);
  const cached = n * m * 4 <= 2 ** 30;
  const solver = symmetricEigenSolver(m);
  const select = typeof o.ridge === 'string';
  const count = ridgeSolves(o);
  const solves = count + (select ? 1 : 0);
  const decomposes = spectrumPays(solver, count);
  const preconditioners =
    falkonPreconditionerFlops(m, count, solver) +
    (select && (!decomposes || m > holdoutFitted(n)) ? falkonPreconditionerFlops(m, 1, solver) : 0);
  const iteration = 4 * n * m * k + (cached ? 0 : n * m * perEntry);
  const hostSpectrum = decomposes && solver !== 'kernel';
  return {
    flops:
      n * m * perEntry +
      preconditioners +
      solves * CG_ITERATIONS * iteration +
      testN * m * (perEntry + 2 * k),
    bytes: F32 * (n * d + (cached ? n * m : 3 * 4194304)) + 8 * (hostSpectrum ? 6 : 3) * m * m,
  };
}

/**
 * Float32 temporaries alive per kernel entry while a kernel panel is evaluated (the kernel's
 * intermediates inside one tidy, and the heap's growth steps and fragmentation it keeps): measured
 * 20 and 23 panel-sized arrays of peak RSS beyond the kernel and the process, for the relu NTK
 * (L = 1, d = 64) at n = 20 000 and 40 000 (bench/ridge-memory.mjs --direct).
 */
const KERNEL_TEMPORARIES = 24;

/**
 * Bytes of the host-memory direct solve (readout/host-direct.ts) beyond the process itself (node and
 * tfjs, ~0.25 GiB): the n² kernel in one host array, the heap's working set — a kernel panel
 * (n×256) or a prediction block (1024×2048) with their temporaries — and the data (n×d, a test chunk
 * of up to 8192 rows).
 */
export function hostDirectBytes(s: FitSize): number {
  const { n, d, k, testN } = s;
  const working = KERNEL_TEMPORARIES * Math.max(n * 256, 1024 * 2048);
  return F32 * (n * n + working + (n + Math.min(testN, 8192)) * (d + 2 * k));
}

/**
 * Kernel ridge with a kernel costing `perEntry` flops per pair (2d for a dot product), and holding
 * `perPoint` floats per training point while its panels are built (`KernelFunction.panels`: the deep
 * kernels' Mehler coefficients off the sphere, `deepKernelPointFloats`).
 */
export function kernelRidgeEstimate(
  perEntry: number,
  o: RidgeOptions,
  s: FitSize,
  perPoint = 0,
): WorkEstimate {
  const { n, k, testN } = s;
  if (takesCg(o.ridgeSolver, n)) {
    // FALKON needs λ > 0 (its preconditioner): λ = 0 under auto above the direct limit is refused as the fit starts
    const estimate = falkonEstimate(perEntry, o, s);
    return includesZero(o)
      ? { ...estimate, refused: `${FALKON_ZERO.message}: ${FALKON_ZERO.hint}` }
      : estimate;
  }
  // above the heap limit: the kernel assembled again and its product twice per λ (the refinement),
  // the kernel in host memory, or refused where that cannot be (the fit says so as it starts)
  if (exceedsHeap(n)) {
    const problem = hostDirectProblem(
      n,
      o.ridgeSolver ?? 'auto',
      typeof o.ridge === 'string' ? o.ridge : undefined,
    );
    return {
      flops:
        ridgeSolves(o) * (3 * n * n * perEntry + ridgeSolveFlops({ ...o, ridge: 1 }, n, k)) +
        testN * n * (perEntry + 2 * k),
      bytes: hostDirectBytes(s),
      heapBytes: hostDirectBytes(s) - F32 * n * n,
      ...(problem ? { refused: `${problem.message}: ${problem.hint}` } : {}),
    };
  }
  return {
    flops: n * n * perEntry + ridgeSolveFlops(o, n, k) + testN * n * (perEntry + 2 * k),
    // the factor, the kernel's panels kept and being built, and what the kernel holds per point for
    // its panels; the predictions come after, a block of test rows (TEST_CHUNK at a time) × 2048 training
    // points and its elementwise temporaries at once (measured 2026-12-07: at n = 8192 a test set
    // of 8192 points raised the peak RSS by 4 MiB over one of 256)
    bytes:
      F32 * (Math.max(directFloats(n), 4 * Math.min(testN, TEST_CHUNK) * 2048) + n * perPoint) +
      ridgeHostBytes(o, n, true),
  };
}

/**
 * What one tfjs op costs beyond its arithmetic, in flop-equivalents at the GEMM rate the dry run
 * divides by: the dispatch, allocation and bookkeeping of a kernel call, ~10 µs on the native backend
 * (2 cores, ~20 GFLOP/s float32 GEMM; measured 2026-12-04: 4–8 µs for a bare 100×48 multiply or add in a
 * loop, 8–16 µs per op of a training step of a small net, where the matmuls are a few µs). A step of
 * a small net is a few dozen such ops whatever its flops (nn, d = 40, N = 48, batch 100: 1.2 MFLOP,
 * 29 ops, ~0.4 ms), so its cost is the ops', not the flops'. A backend with a much higher GEMM rate
 * and a similar per-op cost (webgpu) is underestimated by the ratio.
 */
export const OP_FLOPS = 2e5;

/**
 * tfjs ops of one training step of `nn` (counted with tf.profile, the difference of 200 and 100
 * steps, d = 40, N = 48, batch 100 of 1000): forward, the hand-written gradients and the update. A
 * plain step (gd, sgd; no weight decay) folds its rates into the loss's residual (`plainStep`): gd 17
 * (20 with biases), sgd 19 with its batch gather, taken as 21 (the gather varied by 4 before); it took
 * 21 and 23 (25 with biases) as gradients and then updates, before 2026-12-08. Adam 61 (its moments
 * and bias corrections, ~9 more ops per parameter tensor; counted 59 on 2026-12-08).
 */
export const TWO_LAYER_OPS = { gd: 17, sgd: 21, adam: 61 } as const;

/**
 * Ops (equivalent) of drawing one fresh batch from the target in `samples: online` (a target's
 * sampler: normal draws, its features, the labels): ~0.3–0.9 ms a step measured on the mixture target
 * (d = 40) against the same run on the training set.
 */
export const ONLINE_DRAW_OPS = 40;

/**
 * tfjs ops of one step of `deep` (tf.profile over 60 steps, width 16, cpu backend, 2026-12-04):
 * joint 53·L + 4 with Adam (110, 163, 216 at L = 2, 3, 4) and 29·L + 4 with GD or SGD (62, 91);
 * layerwise, averaged over its phases (each trains one layer and the readouts), 70 and 83 with
 * Adam at L = 2 and 3, 40 and 47 with (S)GD, taken on linearly in L. In allen-zhu-li's run
 * (L = 2, width 48, 3000 steps) joint fits took 1.53× layerwise's time, against 110/70 = 1.57.
 */
export function deepStepOps(layers: number, training: 'joint' | 'layerwise', optimizer: string): number {
  const adam = optimizer === 'adam';
  if (training === 'joint') return (adam ? 53 : 29) * layers + 4;
  return adam ? 70 + 13 * (layers - 2) : 40 + 7 * (layers - 2);
}

/** Ops of a step of a net for which the caller gives no count (`deep`'s joint Adam at L = 2: 110). */
export const DEFAULT_STEP_OPS = deepStepOps(2, 'joint', 'adam');

/** The test points a learning-curve record evaluates (the monitor's, docs/learners.md). */
const MONITOR_TEST_POINTS = 2048;

/** Arrays of batch × width a gradient step holds at once (trainingEstimate). */
const TRAINING_COPIES = 7;

/** What a training run does besides its steps' matmuls (all optional). */
export interface TrainingOverhead {
  /** tfjs ops per step (default DEFAULT_STEP_OPS). */
  readonly opsPerStep?: number;
  /** Learning-curve records: each a forward pass over the n training and ≤ 2048 test points. */
  readonly records?: number;
}

/**
 * Gradient training: forward + backward ≈ 3 × the forward matmuls per step on the batch, plus every
 * step's ops at OP_FLOPS each (for a small net the larger part), plus the records of the learning
 * curve (a forward over the training and test sets each) and the final prediction on the test set.
 */
export function trainingEstimate(
  steps: number,
  batch: number,
  forwardFlopsPerPoint: number,
  activationsPerPoint: number,
  s: FitSize,
  overhead: TrainingOverhead = {},
): WorkEstimate {
  const ops = overhead.opsPerStep ?? DEFAULT_STEP_OPS;
  const records = overhead.records ?? 0;
  return {
    flops:
      steps * (3 * batch * forwardFlopsPerPoint + ops * OP_FLOPS) +
      records * (s.n + Math.min(s.testN, MONITOR_TEST_POINTS)) * forwardFlopsPerPoint +
      s.testN * forwardFlopsPerPoint,
    // a gradient step holds about seven batch × width arrays at once (the pre-activation with and
    // without its bias, σ of it, the slope sent back and its scaling, σ′, dz: measured 3.06 GiB of
    // RSS at n = 32768, width 4096, full batch), a learning-curve record three over all n
    bytes:
      F32 *
      (s.n * s.d +
        Math.max(TRAINING_COPIES * batch * activationsPerPoint, records ? 3 * s.n * activationsPerPoint : 0)),
  };
}

/**
 * A first layer learnt by one full-batch gradient step (damian, one-step), then ridge on its
 * `width` features: the step's forward and backward pass on its n₁ samples, the top singular
 * vectors recorded (N·d² at most), and the readout on n₂ samples (`split`: reuse, or n₁ = split·n).
 */
export function twoStageEstimate(
  o: RidgeOptions & { width: number; split: 'reuse' | number },
  s: FitSize,
): WorkEstimate {
  const n1 = o.split === 'reuse' ? s.n : Math.max(1, Math.round(s.n * o.split));
  const n2 = o.split === 'reuse' ? s.n : Math.max(1, s.n - n1);
  const step = 3 * 2 * n1 * o.width * s.d + 4 * o.width * s.d * Math.min(o.width, s.d);
  const readout = featureRidgeEstimate(o.width, 2 * (n2 + s.testN) * o.width * s.d, o, { ...s, n: n2 });
  return { flops: step + readout.flops, bytes: Math.max(readout.bytes, F32 * 3 * n1 * o.width) };
}
