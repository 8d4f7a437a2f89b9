/**
 * `webgpu`: @tensorflow/tfjs-backend-webgpu. In a browser it uses navigator.gpu; in Node it
 * needs an implementation of WebGPU (Dawn's `webgpu` npm package) and a GPU adapter. tfjs
 * registers its webgpu backend only if navigator.gpu exists when it is imported, so the
 * adapter is set up first and the backend imported after.
 */
import { createRequire } from 'node:module';
import { defineBackendKind, options } from '@regimes/core';
import tf from '@regimes/core/tfjs';
import { installBlockCholesky } from './block-cholesky.js';
import { installReluDual } from './relu-dual.js';
import { installSmallUploads } from './upload.js';

interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<AdapterLike | null>;
}

const INSTALL_DAWN =
  "in Node, install Dawn's WebGPU bindings (npm install webgpu@0.6) and a Vulkan driver (Debian: libvulkan1 and mesa-vulkan-drivers >= 25 from bookworm-backports for llvmpipe, or the GPU vendor's driver)";

/** navigator.gpu, installing Dawn's implementation in Node when the package is present. */
async function findGpu(): Promise<{ gpu?: GpuLike; reason?: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu };
  let dawn: { create(flags: string[]): GpuLike; globals: object };
  try {
    // Optional: not a dependency of this package, since its binaries need a GPU driver to be of use.
    const name = 'webgpu';
    dawn = (await import(name)) as typeof dawn;
  } catch {
    return { reason: `no navigator.gpu and no 'webgpu' package: ${INSTALL_DAWN}` };
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return { gpu };
}

export const webgpu = defineBackendKind({
  kind: 'webgpu',
  description:
    'WebGPU kernels (@tensorflow/tfjs-backend-webgpu): browsers, and Node through Dawn where a GPU adapter exists',
  priority: 30,
  options: options({}),
  create() {
    return {
      name: 'webgpu',
      async probe() {
        const { gpu, reason } = await findGpu();
        if (!gpu) return { available: false, reason: reason ?? 'no WebGPU implementation' };
        const adapter = await gpu.requestAdapter();
        if (!adapter) {
          return {
            available: false,
            reason: `WebGPU requestAdapter() returned null: no usable GPU adapter; ${INSTALL_DAWN}`,
          };
        }
        const info = adapter.info;
        // a CPU rasterizer (llvmpipe, SwiftShader): correct, slow, never the default
        const fallback =
          Boolean(adapter.isFallbackAdapter ?? info?.isFallbackAdapter) ||
          /software|llvmpipe|lavapipe|swiftshader/i.test(`${info?.architecture} ${info?.description}`);
        return {
          available: true,
          version: (
            createRequire(import.meta.url)('@tensorflow/tfjs-backend-webgpu/package.json') as {
              version: string;
            }
          ).version,
          device:
            [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') ||
            'WebGPU adapter',
          ...(fallback ? { fallback: true } : {}),
        };
      },
      async activate() {
        const { gpu, reason } = await findGpu();
        if (!gpu) throw new Error(reason);
        const { webgpu_util } = await import('@tensorflow/tfjs-backend-webgpu');
        if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not initialise the webgpu backend');
        await tf.ready();
        installReluDual(webgpu_util);
        const refused = await installBlockCholesky(webgpu_util);
        if (refused) process.emitWarning(refused, { code: 'REGIMES_WEBGPU_BLOCK_CHOLESKY' });
        installSmallUploads(tf.backend() as unknown as Parameters<typeof installSmallUploads>[0]);
      },
    };
  },
});
