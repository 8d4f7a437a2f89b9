// The WebAssembly build of eigen-lite.c, for machines where the addon is not built (no C compiler):
// the same solver on one thread, its 2-lane vectors as WebAssembly SIMD128. Built by
// scripts/build-eigen-wasm.mjs with clang's wasm32-wasi target; numerics loads the result.
// gemm.c's threads and CPU switch, reduced to one thread and the baseline code.
#include <stdlib.h>
#include "gemm.h"

int regimes_gemm_threads(void) { return 1; }
int regimes_use_avx2(void) { return 0; }
void regimes_run_threads(int count, void* (*fn)(void*), void* args, size_t size) {
  for (int t = 0; t < count; t++) fn((char*)args + (size_t)t * size);
}
void regimes_parallel_ranges(int count, int total, int unit, void (*fn)(void*, int, int), void* arg) {
  (void)count;
  (void)unit;
  fn(arg, 0, total);
}

int regimes_wasm_syev(int m, double* w, double* values, double* vectors);

__attribute__((export_name("syev"))) int syev(int m, double* w, double* values, double* vectors) {
  return regimes_wasm_syev(m, w, values, vectors);
}
// numerics (host/eigen-wasm.ts) runs each decomposition in a new instance and frees nothing: the
// instance's memory goes with it
__attribute__((export_name("allocate"))) void* allocate(size_t bytes) { return malloc(bytes); }
