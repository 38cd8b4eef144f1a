{
  "targets": [
    {
      "target_name": "capflow_af_packet",
      "sources": ["af_packet.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
