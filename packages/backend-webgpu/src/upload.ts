/**
 * Small host-to-GPU uploads by `queue.writeBuffer`. tfjs-backend-webgpu 4.22 uploads a tensor whose
 * values are on the host either into a new buffer mapped at creation or, when its buffer pool hands
 * back a used one, through a new staging buffer and a copy that ends the current compute pass. Every
 * op with a number operand (`tf.mul(x, s)`, `tf.div(rho, d)`) uploads a fresh scalar that way: on an
 * H200 under Dawn, 100 adds of a scalar to a 1M-float tensor took 38 ms of host time against 7.7 ms
 * for 100 adds of two tensors (bench/device/profile.mjs, 2026-12-04). `writeBuffer` copies through
 * Dawn's own staging ring instead, with no buffer created and no pass ended.
 *
 * Ordering: a write by `writeBuffer` reaches the queue before the command encoder tfjs is still
 * recording. That is safe for a buffer from tfjs's pool: a tensor whose buffer unsubmitted commands
 * use is not released to the pool until they are submitted (`commandQueueOwnedIds`), and work already
 * submitted runs before the write. tfjs writes its uniforms the same way.
 */
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** Uploads up to this many bytes go by writeBuffer; larger ones keep tfjs's path (no extra copy). */
export const WRITE_BUFFER_BYTES = 1 << 20;

interface TensorData {
  values: ArrayLike<number> | null;
  dtype: string;
  shape: number[];
  resource: unknown;
}

interface BackendInternals {
  tensorMap: { get(id: object): TensorData };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBufferLike };
  queue: { writeBuffer(buffer: GPUBufferLike, offset: number, data: ArrayBufferView): void };
  uploadToGPU(id: object): void;
  regimesUploads?: true;
}
type GPUBufferLike = object;

// GPUBufferUsage's values (WebGPU spec), which Node has no global for
const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;

/** Install on the active webgpu backend instance (idempotent). */
export function installSmallUploads(backend: WebGPUBackend): void {
  const gpu = backend as unknown as BackendInternals;
  if (gpu.regimesUploads) return;
  const upload = gpu.uploadToGPU.bind(gpu);
  gpu.uploadToGPU = (id) => {
    const data = gpu.tensorMap.get(id);
    const values = data.values;
    const count = data.shape.reduce((a, b) => a * b, 1);
    // float32, int32 and bool all take 4 bytes a value on the GPU
    if (data.resource != null || values == null || count === 0 || 4 * count > WRITE_BUFFER_BYTES)
      return upload(id);
    if (data.dtype !== 'float32' && data.dtype !== 'int32' && data.dtype !== 'bool') return upload(id);
    const typed =
      data.dtype === 'float32'
        ? values instanceof Float32Array
          ? values
          : Float32Array.from(values)
        : values instanceof Int32Array
          ? values
          : Int32Array.from(values);
    const buffer = gpu.bufferManager.acquireBuffer(4 * count, STORAGE | COPY_SRC | COPY_DST);
    gpu.queue.writeBuffer(buffer, 0, typed.subarray(0, count));
    data.values = null;
    data.resource = buffer;
  };
  gpu.regimesUploads = true;
}
