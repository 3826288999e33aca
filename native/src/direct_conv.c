/*
 * Direct convolution with a register-blocked AVX2/FMA kernel, for NHWC input, an HWIO filter and a
 * cout that is a multiple of 8. im2col + SGEMM writes each input pixel kh*kw times into a patch
 * matrix and has SGEMM pack it again; for the small and mid-sized layers of an image network that
 * copying, not the multiply-adds, set the pace (measured on the shipped CIFAR-10 model: 32-output
 * layers ran at under half the FMA rate of 128-output ones). Here each output row reads a strip of
 * kh input rows, zero-padded once into a small buffer, and a 6-pixel x 16-channel block of
 * outputs stays in 12 registers while every (ky, kx, ci) tap adds one broadcast input times two
 * filter vectors. The epilogue (bias, ReLU/ReLU6) is applied as the block is stored.
 * Any stride and dilation. Machines without AVX2 + FMA (and other compilers) keep im2col + SGEMM.
 */
#include "direct_conv.h"
#include "parallel.h"

#include <stdlib.h>
#include <string.h>

/* Every kernel reads at most this many output pixels' inputs per block. */
#define MAX_BLOCK_PIXELS 6

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#include <immintrin.h>
#define HAVE_DIRECT_KERNEL 1

/* Strip of one output row: kh input rows, `width` padded pixels each, cin floats per pixel. */
typedef struct {
  const conv_geometry *g;
  const float *x, *filter, *bias;
  float *y;
  int activation;
  int pixels; /* per block: 6, or 4 where that divides the row and 6 does not */
  int strip_width;
  int failed;
} direct_call;

static int block_pixels(const conv_geometry *g) { return g->ow % 6 != 0 && g->ow % 4 == 0 ? 4 : 6; }

/* Padded pixels per strip row: the last block's first pixel plus the most any kernel reads. */
static int strip_width(const conv_geometry *g, int pixels) {
  const int blocks = (g->ow + pixels - 1) / pixels;
  return ((blocks - 1) * pixels + MAX_BLOCK_PIXELS - 1) * g->sw + (g->kw - 1) * g->dw + 1;
}

/* Copies the kh input rows output row `oy` of `image` reads, zero outside the image. */
static void fill_strip(const conv_geometry *g, const float *image, int oy, int width, float *strip) {
  const size_t pixel = (size_t)g->cin;
  for (int ky = 0; ky < g->kh; ky++) {
    float *row = strip + (size_t)ky * width * pixel;
    const int iy = oy * g->sh - g->pt + ky * g->dh;
    if (iy < 0 || iy >= g->h) {
      memset(row, 0, sizeof(float) * width * pixel);
      continue;
    }
    const int first = g->pl < width ? g->pl : width;            /* strip columns left of the image */
    const int last = g->pl + g->w < width ? g->pl + g->w : width; /* one past the image's last column */
    memset(row, 0, sizeof(float) * first * pixel);
    memcpy(row + first * pixel, image + (size_t)iy * g->w * pixel, sizeof(float) * (last - first) * pixel);
    memset(row + last * pixel, 0, sizeof(float) * (width - last) * pixel);
  }
}

__attribute__((target("avx2,fma"))) static inline __m256 activate(__m256 v, int activation) {
  if (activation == ACTIVATION_LINEAR) return v;
  v = _mm256_max_ps(v, _mm256_setzero_ps());
  return activation == ACTIVATION_RELU6 ? _mm256_min_ps(v, _mm256_set1_ps(6.0f)) : v;
}

/* The accumulators are named variables, not an array: GCC keeps an array of vectors in memory and
 * stores every one back on each tap, which made the kernel store-bound (measured 2-4x slower). */
#define TAPS(...)                                                                    \
  for (int ky = 0; ky < g->kh; ky++) {                                               \
    for (int kx = 0; kx < g->kw; kx++) {                                             \
      const float *x = in + ((size_t)ky * strip_width + (size_t)kx * g->dw) * cin;   \
      const float *f = w + (size_t)(ky * g->kw + kx) * cin * cout;                   \
      for (int ci = 0; ci < cin; ci++, f += cout) {                                  \
        __VA_ARGS__                                                                  \
      }                                                                              \
    }                                                                                \
  }
#define BROADCAST(j) _mm256_broadcast_ss(x + (j) * step + ci)

