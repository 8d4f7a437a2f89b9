/**
 * Kernels as data: a function of two row blocks of inputs giving their kernel matrix. With
 * inputs x ~ N(0, I_d) the natural scales are q = ‖x‖²/d ≈ 1 and ρ = ⟨x, x'⟩/d.
 *
 * Two-layer network in the NTK parametrization f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d), w_j ~ N(0, I_d),
 * a_j ~ N(0, 1): the pre-activations (u, v) = (⟨w,x⟩/√d, ⟨w,x'⟩/√d) are Gaussian with variances
 * q, q' and covariance ρ, and the infinite-width NTK (the limit of Σ_θ ∂f/∂θ(x) ∂f/∂θ(x')) is
 *   readout part     Σ^(1)(x, x') = E[σ(u)σ(v)],
 *   first-layer part Σ̇(x, x')·ρ    with Σ̇ = E[σ'(u)σ'(v)],
 * with the closed-form expectations each activation carries (activations/table.ts).
 */
import tf from '@regimes/numerics/tfjs';
import {
  correlation,
  hermiteValues,
  mehlerSeries,
  RELU_DUAL_SCALE_FLOOR,
  reluDualShifted,
  reluDualSnap,
} from '@regimes/numerics';
import {
  type ActivationSpec,
  activation,
  activationTable,
  type Dual,
  type DualActivation,
  dualActivationNames,
  dualOf,
  dualTaylor,
  hermiteDerivative,
  hermiteDualTaylor,
  hermiteScalar,
  type NtkLayers,
  ntkTaylor,
} from './activations/index.js';
import {
  deviceRule,
  type HostActivation,
  MEHLER_TOP,
  mehlerCoefficients,
  remainderDegree,
  scaledHermite,
  hermiteScalingRow,
  secondMoment,
  slopeActivation,
} from './activations/gaussian-dual.js';

/**
 * K(a, b) for row blocks a, b. A kernel may also serve the column panels of K(X, X) itself
 * (`panels`): rows start.. of columns start..start+size, with what depends on one point alone
 * computed once for all of X (the deep kernels' Mehler coefficients) rather than in every panel;
 * `release` frees it. `kernelPanels` (readout/systems.ts) takes it where a kernel has it, and
 * builds the panels from the kernel itself where it is absent or `panels` gives none for this X.
 */
export type KernelFunction = ((a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) & {
  panels?(x: tf.Tensor2D): KernelPanelSource | undefined;
  /** diag K(x, x) (|x|×1), where the kernel computes it without the off-diagonal entries. */
  diagonal?(x: tf.Tensor2D): tf.Tensor2D;
};

/** The column panels of K(X, X) from a kernel that serves them (`KernelFunction.panels`). */
export interface KernelPanelSource {
  /** K(X[start:], X[start:start+size]). Inside tidy or not: the caller owns the result. */
  panel(start: number, size: number): tf.Tensor2D;
  /** diag K(X, X) (n×1) from what the source holds, where it can. */
  diagonal?(): tf.Tensor2D;
  release(): void;
}

/** q_i = ‖x_i‖²/d, the points' scaled squared norms (n×1). Inside tidy. */
function scaledNorms(x: tf.Tensor2D): tf.Tensor {
  return tf.div(tf.sum(tf.square(x), 1, true), x.shape[1]);
}

/** ρ = ⟨a_i, b_j⟩/d and the squared norms q_a, q_b (as a column and a row). Inside tidy. */
export function scaledProducts(a: tf.Tensor2D, b: tf.Tensor2D) {
  const d = a.shape[1];
  const rho = tf.div(tf.matMul(a, b, false, true), d);
  const qa = scaledNorms(a);
  const qb = tf.reshape(scaledNorms(b), [1, -1]);
  return { rho, qa, qb };
}

/**
 * The cosines ⟨a_i, b_j⟩/(‖a_i‖‖b_j‖), clipped to [−1, 1], as the product of the normalized rows
 * (n×d work before the n×m product, where c/√(q_a q_b) took five passes over n×m). A zero row is
 * taken as x/‖x‖ = 0 (its squared norm floored at the smallest normal float32), as torch's
 * F.normalize does and as numerics' `correlation` takes a variance of 0: cosine 0 with every point,
 * itself included. x/√(max(‖x‖², floor)), not x·rsqrt(…): rsqrt's gradient at the floor is −∞, which
 * the maximum's zero made NaN for a zero row under tf.grad. Inside tidy.
 */
export function sphereCosines(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor {
  const unit = (x: tf.Tensor2D) =>
    tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), RELU_DUAL_SCALE_FLOOR)));
  return tf.clipByValue(tf.matMul(unit(a), unit(b), false, true), -1, 1);
}

/**
 * The first layer's covariance and variances: the cosines with unit variances on the sphere, else
 * the scaled products ρ = ⟨a_i, b_j⟩/d with q = ‖x‖²/d. Inside tidy.
 */
function firstProducts(a: tf.Tensor2D, b: tf.Tensor2D, sphere: boolean) {
  return sphere
    ? { rho: sphereCosines(a, b), qa: tf.ones([a.shape[0], 1]), qb: tf.ones([1, b.shape[0]]) }
    : scaledProducts(a, b);
}

/** Frees the tensors of a layer's state that the next state does not hold (each once). */
function disposeReplaced(previous: readonly tf.Tensor[], next: readonly tf.Tensor[]): void {
  const kept = new Set(next);
  for (const tensor of new Set(previous)) if (!kept.has(tensor)) tensor.dispose();
}

/** The activations whose NTK has a closed form: those with a dual in the activation table. */
export const ntkActivations = dualActivationNames;
export type NtkActivation = DualActivation;

/** E[σ(u)σ(v)] and E[σ'(u)σ'(v)] for the activations with closed forms. Inside tidy. */
export function gaussianExpectations(
  activation: NtkActivation,
  rho: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
) {
  return dualOf(activation)(rho, qa, qb);
}

export type { NtkLayers };

/**
 * The infinite-width NTK of the two-layer network, one or both layers trained. With `bias` σ_b the
 * pre-activation is ⟨w,x⟩/√d + σ_b·β, β ~ N(0, 1) trained with w (as neural-tangents' `b_std`): the
 * expectations see variances q + σ_b², covariance ρ + σ_b², and the first layer's part is
 * Σ̇·(ρ + σ_b²). Without a bias the kernel is computed as before, op for op.
 */
export function ntkKernel(activation: NtkActivation, layers: NtkLayers, bias = 0): KernelFunction {
  const dual = dualOf(activation);
  const s = bias * bias;
  return (a, b) =>
    tf.tidy(() => {
      const scaled = scaledProducts(a, b);
      const { rho, qa, qb } = s === 0 ? scaled : shifted(scaled, s);
      const { value, derivative } = dual(rho, qa, qb, reluDualSnap(a.shape[1]));
      const first = tf.mul(derivative, rho);
      if (layers === 'first') return first as tf.Tensor2D;
      if (layers === 'readout') return value as tf.Tensor2D;
      return tf.add(value, first) as tf.Tensor2D;
    });
}

/** The scaled products with a bias variance s added to each: ρ + s, q_a + s, q_b + s. Inside tidy. */
function shifted(p: ReturnType<typeof scaledProducts>, s: number) {
  return { rho: tf.add(p.rho, s), qa: tf.add(p.qa, s), qb: tf.add(p.qb, s) };
}

