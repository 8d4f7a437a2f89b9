// Float64 references shared by the linear-algebra tests.
import { type Rng } from '../src/rng.js';

/**
 * A = Q diag(eigs) Qᵀ, Q from Gram–Schmidt on Gaussian columns, exactly symmetric: the condition
 * number is max|eig|/min|eig|.
 */
export function symmetricWithSpectrum(m: number, eigs: (i: number) => number, rng: Rng): Float64Array {
  const q = rng.normal(m * m, new Float64Array(m * m));
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let k = 0; k < m; k++) dot += q[k * m + i]! * q[k * m + j]!;
      for (let k = 0; k < m; k++) q[k * m + j]! -= dot * q[k * m + i]!;
    }
    let norm = 0;
    for (let k = 0; k < m; k++) norm += q[k * m + j]! ** 2;
    for (let k = 0; k < m; k++) q[k * m + j]! /= Math.sqrt(norm);
  }
  const a = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += q[i * m + k]! * eigs(k) * q[j * m + k]!;
      a[i * m + j] = s;
      a[j * m + i] = s;
    }
  return a;
}
