/*
 * Convolutions as matrix products. A patch matrix holds one row per output pixel and one column
 * per (ky, kx, c) filter tap, the order of an HWIO filter's rows, so the filter is used as a
 * [kh*kw*cin, cout] matrix in place and the product lands in NHWC order with no transposes:
 *   forward          y[rows, cout]     = patches x filter
 *   filter gradient  dfilter[K, cout]  = patches^T x dy        (summed over batch chunks)
 *   input gradient   dpatches[rows, K] = dy x filter^T, then scattered back (col2im)
 * The batch is processed in chunks so the patch matrix stays near the cache rather than
 * reaching hundreds of megabytes for a large batch.
 */
#include "conv.h"

#include <cblas.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* Patch-matrix budget per chunk, in floats (16 MB). */
#define PATCH_BUDGET (4 * 1024 * 1024)

static int patch_cols(const conv_geometry *g) { return g->kh * g->kw * g->cin; }

static int chunk_images(const conv_geometry *g) {
  long per_image = (long)g->oh * g->ow * patch_cols(g);
  long images = per_image > 0 ? PATCH_BUDGET / per_image : g->n;
  if (images < 1) images = 1;
  return images > g->n ? g->n : (int)images;
}

/* A 1x1, stride-1, unpadded convolution's patch matrix is the input itself. */
static int is_pointwise(const conv_geometry *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 &&
         g->oh == g->h && g->ow == g->w;
}

static void im2col(const conv_geometry *g, const float *x, int first, int count, float *patches) {
  const int cols = patch_cols(g);
  const size_t channel_bytes = sizeof(float) * (size_t)g->cin;
  for (int b = 0; b < count; b++) {
    const float *image = x + (size_t)(first + b) * g->h * g->w * g->cin;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        float *row = patches + ((size_t)(b * g->oh + oy) * g->ow + ox) * cols;
        for (int ky = 0; ky < g->kh; ky++) {
          const int iy = oy * g->sh - g->pt + ky * g->dh;
          for (int kx = 0; kx < g->kw; kx++) {
            const int ix = ox * g->sw - g->pl + kx * g->dw;
            float *tap = row + (ky * g->kw + kx) * g->cin;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) memset(tap, 0, channel_bytes);
            else memcpy(tap, image + ((size_t)iy * g->w + ix) * g->cin, channel_bytes);
          }
        }
      }
    }
  }
}

/* Adds each patch-matrix entry back onto the input pixel it was copied from. */
static void col2im_add(const conv_geometry *g, const float *patches, int first, int count, float *dx) {
  const int cols = patch_cols(g);
  for (int b = 0; b < count; b++) {
    float *image = dx + (size_t)(first + b) * g->h * g->w * g->cin;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        const float *row = patches + ((size_t)(b * g->oh + oy) * g->ow + ox) * cols;
        for (int ky = 0; ky < g->kh; ky++) {
          const int iy = oy * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->h) continue;
          for (int kx = 0; kx < g->kw; kx++) {
            const int ix = ox * g->sw - g->pl + kx * g->dw;
            if (ix < 0 || ix >= g->w) continue;
            const float *tap = row + (ky * g->kw + kx) * g->cin;
            float *pixel = image + ((size_t)iy * g->w + ix) * g->cin;
            for (int c = 0; c < g->cin; c++) pixel[c] += tap[c];
          }
        }
      }
    }
  }
}

/* The operands of one convolution kernel, handed to its per-chunk step. */
typedef struct {
  const float *a, *b;
  float *out;
} operands;

typedef void (*chunk_step)(const conv_geometry *g, int first, int count, float *patches, const operands *ops);

/* Runs `step` over the batch in chunks that share one patch-matrix buffer. */
static int for_each_chunk(const conv_geometry *g, chunk_step step, const operands *ops) {
  const int chunk = chunk_images(g);
  float *patches = malloc(sizeof(float) * (size_t)chunk * g->oh * g->ow * patch_cols(g));
  if (!patches) return -1;
  for (int first = 0; first < g->n; first += chunk) {
    step(g, first, first + chunk > g->n ? g->n - first : chunk, patches, ops);
  }
  free(patches);
  return 0;
}

/* y[chunk] = patches x filter. */
static void forward_step(const conv_geometry *g, int first, int count, float *patches, const operands *ops) {
  const int cols = patch_cols(g), rows = count * g->oh * g->ow;
  im2col(g, ops->a, first, count, patches);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g->cout, cols, 1.0f, patches, cols, ops->b, g->cout,
              0.0f, ops->out + (size_t)first * g->oh * g->ow * g->cout, g->cout);
}

