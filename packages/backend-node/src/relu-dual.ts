/**
 * The ReLU dual of numerics (`ReluDualKernel`: the arc-cosine kernels every ReLU NTK and NNGP
 * evaluates entry by entry) in one pass over heap views, for the `wasm` and `native` kinds (both
 * run tfjs's wasm backend). Each entry in float64, rounded once to float32. A 1024×512 matrix took
 * 8.3 ms against 17.5 ms for the 16 tfjs ops (2026-12-03, 2-core EPYC). A C loop in the addon
 * (gcc -O3, glibc) was not faster: 14 ms in float64 (acos), 5–12 ms in float32 (acosf; its speed
 * depends on where the cosines lie) at an error of 1e-6 against this kernel's 3e-8, so the kernel
 * stays in JavaScript, the same on both kinds.
 */
import { ReluDualKernel } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type { TensorInfo, WasmBackendLike } from './wasm-internals.js';

const TWO_PI = 2 * Math.PI;

/** Register the kernel for the wasm backend name (idempotent). */
export function installReluDual(): void {
  if (tf.getKernel(ReluDualKernel, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: ReluDualKernel,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { rho, qa, qb } = args.inputs as unknown as { rho: TensorInfo; qa: TensorInfo; qb: TensorInfo };
      const be = args.backend as unknown as WasmBackendLike;
      const [m, n] = rho.shape as [number, number];
      const value = be.makeOutput([m, n], 'float32');
      const derivative = be.makeOutput([m, n], 'float32');
      // views taken after makeOutput: a growing heap would detach earlier ones
      const r = be.typedArrayFromHeap(rho);
      const a = be.typedArrayFromHeap(qa);
      const b = be.typedArrayFromHeap(qb);
      const v = be.typedArrayFromHeap(value);
      const d = be.typedArrayFromHeap(derivative);
      // q_a per row (m×1) or per entry (m×n); q_b per column (1×n) or per entry
      const aRow = qa.shape[1] === 1;
      const bColumn = qb.shape[0] === 1;
      for (let i = 0; i < m; i++) {
        const row = i * n;
        const ai = aRow ? a[i]! : 0;
        for (let j = 0; j < n; j++) {
          const k = row + j;
          const scale = Math.sqrt((aRow ? ai : a[k]!) * (bColumn ? b[j]! : b[k]!));
          let cos = r[k]! / Math.max(scale, 1e-12);
          // clamped as the ops clamp; NaN passes through as NaN
          if (cos > 1) cos = 1;
          else if (cos < -1) cos = -1;
          const rest = Math.PI - Math.acos(cos);
          const sin = Math.sqrt(Math.max(1 - cos * cos, 0));
          v[k] = (scale * (sin + rest * cos)) / TWO_PI;
          d[k] = rest / TWO_PI;
        }
      }
      return [value, derivative] as never;
    },
  });
}
