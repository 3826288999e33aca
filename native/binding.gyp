{
  "targets": [
    {
      "target_name": "gradcam_native",
      "sources": ["src/conv.c", "src/direct_conv.c", "src/winograd.c", "src/workspace.c", "src/pool.c", "src/resize.c", "src/matmul.c", "src/broadcast.c", "src/arguments.c", "src/depthwise.c", "src/parallel.c", "src/batch_norm.c", "src/binding.c"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I openblas | sed 's/-I//g')"],
      "libraries": ["<!@(pkg-config --libs openblas)", "-lpthread"],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=fast", "-Wall"]
    }
  ]
}
