/**
 * The float64 eigen solver of the native addon built without OpenBLAS (divide and conquer, LAPACK
 * dsyevd's scheme: backend-node's native/eigen-lite.c) compiled to WebAssembly, one thread with
 * SIMD128 (`wasm/eigen.wasm`, built by backend-node's scripts/build-eigen-wasm.mjs and committed, so
 * that it needs no compiler at install). The host's eigen-decompositions use it where the active
 * backend registered no compiled solver of its own (`wasm`, `cpu`, `webgpu`): measured 0.56 s at
 * m = 1024 and 4.3 s at 2048 against 5.2 and 38 s for the JavaScript Householder + QL
 * (tridiagonal-eigen.ts), which stays the fallback where the module cannot load (a page without
 * Node's file system, or `REGIMES_NO_WASM_EIGEN=1`).
 */
import type * as NodeFs from 'node:fs';
import type { CompiledEigen } from './tridiagonal-eigen.js';

interface EigenExports {
  memory: { buffer: ArrayBuffer };
  syev(m: number, w: number, values: number, vectors: number): number;
  allocate(bytes: number): number;
}

/** The part of the WebAssembly API used here (numerics compiles without the DOM's or Node's types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

type Builtin = (id: string) => unknown;

let module: object | null | undefined;
let enabled = true;

/**
 * Turn the WebAssembly solver off (the JavaScript one serves the host instead) or back on; for
 * tests of the JavaScript path and for comparisons. `REGIMES_NO_WASM_EIGEN=1` starts it off.
 */
export function useWebAssemblyEigen(on: boolean): void {
  enabled = on;
}

/** The compiled module, read and compiled once; null where it cannot be. */
function compiled(): object | null {
  if (module !== undefined) return module;
  module = null;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const node = (globalThis as { process?: { getBuiltinModule?: Builtin; env?: Record<string, string> } })
    .process;
  if (
    !wasm ||
    !node?.getBuiltinModule ||
    ['1', 'true', 'yes'].includes((node.env?.REGIMES_NO_WASM_EIGEN ?? '').toLowerCase())
  )
    return module;
  const fs = node.getBuiltinModule('node:fs') as typeof NodeFs;
  try {
    module = new wasm.Module(fs.readFileSync(new URL('../../wasm/eigen.wasm', import.meta.url)));
  } catch {
    module = null; // not shipped or not loadable here: the JavaScript solver serves
  }
  return module;
}

/**
 * The WebAssembly solver as numerics' `CompiledEigen`, or undefined where it cannot load. Each call
 * runs in a new instance, so its memory (up to 32 m² bytes: the matrix, the vectors and the merges'
 * scratch) is the collector's once the call returns, not held for the process's life.
 */
export function webAssemblyEigen(): CompiledEigen | undefined {
  const mod = enabled ? compiled() : null;
  if (!mod) return undefined;
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  return (m, w, values, vectors) => {
    const x = new wasm.Instance(mod, {}).exports as EigenExports;
    const pw = x.allocate(8 * m * m);
    const pv = pw && x.allocate(8 * m);
    const pz = pv && x.allocate(8 * m * m);
    if (!pz) return -1000;
    new Float64Array(x.memory.buffer, pw, m * m).set(w.subarray(0, m * m));
    const status = x.syev(m, pw, pv, pz);
    // views taken after the call: the memory grew during it, which detaches earlier ones
    if (status === 0) {
      values.set(new Float64Array(x.memory.buffer, pv, m));
      vectors.set(new Float64Array(x.memory.buffer, pz, m * m));
    }
    return status;
  };
}
