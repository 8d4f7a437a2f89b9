// regimes' own SGEMM (gemm.c): row-major c = op(a)·op(b), op(a) m×k, op(b) k×n, leading dimensions
// those of dense matrices. Returns 0, or −1 when a packing buffer could not be allocated.
#pragma once
int regimes_sgemm(int trans_a, int trans_b, int m, int n, int k, const float* a, const float* b, float* c);
int regimes_gemm_threads(void);
const char* regimes_gemm_kernel(void);
// c = aᵀa (trans: a k×n) or aaᵀ (a n×k), n×n with both triangles (half a product's work).
int regimes_ssyrk(int trans, int n, int k, const float* a, float* c);
// the upper triangle of the n×n row-major c := its lower one
void regimes_mirror_lower(int n, float* c);
