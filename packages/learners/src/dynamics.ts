/**
 * Training dynamics of the kernel regime (Jacot et al. 2018; Lee et al. 2019, "Wide neural networks
 * of any depth evolve as linear models under gradient descent"): a network linearised around its
 * initialisation and trained on the MSE loss L = (1/(nk)) Σ (f − y)² (nn's, the mean over samples
 * and outputs) moves its train outputs by
 *   gradient flow   f_t = f_0 + (I − e^{−cΘt})(y − f_0),      c = 2η/(nk),
 *   GD, step η      f_t = f_0 + (I − (I − cΘ)^t)(y − f_0),
 * and its outputs anywhere by f_t(x) = f_0(x) + Θ(x, X) Θ⁻¹(I − E_t)(y − f_0). With the train kernel
 * Θ = V diag(λ) Vᵀ decomposed once, every time costs a matrix-vector product:
 *   f_t(x) = Θ(x, X) V diag(g_i(t)) Vᵀ (y − f_0),  g_i = (1 − e_i(t))/λ_i,
 * e_i = e^{−cλ_i t} or (1 − cλ_i)^t, g_i → ct as λ_i → 0, and g_i = 1/λ_i (0 for λ_i ≈ 0) at t = ∞:
 * the minimum-norm interpolant, kernel ridge as λ → 0.
 *
 * From a random initialisation f_0 ~ GP(0, K) (K the NNGP kernel; the network at init), f_t is
 * Gaussian with the mean above (f_0 = 0) and the variance of Lee et al.'s eq. (16),
 *   Var f_t(x) = K(x,x) + Θ_x A K Aᵀ Θ_xᵀ − 2 Θ_x A K_xᵀ,  A = V diag(g) Vᵀ,
 * so the expected test risk is the mean's plus the variance's average; the train residual
 * r_t = E_t(f_0 − y) has E‖r_t‖² = ‖E_t y‖² + k·tr(E_t K E_t). Training the readout only, Θ = K and
 * the mean at t = ∞ is the NNGP posterior mean (observation noise → 0).
 */
import { hostEigenLimit, symmetricEigenSolver, symmetricEigenTensor } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

export type Flow = 'gd' | 'gradient-flow';

export interface DynamicsOptions {
  /** η, the learning rate of GD on the parameters (the flow's time is ηt). */
  readonly lr: number;
  readonly flow: Flow;
}

/** The decomposed train kernel and the coordinates of the labels: what every time reuses. */
export interface KernelDynamics {
  /** λ, descending, clipped at 0 (float64). */
  readonly values: Float64Array;
  /** V (n×n), eigenvectors as columns. */
  readonly vectors: tf.Tensor2D;
  /** Vᵀy (n×k). */
  readonly coordinates: tf.Tensor2D;
  /** c = 2η/(nk): the residual of eigendirection i decays by e^{−cλ_i t} (flow) or (1 − cλ_i)^t. */
  readonly rate: number;
  readonly flow: Flow;
  /** λ_i below this count as 0 at t = ∞. */
  readonly cutoff: number;
  dispose(): void;
}

/** Decompose Θ (n×n, symmetric) once for the dynamics of labels y (n×k). */
export async function kernelDynamics(
  theta: tf.Tensor2D,
  y: tf.Tensor2D,
  o: DynamicsOptions,
): Promise<KernelDynamics> {
  const [n, k] = y.shape;
  if (!symmetricEigenSolver(n))
    throw new RangeError(
      `the kernel dynamics decompose the n×n train kernel: n = ${n} is too large for the host eigen solver of this backend (at most ${hostEigenLimit()}): use the native backend (backend: native) or n ≤ ${hostEigenLimit()}`,
    );
  const { values, vectors } = await symmetricEigenTensor(theta);
  let lambda: Float64Array;
  let coordinates: tf.Tensor2D;
  const rate = (2 * o.lr) / (n * k);
  try {
    lambda = Float64Array.from(await values.data(), (v) => Math.max(v, 0));
    if (o.flow === 'gd' && rate * lambda[0]! >= 2)
      throw new RangeError(
        `GD with lr ${o.lr} diverges on this kernel: the top eigenvalue λ = ${lambda[0]!.toPrecision(4)} needs lr < n·k/λ = ${((n * k) / lambda[0]!).toPrecision(4)} (or use flow: gradient-flow)`,
      );
    coordinates = tf.matMul(vectors, y, true, false) as tf.Tensor2D;
  } catch (error) {
    vectors.dispose();
    throw error;
  } finally {
    values.dispose();
  }
  return {
    values: lambda,
    vectors,
    coordinates,
    rate,
    flow: o.flow,
    cutoff: lambda[0]! * n * 1e-6,
    dispose: () => tf.dispose([vectors, coordinates]),
  };
}