/* dfilter (+)= patches^T x dy[chunk]; the first chunk overwrites. */
static void filter_gradient_step(const conv_geometry *g, int first, int count, float *patches, const operands *ops) {
  const int cols = patch_cols(g), rows = count * g->oh * g->ow;
  im2col(g, ops->a, first, count, patches);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, g->cout, rows, 1.0f, patches, cols,
              ops->b + (size_t)first * g->oh * g->ow * g->cout, g->cout, first == 0 ? 0.0f : 1.0f, ops->out, g->cout);
}

/* dpatches = dy[chunk] x filter^T, scattered back onto dx. */
static void input_gradient_step(const conv_geometry *g, int first, int count, float *patches, const operands *ops) {
  const int cols = patch_cols(g), rows = count * g->oh * g->ow;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, g->cout, 1.0f,
              ops->a + (size_t)first * g->oh * g->ow * g->cout, g->cout, ops->b, g->cout, 0.0f, patches, cols);
  col2im_add(g, patches, first, count, ops->out);
}

/* The pointwise cases skip the patch matrix: it would be a copy of the input. */

int conv2d_forward(const conv_geometry *g, const float *x, const float *filter, float *y) {
  if (is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n * g->h * g->w, g->cout, g->cin, 1.0f, x, g->cin,
                filter, g->cout, 0.0f, y, g->cout);
    return 0;
  }
  const operands ops = {x, filter, y};
  return for_each_chunk(g, forward_step, &ops);
}

int conv2d_filter_gradient(const conv_geometry *g, const float *x, const float *dy, float *dfilter) {
  if (is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->cin, g->cout, g->n * g->h * g->w, 1.0f, x, g->cin, dy,
                g->cout, 0.0f, dfilter, g->cout);
    return 0;
  }
  const operands ops = {x, dy, dfilter};
  return for_each_chunk(g, filter_gradient_step, &ops);
}

int conv2d_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx) {
  if (is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->n * g->h * g->w, g->cin, g->cout, 1.0f, dy, g->cout,
                filter, g->cout, 0.0f, dx, g->cin);
    return 0;
  }
  memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->cin);
  const operands ops = {dy, filter, dx};
  return for_each_chunk(g, input_gradient_step, &ops);
}

void add_bias_activation(float *y, long pixels, int channels, const float *bias, int relu) {
  for (long i = 0; i < pixels; i++) {
    float *row = y + i * channels;
    if (bias)
      for (int c = 0; c < channels; c++) row[c] += bias[c];
    if (relu)
      for (int c = 0; c < channels; c++) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
  }
}

/* Ties within a few float roundings of the window's maximum (see max_pool_gradient). */
#define POOL_TIE_RELATIVE 1e-5f
#define POOL_TIE_ABSOLUTE 1e-7f

void max_pool_gradient(const pool_geometry *g, const float *x, const float *dy, float *dx) {
  memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->c);
  for (int b = 0; b < g->n; b++) {
    const float *image = x + (size_t)b * g->h * g->w * g->c;
    float *grad = dx + (size_t)b * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        const float *upstream = dy + (((size_t)b * g->oh + oy) * g->ow + ox) * g->c;
        for (int ch = 0; ch < g->c; ch++) {
          // The first maximum, counting values within float rounding of the largest as tied: a
          // flat image region gives exactly equal values in exact arithmetic (and in TensorFlow),
          // but FMA kernels round each position slightly differently, which would otherwise send
          // the gradient to whichever position happened to round up.
          float best = -INFINITY;
          for (int ky = 0; ky < g->fh; ky++) {
            const int iy = oy * g->sh - g->pt + ky;
            if (iy < 0 || iy >= g->h) continue;
            for (int kx = 0; kx < g->fw; kx++) {
              const int ix = ox * g->sw - g->pl + kx;
              if (ix < 0 || ix >= g->w) continue;
              const float v = image[((long)iy * g->w + ix) * g->c + ch];
              if (v > best) best = v;
            }
          }
          const float floor_value = best - (POOL_TIE_RELATIVE * fabsf(best) + POOL_TIE_ABSOLUTE);
          long at = -1;
          for (int ky = 0; ky < g->fh && at < 0; ky++) {
            const int iy = oy * g->sh - g->pt + ky;
            if (iy < 0 || iy >= g->h) continue;
            for (int kx = 0; kx < g->fw; kx++) {
              const int ix = ox * g->sw - g->pl + kx;
              if (ix < 0 || ix >= g->w) continue;
              const long offset = ((long)iy * g->w + ix) * g->c + ch;
              if (image[offset] >= floor_value) {
                at = offset;
                break;
              }
            }
          }
          if (at >= 0) grad[at] += upstream[ch];
        }
      }
    }
  }
}
