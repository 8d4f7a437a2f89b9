import type tf from '@regimes/numerics/tfjs';

/** A symmetric matrix given by its column panels: rows start..m−1 of columns start..start+size−1. */
export type ColumnPanels = (start: number, size: number) => tf.Tensor2D;