/** An activation for the deep kernels: σ, σ' on the host, and the closed-form dual where there is one. */
export interface KernelActivation extends HostActivation {
  readonly name: string;
  /** σ on tensors (the device Mehler path's quadrature). Inside tidy. */
  sigma(z: tf.Tensor): tf.Tensor;
  /** σ' on tensors (the device Mehler path's derivative coefficients and remainder). Inside tidy. */
  derivative(z: tf.Tensor): tf.Tensor;
  /** [σ(z), σ'(z)] sharing their work, where the table has it. Inside tidy. */
  both?(z: tf.Tensor): [tf.Tensor, tf.Tensor];
  /** c_k of σ = Σ_k c_k h_k where the series is finite: μ_k(q) = 0 beyond its degree, at every q. */
  readonly hermite?: readonly number[];
  readonly dual?: Dual;
  readonly scalarDual?: (qa: number, qb: number, rho: number) => { value: number; derivative: number };
}

/** A named activation (the table) or σ = Σ_k c_k h_k ({ he: k } / { hermite: [...] }). */
export function kernelActivation(spec: ActivationSpec): KernelActivation {
  if (typeof spec === 'string') {
    const entry: {
      sigma(z: tf.Tensor): tf.Tensor;
      derivative(z: tf.Tensor): tf.Tensor;
      both?(z: tf.Tensor): [tf.Tensor, tf.Tensor];
      scalar(z: number): number;
      slope(z: number): number;
      kinks?: readonly number[];
      hermite?: readonly number[];
      dual?: Dual;
      scalarDual?: KernelActivation['scalarDual'];
    } = activationTable[spec];
    return { name: spec, ...entry };
  }
  const c =
    'he' in spec ? Array.from({ length: spec.he + 1 }, (_, k) => (k === spec.he ? 1 : 0)) : spec.hermite;
  const tensors = activation(spec);
  return {
    name: tensors.name,
    sigma: tensors.sigma,
    derivative: tensors.derivative,
    hermite: c,
    scalar: hermiteScalar(c),
    slope: hermiteScalar(hermiteDerivative(c)),
  };
}

/** The deep kernels' architecture (docs/kernels.md). */
export interface DeepKernelSpec {
  readonly activation: ActivationSpec;
  /** L, hidden layers (1: the two-layer kernel). */
  readonly layers: number;
  /** σ_w², every layer's weights (the readout's too). */
  readonly weightVariance: number;
  /** σ_b², every hidden layer's biases (the readout has none: `intercept` fits the constant). */
  readonly biasVariance: number;
  /** Which parameters train in the NTK: every layer, the first hidden layer's, or the readout's. */
  readonly train: NtkLayers;
  /** ρ = the cosine of the inputs (on the sphere) instead of ⟨x,x'⟩/d with the norms q = ‖x‖²/d. */
  readonly sphere: boolean;
  /**
   * ntk (default): Θ as written below. standard: weights W ~ N(0, σ_w²/fan-in) trained as they are
   * (Sohl-Dickstein, Novak, Schoenholz & Lee 2020), the NTK divided by the hidden width N (`width`).
   */
  readonly parametrization?: 'ntk' | 'standard';
  /** N, the hidden layers' width, which the standard parametrization's NTK depends on. */
  readonly width?: number;
}

/**
 * The standard parametrization's coefficients of the NTK recursion, Θ/N: the first layer's weights
 * count d/N, a hidden or readout layer's 1 (its fan-in N over N), a bias 1/N (present when σ_b² > 0).
 */
function standardScales(spec: DeepKernelSpec, d: number) {
  const width = spec.width;
  if (!(width !== undefined && width > 0))
    throw new Error('the standard parametrization needs the hidden width N (`width`, e.g. 512)');
  return { input: d / width, bias: spec.biasVariance > 0 ? 1 / width : 0 };
}

/**
 * NNGP (`nngp`) or NTK (`ntk`) of a fully connected network with L hidden layers in the NTK
 * parametrization, h¹ = σ_w W¹x/√d + σ_b β¹, h^{ℓ+1} = σ_w W^{ℓ+1}σ(h^ℓ)/√N + σ_b β^{ℓ+1},
 * f = σ_w W^{L+1}σ(h^L)/√N, all entries N(0, 1), as N → ∞ (Lee et al. 2018, Jacot et al. 2018):
 *   Σ¹ = σ_w²ρ + σ_b²,  Σ^{ℓ+1} = σ_w² E[σ(u)σ(v)] + σ_b²,  Σ̇^{ℓ+1} = σ_w² E[σ'(u)σ'(v)],
 *   Θ¹ = Σ¹,  Θ^{ℓ+1} = Σ^{ℓ+1} + Θ^ℓ Σ̇^{ℓ+1},
 * (u, v) ~ N(0, [[Σ^ℓ(x,x), Σ^ℓ(x,x')], [·, Σ^ℓ(x',x')]]), no bias at the readout (ℓ + 1 = L + 1).
 * The expectations are the table's closed forms where σ has one (relu, erf, quadratic), else the
 * Mehler series of gaussian-dual.ts: on the sphere, where every point has one variance Σ^ℓ(x,x),
 * known on the host, with float64 coefficients; elsewhere with coefficients computed on the device
 * (deviceMehler), so no kernel reads a tensor back. With L = 1, σ_w² = 1 it is `ntkKernel` op for op
 * (and its `readout` part for `nngp`).
 *
 * Standard parametrization (`parametrization: standard`, docs/kernels.md): the same forward pass
 * with W ~ N(0, σ_w²/fan-in) and b ~ N(0, σ_b²) trained as they are, so a weight's gradient is not
 * scaled by 1/√fan-in and its layer's NTK term grows with the fan-in (neural-tangents' stax.Dense,
 * `parameterization='standard'`). The NNGP is the same; the NTK, divided by the hidden width N, is
 *   Θ¹ = (d/N)ρ + β,  Θ^{ℓ+1} = E[σ(u)σ(v)] + β + Σ̇^{ℓ+1} Θ^ℓ  (β = 1/N with biases, 0 at the readout).
 */
