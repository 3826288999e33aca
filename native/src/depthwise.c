/*
 * Depthwise convolution (NHWC input, [kh, kw, C, m] filter, output channel o = c * m + j) and its
 * input gradient, for MobileNet-style models on the wasm backend, where XNNPACK has 128-bit SIMD and
 * no FMA. The channel loop is innermost and contiguous in every array, so it vectorises. The forward
 * pass splits output rows over the cores, the input gradient input rows: it gathers each input
 * pixel's contributions (rather than scattering each output's), so parts never write the same pixel,
 * and can pass each pixel back through the activation before it while it is in cache (activation_gate).
 */
#include "conv.h"
#include "parallel.h"

#include <math.h>
#include <string.h>

typedef struct {
  const conv_geometry *g;
  const float *a, *filter;
  float *out;
  const activation_gate *gate; /* input gradient only: NULL, or the activation to pass dx back through */
} depthwise_call;

/* dx[c] through the activation whose output is y[c] (guided: dx's negative part cut first). */
static inline __attribute__((always_inline)) void gate_pixel(float *restrict dx, const float *restrict y, int C, float top, int guided) {
  if (guided) {
    for (int c = 0; c < C; c++) dx[c] = (y[c] > 0.0f) & (y[c] < top) & (dx[c] > 0.0f) ? dx[c] : 0.0f;
  } else {
    for (int c = 0; c < C; c++) dx[c] = (y[c] > 0.0f) & (y[c] < top) ? dx[c] : 0.0f;
  }
}

VECTOR_CLONES static void depthwise_forward_lines(const depthwise_call *d, long from, long to) {
  const conv_geometry *g = d->g;
  const int C = g->cin, O = g->cout, m = O / C;
  for (long line = from; line < to; line++) {
    const int b = (int)(line / g->oh), oy = (int)(line % g->oh);
    const float *image = d->a + (size_t)b * g->h * g->w * C;
    for (int ox = 0; ox < g->ow; ox++) {
      float *restrict y = d->out + ((size_t)line * g->ow + ox) * O;
      memset(y, 0, sizeof(float) * (size_t)O);
      for (int ky = 0; ky < g->kh; ky++) {
        const int iy = oy * g->sh - g->pt + ky;
        if (iy < 0 || iy >= g->h) continue;
        for (int kx = 0; kx < g->kw; kx++) {
          const int ix = ox * g->sw - g->pl + kx;
          if (ix < 0 || ix >= g->w) continue;
          const float *restrict x = image + ((size_t)iy * g->w + ix) * C;
          const float *restrict f = d->filter + (size_t)(ky * g->kw + kx) * O;
          if (m == 1) {
            for (int c = 0; c < C; c++) y[c] += x[c] * f[c];
          } else {
            for (int o = 0; o < O; o++) y[o] += x[o / m] * f[o];
          }
        }
      }
    }
  }
}

VECTOR_CLONES static void depthwise_input_gradient_lines(const depthwise_call *d, long from, long to) {
  const conv_geometry *g = d->g;
  const int C = g->cin, O = g->cout, m = O / C;
  for (long line = from; line < to; line++) {
    const int b = (int)(line / g->h), iy = (int)(line % g->h);
    const float *dy_image = d->a + (size_t)b * g->oh * g->ow * O;
    for (int ix = 0; ix < g->w; ix++) {
      float *restrict dx = d->out + ((size_t)line * g->w + ix) * C;
      memset(dx, 0, sizeof(float) * (size_t)C);
      for (int ky = 0; ky < g->kh; ky++) {
        const int ty = iy + g->pt - ky; /* = oy * sh */
        if (ty < 0 || ty % g->sh != 0 || ty / g->sh >= g->oh) continue;
        const int oy = ty / g->sh;
        for (int kx = 0; kx < g->kw; kx++) {
          const int tx = ix + g->pl - kx;
          if (tx < 0 || tx % g->sw != 0 || tx / g->sw >= g->ow) continue;
          const int ox = tx / g->sw;
          const float *restrict dy = dy_image + ((size_t)oy * g->ow + ox) * O;
          const float *restrict f = d->filter + (size_t)(ky * g->kw + kx) * O;
          if (m == 1) {
            for (int c = 0; c < C; c++) dx[c] += dy[c] * f[c];
          } else {
            for (int o = 0; o < O; o++) dx[o / m] += dy[o] * f[o];
          }
        }
      }
      if (d->gate) {
        gate_pixel(dx, d->gate->y + ((size_t)line * g->w + ix) * C, C, d->gate->activation == ACTIVATION_RELU6 ? 6.0f : INFINITY,
                   d->gate->guided);
      }
    }
  }
}

/* Multiply-adds of a depthwise convolution. */
static double depthwise_work(const conv_geometry *g) { return (double)g->n * g->oh * g->ow * g->cout * g->kh * g->kw; }

/* Called through parallel_run, so they call the cloned bodies directly (see VECTOR_CLONES). */
static void depthwise_forward_part(int part, int parts, void *context) {
  const depthwise_call *d = context;
  const long lines = (long)d->g->n * d->g->oh;
  depthwise_forward_lines(d, lines * part / parts, lines * (part + 1) / parts);
}

static void depthwise_input_gradient_part(int part, int parts, void *context) {
  const depthwise_call *d = context;
  const long lines = (long)d->g->n * d->g->h;
  depthwise_input_gradient_lines(d, lines * part / parts, lines * (part + 1) / parts);
}

int depthwise_forward(const conv_geometry *g, const float *x, const float *filter, float *y) {
  depthwise_call d = {g, x, filter, y, NULL};
  /* Memory-bound more than a dense convolution: a part from about 10^6 multiply-adds. */
  parallel_run(parallel_parts(20.0 * depthwise_work(g), (long)g->n * g->oh), depthwise_forward_part, &d);
  return 0;
}

int depthwise_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx, const activation_gate *gate) {
  depthwise_call d = {g, dy, filter, dx, gate};
  parallel_run(parallel_parts(20.0 * depthwise_work(g), (long)g->n * g->h), depthwise_input_gradient_part, &d);
  return 0;
}
