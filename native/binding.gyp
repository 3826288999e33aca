{
  "targets": [
    {
      "target_name": "gradcam_native",
      "sources": ["src/conv.c", "src/batch_norm.c", "src/binding.c"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/openblas"],
      "libraries": ["-lopenblas"],
      "cflags": ["-O3", "-std=c11", "-Wall"]
    }
  ]
}
