// regimes' own SGEMM (gemm.c): row-major c = op(a)·op(b), op(a) m×k, op(b) k×n, leading dimensions
// those of dense matrices. Returns 0, or −1 when a packing buffer could not be allocated.
#pragma once
#include <stddef.h>
int regimes_sgemm(int trans_a, int trans_b, int m, int n, int k, const float* a, const float* b, float* c);
int regimes_gemm_threads(void);
// The product when op(a) has one row, op(b) one column or k = 1 (gemv.c: a matrix-vector or outer
// product, without packing): returns 1 when it computed c, 0 when the product is none of these.
int regimes_vector_product(int trans_a, int trans_b, int m, int n, int k, const float* a, const float* b, float* c);
const char* regimes_gemm_kernel(void);
// c = aᵀa (trans: a k×n) or aaᵀ (a n×k), n×n with both triangles (half a product's work).
int regimes_ssyrk(int trans, int n, int k, const float* a, float* c);
// the upper triangle of the n×n row-major c := its lower one
void regimes_mirror_lower(int n, float* c);
// Whether code built for AVX2/FMA should run: the CPU has both and REGIMES_GEMM_PORTABLE is not set
// to a non-zero value (read at each call, so tests can switch it). 0 off x86-64.
int regimes_use_avx2(void);
// Run fn(args + t·size) for t = 0..count−1 (count ≤ 64): t ≥ 1 on new threads, t = 0 here, and any
// whose thread did not start here as well; returns when all are done.
void regimes_run_threads(int count, void* (*fn)(void*), void* args, size_t size);
// fn(arg, from, to) over `total` items split into `count` ranges (count ≤ 64; boundaries at
// multiples of `unit`, so fewer ranges when there are fewer blocks), the first here and the others
// on threads (regimes_run_threads); one call fn(arg, 0, total) when count ≤ 1.
void regimes_parallel_ranges(int count, int total, int unit, void (*fn)(void* arg, int from, int to), void* arg);
