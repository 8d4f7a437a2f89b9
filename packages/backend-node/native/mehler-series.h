// The deep kernels' separable series S = t^offset Σ_k a_ik b_kj u^k entry by entry, for the addon's
// mehlerSeries (mehler-series.c; what backend-node's mehler-series.ts registers on `native`).
#pragma once
#include <node_api.h>
napi_value regimes_mehler_series(napi_env env, napi_callback_info info);
