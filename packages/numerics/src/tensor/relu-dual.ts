/**
 * The ReLU's dual (arc-cosine kernels of degrees 1 and 0, Cho & Saul 2009): for pre-activations
 * (u, v) with variances q_a, q_b and covariance ρ, cos θ = ρ/√(q_a q_b),
 *   E[relu(u)relu(v)] = √(q_a q_b)(sin θ + (π − θ) cos θ)/(2π),  E[step(u)step(v)] = (π − θ)/(2π).
 * Every NTK and NNGP of a ReLU network evaluates it on each entry of an n×m kernel. As tfjs ops it is
 * 16 passes over the matrix, each writing a new float32 array; a backend may instead register one
 * kernel under `ReluDualKernel` that makes a single pass (the `wasm` and `native` backends do:
 * 1024×512 in 8.3 ms against 17.5 ms, 2026-12-03), which then also rounds once, from float64, where
 * the ops round each step to float32.
 */
import tf from '@regimes/numerics/tfjs';
import { singlePassKernel } from './tape.js';

/**
 * The kernel a backend registers: inputs `rho` (m×n float32), `qa` (m×1 or m×n) and `qb` (1×n or
 * m×n); attribute `snap` (the cosine tolerance, RELU_DUAL_COSINE_SNAP where absent); outputs
 * [value, derivative], both m×n float32, as `reluDualOps` defines them.
 */
export const ReluDualKernel = 'RegimesReluDual';

/**
 * The smallest normal float32: the floor of √q_a·√q_b, so that cos θ is 0 where a variance is 0 (a
 * zero input row) and exact for any variance above it. A floor of 1e-12 had made cos θ ≈ 0 below
 * it: a ReLU NTK of 40 layers with σ_w² = 1 (variances 2⁻⁴⁰) came out 28% off.
 */
export const RELU_DUAL_SCALE_FLOOR = 1.1754943508222875e-38;

/**
 * Cosines within this of ±1 are taken as ±1 (θ = 0 or π) by every path of the dual, unless the caller
 * gives a larger tolerance (`reluDualSnap`). A kernel's diagonal has cos θ = 1, but ρ (a matrix
 * product) and q (a sum of squares) round differently in float32, and cos θ = 1 − ε gives θ = √(2ε):
 * on `native` up to ε = 1.1e-6 at d = 1024 (3.2e-7 at 64; 1.2e-7 to 2.3e-7 on cpu), which put up to
 * 1.1e-4 on the ReLU NTK's diagonal (review, 2026-12-06). 2⁻¹⁹ ≈ 1.9e-6 is θ below 2e-3 rad.
 */
export const RELU_DUAL_COSINE_SNAP = 2 ** -19;

/**
 * The cosine tolerance of the dual for inputs of dimension d: 2⁻²³√d, at least RELU_DUAL_COSINE_SNAP
 * (up to d = 256), rounded up to a multiple of 2⁻²⁴ so that 1 − τ is a float32 and the float32 and
 * float64 paths of `reluDual` compare against the same number (`reluDualShifted` scales it by
 * (s − C)/s, which each path rounds in its own precision). The first layer's cosine ⟨x, x'⟩/(‖x‖‖x'‖) carries
 * the rounding of two different float32 sums over d terms, which grows as √d: on `native` (OpenBLAS's
 * SGEMM against tfjs's sum of squares, 2048 points, Gaussian, uniform and offset inputs) the diagonal's
 * 1 − cos θ reached 0.8–1.0 × √d·2⁻²⁴ from d = 256 to 8192 (9.3e-7 at 256, 1.8e-6 at 1024, 3.0e-6
 * at 3072, 5.4e-6 at 8192; `wasm` 0, whose product and sum add in the same order), so a fixed 2⁻¹⁹
 * stopped covering it near d = 1000. Twice the measured size leaves room for the larger maximum of
 * more points. The cost: pairs closer than √(2τ) rad (2.8e-3 at d = 1024, 5.5e-3 at 16 384) are
 * taken as parallel, where `native`'s cosines (~√d·2⁻²⁴ of rounding) leave θ uncertain by as much;
 * cpu's round less, and at d = 512–1024 the snap moves such pairs more than their rounding did.
 */
