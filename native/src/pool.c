/*
 * Pooling gradients (NHWC). Max-pool's routes dy to each window's first maximum, values within
 * float rounding of it counted as tied, split over the cores by images. Average-pool's gathers,
 * for each input pixel, dy of every window over it divided by the window size (tfjs's kernel
 * contract; src/cam/avg-pool-gradient.ts makes 'same' padding exact on top of it): tfjs-wasm's
 * kernel took 62 ms of InceptionV3's Guided Grad-CAM for nine such pools.
 */
#include "pool.h"

#include "arguments.h"
#include "parallel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Ties within a few float roundings of the window's maximum (see max_pool_gradient). */
#define POOL_TIE_RELATIVE 1e-5f
#define POOL_TIE_ABSOLUTE 1e-7f

/* The windows along one axis that cover input index i (o * s - pad <= i < o * s - pad + f), as
 * first..last; empty when first > last. */
static void covering(int i, int pad, int f, int s, int out, int *first, int *last) {
  *first = i + pad - f + 1 <= 0 ? 0 : (i + pad - f + 1 + s - 1) / s;
  *last = (i + pad) / s < out - 1 ? (i + pad) / s : out - 1;
}

/* A window's first input index along one axis, and its taps [k0, k1) that lie inside the input. */
typedef struct {
  int start, k0, k1;
} window_span;

static inline window_span span_of(int o, int stride, int pad, int f, int size) {
  const int start = o * stride - pad;
  return (window_span){start, start < 0 ? -start : 0, start + f > size ? size - start : f};
}

/* out[ch] = the maximum of channels [c0, c0 + cb) over a window's taps inside the image; -infinity
 * where none is a number. Inlined into each vectorised caller (and clone). */
static inline __attribute__((always_inline)) void window_maximum(const float *image, int width, int c, window_span y,
                                                                 window_span x, int c0, int cb, float *restrict out) {
  for (int ch = 0; ch < cb; ch++) out[ch] = -INFINITY;
  for (int ky = y.k0; ky < y.k1; ky++)
    for (int kx = x.k0; kx < x.k1; kx++) {
      const float *restrict v = image + ((long)(y.start + ky) * width + x.start + kx) * c + c0;
      for (int ch = 0; ch < cb; ch++) out[ch] = v[ch] > out[ch] ? v[ch] : out[ch];
    }
}

typedef struct {
  const pool_geometry *g;
  const float *x, *dy;
  float *dx;
  int32_t *choice; /* overlapping windows: each window's chosen position ky * fw + kx, per channel */
} pool_call;

typedef struct {
  const pool_geometry *g;
  const float *x;
  float *y;
} forward_call;

/* Output lines [from, to) of n * oh: each window's maximum over its positions inside the input
 * (padding is ignored, as in tfjs); -infinity where none is a number, as on tfjs's cpu backend. */
VECTOR_CLONES static void max_pool_forward_lines(const forward_call *p, long from, long to) {
  const pool_geometry *g = p->g;
  const int c = g->c;
  for (long line = from; line < to; line++) {
    const int b = (int)(line / g->oh), oy = (int)(line % g->oh);
    const float *image = p->x + (size_t)b * g->h * g->w * c;
    const window_span y = span_of(oy, g->sh, g->pt, g->fh, g->h);
    for (int ox = 0; ox < g->ow; ox++)
      window_maximum(image, g->w, c, y, span_of(ox, g->sw, g->pl, g->fw, g->w), 0, c, p->y + ((size_t)line * g->ow + ox) * c);
  }
}

static void max_pool_forward_part(int part, int parts, void *context) {
  const forward_call *p = context;
  const long lines = (long)p->g->n * p->g->oh;
  max_pool_forward_lines(p, lines * part / parts, lines * (part + 1) / parts);
}

