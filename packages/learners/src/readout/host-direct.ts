/**
 * The direct kernel ridge solve for systems too large for the backend's memory. tfjs-backend-wasm
 * (the `wasm` and `native` backends) keeps every tensor in WebAssembly's 32-bit heap, 4 GiB at most
 * for everything, so an n×n float32 kernel above 2³⁰ bytes (n > 16384) is not formed there. Where
 * the backend registers a host LAPACK (numerics' `registerHostLapack`: `native`, on OpenBLAS or on
 * its own blocked Cholesky without), the
 * kernel is built panel by panel on the device, each panel copied straight into one host
 * Float32Array of n² values (limited by the machine's memory, not the heap), factored in place
 * (spotrf, shift nλ) and solved there (strsm); predictions read α panel by panel.
 *
 * What it does not do: gcv / loo (they need diag(A⁻¹), another n³/3 and an n×n solve: refused, with
 * ridgeSolver: cg's hold-out choice or a λ list as the way out), df (same reason: absent from the
 * row, `host-direct` 1 instead), the eigen solver (two n×n matrices on the heap), posteriorVariance.
 * A λ list costs one kernel assembly and one factorization per λ in the same host array.
 */
import { RegimesError } from '@regimes/core';
import {
  type HostLapack,
  hostCholesky,
  hostCholeskySolve,
  hostLapack,
  hostScalar,
  hostValues,
  symmetricProduct,
} from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type { RidgeFit, RidgeSystem } from './systems.js';

/**
 * The largest m×m float32 system (bytes) solved directly on the backend's heap: 2³⁰ (m ≤ 16384,
 * the size `ridgeSolver: auto` solves directly; what was measured to run there). Above it the
 * host path.
 */
export const HEAP_SYSTEM_BYTES = 2 ** 30;

let heapLimit = HEAP_SYSTEM_BYTES;

/** Set the heap limit in bytes (tests lower it to exercise the host path on small systems); undefined restores HEAP_SYSTEM_BYTES. */
export function setHeapSystemLimit(bytes?: number): void {
  heapLimit = bytes ?? HEAP_SYSTEM_BYTES;
}

/** Whether an m×m float32 system exceeds the heap limit (and so takes the host path). */
export function exceedsHeap(m: number): boolean {
  return 4 * m * m > heapLimit;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/**
 * Why an m×m dual system above the heap limit cannot be solved in host memory here, or undefined
 * when it can: the eigen solver, a backend without host LAPACK, or a λ chosen by gcv / loo. The
 * dry run states it beforehand (the learners' estimates), the fit throws it.
 */
export function hostDirectProblem(
  m: number,
  solver: string,
  select: string | undefined,
): RegimesError | undefined {
  const size = `the ${m}×${m} kernel (${gib(4 * m * m)})`;
  if (solver === 'eigen')
    return new RegimesError(
      `ridgeSolver: eigen holds ${size} twice on the backend's heap, above its limit of ${gib(heapLimit)}`,
      { hint: "use ridgeSolver: 'cholesky' (host memory on the native backend) or 'cg' / 'auto' (FALKON)" },
    );
  // (tfjs names the native backend 'wasm' too: its kernels are the wasm backend's)
  const heap = tf.getBackend() === 'wasm';
  if (!hostLapack())
    return new RegimesError(
      `${size} is above what the direct solve holds as the ${heap ? 'wasm or native' : tf.getBackend()} backend's tensors (${gib(heapLimit)}${heap ? ', in a WebAssembly heap of 4 GiB at most' : ''}), and this backend has no host LAPACK to solve it outside`,
      {
        hint: "use the native backend (its addon needs a C compiler: npm run build:native; on OpenBLAS, apt-get install libopenblas-dev, it is fastest), or ridgeSolver: 'auto' / 'cg' (FALKON, no n×n kernel)",
      },
    );
  if (select)
    return new RegimesError(
      `ridge: ${select} needs diag(A⁻¹) of ${size}, which the host-memory direct solve does not compute (another n³/3 per λ)`,
      {
        hint: "give ridge a number or a list of λ (one factorization each), or use ridgeSolver: 'cg' (FALKON chooses λ on a hold-out fifth)",
      },
    );
  return undefined;
}

/** The host LAPACK for an m×m dual system above the heap limit; throws hostDirectProblem's error. */
export function hostLapackFor(m: number, solver: string, select: string | undefined): HostLapack {
  const problem = hostDirectProblem(m, solver, select);
  if (problem) throw problem;
  return hostLapack()!;
}

/** ‖v‖₂ in float64. */
function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * One fit per λ of a dual system above the heap limit: a host Cholesky per λ (the kernel assembled
 * again into the same array each time), one step of iterative refinement (its products rebuild the
 * kernel's panels on the device), the relative residual after it.
 */
export async function fitRidgeHost(
  system: RidgeSystem,
  lambdas: readonly number[],
  lapack: HostLapack,
  signal: AbortSignal,
  block = 256,
): Promise<RidgeFit[]> {
  const { m, n } = system;
  const k = system.rhs.shape[1];
  let a: Float32Array;
  try {
    a = lapack.allocate?.(m * m) ?? new Float32Array(m * m);
  } catch (error) {
    throw new RegimesError(
      `could not allocate ${gib(4 * m * m)} of host memory for the ${m}×${m} kernel (${(error as Error).message})`,
      { hint: "free memory or run on a larger machine, or use ridgeSolver: 'auto' / 'cg' (FALKON)" },
    );
  }
  const rhs = Float32Array.from(await system.rhs.data());
  const rhsNorm = Math.max(norm(rhs), Number.MIN_VALUE);
  // b − (M + shift·I)c on the host, M c by the system's panels on the device
  const residual = async (c: Float32Array, shift: number) => {
    const t = tf.tensor2d(c, [m, k]);
    const mc = symmetricProduct(system.panels, m, t, block);
    t.dispose();
    const product = await hostValues(mc);
    return Float32Array.from(rhs, (b, i) => b - product[i]! - shift * c[i]!);
  };
  const fits: RidgeFit[] = [];
  try {
    for (const lambda of lambdas) {
      signal.throwIfAborted();
      const factor = hostCholesky(system.panels, m, a, lapack, {
        shift: n * lambda,
        block,
        meanDiagonal: system.meanDiagonal,
      });
      const first = hostCholeskySolve(factor, rhs, k, lapack);
      const correction = hostCholeskySolve(factor, await residual(first, factor.shift), k, lapack);
      const solved = Float32Array.from(first, (v, i) => v + correction[i]!);
      const relative = norm(await residual(solved, factor.shift)) / rhsNorm;
      const coefficients = tf.tensor2d(solved, [m, k]);
      let trainRisk: number;
      try {
        const prediction = system.trainPrediction(coefficients, factor.shift);
        trainRisk = await hostScalar(tf.tidy(() => tf.mean(tf.squaredDifference(prediction, system.labels))));
        prediction.dispose();
      } catch (error) {
        coefficients.dispose();
        throw error;
      }
      fits.push({
        lambda,
        ...system.readout(coefficients),
        diagnostics: {
          'train-risk': trainRisk,
          'solve-residual': relative,
          eigen: 0,
          cg: 0,
          'host-direct': 1,
          ...(factor.jitter ? { jitter: factor.jitter } : {}),
        },
      });
    }
  } catch (error) {
    for (const fit of fits) tf.dispose([fit.coefficients, ...(fit.intercept ? [fit.intercept] : [])]);
    throw error;
  }
  return fits;
}
