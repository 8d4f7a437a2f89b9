/** Quadrature rules in float64 (Golub–Welsch: the nodes are the eigenvalues of the Jacobi matrix). */
import { symmetricEigen } from './linalg.js';

/** Gauss–Hermite rule for the standard normal (Golub–Welsch): Σ w_i f(x_i) ≈ E f(Z), exact to degree 2m−1. */
export function gaussHermite(m: number): { nodes: Float64Array; weights: Float64Array } {
  const jacobi = new Float64Array(m * m);
  for (let k = 1; k < m; k++) {
    jacobi[(k - 1) * m + k] = Math.sqrt(k);
    jacobi[k * m + k - 1] = Math.sqrt(k);
  }
  const { values, vectors } = symmetricEigen(jacobi, m);
  const weights = Float64Array.from({ length: m }, (_, j) => vectors[j]! ** 2); // first row of the eigenvectors
  return { nodes: values, weights };
}

/** Gauss–Legendre rule on [−1, 1] with m points (Golub–Welsch). */
export function gaussLegendre(m: number): { nodes: Float64Array; weights: Float64Array } {
  const jacobi = new Float64Array(m * m);
  for (let k = 1; k < m; k++) {
    const b = k / Math.sqrt(4 * k * k - 1);
    jacobi[(k - 1) * m + k] = b;
    jacobi[k * m + k - 1] = b;
  }
  const { values, vectors } = symmetricEigen(jacobi, m);
  return { nodes: values, weights: Float64Array.from({ length: m }, (_, j) => 2 * vectors[j]! ** 2) };
}
