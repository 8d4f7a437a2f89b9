/**
 * Exact polynomial algebra in r variables (monomial basis, float64 coefficients) and the exact
 * change of basis to orthonormal multivariate Hermite polynomials h_α(z) = Π_i He_{α_i}(z_i)/√(α_i!).
 */
import type { Expr } from '@regimes/numerics';

export interface HermiteTerm {
  /** Coefficient on the orthonormal h_α. */
  readonly coef: number;
  /** Multi-index α, one entry per variable. */
  readonly alpha: readonly number[];
}

const key = (exponents: readonly number[]) => exponents.join(',');
const unkey = (k: string) => k.split(',').map(Number);

export class Polynomial {
  constructor(
    readonly r: number,
    readonly terms: Map<string, number> = new Map(),
  ) {}

  static constant(r: number, c: number): Polynomial {
    return new Polynomial(r, c === 0 ? new Map() : new Map([[key(new Array(r).fill(0)), c]]));
  }

  static variable(r: number, i: number): Polynomial {
    const e = new Array(r).fill(0);
    e[i] = 1;
    return new Polynomial(r, new Map([[key(e), 1]]));
  }

  get degree(): number {
    let d = 0;
    for (const k of this.terms.keys())
      d = Math.max(
        d,
        unkey(k).reduce((a, b) => a + b, 0),
      );
    return d;
  }

  /** The value when the polynomial is a constant, else undefined. */
  get constantValue(): number | undefined {
    if (this.terms.size === 0) return 0;
    if (this.degree > 0) return undefined;
    return this.terms.values().next().value;
  }

  add(other: Polynomial, factor = 1): Polynomial {
    const terms = new Map(this.terms);
    for (const [k, c] of other.terms) {
      const v = (terms.get(k) ?? 0) + factor * c;
      if (v === 0) terms.delete(k);
      else terms.set(k, v);
    }
    return new Polynomial(this.r, terms);
  }

  scale(c: number): Polynomial {
    return new Polynomial(this.r, new Map([...this.terms].map(([k, v]) => [k, v * c] as [string, number])));
  }

  mul(other: Polynomial): Polynomial {
    const terms = new Map<string, number>();
    for (const [ka, ca] of this.terms) {
      const ea = unkey(ka);
      for (const [kb, cb] of other.terms) {
        const k = key(unkey(kb).map((e, i) => e + ea[i]!));
        terms.set(k, (terms.get(k) ?? 0) + ca * cb);
      }
    }
    for (const [k, v] of terms) if (v === 0) terms.delete(k);
    return new Polynomial(this.r, terms);
  }

  pow(p: number): Polynomial {
    let result = Polynomial.constant(this.r, 1);
    for (let i = 0; i < p; i++) result = result.mul(this);
    return result;
  }
}

/**
 * An expression as an exact polynomial, or undefined when it is not one (functions, division by z,
 * ...) or has a power p^k of degree above `maxDegree` (products are not capped: z1^13*z2^13 is
 * expanded, (z1*z2)^13 projected).
 */
export function polynomialOf(expr: Expr, r: number, maxDegree = 24): Polynomial | undefined {
  const go = (e: Expr): Polynomial | undefined => {
    switch (e.kind) {
      case 'const':
        return Polynomial.constant(r, e.value);
      case 'var':
        return Polynomial.variable(r, e.index);
      case 'neg':
        return go(e.arg)?.scale(-1);
      case 'fn':
        return undefined;
      case 'op': {
        const a = go(e.args[0]);
        const b = go(e.args[1]);
        if (!a || !b) return undefined;
        if (e.op === '+') return a.add(b);
        if (e.op === '-') return a.add(b, -1);
        if (e.op === '*') return a.mul(b);
        const c = b.constantValue;
        if (e.op === '/') return c === undefined || c === 0 ? undefined : a.scale(1 / c);
        // '^': only a non-negative integer power keeps a polynomial
        if (c === undefined || !Number.isInteger(c) || c < 0 || a.degree * c > maxDegree) return undefined;
        return a.pow(c);
      }
    }
  };
  return go(expr);
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/**
 * z^m = Σ_k m!/(2^k k! (m−2k)!) He_{m−2k}(z); in the orthonormal basis the coefficient on
 * h_j (j = m − 2k) gains a factor √(j!).
 */
function monomialInHermite(m: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; 2 * k <= m; k++) {
    const j = m - 2 * k;
    out.push([j, (factorial(m) / (2 ** k * factorial(k) * factorial(j))) * Math.sqrt(factorial(j))]);
  }
  return out;
}

/**
 * The exact expansion of a polynomial in orthonormal Hermite polynomials, the terms that cancel
 * dropped: |c| ≤ 1e-14 of the largest |c| (relative, so that `1e-15*z1` keeps its one term; an
 * absolute 1e-14 had made it f* ≡ 0).
 */
export function hermiteExpansion(p: Polynomial): HermiteTerm[] {
  const acc = new Map<string, number>();
  for (const [k, c] of p.terms) {
    let partial: [number[], number][] = [[[], c]];
    for (const m of unkey(k)) {
      const oneDim = monomialInHermite(m);
      partial = partial.flatMap(([alpha, coef]) =>
        oneDim.map(([j, a]) => [[...alpha, j], coef * a] as [number[], number]),
      );
    }
    for (const [alpha, coef] of partial) acc.set(key(alpha), (acc.get(key(alpha)) ?? 0) + coef);
  }
  const largest = Math.max(0, ...[...acc.values()].map(Math.abs));
  return [...acc]
    .filter(([, c]) => Math.abs(c) > 1e-14 * largest)
    .map(([k, coef]) => ({ coef, alpha: unkey(k) }))
    .sort((a, b) => degreeOf(a.alpha) - degreeOf(b.alpha) || key(a.alpha).localeCompare(key(b.alpha)));
}

export const degreeOf = (alpha: readonly number[]) => alpha.reduce((a, b) => a + b, 0);

/**
 * Terms with the same α summed into one (in order of first appearance; terms that cancel to 0
 * dropped): a g given as terms or by a preset may repeat an α (`sum` and `damian` at degree 0 give
 * r constants), and energies, the mean and `hermiteTerms` are per α.
 */
export function combineTerms(terms: readonly HermiteTerm[]): HermiteTerm[] {
  const acc = new Map<string, { coef: number; alpha: readonly number[] }>();
  for (const t of terms) {
    const k = key(t.alpha);
    const seen = acc.get(k);
    if (seen) seen.coef += t.coef;
    else acc.set(k, { coef: t.coef, alpha: t.alpha });
  }
  return [...acc.values()].filter((t) => t.coef !== 0);
}
