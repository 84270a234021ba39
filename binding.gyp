{
  "targets": [
    {
      "target_name": "nanomq_native",
      "sources": ["implementations/native/src/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-std=gnu++17", "-std=c++17", "-fno-exceptions"],
      "cflags_cc": ["-std=gnu++20", "-O3", "-fno-exceptions"],
      "ldflags": ["-pthread"]
    }
  ]
}