export function deepKernel(spec: DeepKernelSpec, output: 'ntk' | 'nngp'): KernelFunction {
  const act = kernelActivation(spec.activation);
  const w = spec.weightVariance;
  const s = spec.biasVariance;
  const affine = (x: tf.Tensor, bias: number) => {
    const scaled = w === 1 ? x : tf.mul(x, w);
    return bias === 0 ? scaled : tf.add(scaled, bias);
  };
  // the next layer's variance on the host, for the Mehler path on the sphere
  const diagonal = (q: number) => w * secondMoment(act, q) + s;
  const cache: CoefficientCache = new Map();
  const standard = spec.parametrization === 'standard';
  // on the sphere every point's first-layer variance is σ_w²·1 + σ_b², as the tensors hold it (float32)
  const sphereVariance = Math.fround(s === 0 ? Math.fround(w) : Math.fround(w) + Math.fround(s));
  let device: DeviceMehler | undefined;
  const onDevice = !act.dual && !spec.sphere;
  /**
   * The kernel of a, b; `rows`, where given, each layer's variances and Mehler sides of a's and b's
   * points (`layerRows`), taken instead of computing them from a and b. `onDiagonal`: K(a_i, a_i) only
   * (|a|×1, b = a), every step entry by entry. Inside tidy.
   */
  const entries = (
    a: tf.Tensor2D,
    b: tf.Tensor2D,
    rows?: { a: LayerRows; b: LayerRows },
    onDiagonal = false,
  ): tf.Tensor2D => {
    // a side with no points: tfjs cpu cannot slice the empty tensors its concat makes on the Mehler path
    if (a.shape[0] === 0 || b.shape[0] === 0)
      return tf.zeros([a.shape[0], onDiagonal ? 1 : b.shape[0]]) as tf.Tensor2D;
    const scales = standard && output === 'ntk' ? standardScales(spec, a.shape[1]) : undefined;
    // the first layer's cosines carry float32 rounding growing as √d (ρ and q are sums over d terms
    // rounded differently): relu's dual, whose cusp turns an error ε in cos θ = 1 into θ = √(2ε),
    // takes those within reluDualSnap(d) of ±1 as ±1, at every layer (deeper ones inherit the
    // first's rounding). The smooth duals and the Mehler series do not: their error is the slope
    // times ε on the diagonal as elsewhere, while a snap would move every pair within the tolerance
    // by the slope times it (h_40 at L = 2, d = 16: 2.9e-3 at 2⁻¹⁹, against 9.5e-5 on the diagonal)
    const snap = reluDualSnap(a.shape[1]);
    const selfProducts = onDiagonal && scaledNorms(a);
    const products = selfProducts
      ? { rho: selfProducts, qa: selfProducts, qb: selfProducts }
      : firstProducts(a, b, spec.sphere);
    const rho = products.rho;
    const c = affine(rho, s);
    const qa = affine(products.qa, s);
    const qb = affine(products.qb, s);
    // Activations with no closed-form dual take the Mehler series, whose coefficients μ_k(q) depend on
    // each point's variance q (docs/kernels.md, "The Mehler series on the host and on the device"):
    // on the sphere every point has the same q, one number known here, so they come from the host
    // (float64, negligible degrees skipped) and the variances go through the layers there; elsewhere
    // they are computed on the device, with no read back (deviceMehler).
    const onHost = !act.dual && spec.sphere;
    if (onDevice) device ??= deviceMehler(act);
    let host = onHost ? sphereVariance : undefined;
    const nextVariance = (q: tf.Tensor) => affine(act.dual!(q, q, q).value, s);
    // one layer at a time, keeping only what the next needs (an n×m kernel's temporaries add up)
    const theta0 = scales ? tf.add(tf.mul(rho, scales.input), scales.bias) : c;
    let state = { c, theta: theta0, first: theta0, qa, qb };
    for (let l = 1; l <= spec.layers; l++) {
      const last = l === spec.layers;
      const previous = state;
      const current = host;
      // the next layer's variance, float32 as the tensors hold it
      const following = last || current === undefined ? undefined : Math.fround(diagonal(current));
      state = tf.tidy(() => {
        const { c, theta, first } = previous;
        // the layer's variances and sides from `rows` where given (qb as a row)
        const [qa, qb] = rows
          ? [rows.a[l - 1]!.q, onDiagonal ? rows.b[l - 1]!.q : tf.reshape(rows.b[l - 1]!.q, [1, -1])]
          : [previous.qa, previous.qb];
        const sides = rows && { left: rows.a[l - 1]!.side, right: rows.b[l - 1]!.side };
        const { value, derivative, moments } = act.dual
          ? { ...act.dual(c, qa, qb, snap), moments: undefined }
          : current !== undefined
            ? { ...mehlerExpectations(act, c, qa, qb, current, cache), moments: undefined }
            : device!.expectations(c, qa, qb, sides, onDiagonal);
        // the next layer's variances: the host's number, the device path's moments, or the dual
        // (`rows` hold them: the next layer takes its own)
        const next = (q: tf.Tensor, moment: tf.Tensor | undefined) =>
          rows
            ? q
            : following !== undefined
              ? tf.fill(q.shape, following)
              : moment
                ? affine(moment, s)
                : nextVariance(q);
        const covariance = affine(value, last ? 0 : s);
        const slope = w === 1 ? derivative : tf.mul(derivative, w);
        const firstNext = tf.mul(slope, first);
        // the layer's own parameters: σ_w²E[σσ] + σ_b² (ntk), E[σσ] + β (standard, ÷ N)
        const own = scales ? (last || scales.bias === 0 ? value : tf.add(value, scales.bias)) : covariance;
        return {
          c: covariance,
          first: firstNext,
          theta: spec.train === 'both' ? tf.add(own, l === 1 ? firstNext : tf.mul(slope, theta)) : theta,
          qa: last ? qa : next(qa, moments?.a),
          qb: last ? qb : next(qb, moments?.b),
        };
      });
      host = following;
      disposeReplaced(Object.values(previous), Object.values(state));
    }
    const { c: nngpKernel, theta, first } = state;
    if (output === 'nngp') return nngpKernel as tf.Tensor2D;
    // the readout's weights alone: σ_w²E[σσ] (ntk), E[σσ] (standard, N E[σσ] ÷ N)
    if (spec.train === 'readout')
      return (scales && w !== 1 ? tf.div(nngpKernel, w) : nngpKernel) as tf.Tensor2D;
    return (spec.train === 'first' ? first : theta) as tf.Tensor2D;
  };
  /**
   * Off the sphere without a closed-form dual: each layer's variances q_l and Mehler sides of every
   * point of x (rows × 1, rows × K_p), computed once by the recursion q_1 = σ_w²‖x‖²/d + σ_b²,
   * q_{l+1} = σ_w²E[σ(√q_l z)²] + σ_b² (the sides' moments). Inside tidy.
   */
  const layerRows = (x: tf.Tensor2D): LayerRows => {
    device ??= deviceMehler(act);
    const rows: LayerRows = [];
    let q = affine(scaledNorms(x), s);
    for (let l = 1; l <= spec.layers; l++) {
      const side = device.side(q);
      rows.push({ q, side });
      if (l < spec.layers) q = affine(side.moment, s);
    }
    return rows;
  };
  const kernel: KernelFunction = (a, b) => tf.tidy(() => entries(a, b));
  // K(x, x) from each point's own coefficients, where it had been taken off the diagonal of 64×64
  // blocks (tanh at L = 2, n = 8192, native: 0.6–0.8 s, a quarter of its panels' time)
  if (onDevice)
    kernel.diagonal = (x) =>
      tf.tidy(() => {
        if (x.shape[0] === 0) return tf.zeros([0, 1]) as tf.Tensor2D;
        const rows = layerRows(x);
        return entries(x, x, { a: rows, b: rows }, true);
      });
  // the panels of K(X, X) with the rows' sides computed once: in each panel they had been computed
  // again for rows start.. (tanh at L = 2, n = 8192, native: 1.7–1.9 s of the build's 3.3–4.4 s)
  if (onDevice)
    kernel.panels = (x) => {
      let all: LayerRows = [];
      tf.tidy(() => {
        all = layerRows(x);
        for (const t of rowTensors(all)) tf.keep(t);
      });
      const n = x.shape[0];
      return {
        panel: (start, size) =>
          tf.tidy(() =>
            // no entries: tfjs cpu cannot slice the empty tensors of an X with no rows
            n - start === 0 || size === 0
              ? (tf.zeros([n - start, size]) as tf.Tensor2D)
              : entries(tf.slice(x, [start, 0], [-1, -1]), tf.slice(x, [start, 0], [size, -1]), {
                  a: sliceRows(all, start, n - start),
                  b: sliceRows(all, start, size),
                }),
          ),
        // a slice of the rows held, not the rows: the layer loop frees the variances it has used; one
        // slice for both sides, as kernel.diagonal shares its rows (b = a)
        diagonal: () =>
          tf.tidy(() => {
            if (n === 0) return tf.zeros([0, 1]) as tf.Tensor2D;
            const rows = sliceRows(all, 0, n);
            return entries(x, x, { a: rows, b: rows }, true);
          }),
        release: () => tf.dispose(rowTensors(all)),
      };
    };
  return kernel;
}