void max_pool_forward(const pool_geometry *g, const float *x, float *y) {
  forward_call p = {g, x, y};
  /* Memory-bound: a part per core from about 10^5 values each, as for the gradient. */
  parallel_run(parallel_parts(200.0 * g->n * g->oh * g->ow * g->c * g->fh * g->fw, (long)g->n * g->oh), max_pool_forward_part, &p);
}

/* Channels per block of pass 1: its running values live in stack arrays, which the compiler knows
 * alias nothing, so the channel loops vectorise (through malloc'd ones they did not: 4.8 ms for a
 * 64x32x32x32 2x2 pool on two cores, measured, where the data takes well under one). */
#define POOL_CHANNEL_BLOCK 64

/* Pass 1, over window lines [n * oh) split in parts. Each window's first position within float
 * rounding of its maximum: a flat image region gives exactly equal values in exact arithmetic (and
 * in TensorFlow), but FMA kernels round each position slightly differently, which would otherwise
 * send the gradient to whichever position happened to round up. Disjoint windows own their pixels
 * and write dx at once (dy at the chosen position, 0 elsewhere); overlapping ones record the choice
 * for pass 2. Branch-free over channels, so it vectorises. */
VECTOR_CLONES static void max_pool_choose_lines(pool_call *p, long from, long to) {
  const pool_geometry *g = p->g;
  const int c = g->c;
  float floor_value[POOL_CHANNEL_BLOCK];
  int32_t pick[POOL_CHANNEL_BLOCK];
  for (long line = from; line < to; line++) {
    const int b = (int)(line / g->oh), oy = (int)(line % g->oh);
    const float *image = p->x + (size_t)b * g->h * g->w * c;
    float *grad = p->dx + (size_t)b * g->h * g->w * c;
    const window_span y = span_of(oy, g->sh, g->pt, g->fh, g->h);
    const int y0 = y.start, ky0 = y.k0, ky1 = y.k1;
    for (int ox = 0; ox < g->ow; ox++) {
      const window_span x = span_of(ox, g->sw, g->pl, g->fw, g->w);
      const int x0 = x.start, kx0 = x.k0, kx1 = x.k1;
      const size_t window = ((size_t)line * g->ow + ox) * c;
      for (int c0 = 0; c0 < c; c0 += POOL_CHANNEL_BLOCK) {
        const int cb = c - c0 < POOL_CHANNEL_BLOCK ? c - c0 : POOL_CHANNEL_BLOCK;
        const float *restrict upstream = p->dy + window + c0;
        window_maximum(image, g->w, c, y, x, c0, cb, floor_value);
        for (int ch = 0; ch < cb; ch++) {
          floor_value[ch] -= POOL_TIE_RELATIVE * fabsf(floor_value[ch]) + POOL_TIE_ABSOLUTE;
          pick[ch] = -1; /* none chosen (all NaN): no gradient */
        }
        /* The first position at the floor: positions visited last to first, each at the floor
         * taking over. Selects, not branches, so the loops vectorise. */
        for (int ky = ky1 - 1; ky >= ky0; ky--)
          for (int kx = kx1 - 1; kx >= kx0; kx--) {
            const float *restrict v = image + ((long)(y0 + ky) * g->w + x0 + kx) * c + c0;
            const int32_t k = ky * g->fw + kx;
            for (int ch = 0; ch < cb; ch++) pick[ch] = v[ch] >= floor_value[ch] ? k : pick[ch];
          }
        if (p->choice) {
          memcpy(p->choice + window + c0, pick, sizeof(int32_t) * cb);
          continue;
        }
        for (int ky = ky0; ky < ky1; ky++)
          for (int kx = kx0; kx < kx1; kx++) {
            float *restrict out = grad + ((long)(y0 + ky) * g->w + x0 + kx) * c + c0;
            const int32_t k = ky * g->fw + kx;
            for (int ch = 0; ch < cb; ch++) out[ch] = pick[ch] == k ? upstream[ch] : 0.0f;
          }
      }
    }
  }
}

