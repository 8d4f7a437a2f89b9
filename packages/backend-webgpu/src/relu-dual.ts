/**
 * numerics' ReLU dual (`ReluDualKernel`, the arc-cosine kernels every ReLU NTK and NNGP evaluates
 * entry by entry) as two WebGPU programs, one per output, in place of the 16 tfjs ops of
 * `reluDualOps`. On a GPU each dispatch costs 0.05–0.2 ms of host time whatever its size (an H200 under
 * Dawn, docs/backends.md), and the NTK kernel build ran ~30 of them a panel. The arithmetic is the
 * ops' own in float32 (WGSL's acos, as tfjs's Acos), one rounding per step.
 */
import { ReluDualKernel } from '@regimes/numerics';
import tf from '@regimes/core/tfjs';
// types only: the module registers tfjs's webgpu backend when imported, which must wait for the
// adapter (webgpu.ts), so its helpers come from the import that activate() makes
import type {
  WebGPUBackend,
  WebGPUProgram,
  webgpu_util as WebGPUUtil,
} from '@tensorflow/tfjs-backend-webgpu';

class ReluDualProgram implements WebGPUProgram {
  readonly variableNames = ['rho', 'qa', 'qb'];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [128, 1, 1];
  readonly size = true;

  constructor(
    util: typeof WebGPUUtil,
    shape: number[],
    private readonly derivative: boolean,
  ) {
    this.outputShape = shape;
    this.shaderKey = `regimesReluDual_${derivative ? 'derivative' : 'value'}`;
    this.dispatchLayout = util.flatDispatchLayout(shape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    // value: √(q_a q_b)(sin θ + (π − θ) cos θ)/(2π); derivative: (π − θ)/(2π)
    const result = this.derivative
      ? 'rest / 6.283185307179586'
      : 'scale * (sqrt(max(1.0 - c * c, 0.0)) + rest * c) / 6.283185307179586';
    // the entry point tfjs-webgpu calls with the flat index (its getMainHeaderString('index'))
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let scale = sqrt(getQaByOutputIndex(index) * getQbByOutputIndex(index));
          let c = clamp(getRhoByOutputIndex(index) / max(scale, 1e-12), -1.0, 1.0);
          let rest = 3.141592653589793 - acos(c);
          setOutputAtIndex(index, ${result});
        }
      }
    `;
  }
}

/** Register the kernel for the webgpu backend (idempotent), given the imported tfjs-backend-webgpu. */
export function installReluDual(util: typeof WebGPUUtil): void {
  if (tf.getKernel(ReluDualKernel, 'webgpu') !== undefined) return;
  tf.registerKernel({
    kernelName: ReluDualKernel,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { rho, qa, qb } = inputs as unknown as Record<'rho' | 'qa' | 'qb', tf.TensorInfo>;
      const gpu = backend as unknown as WebGPUBackend;
      const run = (derivative: boolean) =>
        gpu.runWebGPUProgram(new ReluDualProgram(util, rho.shape, derivative), [rho, qa, qb], 'float32');
      return [run(false), run(true)];
    },
  });
}
