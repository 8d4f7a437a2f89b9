// regimes' own Cholesky (potrf) and triangular solve (trsm) over regimes_sgemm (lapack-lite.c),
// registered as hostPotrf / hostTrsm by the addon built without OpenBLAS.
#pragma once
#include <node_api.h>
napi_value regimes_lite_potrf(napi_env env, napi_callback_info info);
napi_value regimes_lite_trsm(napi_env env, napi_callback_info info);
