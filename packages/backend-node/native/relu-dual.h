// The ReLU dual (arc-cosine kernels of degrees 1 and 0) entry by entry, for the addon's reluDual
// (relu-dual.c; what backend-node's relu-dual.ts registers on `native`).
#pragma once
#include <node_api.h>
napi_value regimes_relu_dual(napi_env env, napi_callback_info info);