/** A constant and a tensor of deviations from it: k + t, k on the host in float64, t float32. */
type Split = { readonly k: number; readonly t: tf.Tensor };

/** x + y. Inside tidy. */
const splitPlus = (x: Split, y: Split): Split => ({ k: x.k + y.k, t: tf.add(x.t, y.t) });

/**
 * x·y = k_x k_y + (k_x t_y + t_x (k_y + t_y)), `whole` y's k_y + t_y as a tensor: its rounding is
 * relative to t_x k_y, a term of the deviations, so it costs no accuracy. Inside tidy.
 */
const splitTimes = (x: Split, y: Split, whole: tf.Tensor): Split => ({
  k: x.k * y.k,
  t: tf.add(tf.mul(y.t, x.k), tf.mul(x.t, whole)),
});

/** w·x + b. Inside tidy. */
const splitAffine = (x: Split, w: number, b = 0): Split => ({
  k: w * x.k + b,
  t: w === 1 ? x.t : tf.mul(x.t, w),
});

/**
 * `deepKernel(spec, output)` less its constant part K₀, the kernel the biases alone give (every
 * layer's recursion at ρ = q = 0): for the ReLU with σ_b² > 0, else undefined (nothing to drop, or an
 * activation whose dual has no shifted form). Every layer's covariance and variances are held as
 * K₀ˡ + deviations, K₀ˡ a float64 number on the host, and each layer's dual is numerics'
 * `reluDualShifted`, which takes the deviations and returns its own, so K₀ˡ is never added to the
 * varying part in float32 (only the slope's 1/2, a number of order 1, is: `slopeWhole`);
 * kernelRidgeLearner's `direct`, the ridge's intercept absorbing K₀.
 *
 * Why: with σ_b² ≫ σ_w²q, K is a large constant plus a varying part that float32 keeps only to eps·K₀.
 * nngp with σ_b² = 1000, d = 8: the kernel as given less K₀ was off float64's K − K₀ by 7.4e-4 of its
 * largest entry (test/less-constant.test.ts), and at n = 512 gcv picked λ = 1e-5 on `cpu` (test risk 0.060) and 1e-6 on
 * `native` and `wasm` (0.012) where float64 picks 1e-6; with 2 layers Cholesky failed on `cpu` even
 * with jitter. In the recursion (the same as `deepKernel`'s):
 *   Σ¹ = σ_b² + σ_w²ρ,  Σ^{ℓ+1} = σ_w²(K₀ˡ/2 + E[…] − K₀ˡ/2) + σ_b²,  Σ̇^{ℓ+1} = σ_w²(1/2 + (Σ̇ − 1/2)),
 * products of two split numbers k_x k_y + (k_x t_y + t_x(k_y + t_y)), the constants multiplied on
 * the host. Its cost against the kernel as given (the ReLU NTK, σ_b² = 1, d = 64, five alternated
 * runs, 2026-12-07): on `native` at n = 4096 0.22–0.25 against 0.19–0.24 s at 1 layer and 0.50–0.74
 * against 0.34–0.38 s at 3; on `wasm` at n = 1024 ~2× (0.09–0.11 against 0.05–0.08 s; 0.23–0.28
 * against 0.12–0.15); on `cpu`, where the dual is tfjs ops, 3–4× (4.0–5.2 against 1.0–1.4 s; 9.8–12.1
 * against 2.5–2.9).
 */
export function deepKernelLessConstant(
  spec: DeepKernelSpec,
  output: 'ntk' | 'nngp',
): KernelFunction | undefined {
  const s = spec.biasVariance;
  if (!(s > 0) || spec.activation !== 'relu') return undefined;
  const w = spec.weightVariance;
  const standard = spec.parametrization === 'standard' && output === 'ntk';
  const entries = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D => {
    if (a.shape[0] === 0 || b.shape[0] === 0) return tf.zeros([a.shape[0], b.shape[0]]) as tf.Tensor2D;
    const scales = standard ? standardScales(spec, a.shape[1]) : undefined;
    const snap = reluDualSnap(a.shape[1]);
    const products = firstProducts(a, b, spec.sphere);
    // Σ¹ = σ_b² + σ_w²ρ, its variances alike: the three share the constant the dual takes
    const c: Split = splitAffine({ k: 0, t: products.rho }, w, s);
    const theta0: Split = scales ? splitAffine({ k: 0, t: products.rho }, scales.input, scales.bias) : c;
    let state = {
      c,
      theta: theta0,
      first: theta0,
      qa: splitAffine({ k: 0, t: products.qa }, w, s),
      qb: splitAffine({ k: 0, t: products.qb }, w, s),
    };
    for (let l = 1; l <= spec.layers; l++) {
      const last = l === spec.layers;
      const previous = state;
      state = tf.tidy(() => {
        const { c, theta, first, qa, qb } = previous;
        const dual = reluDualShifted(c.t, qa.t, qb.t, c.k, snap);
        // E[relu relu] = K₀/2 + deviation, E[step step] = 1/2 + deviation (θ = 0 at the constant)
        const value: Split = { k: c.k / 2, t: dual.value };
        const slope = splitAffine({ k: 0.5, t: dual.derivative }, w);
        const slopeWhole = tf.add(slope.t, slope.k);
        const covariance = splitAffine(value, w, last ? 0 : s);
        const firstNext = splitTimes(first, slope, slopeWhole);
        const own = scales
          ? last || scales.bias === 0
            ? value
            : splitAffine(value, 1, scales.bias)
          : covariance;
        // the next variances: E[relu(u)²] = q/2 exactly, q = K₀ + q̃
        const next = (q: Split) => splitAffine({ k: q.k / 2, t: tf.div(q.t, 2) }, w, s);
        return {
          c: covariance,
          first: firstNext,
          theta:
            spec.train === 'both'
              ? splitPlus(own, l === 1 ? firstNext : splitTimes(theta, slope, slopeWhole))
              : theta,
          qa: last ? qa : next(qa),
          qb: last ? qb : next(qb),
        };
      });
      disposeReplaced(
        Object.values(previous).map((x) => x.t),
        Object.values(state).map((x) => x.t),
      );
    }
    const result =
      output === 'nngp'
        ? state.c
        : spec.train === 'readout'
          ? scales && w !== 1
            ? splitAffine(state.c, 1 / w)
            : state.c
          : spec.train === 'first'
            ? state.first
            : state.theta;
    return result.t as tf.Tensor2D;
  };
  return (a, b) => tf.tidy(() => entries(a, b));
}