/* The parts call the vectorised bodies directly: a target_clones function whose address is taken
 * runs its baseline (SSE2) clone, which perf showed running here. */
static void max_pool_choose_part(int part, int parts, void *context) {
  pool_call *p = context;
  const long lines = (long)p->g->n * p->g->oh;
  max_pool_choose_lines(p, lines * part / parts, lines * (part + 1) / parts);
}

/* Pass 2 for overlapping windows, over input lines [n * h): each pixel gathers dy from the windows
 * over it that chose it, so parts never write the same pixel (no scatter, no zeroing first). */
VECTOR_CLONES static void max_pool_gather_lines(const pool_call *p, long from, long to) {
  const pool_geometry *g = p->g;
  const int c = g->c;
  for (long line = from; line < to; line++) {
    const int b = (int)(line / g->h), iy = (int)(line % g->h);
    int oy0, oy1, ox0, ox1;
    covering(iy, g->pt, g->fh, g->sh, g->oh, &oy0, &oy1);
    for (int ix = 0; ix < g->w; ix++) {
      covering(ix, g->pl, g->fw, g->sw, g->ow, &ox0, &ox1);
      float *restrict out = p->dx + (((size_t)b * g->h + iy) * g->w + ix) * c;
      for (int ch = 0; ch < c; ch++) out[ch] = 0.0f;
      for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) {
          const size_t window = (((size_t)b * g->oh + oy) * g->ow + ox) * c;
          const int32_t k = (iy - (oy * g->sh - g->pt)) * g->fw + (ix - (ox * g->sw - g->pl));
          const float *restrict up = p->dy + window;
          const int32_t *restrict chosen = p->choice + window;
          for (int ch = 0; ch < c; ch++) out[ch] += chosen[ch] == k ? up[ch] : 0.0f;
        }
    }
  }
}

static void max_pool_gather_part(int part, int parts, void *context) {
  const pool_call *p = context;
  const long lines = (long)p->g->n * p->g->h;
  max_pool_gather_lines(p, lines * part / parts, lines * (part + 1) / parts);
}

int max_pool_gradient(const pool_geometry *g, const float *x, const float *dy, float *dx) {
  const int disjoint = g->sh >= g->fh && g->sw >= g->fw;
  /* Disjoint windows that tile the input exactly (2x2 stride 2 on an even map) write every pixel. */
  const int tiled = disjoint && g->sh == g->fh && g->sw == g->fw && g->pt == 0 && g->pl == 0 && g->oh * g->sh == g->h &&
                    g->ow * g->sw == g->w;
  if (disjoint && !tiled) memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->c);
  const size_t windows = (size_t)g->n * g->oh * g->ow * g->c;
  pool_call p = {g, x, dy, dx, NULL};
  if (!disjoint) {
    p.choice = malloc(sizeof(int32_t) * windows);
    if (!p.choice) return -1;
  }
  /* Memory-bound, ~100x cheaper per element than a multiply-add is per call: a part per core from
   * about 10^5 values each. */
  parallel_run(parallel_parts(200.0 * windows * g->fh * g->fw, (long)g->n * g->oh), max_pool_choose_part, &p);
  if (!disjoint) parallel_run(parallel_parts(200.0 * g->n * g->h * g->w * g->c, (long)g->n * g->h), max_pool_gather_part, &p);
  free(p.choice);
  return 0;
}

typedef struct {
  const pool_geometry *g;
  const float *in;
  float *out;
} avg_call;

/* Taps of a window that lie inside the image: what TensorFlow (and tfjs's forward) divide by. */
static inline int inside_count(window_span y, window_span x) { return (y.k1 - y.k0) * (x.k1 - x.k0); }

