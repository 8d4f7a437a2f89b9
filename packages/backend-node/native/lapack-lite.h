// regimes' own Cholesky (potrf) and triangular solve (trsm) over regimes_sgemm (lapack-lite.c),
// registered as hostPotrf / hostTrsm by the addon built without OpenBLAS.
#pragma once
#include <node_api.h>
#include <stddef.h>
napi_value regimes_lite_potrf(napi_env env, napi_callback_info info);
napi_value regimes_lite_trsm(napi_env env, napi_callback_info info);
// numerics' diagonal-block kernel of the panel Cholesky (float64 L⁻¹ of a block), on both builds
napi_value regimes_block_cholesky_inverse(napi_env env, napi_callback_info info);
// L (float64, row stride ld, lower triangle) of the b×b block at a (row stride lda) + shift·I, and
// L⁻¹ (row stride ld, upper triangle zero); returns 0, or j + 1 when pivot j is not positive
int regimes_factor_block(int b, const float* a, size_t lda, double shift, double* l, double* inverse, int ld);
