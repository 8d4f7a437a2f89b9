/**
 * @regimes/numerics — the mathematics under the learners and targets, with no knowledge of
 * experiments: host float64 linear algebra and special functions (`host/`), blocked Cholesky,
 * symmetric eigen-decomposition and chunked row maps on tensors (`tensor/`), and the restricted
 * expression language of specs (`expression.ts`). Plugins depend on it directly, so a numerics
 * fix is not a core release.
 */
export * from './errors.js';
export * from './expression.js';
export * from './host/linalg.js';
export * from './host/quadrature.js';
export * from './host/special.js';
export * from './host/staircase.js';
export * from './host/eigen-wasm.js';
export * from './host/tridiagonal-eigen.js';
export * from './tensor/blocked.js';
export * from './tensor/eigen.js';
export * from './tensor/host-cholesky.js';
export * from './tensor/relu-dual.js';
export * from './tensor/correlation.js';
export * from './tensor/mehler-series.js';
export * from './tensor/rows.js';