/* Output lines (n * oh of them) [from, to): each window's mean over its taps inside the image. */
VECTOR_CLONES static void avg_pool_forward_lines(const avg_call *p, long from, long to) {
  const pool_geometry *g = p->g;
  const int c = g->c;
  for (long line = from; line < to; line++) {
    const int b = (int)(line / g->oh), oy = (int)(line % g->oh);
    const float *image = p->in + (size_t)b * g->h * g->w * c;
    const window_span y = span_of(oy, g->sh, g->pt, g->fh, g->h);
    for (int ox = 0; ox < g->ow; ox++) {
      const window_span x = span_of(ox, g->sw, g->pl, g->fw, g->w);
      float *restrict out = p->out + ((size_t)line * g->ow + ox) * c;
      for (int ch = 0; ch < c; ch++) out[ch] = 0.0f;
      for (int ky = y.k0; ky < y.k1; ky++)
        for (int kx = x.k0; kx < x.k1; kx++) {
          const float *restrict v = image + ((long)(y.start + ky) * g->w + x.start + kx) * c;
          for (int ch = 0; ch < c; ch++) out[ch] += v[ch];
        }
      const int count = inside_count(y, x);
      const float scale = count > 0 ? 1.0f / (float)count : 0.0f;
      for (int ch = 0; ch < c; ch++) out[ch] *= scale;
    }
  }
}

static void avg_pool_forward_part(int part, int parts, void *context) {
  const avg_call *p = context;
  const long lines = (long)p->g->n * p->g->oh;
  avg_pool_forward_lines(p, lines * part / parts, lines * (part + 1) / parts);
}

void avg_pool_forward(const pool_geometry *g, const float *x, float *y) {
  avg_call p = {g, x, y};
  parallel_run(parallel_parts(200.0 * g->n * g->oh * g->ow * g->c * g->fh * g->fw, (long)g->n * g->oh), avg_pool_forward_part, &p);
}

/* Input lines (n * h of them) [from, to): each pixel gathers dy / (the window's inside count) of the
 * windows over it, so parts never write the same pixel and a single image splits by rows. */
VECTOR_CLONES static void avg_pool_gradient_lines(const avg_call *p, long from, long to) {
  const pool_geometry *g = p->g;
  const int c = g->c;
  for (long line = from; line < to; line++) {
    const int b = (int)(line / g->h), iy = (int)(line % g->h);
    int oy0, oy1, ox0, ox1;
    covering(iy, g->pt, g->fh, g->sh, g->oh, &oy0, &oy1);
    for (int ix = 0; ix < g->w; ix++) {
      covering(ix, g->pl, g->fw, g->sw, g->ow, &ox0, &ox1);
      float *restrict out = p->out + (((size_t)b * g->h + iy) * g->w + ix) * c;
      for (int ch = 0; ch < c; ch++) out[ch] = 0.0f;
      for (int oy = oy0; oy <= oy1; oy++) {
        const window_span y = span_of(oy, g->sh, g->pt, g->fh, g->h);
        for (int ox = ox0; ox <= ox1; ox++) {
          const float scale = 1.0f / (float)inside_count(y, span_of(ox, g->sw, g->pl, g->fw, g->w));
          const float *restrict up = p->in + (((size_t)b * g->oh + oy) * g->ow + ox) * c;
          for (int ch = 0; ch < c; ch++) out[ch] += up[ch] * scale;
        }
      }
    }
  }
}

static void avg_pool_gradient_part(int part, int parts, void *context) {
  const avg_call *p = context;
  const long lines = (long)p->g->n * p->g->h;
  avg_pool_gradient_lines(p, lines * part / parts, lines * (part + 1) / parts);
}

void avg_pool_gradient(const pool_geometry *g, const float *dy, float *dx) {
  avg_call p = {g, dy, dx};
  parallel_run(parallel_parts(20.0 * g->n * g->h * g->w * g->c * g->fh * g->fw, (long)g->n * g->h), avg_pool_gradient_part, &p);
}

