import tf from '@regimes/numerics/tfjs';

/** A symmetric matrix given by its column panels: rows start..m−1 of columns start..start+size−1. */
export type ColumnPanels = (start: number, size: number) => tf.Tensor2D;

/**
 * The panels in float32, the one dtype the factorization kernels take: a panel of another dtype
 * (int32 from integer data) is cast and freed. Without it, webgpu's diagonal-block program failed to
 * compile on an int32 panel and its output was read as it stood, a factor of zeros with a status of
 * 0; the LAPACK kernels refused it. (On webgpu the cast relabels the int32 buffer, which the
 * program reads through f32().)
 */
export function float32Panels(panels: ColumnPanels): ColumnPanels {
  return (start, size) => {
    const panel = panels(start, size);
    if (panel.dtype === 'float32') return panel;
    try {
      return tf.cast(panel, 'float32');
    } finally {
      panel.dispose();
    }
  };
}
