// regimes' own float64 symmetric eigen solver (eigen-lite.c), registered as hostSyev by the addon
// built without OpenBLAS.
#pragma once
#include <node_api.h>
napi_value regimes_lite_syev(napi_env env, napi_callback_info info);
