/** Special functions in float64 on the host: log-gamma, the regularized incomplete gamma, erf. */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * The regularized incomplete gamma functions (P, Q) = (γ(a, x), Γ(a, x))/Γ(a), each computed where
 * it is accurate and the other as its complement: P by its series for x < a + 1, Q by its continued
 * fraction above (Lentz), so that a tail far below 1 keeps its relative precision (normalCdf(−10) =
 * 7.6e-24, not the 0 of 1 − P).
 */
function regularizedGamma(a: number, x: number): { p: number; q: number } {
  if (x <= 0) return { p: 0, q: 1 };
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    const p = Math.min(1, sum * Math.exp(logPrefix));
    return { p, q: 1 - p };
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const q = Math.min(1, Math.exp(logPrefix) * h);
  return { p: 1 - q, q };
}

/** The regularized lower incomplete gamma P(a, x) = γ(a, x)/Γ(a). */
export function regularizedGammaP(a: number, x: number): number {
  return regularizedGamma(a, x).p;
}

/** The regularized upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a) = 1 − P(a, x), accurate where it is small. */
export function regularizedGammaQ(a: number, x: number): number {
  return regularizedGamma(a, x).q;
}

/** erf(x) = sign(x)·P(1/2, x²); 2x/√π where x² would underflow or add nothing (|x| < 1e-9). */
export function erf(x: number): number {
  if (x === 0) return 0;
  if (Math.abs(x) < 1e-9) return (2 / Math.sqrt(Math.PI)) * x;
  return Math.sign(x) * regularizedGammaP(0.5, x * x);
}

/** P(χ²_k ≤ x), the chi-square distribution function with k degrees of freedom. */
export function chiSquareCdf(x: number, k: number): number {
  return regularizedGammaP(k / 2, x / 2);
}

/** P(χ²_k > x), the chi-square survival function, accurate where it is small (not 1 − the CDF). */
export function chiSquareSf(x: number, k: number): number {
  return regularizedGammaQ(k / 2, x / 2);
}

/** Standard normal distribution function. */
export function normalCdf(x: number): number {
  // the lower tail as ½Q(1/2, x²/2) itself: ½(1 + erf) cancelled to 0 below x = −8.3
  if (x < 0) return 0.5 * regularizedGammaQ(0.5, (x * x) / 2);
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

/** h_0(z)..h_m(z), the orthonormal Hermite polynomials He_k/√(k!) at one point. */
export function hermiteValues(z: number, m: number): Float64Array {
  const h = new Float64Array(m + 1);
  h[0] = 1;
  if (m >= 1) h[1] = z;
  for (let k = 1; k < m; k++) h[k + 1] = (z * h[k]! - Math.sqrt(k) * h[k - 1]!) / Math.sqrt(k + 1);
  return h;
}

/** All multi-indices α in r variables with |α| ≤ p, ordered by degree. */
export function multiIndices(r: number, p: number): number[][] {
  const out: number[][] = [];
  const go = (prefix: number[], left: number) => {
    if (prefix.length === r) {
      out.push(prefix);
      return;
    }
    for (let a = 0; a <= left; a++) go([...prefix, a], left - a);
  };
  go([], p);
  const degree = (a: number[]) => a.reduce((s, v) => s + v, 0);
  return out.sort((a, b) => degree(a) - degree(b));
}