export function reluDualSnap(d: number): number {
  const tolerance = Math.max(RELU_DUAL_COSINE_SNAP, 2 ** -23 * Math.sqrt(d));
  return Math.ceil(tolerance * 2 ** 24) / 2 ** 24;
}

/**
 * cos θ (±1 within `snap` of them), θ, sin θ and the scale √q_a·√q_b of the dual (floored where it
 * divides ρ). Inside tidy.
 */
function angles(rho: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor, snap: number) {
  const scale = tf.mul(tf.sqrt(qa), tf.sqrt(qb));
  const clipped = tf.clipByValue(tf.div(rho, tf.maximum(scale, RELU_DUAL_SCALE_FLOOR)), -1, 1);
  const cos = tf.where(tf.greater(tf.abs(clipped), 1 - snap), tf.sign(clipped), clipped);
  const theta = tf.acos(cos);
  const sin = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cos)), 0));
  return { scale, cos, theta, sin };
}

/** A gradient of the broadcast shape summed down to an input's `shape`. */
function reduceTo(gradient: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, gradient.shape);
  return tf.reshape(axes.length ? tf.sum(gradient, axes) : gradient, shape);
}

/** 1/x where x > 0, else 0: the gradients' convention at the dual's singular points. */
function safeInverse(x: tf.Tensor): tf.Tensor {
  const positive = tf.greater(x, 0);
  return tf.where(positive, tf.div(1, tf.where(positive, x, tf.onesLike(x))), tf.zerosLike(x));
}

/**
 * The dual as tfjs ops, on any backend and any shapes that broadcast. √q_a·√q_b rather than
 * √(q_a q_b), which overflows float32 past 3.4e38 (and underflows) where the result does not.
 * Inside tidy.
 *
 * Under `tf.grad` and kin each output has its gradient written out, since the ops' own would be
 * ∞ − ∞ = NaN where |cos θ| = 1 (every kernel's diagonal): with s = √q_a√q_b,
 *   ∂V/∂ρ = (π − θ)/(2π) (= the derivative output, Price's theorem), ∂V/∂q_a = sin θ·s/(4π q_a);
 *   ∂D/∂ρ = 1/(2π s sin θ), ∂D/∂q_a = −cos θ/(4π q_a sin θ),
 * and where these are infinite (sin θ = 0: D's slope in cos θ is unbounded there) or a variance is
 * 0, the gradient is taken as 0 — along the diagonal, where cos θ ≡ 1, that is D's exact gradient.
 */
export function reluDualOps(rho: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor, snap = RELU_DUAL_COSINE_SNAP) {
  const { value, derivative } = differentiable(snap);
  return { value: value(rho, qa, qb), derivative: derivative(rho, qa, qb) };
}

// the two outputs with their gradients, one pair per tolerance (customGrad's arguments are tensors)
const byTolerance = new Map<number, { value: ReluOutput; derivative: ReluOutput }>();
type ReluOutput = (rho: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor) => tf.Tensor;

function differentiable(snap: number) {
  let pair = byTolerance.get(snap);
  if (!pair) byTolerance.set(snap, (pair = { value: reluValue(snap), derivative: reluDerivative(snap) }));
  return pair;
}

const reluValue = (snap: number) =>
  tf.customGrad((...args: unknown[]) => {
    const [rho, qa, qb] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const { scale, cos, theta, sin } = angles(rho, qa, qb, snap);
    save([rho, qa, qb]);
    return {
      value: tf.div(tf.mul(scale, tf.add(sin, tf.mul(tf.sub(Math.PI, theta), cos))), 2 * Math.PI),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [rho, qa, qb] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const { scale, theta, sin } = angles(rho, qa, qb, snap);
        const dRho = tf.mul(dy, tf.div(tf.sub(Math.PI, theta), 2 * Math.PI));
        // ∂V/∂q = sin θ·s/(4π q)
        const byVariance = (q: tf.Tensor) =>
          tf.mul(dy, tf.mul(tf.div(tf.mul(sin, scale), 4 * Math.PI), safeInverse(q)));
        return [
          reduceTo(dRho, rho.shape),
          reduceTo(byVariance(qa), qa.shape),
          reduceTo(byVariance(qb), qb.shape),
        ];
      },
    };
  });