/** e_i(t), the fraction of eigendirection i's residual left after time t (steps). */
export function residualFactors(dyn: KernelDynamics, t: number): Float64Array {
  return dyn.values.map((l) =>
    t === Infinity
      ? l > dyn.cutoff
        ? 0
        : 1
      : dyn.flow === 'gradient-flow'
        ? Math.exp(-dyn.rate * l * t)
        : (1 - dyn.rate * l) ** t,
  );
}

/** g_i(t) = (1 − e_i(t))/λ_i, its limit ct at λ_i = 0, and 1/λ_i (0 below the cutoff) at t = ∞. */
export function gains(dyn: KernelDynamics, t: number): Float64Array {
  const c = dyn.rate;
  return dyn.values.map((l) => {
    if (t === Infinity) return l > dyn.cutoff ? 1 / l : 0;
    if (l === 0) return c * t;
    if (dyn.flow === 'gd' && c * l >= 1) return (1 - (1 - c * l) ** t) / l;
    // 1 − e^{x} by expm1, exact where cλt is small (no cancellation)
    const exponent = dyn.flow === 'gradient-flow' ? -c * l * t : t * Math.log1p(-c * l);
    return -Math.expm1(exponent) / l;
  });
}

/** α(t) = V diag(g(t)) Vᵀy (n×k): the mean prediction at time t is Θ(x, X) α(t). */
export function dualCoefficients(dyn: KernelDynamics, t: number): tf.Tensor2D {
  return tf.tidy(() => {
    const g = tf.tensor2d(Float32Array.from(gains(dyn, t)), [dyn.values.length, 1]);
    return tf.matMul(dyn.vectors, tf.mul(g, dyn.coordinates)) as tf.Tensor2D;
  });
}

/** The mean train outputs at time t (zero init): V diag(1 − e(t)) Vᵀy. */
export function trainMean(dyn: KernelDynamics, t: number): tf.Tensor2D {
  return tf.tidy(() => {
    const e = residualFactors(dyn, t);
    const kept = tf.tensor2d(
      Float32Array.from(e, (x) => 1 - x),
      [e.length, 1],
    );
    return tf.matMul(dyn.vectors, tf.mul(kept, dyn.coordinates)) as tf.Tensor2D;
  });
}

/** The random-init terms: the NNGP kernel on the train points in the eigenbasis, and at the test points. */
export interface InitVariance {
  /** M = VᵀKV (n×n). */
  readonly m: tf.Tensor2D;
  /** P = Θ(X*, X)V (m×n). */
  readonly p: tf.Tensor2D;
  /** Q = K(X*, X)V (m×n). */
  readonly q: tf.Tensor2D;
  /** K(x, x) at the test points (m). */
  readonly prior: tf.Tensor1D;
}

/** g(t) as a row (1×n), for the variance terms. */
export function gainRow(dyn: KernelDynamics, t: number): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(gains(dyn, t)), [1, dyn.values.length]);
}

/**
 * Var f_t(x) at each test point (Lee et al. eq. 16; m×1), from the gains g(t) as a row (1×n):
 * K(x,x) + (Θ_x V g) M (Θ_x V g)ᵀ − 2 (Θ_x V g)(K_x V)ᵀ, clipped at 0 (float32 cancellation where
 * training has explained the prior). Inside tidy.
 */
export function pointVariance(iv: InitVariance, g: tf.Tensor2D): tf.Tensor2D {
  const pg = tf.mul(iv.p, g); // Θ_x V diag(g)
  const quadratic = tf.sum(tf.mul(tf.matMul(pg, iv.m), pg), 1);
  const cross = tf.sum(tf.mul(pg, iv.q), 1);
  return tf.reshape(tf.relu(tf.add(iv.prior, tf.sub(quadratic, tf.mul(cross, 2)))), [-1, 1]) as tf.Tensor2D;
}

/** Mean over the test points of Var f_t(x) (Lee et al. eq. 16). Inside tidy. */
export function testVariance(dyn: KernelDynamics, iv: InitVariance, t: number): tf.Scalar {
  return tf.mean(pointVariance(iv, gainRow(dyn, t))) as tf.Scalar;
}

/** E‖r_t‖²'s variance part over n·k: k·Σ_i e_i² M_ii/(nk) = Σ_i e_i² M_ii / n. Host. */
export function trainVariance(
  dyn: KernelDynamics,
  diagonalM: Float32Array | Float64Array,
  t: number,
): number {
  const e = residualFactors(dyn, t);
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += e[i]! * e[i]! * diagonalM[i]!;
  return sum / e.length;
}
