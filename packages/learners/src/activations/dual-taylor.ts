/**
 * A kernel's own Hermite (dot-product) coefficients: the Taylor coefficients c_k of h(ρ) = Σ_k c_k ρ^k,
 * the kernel on unit-variance inputs with correlation ρ — what decides which degrees it can learn
 * (a dot-product kernel's degree-k eigenvalue on the sphere is ≍ c_k·k!/d^k).
 *
 * With a bias, the pre-activations are u = z + b, v = z' + b, (z, z') unit-variance with correlation
 * ρ and b ~ N(0, σ_b²) shared (variances 1 + σ_b², covariance ρ + σ_b²). Mehler's formula in (z, z')
 * given b gives E[σ(u)σ(v)] = Σ_k ρ^k E_b[μ_k(b)²], μ_k(b) = E_z[σ(z + b) h_k(z)]: the dual's
 * coefficients are the bias-averaged squared Hermite coefficients of the shifted activation,
 * computed here in float64 by quadrature (Gauss–Legendre in z, split at σ's kinks; Gauss–Hermite in b).
 */
import { gaussHermite, gaussLegendre, hermiteValues } from '@regimes/numerics';

/** σ on the host and where it is not smooth. */
export interface ScalarActivation {
  scalar(z: number): number;
  readonly kinks?: readonly number[];
}

const HALF_WIDTH = 12; // E_z beyond ±12 is below 1e-32
const PANEL = 0.25;
const ORDER = 16;
const BIAS_NODES = 80;

/** μ_0(b)..μ_top(b) = E_z[σ(z + b) h_k(z)], by composite Gauss–Legendre in t = z + b split at the kinks. */
export function shiftedHermite(activation: ScalarActivation, b: number, top: number): Float64Array {
  const lo = b - HALF_WIDTH;
  const hi = b + HALF_WIDTH;
  const cuts = new Set<number>();
  for (let t = lo; t < hi; t += PANEL) cuts.add(t);
  for (const kink of activation.kinks ?? []) if (kink > lo && kink < hi) cuts.add(kink);
  const edges = [...cuts, hi].sort((x, y) => x - y);
  const { nodes, weights } = gaussLegendre(ORDER);
  const out = new Float64Array(top + 1);
  for (let p = 0; p + 1 < edges.length; p++) {
    const half = (edges[p + 1]! - edges[p]!) / 2;
    const middle = (edges[p + 1]! + edges[p]!) / 2;
    for (let j = 0; j < ORDER; j++) {
      const t = middle + half * nodes[j]!;
      const z = t - b;
      const w = (half * weights[j]! * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI);
      const s = activation.scalar(t) * w;
      if (s === 0) continue;
      const h = hermiteValues(z, top);
      for (let k = 0; k <= top; k++) out[k] = out[k]! + s * h[k]!;
    }
  }
  return out;
}

/**
 * c_0..c_top of E[σ(u)σ(v)] = Σ_k c_k ρ^k, pre-activations z + b with b ~ N(0, bias²):
 * c_k = E_b[μ_k(b)²] (= μ_k², the squared Hermite coefficients of σ, without a bias).
 */
export function dualTaylor(activation: ScalarActivation, bias: number, top: number): number[] {
  if (bias === 0) return Array.from(shiftedHermite(activation, 0, top), (m) => m * m);
  const { nodes, weights } = gaussHermite(BIAS_NODES);
  const c = new Array<number>(top + 1).fill(0);
  nodes.forEach((node, i) => {
    const mu = shiftedHermite(activation, bias * node, top);
    for (let k = 0; k <= top; k++) c[k]! += weights[i]! * mu[k]! ** 2;
  });
  return c;
}

export type NtkLayers = 'both' | 'first' | 'readout';

/**
 * The NTK's coefficients from its readout dual R(ρ) = Σ c_k ρ^k (`readout`: c_0..c_{top+1}): the
 * first layer's part is E[σ'(u)σ'(v)]·(ρ + σ_b²) = R'(ρ)(ρ + σ_b²) (Price's theorem; the bias is
 * trained with the weights), so degree k gets c_k (readout) + k·c_k + σ_b²(k+1)c_{k+1} (first layer).
 */
export function ntkTaylor(readout: readonly number[], layers: NtkLayers, bias: number): number[] {
  const s = bias * bias;
  return readout.slice(0, -1).map((c, k) => {
    const first = k * c + s * (k + 1) * readout[k + 1]!;
    return layers === 'readout' ? c : layers === 'first' ? first : c + first;
  });
}