const reluDerivative = (snap: number) =>
  tf.customGrad((...args: unknown[]) => {
    const [rho, qa, qb] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const { theta } = angles(rho, qa, qb, snap);
    save([rho, qa, qb]);
    return {
      value: tf.div(tf.sub(Math.PI, theta), 2 * Math.PI),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [rho, qa, qb] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const { scale, cos, sin } = angles(rho, qa, qb, snap);
        // ∂D/∂cos θ = 1/(2π sin θ); ∂cos θ/∂ρ = 1/s, ∂cos θ/∂q = −cos θ/(2q)
        const slope = tf.mul(dy, tf.div(safeInverse(sin), 2 * Math.PI));
        const dRho = tf.mul(slope, safeInverse(scale));
        const byVariance = (q: tf.Tensor) => tf.mul(tf.mul(slope, tf.div(cos, -2)), safeInverse(q));
        return [
          reduceTo(dRho, rho.shape),
          reduceTo(byVariance(qa), qa.shape),
          reduceTo(byVariance(qb), qb.shape),
        ];
      },
    };
  });

/**
 * Whether an entrywise kernel of a covariance and two variances takes these shapes (the ReLU dual's,
 * the correlation's): ρ m×n, q_a m×1 or m×n, q_b 1×n or m×n, all float32.
 */
export function covarianceShapes(rho: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor): boolean {
  if (rho.rank !== 2 || qa.rank !== 2 || qb.rank !== 2) return false;
  if (rho.dtype !== 'float32' || qa.dtype !== 'float32' || qb.dtype !== 'float32') return false;
  const [m, n] = rho.shape as [number, number];
  return (
    qa.shape[0] === m &&
    (qa.shape[1] === 1 || qa.shape[1] === n) &&
    qb.shape[1] === n &&
    (qb.shape[0] === 1 || qb.shape[0] === m)
  );
}

/**
 * E[relu(u)relu(v)] and E[step(u)step(v)]: the backend's single-pass kernel where it has one and
 * the shapes are the kernel's, else `reluDualOps` (also under `tf.grad` and kin: the kernel has no
 * gradient, the ops do). Cosines within `snap` of ±1 are ±1 (the kernel's attribute `snap`;
 * `reluDualSnap(d)` for a first layer of dimension d). Inside tidy.
 */
export function reluDual(
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
  snap = RELU_DUAL_COSINE_SNAP,
): { value: tf.Tensor; derivative: tf.Tensor } {
  if (covarianceShapes(rho, qa, qb) && singlePassKernel(ReluDualKernel)) {
    const [value, derivative] = tf
      .engine()
      .runKernel(ReluDualKernel, { rho, qa, qb }, { snap }) as unknown as [tf.Tensor, tf.Tensor];
    return { value, derivative };
  }
  return reluDualOps(rho, qa, qb, snap);
}

/**
 * The kernel of `reluDualShifted` a backend may register: inputs as `ReluDualKernel`'s (ρ̃, q̃_a, q̃_b,
 * the deviations), attributes `snap` and `shift` (C > 0); outputs [value − C/2, derivative − 1/2].
 */
