/*
 * Upsample-and-normalise (src/cam/normalise.ts) in three threaded passes over the output, instead of
 * tfjs's ResizeBilinear followed by Max, Maximum, RealDiv, Greater, Cast and Multiply: on tfjs-node
 * those took 5-6 ms of MobileNetV2's 22 ms Grad-CAM of five classes (bench/profile-keras.ts).
 */
#include "resize.h"

#include "arguments.h"
#include "conv.h"
#include "parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One axis of a half-pixel bilinear resize: for each output index its two inputs and the weight of
 * the second, as TensorFlow computes them (in = (o + 0.5) * in_size / out_size - 0.5). */
typedef struct {
  int *lower, *upper;
  float *lerp;
} axis_table;

static void fill_axis(axis_table *t, int in_size, int out_size) {
  const float scale = (float)in_size / (float)out_size;
  for (int o = 0; o < out_size; o++) {
    const float in = ((float)o + 0.5f) * scale - 0.5f;
    const float floor_in = floorf(in);
    const int lower = (int)floor_in;
    t->lower[o] = lower < 0 ? 0 : lower;
    t->upper[o] = (int)ceilf(in) < in_size - 1 ? (int)ceilf(in) : in_size - 1;
    t->lerp[o] = in - floor_in;
  }
}

typedef struct {
  const float *maps;
  int R, h, w, H, W;
  axis_table ys, xs;
  float *rows;     /* [R, h, W]: each input row lerped horizontally */
  float *row_peak; /* [R, H] */
  float *divisor;  /* [R]: the peak, or 0 for an all-zero map */
  float *out;
} resize_call;

/* row[x] = in[lower[x]] + (in[upper[x]] - in[lower[x]]) * lerp[x] */
static VECTOR_CLONES void lerp_gathered(const float *in, const axis_table *t, int W, float *restrict row) {
  for (int x = 0; x < W; x++) {
    const float left = in[t->lower[x]], right = in[t->upper[x]];
    row[x] = left + (right - left) * t->lerp[x];
  }
}

/* out = top + (bottom - top) * lerp; returns out's maximum (-infinity for no numbers). */
static VECTOR_CLONES float lerp_rows(const float *restrict top, const float *restrict bottom, float lerp, int W, float *restrict out) {
  for (int x = 0; x < W; x++) out[x] = top[x] + (bottom[x] - top[x]) * lerp;
  /* Eight running maxima, element-wise, so the loop vectorises (a float max reduction does not). */
  float lanes[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  int x = 0;
  for (; x + 8 <= W; x += 8)
    for (int k = 0; k < 8; k++) lanes[k] = out[x + k] > lanes[k] ? out[x + k] : lanes[k];
  float peak = -INFINITY;
  for (; x < W; x++) peak = out[x] > peak ? out[x] : peak;
  for (int k = 0; k < 8; k++) peak = lanes[k] > peak ? lanes[k] : peak;
  return peak;
}

/* Divided, not multiplied by a reciprocal: the same roundings as tfjs's RealDiv. */
static VECTOR_CLONES void divide_row(float *restrict out, int W, float d) {
  for (int x = 0; x < W; x++) out[x] = out[x] / d;
}

static void horizontal_part(int part, int parts, void *context) {
  const resize_call *c = context;
  const long lines = (long)c->R * c->h;
  for (long line = lines * part / parts; line < lines * (part + 1) / parts; line++) {
    lerp_gathered(c->maps + line * c->w, &c->xs, c->W, c->rows + line * c->W);
  }
}

static void vertical_part(int part, int parts, void *context) {
  const resize_call *c = context;
  const long lines = (long)c->R * c->H;
  for (long line = lines * part / parts; line < lines * (part + 1) / parts; line++) {
    const int r = (int)(line / c->H), y = (int)(line % c->H);
    const float *top = c->rows + ((long)r * c->h + c->ys.lower[y]) * c->W;
    const float *bottom = c->rows + ((long)r * c->h + c->ys.upper[y]) * c->W;
    c->row_peak[line] = lerp_rows(top, bottom, c->ys.lerp[y], c->W, c->out + line * c->W);
  }
}

static void scale_part(int part, int parts, void *context) {
  const resize_call *c = context;
  const long lines = (long)c->R * c->H;
  for (long line = lines * part / parts; line < lines * (part + 1) / parts; line++) {
    const float d = c->divisor[line / c->H];
    float *out = c->out + line * c->W;
    if (d > 0.0f) divide_row(out, c->W, d);
    else memset(out, 0, sizeof(float) * c->W);
  }
}

int upsample_normalise(const float *maps, int R, int h, int w, int H, int W, float epsilon, float *out) {
  resize_call c = {maps, R, h, w, H, W, {0}, {0}, NULL, NULL, NULL, out};
  int *indices = malloc(sizeof(int) * 2 * ((size_t)H + W));
  float *floats = malloc(sizeof(float) * ((size_t)H + W + (size_t)R * h * W + (size_t)R * H + R));
  if (!indices || !floats) {
    free(indices);
    free(floats);
    return -1;
  }
  c.ys = (axis_table){indices, indices + H, floats};
  c.xs = (axis_table){indices + 2 * H, indices + 2 * H + W, floats + H};
  c.rows = floats + H + W;
  c.row_peak = c.rows + (size_t)R * h * W;
  c.divisor = c.row_peak + (size_t)R * H;
  fill_axis(&c.ys, h, H);
  fill_axis(&c.xs, w, W);
  parallel_run(parallel_parts(200.0 * R * h * W, (long)R * h), horizontal_part, &c);
  parallel_run(parallel_parts(200.0 * R * H * W, (long)R * H), vertical_part, &c);
  for (int r = 0; r < R; r++) {
    float peak = -INFINITY;
    for (int y = 0; y < H; y++) peak = c.row_peak[(long)r * H + y] > peak ? c.row_peak[(long)r * H + y] : peak;
    /* A map whose peak is at most epsilon (all zero after the ReLU) stays zero. */
    c.divisor[r] = peak > epsilon ? peak : 0.0f;
  }
  parallel_run(parallel_parts(200.0 * R * H * W, (long)R * H), scale_part, &c);
  free(indices);
  free(floats);
  return 0;
}

/* (maps, out, sizes Int32Array [R, h, w, H, W], epsilon) */
napi_value upsample_normalise_binding(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  double epsilon = 0;
  const char *usage = "upsampleNormalise expects (Float32Array maps, Float32Array out, Int32Array [R, h, w, H, W], epsilon)";
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_double(env, args[3], &epsilon) != napi_ok) {
    return fail(env, usage);
  }
  const int32_t *s = int32_fields(env, args[2], 5);
  size_t len_maps = 0, len_out = 0;
  const float *maps = float32_argument(env, args[0], &len_maps);
  float *out = float32_argument(env, args[1], &len_out);
  if (!s || !maps || !out) return fail(env, usage);
  for (int i = 0; i < 5; i++)
    if (s[i] <= 0) return fail(env, "upsampleNormalise: every size must be positive");
  if (len_maps != (size_t)s[0] * s[1] * s[2] || len_out != (size_t)s[0] * s[3] * s[4]) {
    return fail(env, "upsampleNormalise: maps must hold R*h*w floats and out R*H*W");
  }
  if (upsample_normalise(maps, s[0], s[1], s[2], s[3], s[4], (float)epsilon, out) != 0) return fail(env, "upsampleNormalise: out of memory");
  return NULL;
}
