// The ReLU dual (arc-cosine kernels of degrees 1 and 0) and the correlation c/√(q_a q_b) entry by
// entry, for the addon's reluDual and correlation (relu-dual.c; what backend-node's relu-dual.ts and
// correlation.ts register on `native`).
#pragma once
#include <node_api.h>
napi_value regimes_relu_dual(napi_env env, napi_callback_info info);
napi_value regimes_relu_dual_shifted(napi_env env, napi_callback_info info);
napi_value regimes_correlation(napi_env env, napi_callback_info info);