/** Each layer's variances (rows × 1) and Mehler sides of a block of points (the deep kernels' panels). */
type LayerRows = { q: tf.Tensor; side: MehlerSide }[];

/** Rows start..start+size of every layer's variances and sides. Inside tidy. */
function sliceRows(rows: LayerRows, start: number, size: number): LayerRows {
  const part = (t: tf.Tensor) => tf.slice(t, [start, 0], [size, -1]);
  return rows.map(({ q, side }) => ({
    q: part(q),
    side: {
      moment: part(side.moment),
      value: side.value.map((t) => t && part(t)),
      derivative: side.derivative.map((t) => t && part(t)),
    },
  }));
}

/** The tensors that rows hold. */
function rowTensors(rows: LayerRows): tf.Tensor[] {
  return rows
    .flatMap(({ q, side }) => [q, side.moment, ...side.value, ...side.derivative])
    .filter((t): t is tf.Tensor => t !== undefined);
}

/** The device Mehler path of one activation: its expectations and the next layer's variance. */
interface DeviceMehler {
  /**
   * E[σ(u)σ(v)], E[σ'(u)σ'(v)] for covariances c (n×m) and variances qa (n×1), qb (1×m), and the
   * second moments E[σ(√q z)²] of both sides (qa's and qb's shapes; the next layer's variances, from
   * the same σ at the nodes). `sides`, where given, are `side(qa)` and `side(qbᵀ)`, computed once for
   * many calls. `diagonal`: c, qa, qb all n×1, the pairs (a_i, b_i) (the kernel's diagonal). Inside tidy.
   */
  expectations(
    c: tf.Tensor,
    qa: tf.Tensor,
    qb: tf.Tensor,
    sides?: { left: MehlerSide; right: MehlerSide },
    diagonal?: boolean,
  ): { value: tf.Tensor; derivative: tf.Tensor; moments: { a: tf.Tensor; b: tf.Tensor } };
  /** What one side's points (variances q, rows × 1) bring to the series. Inside tidy. */
  side(q: tf.Tensor): MehlerSide;
}

/**
 * One side's part of the device Mehler series, by parity (index 0 even, 1 odd; absent where σ or σ'
 * has no such part): σ's and σ''s coefficients (rows × K_p, then √R_p where degrees remain), and
 * E[σ(√q z)²] (rows × 1).
 */
interface MehlerSide {
  readonly moment: tf.Tensor;
  readonly value: (tf.Tensor | undefined)[];
  readonly derivative: (tf.Tensor | undefined)[];
}

/**
 * The Mehler series with its coefficients computed on the device: μ_k(q_i) = Σ_m W_m σ(√q_i z_m) h_k(z_m)
 * by gaussian-dual.ts's `deviceRule` (448 nodes, composite Gauss–Legendre over [−9, 9] graded toward
 * 0, symmetric), as products of σ's even and odd parts at the 224 positive nodes (p×224 each, from σ
 * at ±√q_i z_m) with the tables 2W_m h_k(z_m) of the even and of the odd degrees (224×41, 224×40;
 * float64 rounded to float32), and μ'_k(q_i) = E[σ'(√q_i z) h_k(z)] the same way from σ' (equal to
 * √((k+1)/q) μ_{k+1}(q), which divides by 0 at q = 0). The host skips degrees by the coefficients'
 * size at the points' own variances, which the device cannot tell it without a read: here every
 * degree up to 80 is summed, and σ's parity, which holds at every variance (read off μ_k(1)), leaves
 * one part out. The remainder past degree 80 is lumped at
 * the next degree of each parity, as on the host (gaussian-dual.ts `mehlerDual`): R_p(q_i) =
 * E[f_p(√q_i z)²] − Σ_{k ≡ p} μ_k(q_i)² by the same rule, f_p the even or odd part of σ (or σ'), and
 * the term √(R_p(q_i) R_p(q_j)) t^{k_p}; an R_p below 1e-6 of its moment is taken as 0. Each parity
 * present is one series in t² (times t for the odd one) through numerics' `mehlerSeries`, its
 * columns the parity's coefficients and then √R_p: one pass of the addon on `native`, Horner as ops
 * elsewhere. float32 coefficients: the terms the host would skip come out as rounding noise of ~1e-7,
 * whose products add ~1e-14, and R_p, a difference, carries ~1e-7 of E[σ²].
 * A polynomial σ (`hermite`) takes no rule: its coefficients in closed form (`hermiteScaling`) for
 * every degree up to its own, however high (before 2026-12-07 those past 80 were dropped), no
 * remainder, E[σ²] = Σ_k μ_k², and its parity from its coefficients.
 * Measured accuracy and cost: docs/kernels.md.
 */
