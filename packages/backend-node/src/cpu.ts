/** `cpu`: @tensorflow/tfjs-backend-cpu, pure-JavaScript kernels — the reference, always available. */
import { createRequire } from 'node:module';
import { defineBackendKind, options } from '@regimes/core';
import type * as TfjsCpu from '@tensorflow/tfjs-backend-cpu';
import tf from '@regimes/numerics/tfjs';

/**
 * Loaded on first use, so loading the plugin registers nothing with tfjs until a run asks; with
 * require, as tfjs-core (@regimes/numerics/tfjs): no export scan of its CommonJS bundle.
 */
function loadCpu(): string {
  const cpu = createRequire(import.meta.url)('@tensorflow/tfjs-backend-cpu') as typeof TfjsCpu;
  return cpu.version_cpu;
}

export const cpu = defineBackendKind({
  kind: 'cpu',
  description:
    'pure-JavaScript reference kernels (@tensorflow/tfjs-backend-cpu), single-threaded; always available',
  priority: 0,
  options: options({}),
  create() {
    return {
      name: 'cpu',
      async probe() {
        const version = loadCpu();
        return {
          available: tf.findBackendFactory('cpu') != null,
          version,
          device: 'host CPU, JavaScript, 1 thread',
        };
      },
      async activate() {
        loadCpu();
        // PROD silences tfjs's "install the node backend" banner; it changes no numbers.
        tf.env().set('PROD', true);
        if (!(await tf.setBackend('cpu'))) throw new Error('tfjs could not initialise the cpu backend');
        await tf.ready();
      },
    };
  },
});
