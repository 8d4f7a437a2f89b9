{
  "targets": [
    {
      "target_name": "regimes_blas",
      "sources": ["blas.c"],
      "cflags": ["-O2"],
      "libraries": ["-lopenblas"]
    }
  ]
}