export const ReluDualShiftedKernel = 'RegimesReluDualShifted';

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The dual of pre-activations whose covariance and variances share a constant part C > 0, given as
 * their deviations from it: ρ = C + ρ̃, q_a = C + q̃_a, q_b = C + q̃_b. Returns the dual's deviations
 * from its value where ρ̃ = q̃_a = q̃_b = 0 (θ = 0): value − C/2 and derivative − 1/2.
 *
 * Why: a bias variance σ_b² ≫ σ_w²q (the deep kernels' `biasVariance`) makes every layer's kernel a
 * large constant plus a varying part. Held as one float32 number, each entry keeps that varying part
 * only to eps·C: nngp with σ_b² = 1000 (d = 8, n = 512) had its kernel less the constant off float64's
 * by 7e-4 of its largest entry, and gcv on `cpu` chose λ 10× float64's. The constant is what the
 * ridge's intercept absorbs (learners' `deepKernelLessConstant`), so the deviations are all the fit
 * needs. The cosine's tolerance `snap` is taken relative to the deviations' scale: ε ≤ snap·(s − C)/s.
 *
 * Every path subtracts no numbers of C's size where the deviations would cancel; the backend's
 * single-pass kernel (`wasm`, `native`) in float64, the ops (`cpu`, `webgpu`) in float32. With s = √(q_a q_b),
 *   s − C = (C(q̃_a + q̃_b) + q̃_a q̃_b)/(s + C),  the gap g = s − ρ = (C(q̃_a + q̃_b − 2ρ̃) + q̃_a q̃_b − ρ̃²)/(s + ρ)
 * (s − ρ itself where ρ ≤ 0, which has no cancellation), ε = 1 − cos θ = g/s in [0, 2] (within
 * snap·(s − C)/s of 0 or 2: those). Up to θ = π/2 (ε ≤ 1): θ = 2 asin(√(ε/2)) and
 *   value − C/2 = ((s − C) − sε)/2 + s(sin θ − θ cos θ)/(2π),
 * sin θ − θ cos θ by its series θ³/3 − θ⁵/30 + θ⁷/840 − θ⁹/45360 below θ = 1/4 (where the difference
 * cancels; the next term is below 1e-10 of the sum). Beyond (ρ < 0, so the deviations exceed C):
 * θ = π − 2 asin(√((1 + cos θ)/2)) with 1 + cos θ = (s + ρ)/s, and the whole value less C/2. The
 * derivative less 1/2 is −θ/(2π). C + ρ̃ rebuilt in float64 would keep the deviations only to 1e-16·C
 * (a ReLU NTK of 45 layers with σ_b² = 1, whose deviations halve each layer, came out 1e-2 off that
 * way: review, 2026-12-07). The range this is accurate and tested on is the deep kernels': q̃_a,
 * q̃_b ≥ 0 (the variances at least C). Deviations near −C cancel in the ops' gap (a derivative 3e-6
 * off where the loops are 1e-8), the tolerance is 0 wherever s ≤ C (no snap), a zero variance takes
 * θ = 0 where `reluDual` takes π/2 (the value is the same), and the ops overflow where q̃_a + q̃_b or
 * s + ρ pass 3.4e38 (the loops where s does). No gradient: `reluDual` has it. Inside tidy.
 */
export function reluDualShifted(
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
  shift: number,
  snap = RELU_DUAL_COSINE_SNAP,
): { value: tf.Tensor; derivative: tf.Tensor } {
  if (!(shift > 0 && shift <= FLOAT32_MAX))
    throw new Error(
      `reluDualShifted: the shift must be a positive number a float32 holds (≤ 3.4e38), not ${shift}`,
    );
  if (covarianceShapes(rho, qa, qb) && singlePassKernel(ReluDualShiftedKernel)) {
    const [value, derivative] = tf
      .engine()
      .runKernel(ReluDualShiftedKernel, { rho, qa, qb }, { snap, shift }) as unknown as [
      tf.Tensor,
      tf.Tensor,
    ];
    return { value, derivative };
  }
  return reluDualShiftedOps(rho, qa, qb, shift, snap);
}

/**
 * asin(√h) for h in [0, 1/2] as tfjs ops, by Cephes' asinf polynomial (as the webgpu kernel of the
 * plain dual): asin(x) = x + x·z·P(z), z = x², for x ≤ 1/2, else π/2 − 2 asin(√((1 − x)/2)). Not
 * tf.asin, which on webgpu is WGSL's asin with no accuracy bound (llvmpipe's acos was off by up to
 * 1.6e-4 rad). Inside tidy.
 */
function asinOfRoot(h: tf.Tensor): tf.Tensor {
  const root = tf.sqrt(h);
  const big = tf.greater(h, 0.25);
  const z = tf.where(big, tf.mul(tf.sub(1, root), 0.5), h);
  const x = tf.where(big, tf.sqrt(z), root);
  const p = tf.add(
    tf.mul(
      tf.add(
        tf.mul(tf.add(tf.mul(tf.add(tf.mul(z, 4.2163199048e-2), 2.4181311049e-2), z), 4.5470025998e-2), z),
        7.4953002686e-2,
      ),
      z,
    ),
    1.6666752422e-1,
  );
  const small = tf.add(x, tf.mul(tf.mul(x, z), p));
  return tf.where(big, tf.sub(Math.PI / 2, tf.mul(small, 2)), small);
}