function deviceMehler(act: KernelActivation): DeviceMehler {
  if (act.kinks?.length)
    throw new Error(
      `the Mehler series off the sphere needs a smooth σ (${act.name} has kinks): give it a closed-form dual in activations/table.ts, or use sphere: true`,
    );
  // a polynomial σ's series ends at its degree (every degree summed, nothing remains), another's at 80
  const top = act.hermite ? act.hermite.length - 1 : MEHLER_TOP;
  const remains = !act.hermite;
  // by parity p, the degrees k ≡ p up to top
  const degrees = [0, 1].map((p) => Array.from({ length: top + 1 }, (_, k) => k).filter((k) => k % 2 === p));
  // the rule's node row, weights and tables 2W_m h_k(z_m) by parity (224 × K_p), for a σ it projects
  const rule = remains ? ruleTables(degrees, top) : undefined;
  // σ's parity (odd: μ_k = 0 for even k at every variance, and the reverse): a polynomial's from its
  // coefficients, another's from μ_k(1) on the host
  const unit = remains ? mehlerCoefficients(act, 1, top) : undefined;
  const parity = unit
    ? { value: significantDegrees(unit.value).parity, derivative: significantDegrees(unit.derivative).parity }
    : { value: parityOf(act.hermite!), derivative: parityOf(slopeActivation(act).hermite!) };
  type Split = (tf.Tensor | undefined)[];
  /**
   * f's even and odd parts from f at √q z_m and at −√q z_m (p×224 each): f itself for the part of f's
   * parity when it has one (σ odd, its σ' even), else (f(x) ± f(−x))/2; absent, the part f does not have.
   */
  const split = (plus: tf.Tensor, minus: tf.Tensor | undefined, shared: number | undefined): Split => {
    if (shared !== undefined) return shared === 0 ? [plus, undefined] : [undefined, plus];
    return [tf.mul(tf.add(plus, minus!), 0.5), tf.mul(tf.sub(plus, minus!), 0.5)];
  };
  // σ and σ' at the same points, from one evaluation where the table shares their work
  const evaluate = (z: tf.Tensor) => act.both?.(z) ?? [act.sigma(z), act.derivative(z)];
  const mirrored = parity.value === undefined || parity.derivative === undefined;
  const moment = (values: tf.Tensor) =>
    tf.matMul(tf.square(values) as tf.Tensor2D, tf.tensor2d(rule!.weightColumn, [rule!.count, 1]));
  /**
   * By parity p, the p part's coefficients c_k, k ≡ p (rows × K_p), then, where degrees past top
   * remain, √R_p (R_p = E[f_p(√q z)²] − Σ_k c_k², at degree k_p, the next of parity p): the columns of
   * a series in t² (times t for p = 1). Absent where f has no p part.
   */
  const coefficients = (split: Split, totals: Split = split.map((x) => x && moment(x))) =>
    split.map((part, p) => {
      if (!part) return undefined;
      const c = tf.matMul(
        part as tf.Tensor2D,
        tf.tensor2d(rule!.tables[p]!, [rule!.count, degrees[p]!.length]),
      );
      if (!remains) return c;
      // below 1e-6 of the moment the float32 difference is rounding (~1e-7 of it): taken as 0, else
      // its √ times a large remainder at another variance is noise (9e-5 on tanh's NTK at q = 0.1, 90)
      const total = totals[p]!;
      const rest = tf.sub(total, tf.sum(tf.square(c), 1, true));
      // greaterEqual, not greater: under tf.grad every op on the way needs a gradient, and of the
      // comparisons only GreaterEqual has one (zero); and √ of 1 where masked, whose gradient is finite
      // (√0's is ∞, and ∞·0 is NaN)
      const real = tf.greaterEqual(rest, tf.maximum(tf.mul(total, 1e-6), RELU_DUAL_SCALE_FLOOR));
      const root = tf.sqrt(tf.where(real, rest, tf.onesLike(rest)));
      return tf.concat([c, tf.where(real, root, tf.zerosLike(rest))], 1);
    });
  // a polynomial σ's coefficients in closed form (polynomialSide), for σ and for σ'
  const exact = act.hermite && {
    value: hermiteScaling(act.hermite, top),
    derivative: hermiteScaling(hermiteDerivative(act.hermite), top),
  };
  /** The exact μ_k(q) by parity (rows × K_p), where σ has that part (polynomial σ). */
  const polynomialSide = (column: tf.Tensor, scaling: NonNullable<typeof exact>) => {
    const s = tf.div(tf.sub(column, 1), 2);
    const powers = scaling.value.powers;
    const [sPowers, qPowers] = [powerColumns(s, powers), powerColumns(column, powers)];
    const by = (part: 'value' | 'derivative') =>
      [0, 1].map((p) => {
        if (parity[part] !== undefined && parity[part] !== p) return undefined;
        const width = degrees[p]!.length;
        if (width === 0) return undefined;
        const table = scaling[part].tables[p]!;
        const sums = tf.mul(
          tf.matMul(sPowers as tf.Tensor2D, tf.tensor2d(table, [powers, width])),
          tf.slice(qPowers, [0, 0], [-1, width]),
        );
        return p === 1 ? tf.mul(sums, tf.sqrt(column)) : sums;
      });
    const value = by('value');
    const squares = value.flatMap((c) => (c ? [tf.sum(tf.square(c), 1, true)] : []));
    return {
      moment: squares.length === 1 ? squares[0]! : tf.addN(squares),
      value,
      derivative: by('derivative'),
    };
  };
  const side = (column: tf.Tensor): MehlerSide => {
    if (exact) return polynomialSide(column, exact);
    const scaled = tf.mul(tf.sqrt(column), tf.tensor2d(rule!.nodeRow, [1, rule!.count]));
    const [plus, plusSlope] = evaluate(scaled);
    const [minus, minusSlope] = mirrored ? evaluate(tf.neg(scaled)) : [undefined, undefined];
    const values = split(plus, minus, parity.value);
    // E[σ_p(√q z)²]: the value's remainders and, summed, the next layer's variance
    const totals = values.map((part) => part && moment(part));
    const present = totals.filter((x): x is tf.Tensor => x !== undefined);
    return {
      moment: present.length === 1 ? present[0]! : tf.addN(present),
      value: coefficients(values, totals),
      // σ' projected as σ is, rather than √((k+1)/q) μ_{k+1}(q), which is 0/0 at q = 0 (a zero input
      // row without bias) and loses σ'(0) to float32 as q → 0
      derivative: coefficients(split(plusSlope!, minusSlope, parity.derivative)),
    };
  };
  return {
    side,
    expectations(c, qa, qb, sides, diagonal = false) {
      const left = sides?.left ?? side(qa);
      const right = sides?.right ?? side(tf.reshape(qb, [-1, 1]));
      const t = correlation(c, qa, qb);
      // Σ_p t^p Σ_j a_j(i) b_j(j') t^{2j} over the parities present, one pass each (numerics' mehlerSeries);
      // on the diagonal Σ_p t_i^p Σ_j a_j(i) b_j(i) t_i^{2j}, entry by entry
      const series = (part: 'value' | 'derivative') => {
        const sums = [0, 1].flatMap((p) => {
          const [a, b] = [left[part][p], right[part][p]];
          if (!a || !b) return [];
          if (!diagonal) return [mehlerSeries(a, tf.transpose(b), t, { step: 2, offset: p as 0 | 1 })];
          const sum = tf.sum(tf.mul(tf.mul(a, b), powerColumns(tf.square(t), a.shape[1]!)), 1, true);
          return [p === 1 ? tf.mul(sum, t) : sum];
        });
        return sums.length === 1 ? sums[0]! : tf.addN(sums);
      };
      return {
        value: series('value'),
        derivative: series('derivative'),
        moments: { a: left.moment, b: tf.reshape(right.moment, qb.shape) },
      };
    },
  };
}

/**
 * The device rule (`deviceRule`'s 224 positive nodes) as the device Mehler path takes it: the node row,
 * the weights doubled (Σ over all 448 nodes of W f² = 2 Σ over the positive ones), and by parity the
 * table 2W_m h_k(z_m) of that parity's degrees (224 × K_p; float64 rounded to float32).
 */
function ruleTables(degrees: number[][], top: number) {
  const { nodes, weights } = deviceRule();
  const count = nodes.length;
  const tables = degrees.map((kept) => {
    const table = new Float32Array(count * kept.length);
    for (let m = 0; m < count; m++) {
      const h = hermiteValues(nodes[m]!, top);
      kept.forEach((k, column) => (table[m * kept.length + column] = 2 * weights[m]! * h[k]!));
    }
    return table;
  });
  return {
    count,
    nodeRow: Float32Array.from(nodes),
    weightColumn: Float32Array.from(weights, (w) => 2 * w),
    tables,
  };
}

/** The parity of σ = Σ_k c_k h_k's nonzero degrees: 0 or 1 where they share one, else undefined. */
function parityOf(c: readonly number[]): 0 | 1 | undefined {
  const has = (p: number) => c.some((ck, k) => k % 2 === p && ck !== 0);
  if (has(0) && has(1)) return undefined;
  return has(1) ? 1 : 0;
}

