/**
 * numerics' ReLU dual (`ReluDualKernel`, the arc-cosine kernels every ReLU NTK and NNGP evaluates
 * entry by entry) as two WebGPU programs, one per output, in place of the 16 tfjs ops of
 * `reluDualOps`. On a GPU each dispatch costs 0.05–0.2 ms of host time whatever its size (an H200 under
 * Dawn, docs/backends.md), and the NTK kernel build ran ~30 of them a panel. The arithmetic is the
 * ops' in float32 with three differences: the arc cosine is our own (Cephes' asinf polynomial: WGSL
 * sets no accuracy for acos, and llvmpipe's, which tfjs's Acos calls, is off by up to 1.6e-4 rad);
 * sin θ is √((1 − |c|)(1 + |c|)); and NaN in any input, or a negative variance, gives NaN (WGSL's
 * clamp and max may drop a NaN, which had turned a NaN ρ into 0).
 */
import { RELU_DUAL_COSINE_SNAP, RELU_DUAL_SCALE_FLOOR, ReluDualKernel } from '@regimes/numerics';
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
    private readonly snap: number,
  ) {
    this.outputShape = shape;
    // the tolerance is written into the code: one program per tolerance (one per input dimension)
    this.shaderKey = `regimesReluDual_${derivative ? 'derivative' : 'value'}_${snap}`;
    this.dispatchLayout = util.flatDispatchLayout(shape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    // value: √(q_a q_b)(sin θ + (π − θ) cos θ)/(2π); derivative: (π − θ)/(2π)
    const result = this.derivative
      ? 'rest / 6.283185307179586'
      : 'scale * (sine + rest * c) / 6.283185307179586';
    // the entry point tfjs-webgpu calls with the flat index (its getMainHeaderString('index'));
    // isnan and uniforms.NAN are tfjs-webgpu's (a bit test, and NaN passed as a uniform)
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let qa = getQaByOutputIndex(index);
          let qb = getQbByOutputIndex(index);
          let rho = getRhoByOutputIndex(index);
          let scale = sqrt(qa) * sqrt(qb);
          let clamped = clamp(rho / max(scale, ${RELU_DUAL_SCALE_FLOOR.toExponential(8)}), -1.0, 1.0);
          // ±1 within the tolerance of them (the diagonal's rounding)
          let c = select(clamped, sign(clamped), abs(clamped) > ${(1 - this.snap).toPrecision(17)});
          // acos(|c|): π/2 − asin(|c|) up to 1/2, else 2 asin(√((1 − |c|)/2)); asin(s) = s + s·z·P(z)
          let a = abs(c);
          let big = a > 0.5;
          let z = select(a * a, 0.5 * (1.0 - a), big);
          let s = select(a, sqrt(z), big);
          let p = (((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z
            + 7.4953002686e-2) * z + 1.6666752422e-1;
          let asinS = s + s * z * p;
          let acosA = select(1.5707963267948966 - asinS, 2.0 * asinS, big);
          let rest = select(3.141592653589793 - acosA, acosA, c < 0.0); // π − θ
          let sine = sqrt(max((1.0 - a) * (1.0 + a), 0.0));
          var out = ${result};
          if (isnan(rho) || isnan(qa) || isnan(qb) || isnan(scale) || qa < 0.0 || qb < 0.0) {
            out = uniforms.NAN;
          }
          setOutputAtIndex(index, out);
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
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { rho, qa, qb } = inputs as unknown as Record<'rho' | 'qa' | 'qb', tf.TensorInfo>;
      const snap = (attrs as { snap?: number } | undefined)?.snap ?? RELU_DUAL_COSINE_SNAP;
      const gpu = backend as unknown as WebGPUBackend;
      const run = (derivative: boolean) =>
        gpu.runWebGPUProgram(
          new ReluDualProgram(util, rho.shape, derivative, snap),
          [rho, qa, qb],
          'float32',
        );
      return [run(false), run(true)];
    },
  });
}