/** `reluDualShifted` as tfjs ops, on any backend and any shapes that broadcast. Inside tidy. */
export function reluDualShiftedOps(
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
  shift: number,
  snap = RELU_DUAL_COSINE_SNAP,
): { value: tf.Tensor; derivative: tf.Tensor } {
  return tf.tidy(() => {
    const scale = tf.mul(tf.sqrt(tf.add(qa, shift)), tf.sqrt(tf.add(qb, shift)));
    const floored = tf.maximum(scale, RELU_DUAL_SCALE_FLOOR);
    // s − C = (C(q̃_a + q̃_b) + q̃_a q̃_b)/(s + C), each product divided first (no overflow before s does)
    const sumC = tf.add(scale, shift);
    const aboveShift = tf.add(tf.mul(tf.add(qa, qb), tf.div(shift, sumC)), tf.mul(tf.div(qa, sumC), qb));
    // the gap s − ρ: cancellation-free where ρ = C + ρ̃ > 0, directly where not
    const covariance = tf.add(rho, shift);
    const sumRho = tf.add(scale, covariance);
    const cancelled = tf.sub(
      tf.add(
        tf.mul(tf.sub(tf.add(qa, qb), tf.mul(rho, 2)), tf.div(shift, sumRho)),
        tf.mul(tf.div(qa, sumRho), qb),
      ),
      tf.mul(rho, tf.div(rho, sumRho)),
    );
    const gap = tf.where(tf.greater(covariance, 0), cancelled, tf.sub(scale, covariance));
    const raw = tf.clipByValue(tf.div(gap, floored), 0, 2); // NaN stays NaN
    // the tolerance relative to the deviations' scale: snap·(s − C)/s, at least 0
    const tolerance = tf.relu(tf.mul(tf.div(aboveShift, floored), snap));
    const epsilon = tf.where(
      tf.less(raw, tolerance),
      tf.zerosLike(raw),
      tf.where(tf.greater(raw, tf.sub(2, tolerance)), tf.fill(raw.shape, 2), raw),
    );
    // θ ≤ π/2 from ε = 1 − cos θ; θ > π/2 from 1 + cos θ = (s + ρ)/s (ρ < 0 there), which keeps θ near
    // π: from ε, float32's rounding of 2 − ε put up to 7e-4 rad into θ there (review)
    const wide = tf.greater(epsilon, 1);
    const plus = tf.where(
      tf.greaterEqual(epsilon, 2),
      tf.zerosLike(epsilon),
      tf.clipByValue(tf.where(tf.less(covariance, 0), tf.div(sumRho, floored), tf.sub(2, epsilon)), 0, 1),
    );
    const narrowTheta = tf.mul(asinOfRoot(tf.div(epsilon, 2)), 2);
    const wideTheta = tf.sub(Math.PI, tf.mul(asinOfRoot(tf.div(plus, 2)), 2));
    const theta = tf.where(wide, wideTheta, narrowTheta);
    const cos = tf.where(wide, tf.sub(plus, 1), tf.sub(1, epsilon));
    const sin = tf.sqrt(tf.relu(tf.mul(epsilon, tf.where(wide, plus, tf.sub(2, epsilon)))));
    const squared = tf.square(theta);
    // θ³(1/3 − θ²/30 + θ⁴/840 − θ⁶/45360), Horner in θ²
    const series = tf.mul(
      tf.mul(squared, theta),
      tf.add(
        1 / 3,
        tf.mul(squared, tf.add(-1 / 30, tf.mul(squared, tf.add(1 / 840, tf.mul(squared, -1 / 45360))))),
      ),
    );
    const curvature = tf.where(tf.less(theta, 0.25), series, tf.sub(sin, tf.mul(theta, cos)));
    const narrowValue = tf.add(
      tf.div(tf.sub(aboveShift, tf.mul(scale, epsilon)), 2),
      tf.div(tf.mul(scale, curvature), 2 * Math.PI),
    );
    // θ > π/2: ρ < 0, so the deviations exceed C and the whole value less C/2 loses nothing
    const wideValue = tf.sub(
      tf.div(tf.mul(scale, tf.add(sin, tf.mul(tf.sub(Math.PI, theta), cos))), 2 * Math.PI),
      shift / 2,
    );
    return { value: tf.where(wide, wideValue, narrowValue), derivative: tf.div(theta, -2 * Math.PI) };
  });
}