/**
 * The Hermite coefficients of a polynomial σ = Σ_j c_j h_j at variance q, in closed form: from
 * He_n(γx) = Σ_i n!/(i!(n − 2i)!) γ^{n−2i} ((γ² − 1)/2)^i He_{n−2i}(x),
 *   μ_k(q) = E[σ(√q z) h_k(z)] = γ^k Σ_i c_{k+2i} √((k+2i)!/k!)/i! · s^i,   γ = √q, s = (q − 1)/2.
 * By parity p, the table B_p (`hermiteScalingRow`s rounded to float32; row i, column m for k = p + 2m) with
 * μ_{p+2m}(q) = γ^p q^m Σ_i B_p[i, m] s^i, for degrees k ≤ top; `powers` = ⌊top/2⌋ + 1 rows.
 */
function hermiteScaling(c: readonly number[], top: number): { tables: Float32Array[]; powers: number } {
  const powers = Math.floor(top / 2) + 1;
  const tables = [0, 1].map((p) => {
    const width = Math.floor((top - p) / 2) + 1;
    const table = new Float32Array(powers * Math.max(width, 0));
    for (let m = 0; m < width; m++)
      hermiteScalingRow(c, p + 2 * m, powers).forEach((b, i) => (table[i * width + m] = b));
    return table;
  });
  return { tables, powers };
}

/** [1, x, x², …, x^{count−1}] of a column x (rows × count). Inside tidy. */
function powerColumns(x: tf.Tensor, count: number): tf.Tensor {
  // products, not tf.cumprod or tf.tile, which read their input back on the cpu backend
  const columns = [tf.onesLike(x)];
  for (let k = 1; k < count; k++) columns.push(k === 1 ? x : tf.mul(columns[k - 1]!, x));
  return count === 1 ? columns[0]! : tf.concat(columns, 1);
}

/**
 * E[σ(u)σ(v)], E[σ'(u)σ'(v)] by the Mehler series (gaussian-dual.ts) where every point has the same
 * variance q (on the sphere; kept on the host by the recursion): Horner in t = c/q, each degree's
 * coefficient the scalar μ_k(q)² (μ_k rounded to float32, as the tensors hold them), then the
 * remainder past degree 80 lumped at the next degree of each parity (`mehlerDual`: exact at t = ±1;
 * a polynomial σ is summed to its own degree, with nothing left);
 * degrees whose term is below 1e-12 of the series' scale are skipped, and an odd or even σ sums in t².
 * Inside tidy.
 */
function mehlerExpectations(
  act: HostActivation,
  c: tf.Tensor,
  qa: tf.Tensor,
  qb: tf.Tensor,
  q: number,
  cache: CoefficientCache,
) {
  let coefficients = cache.get(q);
  if (!coefficients) {
    // a polynomial σ to its own degree however high (its series ends there: no remainder), another to 80
    const top = act.hermite ? Math.max(MEHLER_TOP, act.hermite.length - 1) : MEHLER_TOP;
    coefficients = hostSeries(mehlerCoefficients(act, q, top));
    // past float32 the terms (μ_k², added to float32 tensors) are ∞ or NaN: the skipping of small
    // degrees would drop every one, and ∞·0 in Horner gives NaN
    if (
      ![...coefficients.value, ...coefficients.derivative].every((term) => Number.isFinite(Math.fround(term)))
    )
      throw new Error(
        `deep kernel on the sphere: σ's Mehler terms μ_k(q)² at the layer variance q = ${q} overflow float32 (a polynomial σ's E[σ(√q z)²] grows like q^degree); lower weightVariance, the number of layers, or σ's degree`,
      );
    cache.set(q, coefficients);
  }
  const t = correlation(c, qa, qb);
  const series = (part: 'value' | 'derivative') => {
    const terms = coefficients[part];
    // σ odd or even at every variance: a series in t² (half the products), times t for odd σ
    const { kept, parity } = significantTerms(terms);
    let top = terms.length - 1;
    while (top > 0 && !kept(top)) top--;
    const step = parity === undefined ? 1 : 2;
    const variable = step === 2 ? tf.square(t) : t;
    let out: tf.Tensor = tf.zerosLike(t);
    for (let k = top; k >= (parity ?? 0); k -= step) {
      if (k < top || kept(k)) {
        const previous = out;
        out = tf.tidy(() => {
          const shifted = k < top ? tf.mul(previous, variable) : previous;
          if (!kept(k)) return shifted;
          return tf.add(shifted, terms[k]!);
        });
        if (out !== previous) previous.dispose();
      }
    }
    return parity === 1 ? tf.mul(out, t) : out;
  };
  return { value: series('value'), derivative: series('derivative') };
}

/**
 * The host path's terms of one variance: μ_k² for k ≤ top (80, or a polynomial σ's degree; μ_k
 * rounded to float32, as the tensors hold them), and each parity's remainder at its degree (top + 1
 * or top + 2).
 */
function hostSeries(c: ReturnType<typeof mehlerCoefficients>): { value: number[]; derivative: number[] } {
  const top = c.value.length - 1;
  const terms = (part: 'value' | 'derivative') => {
    const out = Array.from(c[part], (m) => Math.fround(m) ** 2);
    out.push(0, 0);
    c.remainder[part].forEach((r, p) => {
      out[remainderDegree(top, p)]! += r;
    });
    return out;
  };
  return { value: terms('value'), derivative: terms('derivative') };
}

/**
 * The degrees of a Mehler series that count (μ_k² above 1e-12 of Σ_k μ_k²), and the parity all of them
 * share, if one does (σ odd or even).
 */
function significantDegrees(mu: ArrayLike<number>): { kept(k: number): boolean; parity: number | undefined } {
  return significantTerms(Array.from(mu, (x) => x * x));
}

/** The terms of a series that count (above 1e-12 of their sum; all ≥ 0), and the parity they share. */
function significantTerms(size: readonly number[]): { kept(k: number): boolean; parity: number | undefined } {
  const scale = size.reduce((sum, x) => sum + x, 0);
  const kept = (k: number) => size[k]! > 1e-12 * scale;
  return { kept, parity: [0, 1].find((p) => size.every((_, k) => k % 2 === p || !kept(k))) };
}

/** Mehler coefficients by variance, kept by a kernel across its blocks and layers. */
type CoefficientCache = Map<number, ReturnType<typeof hostSeries>>;

/** Σ_k a_k p(ρ)^k for a power series p, both truncated after degree `top` (Horner). */
function compose(a: readonly number[], p: readonly number[], top: number): number[] {
  let out = new Array<number>(top + 1).fill(0);
  for (let k = a.length - 1; k >= 0; k--) {
    out = multiply(out, p, top);
    out[0]! += a[k]!;
  }
  return out;
}

function multiply(a: readonly number[], b: readonly number[], top: number): number[] {
  const out = new Array<number>(top + 1).fill(0);
  for (let i = 0; i <= top; i++) {
    if (a[i] === 0) continue;
    for (let j = 0; i + j <= top; j++) out[i + j]! += a[i]! * b[j]!;
  }
  return out;
}

/**
 * c_0..c_top of the deep kernel h(ρ) = Σ_k c_k ρ^k on unit-variance inputs (q = 1, ρ the cosine), for
 * the staircase theory: the layer recursion on power series in ρ. With the layer's variance q_ℓ
 * (one number), E[σ(u)σ(v)] = Σ_k μ_k(q_ℓ)² (Σ^ℓ(ρ)/q_ℓ)^k and E[σ'σ'] = Σ_k (k+1)/q_ℓ μ_{k+1}(q_ℓ)²
 * (Σ^ℓ(ρ)/q_ℓ)^k, composed with Σ^ℓ's series up to degree top + 100 (the composition converges
 * like (Σ^ℓ(0)/q_ℓ)^k; μ_k in float64 by gaussian-dual.ts's 1-D rules). The standard
 * parametrization's NTK depends on the input dimension d (its first layer counts d/N).
 */
