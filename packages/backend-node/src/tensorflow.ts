/**
 * `tensorflow` and `cuda`: @tensorflow/tfjs-node and @tensorflow/tfjs-node-gpu, the TensorFlow C
 * library behind tfjs (CPU with all cores, or CUDA GPUs). Both are optional installs: their install
 * step downloads libtensorflow, which needs internet access, so they are not dependencies here. The
 * probe says how to install them; choosing one that is absent is an error, never a fallback.
 */
import { defineBackendKind, options } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';

function tensorflowKind(kind: 'tensorflow' | 'cuda', pkg: string, priority: number, what: string) {
  const install = `not installed: on a machine with internet access run npm install ${pkg}@4.22 (its install step downloads libtensorflow${kind === 'cuda' ? '; it needs CUDA and cuDNN' : ''})`;
  const load = async (): Promise<{ version?: string; reason?: string }> => {
    try {
      // not a dependency: resolved at run time where the user installed it
      const name = pkg;
      const mod = (await import(name)) as { version?: { 'tfjs-node'?: string } };
      return { version: mod.version?.['tfjs-node'] ?? 'unknown' };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        reason:
          code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
            ? install
            : `${pkg} failed to load: ${(error as Error).message}`,
      };
    }
  };
  return defineBackendKind({
    kind,
    description: what,
    priority,
    options: options({}),
    create() {
      return {
        name: 'tensorflow',
        async probe() {
          const { version, reason } = await load();
          if (reason) return { available: false, reason };
          return {
            available: tf.findBackendFactory('tensorflow') != null,
            version: version!,
            device: kind === 'cuda' ? 'CUDA GPU (libtensorflow)' : 'host CPU (libtensorflow)',
          };
        },
        async activate() {
          const { reason } = await load();
          if (reason) throw new Error(reason);
          if (!(await tf.setBackend('tensorflow'))) throw new Error(`tfjs could not initialise ${pkg}`);
          await tf.ready();
        },
      };
    },
  });
}

export const tensorflowCpu = tensorflowKind(
  'tensorflow',
  '@tensorflow/tfjs-node',
  15,
  'TensorFlow C library on the CPU (@tensorflow/tfjs-node, optional install)',
);
export const tensorflowCuda = tensorflowKind(
  'cuda',
  '@tensorflow/tfjs-node-gpu',
  40,
  'TensorFlow C library on CUDA GPUs (@tensorflow/tfjs-node-gpu, optional install)',
);
