// Kernels dispatched and tensors read back to the host, counted on the active backend from now on:
// on a GPU each costs a fixed overhead whatever its size, so these say where the time of small steps
// goes (bench/run.mjs, bench/device/profile.mjs).
import * as tf from '@tensorflow/tfjs-core';

/** Starts counting; returns the live counts. */
export function countDispatches() {
  const counts = { kernels: 0, reads: 0 };
  const engine = tf.engine();
  const runKernelFunc = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (params) => {
    counts.kernels++;
    return runKernelFunc(params);
  };
  // a read that calls readSync itself (wasm's) counts once
  const device = tf.backend();
  let reading = false;
  for (const method of ['read', 'readSync']) {
    const original = device[method]?.bind(device);
    if (original)
      device[method] = (dataId) => {
        if (reading) return original(dataId);
        counts.reads++;
        reading = true;
        try {
          return original(dataId); // an async read has made its synchronous calls when it returns
        } finally {
          reading = false;
        }
      };
  }
  return counts;
}
