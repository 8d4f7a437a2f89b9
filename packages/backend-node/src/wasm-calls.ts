/**
 * How tfjs-backend-wasm calls its WebAssembly kernels. Each kernel binds its export once, at set-up,
 * with Emscripten's `cwrap`. Where every argument is a number, `cwrap` returns the export itself;
 * where one is an `'array'` (a shape, a permutation, as bytes) or where a type is spelled otherwise
 * (`'bool'`, `'number, number, number'`), it returns a function that goes through `ccall` on every
 * call: it looks the export up by name (`'_' + name`, a new string), builds an object of two
 * converters, an argument list and a closure, and copies each array onto the wasm stack. The binary
 * kernels (Add, Sub, Mul, …), Transpose, Tile and the matrix product all take that path, so a small
 * training step paid it dozens of times (a sweep of 72 small cells on `native`: 104 MB of the
 * 1.7 GB it allocated was `ccall`'s, and `ccall` with its lookup took ~2% of the main thread).
 *
 * `patchWasmCalls` gives the module a `cwrap` that binds the export once and, per call, copies the
 * arrays onto the stack and passes everything else through, as `ccall` does, reusing one argument
 * list (V8's sampling heap profiler put 0.1 MB of those 72 cells' 1.51 GB in this file); then runs
 * every wasm kernel's set-up again so that each rebinds through it. The wasm functions called and their
 * arguments are the same, so the results are the same bits. Calls that return or take strings keep
 * Emscripten's own path.
 */
import tf from '@regimes/numerics/tfjs';

/** On a patched module: Emscripten's own cwrap (the tests rebind the kernels through it to compare). */
export const EMSCRIPTEN_CWRAP: unique symbol = Symbol.for('regimes.wasmCalls.cwrap');

/** The parts of tfjs-backend-wasm's Emscripten module that `cwrap` uses. */
export interface EmscriptenModule {
  cwrap(ident: string, returnType: string | null, argTypes?: string[], opts?: unknown): unknown;
  stackSave(): number;
  stackRestore(pointer: number): void;
  stackAlloc(bytes: number): number;
  HEAP8: Int8Array;
  [EMSCRIPTEN_CWRAP]?: EmscriptenModule['cwrap'];
  [exported: string]: unknown;
}

/** A `cwrap` that binds the export once and converts arrays without per-call allocation. */
function fastCwrap(module: EmscriptenModule, original: EmscriptenModule['cwrap']): EmscriptenModule['cwrap'] {
  return function cwrap(ident, returnType, argTypes = [], opts) {
    const plain = argTypes.every((type) => type === 'number' || type === 'boolean');
    // Emscripten's own answer where it binds the export itself, or where a string is converted
    if (opts || returnType === 'string' || argTypes.includes('string') || plain)
      return original.call(module, ident, returnType, argTypes, opts);
    const exported = module[`_${ident}`];
    if (typeof exported !== 'function') return original.call(module, ident, returnType, argTypes, opts);
    const func = exported as (...args: unknown[]) => unknown;
    const isArray = argTypes.map((type) => type === 'array');
    const toBoolean = returnType === 'boolean';
    // one list per bound function, filled anew each call: a kernel's wasm call never re-enters it
    const cArgs: unknown[] = [];
    return function call(): unknown {
      let stack = 0;
      // `arguments`, not a rest parameter: V8 reads it in place instead of building an array
      // eslint-disable-next-line prefer-rest-params
      const args = arguments;
      cArgs.length = args.length;
      for (let i = 0; i < args.length; i++) {
        const value: unknown = args[i];
        if (isArray[i]) {
          const bytes = value as ArrayLike<number>;
          if (stack === 0) stack = module.stackSave();
          const pointer = module.stackAlloc(bytes.length);
          // HEAP8 is read each time: a growing heap replaces the view
          module.HEAP8.set(bytes, pointer);
          cArgs[i] = pointer;
        } else cArgs[i] = value;
      }
      try {
        const result = func(...cArgs);
        return toBoolean ? Boolean(result) : result;
      } finally {
        if (stack !== 0) module.stackRestore(stack);
      }
    };
  };
}

/**
 * Give the active wasm backend's module the cwrap above and rebind every wasm kernel through it
 * (their set-up functions only bind exports). Once per module; a backend created later (tfjs
 * re-registering `wasm`) is patched at its own activation.
 */
export function patchWasmCalls(): void {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: EmscriptenModule } | null;
  const module = backend?.wasm;
  if (!module || module[EMSCRIPTEN_CWRAP]) return;
  module[EMSCRIPTEN_CWRAP] = module.cwrap;
  module.cwrap = fastCwrap(module, module.cwrap);
  bindWasmKernels();
}

/** Run every wasm kernel's set-up again on the registered wasm backend: each binds its export anew through the module's `cwrap`. */
export function bindWasmKernels(): void {
  const backend = tf.findBackend('wasm');
  if (!backend) return;
  for (const config of tf.getKernelsForBackend('wasm')) config.setupFunc?.(backend);
}