export function deepTaylor(spec: DeepKernelSpec, output: 'ntk' | 'nngp', top: number, d?: number): number[] {
  const act = kernelActivation(spec.activation);
  const w = spec.weightVariance;
  const s = spec.biasVariance;
  const outer = top + 100;
  const affine = (p: readonly number[], bias: number) => p.map((c, k) => w * c + (k === 0 ? bias : 0));
  const identity = Array.from({ length: top + 1 }, (_, k) => (k === 1 ? 1 : 0));
  let sigma = affine(identity, s);
  const scales =
    spec.parametrization === 'standard' && output === 'ntk' ? standardInputScales(spec, d) : undefined;
  let theta = scales ? identity.map((c, k) => scales.input * c + (k === 0 ? scales.bias : 0)) : sigma;
  let first = theta;
  let q = w + s;
  for (let l = 1; l <= spec.layers; l++) {
    const last = l === spec.layers;
    const mu = scaledHermite(act, q, outer + 1);
    const value = Array.from({ length: outer + 1 }, (_, k) => mu[k]! ** 2 / q ** k);
    const slope = Array.from({ length: outer + 1 }, (_, k) => ((k + 1) * mu[k + 1]! ** 2) / q ** (k + 1));
    const composed = compose(value, sigma, top);
    const covariance = affine(composed, last ? 0 : s);
    const dot = affine(compose(slope, sigma, top), 0);
    first = multiply(first, dot, top);
    const carried = multiply(theta, dot, top);
    const own = scales ? composed.map((c, k) => c + (k === 0 && !last ? scales.bias : 0)) : covariance;
    theta = own.map((c, k) => c + carried[k]!);
    sigma = covariance;
    q = w * (act.scalarDual ? act.scalarDual(q, q, q).value : secondMoment(act, q)) + s;
  }
  if (output === 'nngp') return sigma;
  if (spec.train === 'readout') return scales ? sigma.map((c) => c / w) : sigma;
  return spec.train === 'first' ? first : theta;
}

function standardInputScales(spec: DeepKernelSpec, d: number | undefined) {
  if (d === undefined) throw new Error("the standard parametrization's NTK needs the input dimension d");
  return standardScales(spec, d);
}

/**
 * The deep kernel at ρ = q = 1 (a point with itself on the sphere), in float64 by the diagonal
 * recursion: E[σ(u)²] and E[σ'(u)²] of u ~ N(0, q_ℓ) by the closed form or 1-D quadrature. The total
 * Σ_k c_k of `deepTaylor`'s series, and its trace Σ_l N(d, l)μ_l on the sphere.
 */
export function deepDiagonal(spec: DeepKernelSpec, output: 'ntk' | 'nngp', d?: number): number {
  const act = kernelActivation(spec.activation);
  const w = spec.weightVariance;
  const s = spec.biasVariance;
  const scales =
    spec.parametrization === 'standard' && output === 'ntk' ? standardInputScales(spec, d) : undefined;
  const slopes = slopeActivation(act);
  let q = w + s;
  let theta = scales ? scales.input + scales.bias : q;
  let first = theta;
  for (let l = 1; l <= spec.layers; l++) {
    const last = l === spec.layers;
    const closed = act.scalarDual?.(q, q, q);
    const value = closed ? closed.value : secondMoment(act, q);
    const dot = w * (closed ? closed.derivative : secondMoment(slopes, q));
    const covariance = w * value + (last ? 0 : s);
    const own = scales ? value + (last ? 0 : scales.bias) : covariance;
    first *= dot;
    theta = own + dot * theta;
    q = covariance;
  }
  if (output === 'nngp') return q;
  if (spec.train === 'readout') return scales ? q / w : q;
  return spec.train === 'first' ? first : theta;
}

/**
 * h(ρ) = Σ_k c_k ρ^k with ρ = ⟨x,x'⟩/d, or with the cosine ⟨x,x'⟩/(‖x‖‖x'‖) on the sphere
 * (`sphereCosines`).
 */
export function dotProductKernel(taylor: readonly number[], sphere: boolean): KernelFunction {
  return (a, b) =>
    tf.tidy(() => {
      const t = sphere ? sphereCosines(a, b) : scaledProducts(a, b).rho;
      let out: tf.Tensor = tf.zerosLike(t);
      let power: tf.Tensor = tf.onesLike(t);
      taylor.forEach((c, k) => {
        if (k > 0) power = tf.mul(power, t);
        if (c !== 0) out = tf.add(out, tf.mul(power, c));
      });
      return out as tf.Tensor2D;
    });
}

/**
 * exp(−‖x − x'‖²/(2ℓ²d)). The distance comes as q + q' − 2ρ, whose float32 cancellation leaves
 * about 2⁻²³(q + q') where x = x': below 4× that it is taken as 0, else a small bandwidth turned
 * the noise into K(x, x) = exp(−5e4) = 0 instead of 1 (ℓ = 1e-6: risk 2.83 against the intercept's
 * 1.30 on native and cpu; wasm rounded otherwise).
 */
export function rbfKernel(bandwidth: number): KernelFunction {
  return (a, b) =>
    tf.tidy(() => {
      const { rho, qa, qb } = scaledProducts(a, b);
      const sum = tf.add(qa, qb);
      const raw = tf.sub(sum, tf.mul(rho, 2));
      const squared = tf.where(tf.less(raw, tf.mul(sum, 4 * 2 ** -23)), tf.zerosLike(raw), raw);
      return tf.exp(tf.div(squared, -2 * bandwidth * bandwidth)) as tf.Tensor2D;
    });
}

/**
 * The kernels' own coefficients c_0..c_top of h(ρ) = Σ_k c_k ρ^k on unit-variance inputs (q = 1),
 * for their staircase theory (kernel-staircase.ts).
 */
export const kernelTaylor = {
  /** The NTK of `ntkKernel(activation, layers, bias)`, by quadrature of its dual (dual-taylor.ts). */
  ntk: (activation: NtkActivation, layers: NtkLayers, bias: number, top: number): number[] =>
    ntkTaylor(dualTaylor(activationTable[activation], bias, top + 1), layers, bias),
  /** E[σ(z + b)σ(z' + b)] for σ = Σ_k μ_k h_k and b ~ N(0, bias²): μ_k² without a bias. */
  hermite: (mu: readonly number[], bias: number): number[] =>
    bias === 0 ? hermiteDualTaylor(mu) : dualTaylor({ scalar: hermiteScalar(mu) }, bias, mu.length - 1),
  /** exp(−(q + q' − 2ρ)/(2ℓ²)) at q = q' = 1: c_k = e^{−1/ℓ²}/(ℓ^{2k} k!). */
  rbf: (bandwidth: number, top: number): number[] => {
    const inverse = 1 / (bandwidth * bandwidth);
    const out = [Math.exp(-inverse)];
    for (let k = 1; k <= top; k++) out.push((out[k - 1]! * inverse) / k);
    return out;
  },
};
