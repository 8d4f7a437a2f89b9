/**
 * What a backend lends numerics under its tfjs name (its host LAPACK, a compiled eigen solver),
 * registered when its kind activates and looked up for the active backend.
 */
import tf from '@regimes/numerics/tfjs';

export interface BackendRegistry<T> {
  /** Register (or with undefined, remove) the value of a tfjs backend name. */
  register(backend: string, value: T | undefined): void;
  /** The active backend's value, if it registered one. */
  active(): T | undefined;
}

export function backendRegistry<T>(): BackendRegistry<T> {
  const values = new Map<string, T>();
  return {
    register(backend, value) {
      if (value) values.set(backend, value);
      else values.delete(backend);
    },
    active: () => values.get(tf.getBackend()),
  };
}
