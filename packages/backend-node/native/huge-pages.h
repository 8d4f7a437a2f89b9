// Transparent huge pages for the WebAssembly heap (huge-pages.c; what backend-node's huge-pages.ts
// asks for on `native`).
#pragma once
#include <node_api.h>
napi_value regimes_advise_huge_pages(napi_env env, napi_callback_info info);