/* A pool geometry argument (POOL_GEOMETRY_FIELDS int32 values, padding >= 0, the rest > 0). */
static int pool_geometry_argument(napi_env env, napi_value value, pool_geometry *g) {
  const int32_t *f = int32_fields(env, value, POOL_GEOMETRY_FIELDS);
  if (!f) return 0;
  for (int i = 0; i < POOL_GEOMETRY_FIELDS; i++) {
    if (i >= 10 ? f[i] < 0 : f[i] <= 0) return 0;
  }
  *g = (pool_geometry){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]};
  return 1;
}

/* Checks each Float32Array against its expected length ('I' input-sized, 'O' output-sized). */
static int pool_arrays(napi_env env, napi_value *args, const char *kinds, const pool_geometry *g, float **out,
                       const char *name) {
  const size_t input = (size_t)g->n * g->h * g->w * g->c, output = (size_t)g->n * g->oh * g->ow * g->c;
  size_t lengths[3] = {0, 0, 0};
  int ok = 1;
  for (int i = 0; kinds[i]; i++) {
    out[i] = float32_argument(env, args[i], &lengths[i]);
    ok = ok && out[i] && lengths[i] == (kinds[i] == 'I' ? input : output);
  }
  if (!ok) {
    char message[200];
    snprintf(message, sizeof message, "%s: Float32Array lengths %zu, %zu, %zu do not match the geometry (input %zu, output %zu)",
             name, lengths[0], lengths[1], lengths[2], input, output);
    fail(env, message);
  }
  return ok;
}

/* Reads (arrays..., geometry): `kinds` names each Float32Array's size ('I' input, 'O' output). Returns 0
 * after throwing a named error when an argument does not fit. */
static int pool_arguments(napi_env env, napi_callback_info info, const char *name, const char *kinds, const char *usage,
                          pool_geometry *g, float **arrays) {
  const size_t want = strlen(kinds) + 1;
  size_t argc = 4;
  napi_value args[4];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != want) {
    fail(env, usage);
    return 0;
  }
  if (!pool_geometry_argument(env, args[want - 1], g)) {
    fail(env, "pool geometry must be an Int32Array of 12 positive sizes");
    return 0;
  }
  return pool_arrays(env, args, kinds, g, arrays, name);
}

napi_value max_pool_gradient_binding(napi_env env, napi_callback_info info) {
  pool_geometry g;
  float *arrays[3];
  if (!pool_arguments(env, info, "maxPoolGradient", "IOI", "maxPoolGradient expects (Float32Array x, Float32Array dy, Float32Array dx, Int32Array geometry)", &g, arrays)) return NULL;
  if (max_pool_gradient(&g, arrays[0], arrays[1], arrays[2]) != 0) return fail(env, "maxPoolGradient: out of memory");
  return NULL;
}

napi_value max_pool_forward_binding(napi_env env, napi_callback_info info) {
  pool_geometry g;
  float *arrays[2];
  if (!pool_arguments(env, info, "maxPool", "IO", "maxPool expects (Float32Array x, Float32Array y, Int32Array geometry)", &g, arrays)) return NULL;
  max_pool_forward(&g, arrays[0], arrays[1]);
  return NULL;
}

napi_value avg_pool_forward_binding(napi_env env, napi_callback_info info) {
  pool_geometry g;
  float *arrays[2];
  if (!pool_arguments(env, info, "avgPool", "IO", "avgPool expects (Float32Array x, Float32Array y, Int32Array geometry)", &g, arrays)) return NULL;
  avg_pool_forward(&g, arrays[0], arrays[1]);
  return NULL;
}

napi_value avg_pool_gradient_binding(napi_env env, napi_callback_info info) {
  pool_geometry g;
  float *arrays[2];
  if (!pool_arguments(env, info, "avgPoolGradient", "OI", "avgPoolGradient expects (Float32Array dy, Float32Array dx, Int32Array geometry)", &g, arrays)) return NULL;
  avg_pool_gradient(&g, arrays[0], arrays[1]);
  return NULL;
}