#define FMA2(j) v = BROADCAST(j), a##j = _mm256_fmadd_ps(v, w0, a##j), b##j = _mm256_fmadd_ps(v, w1, b##j);
#define STORE16(j)                                                                                 \
  if (j < valid) {                                                                                 \
    _mm256_storeu_ps(y + (size_t)(j) * cout, activate(_mm256_add_ps(a##j, lo), activation));      \
    _mm256_storeu_ps(y + (size_t)(j) * cout + 8, activate(_mm256_add_ps(b##j, hi), activation));  \
  }
#define KERNEL_ARGS                                                                                 \
  const conv_geometry *g, const float *in, int strip_width, const float *w, const float *bias, int activation, \
      float *y, int valid
#define KERNEL_START                                       \
  const int cin = g->cin, cout = g->cout;                  \
  const size_t step = (size_t)g->sw * cin;                 \
  const __m256 lo = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();

/* y[p, co + 0..15] for 6 output pixels (`valid` of them stored) of one row: 12 accumulators. `in`
 * is the strip at the block's first pixel; `w` the filter at column co. */
__attribute__((target("avx2,fma"))) static void block6x16(KERNEL_ARGS) {
  KERNEL_START
  const __m256 hi = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0;
  TAPS({
    const __m256 w0 = _mm256_loadu_ps(f), w1 = _mm256_loadu_ps(f + 8);
    __m256 v;
    FMA2(0) FMA2(1) FMA2(2) FMA2(3) FMA2(4) FMA2(5)
  })
  STORE16(0) STORE16(1) STORE16(2) STORE16(3) STORE16(4) STORE16(5)
}

/* 4 pixels x 16 channels, for rows whose width 4 divides and 6 does not (8x8 maps lose a third of
 * a 6-pixel kernel's work to the last, partial block). */
__attribute__((target("avx2,fma"))) static void block4x16(KERNEL_ARGS) {
  KERNEL_START
  const __m256 hi = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  TAPS({
    const __m256 w0 = _mm256_loadu_ps(f), w1 = _mm256_loadu_ps(f + 8);
    __m256 v;
    FMA2(0) FMA2(1) FMA2(2) FMA2(3)
  })
  STORE16(0) STORE16(1) STORE16(2) STORE16(3)
}

/* 6 pixels x 8 channels, for the last 8 of a cout that is 8 more than a multiple of 16 (also with
 * 4-pixel blocks: the two lanes it computes past `valid` are not stored). */
__attribute__((target("avx2,fma"))) static void block6x8(KERNEL_ARGS) {
  KERNEL_START
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  TAPS({
    const __m256 w0 = _mm256_loadu_ps(f);
    a0 = _mm256_fmadd_ps(BROADCAST(0), w0, a0);
    a1 = _mm256_fmadd_ps(BROADCAST(1), w0, a1);
    a2 = _mm256_fmadd_ps(BROADCAST(2), w0, a2);
    a3 = _mm256_fmadd_ps(BROADCAST(3), w0, a3);
    a4 = _mm256_fmadd_ps(BROADCAST(4), w0, a4);
    a5 = _mm256_fmadd_ps(BROADCAST(5), w0, a5);
  })
  const __m256 as[6] = {a0, a1, a2, a3, a4, a5};
  for (int j = 0; j < valid; j++) _mm256_storeu_ps(y + (size_t)j * cout, activate(_mm256_add_ps(as[j], lo), activation));
}

static void direct_part(int part, int parts, void *context) {
  direct_call *c = context;
  const conv_geometry *g = c->g;
  const long lines = (long)g->n * g->oh;
  const long from = lines * part / parts, to = lines * (part + 1) / parts;
  if (from >= to) return;
  const int width = c->strip_width;
  float *strip = malloc(sizeof(float) * (size_t)g->kh * width * g->cin);
  if (!strip) {
    c->failed = 1;
    return;
  }
  const int pixels = c->pixels;
  const size_t block_step = (size_t)pixels * g->sw * g->cin;
  for (long line = from; line < to; line++) {
    const int oy = (int)(line % g->oh);
    fill_strip(g, c->x + (size_t)(line / g->oh) * g->h * g->w * g->cin, oy, width, strip);
    float *row = c->y + (size_t)line * g->ow * g->cout;
    for (int co = 0; co < g->cout; co += 16) {
      const float *bias = c->bias ? c->bias + co : NULL;
      const float *w = c->filter + co;
      for (int ox = 0, b = 0; ox < g->ow; ox += pixels, b++) {
        const int valid = g->ow - ox < pixels ? g->ow - ox : pixels;
        float *y = row + (size_t)ox * g->cout + co;
        const float *in = strip + b * block_step;
        if (g->cout - co < 16) block6x8(g, in, width, w, bias, c->activation, y, valid);
        else if (pixels == 4) block4x16(g, in, width, w, bias, c->activation, y, valid);
        else block6x16(g, in, width, w, bias, c->activation, y, valid);
      }
    }
  }
  free(strip);
}

int direct_conv_supported(const conv_geometry *g) {
  static int cpu = -1;
  if (cpu < 0) {
    __builtin_cpu_init();
    cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  /* A 16-column slice of the filter must stay in a 32 kB L1 (kh * kw * cin * 16 floats): past that,
   * each tap reads the filter from L2, and im2col + SGEMM, which blocks for the caches, measured
   * faster (1.05-1.4x at kh * kw * cin = 576, up to 2x at 1152). Below it the direct kernel measured
   * 1.0-3.4x faster (1.1x at 504). */
  return cpu && g->cout % 8 == 0 && g->kh * g->kw * g->cin * 16 * (int)sizeof(float) <= 32 * 1024;
}

int direct_conv_forward(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation,
                        float *y) {
  const int pixels = block_pixels(g);
  direct_call c = {g, x, filter, bias, y, activation, pixels, strip_width(g, pixels), 0};
  const double work = (double)g->n * g->oh * g->ow * g->cout * g->kh * g->kw * g->cin;
  parallel_run(parallel_parts(work, (long)g->n * g->oh), direct_part, &c);
  return c.failed ? -1 : 0;
}

int direct_input_gradient_supported(const conv_geometry *g) {
  if (g->sh != 1 || g->sw != 1) return 0;
  const conv_geometry t = input_gradient_geometry(g);
  return t.pt >= 0 && t.pl >= 0 && direct_conv_supported(&t);
}

int direct_conv_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx) {
  const conv_geometry t = input_gradient_geometry(g);
  float *turned = turned_filter(g, filter);
  if (!turned) return -1;
  const int failed = direct_conv_forward(&t, dy, turned, NULL, ACTIVATION_LINEAR, dx);
  free(turned);
  return failed;
}

#else
int direct_conv_supported(const conv_geometry *g) {
  (void)g;
  return 0;
}

int direct_conv_forward(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation,
                        float *y) {
  (void)g, (void)x, (void)filter, (void)bias, (void)activation, (void)y;
  return -1;
}

int direct_input_gradient_supported(const conv_geometry *g) {
  (void)g;
  return 0;
}

int direct_conv_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx) {
  (void)g, (void)dy, (void)filter, (void)dx;
  return -1;
}
#endif
