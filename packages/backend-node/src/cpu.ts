/** `cpu`: @tensorflow/tfjs-backend-cpu, pure-JavaScript kernels — the reference, always available. */
import { defineBackendKind, options } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

/** Imported on first use, so loading the plugin registers nothing with tfjs until a run asks. */
async function loadCpu(): Promise<string> {
  const cpu = await import('@tensorflow/tfjs-backend-cpu');
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
        const version = await loadCpu();
        return {
          available: tf.findBackendFactory('cpu') != null,
          version,
          device: 'host CPU, JavaScript, 1 thread',
        };
      },
      async activate() {
        await loadCpu();
        // PROD silences tfjs's "install the node backend" banner; it changes no numbers.
        tf.env().set('PROD', true);
        if (!(await tf.setBackend('cpu'))) throw new Error('tfjs could not initialise the cpu backend');
        await tf.ready();
      },
    };
  },
});
