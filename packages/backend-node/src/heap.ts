/** The largest WebAssembly heap tfjs-backend-wasm can grow to, where every tensor lives: the 32-bit address space. */
export const WASM_HEAP_BYTES = 2 ** 32;
