/*
 * Max-pool's gradient (NHWC): dy routed to each window's first maximum, values within float
 * rounding of it counted as tied, split over the cores by images.
 */
#include "conv.h"
#include "parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Ties within a few float roundings of the window's maximum (see max_pool_gradient). */
#define POOL_TIE_RELATIVE 1e-5f
#define POOL_TIE_ABSOLUTE 1e-7f

typedef struct {
  const pool_geometry *g;
  const float *x, *dy;
  float *dx;
  int failed;
} pool_call;

/* Images [from, to) of the max-pool gradient; a window's channels are walked together, since they
 * lie side by side in NHWC. */
VECTOR_CLONES static void max_pool_gradient_part(int part, int parts, void *context) {
  pool_call *p = context;
  const pool_geometry *g = p->g;
  const int from = (int)((long)g->n * part / parts), to = (int)((long)g->n * (part + 1) / parts);
  if (from >= to) return;
  const int disjoint = g->sh >= g->fh && g->sw >= g->fw;
  float *floor_value = malloc(sizeof(float) * (size_t)g->c);
  long *at = malloc(sizeof(long) * (size_t)g->c);
  float *taken = malloc(sizeof(float) * (size_t)g->c);
  if (!floor_value || !at || !taken) {
    p->failed = 1;
    free(floor_value);
    free(at);
    free(taken);
    return;
  }
  for (int b = from; b < to; b++) {
    const float *image = p->x + (size_t)b * g->h * g->w * g->c;
    float *grad = p->dx + (size_t)b * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      const int y0 = oy * g->sh - g->pt;
      const int ky0 = y0 < 0 ? -y0 : 0, ky1 = y0 + g->fh > g->h ? g->h - y0 : g->fh;
      for (int ox = 0; ox < g->ow; ox++) {
        const int x0 = ox * g->sw - g->pl;
        const int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + g->fw > g->w ? g->w - x0 : g->fw;
        const float *upstream = p->dy + (((size_t)b * g->oh + oy) * g->ow + ox) * g->c;
        // The first maximum, counting values within float rounding of the largest as tied: a
        // flat image region gives exactly equal values in exact arithmetic (and in TensorFlow),
        // but FMA kernels round each position slightly differently, which would otherwise send
        // the gradient to whichever position happened to round up.
        for (int ch = 0; ch < g->c; ch++) {
          floor_value[ch] = -INFINITY;
          at[ch] = -1;
        }
        for (int ky = ky0; ky < ky1; ky++)
          for (int kx = kx0; kx < kx1; kx++) {
            const float *v = image + ((long)(y0 + ky) * g->w + x0 + kx) * g->c;
            for (int ch = 0; ch < g->c; ch++) floor_value[ch] = v[ch] > floor_value[ch] ? v[ch] : floor_value[ch];
          }
        for (int ch = 0; ch < g->c; ch++) floor_value[ch] -= POOL_TIE_RELATIVE * fabsf(floor_value[ch]) + POOL_TIE_ABSOLUTE;
        if (disjoint) {
          /* Windows that do not overlap own their pixels: each is written once, in window order,
           * with the gradient at the first position reaching the floor and 0 elsewhere. `taken`
           * is a float so that the loop stays branch-free and vectorises. */
          for (int ch = 0; ch < g->c; ch++) taken[ch] = 0.0f;
          for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++) {
              const long offset = ((long)(y0 + ky) * g->w + x0 + kx) * g->c;
              for (int ch = 0; ch < g->c; ch++) {
                const int hit = (taken[ch] == 0.0f) & (image[offset + ch] >= floor_value[ch]);
                grad[offset + ch] = hit ? upstream[ch] : 0.0f;
                taken[ch] = hit ? 1.0f : taken[ch];
              }
            }
          continue;
        }
        for (int ky = ky1 - 1; ky >= ky0; ky--)  /* backwards, so the first qualifying position is kept */
          for (int kx = kx1 - 1; kx >= kx0; kx--) {
            const long offset = ((long)(y0 + ky) * g->w + x0 + kx) * g->c;
            for (int ch = 0; ch < g->c; ch++)
              if (image[offset + ch] >= floor_value[ch]) at[ch] = offset + ch;
          }
        for (int ch = 0; ch < g->c; ch++)
          if (at[ch] >= 0) grad[at[ch]] += upstream[ch];
      }
    }
  }
  free(floor_value);
  free(at);
  free(taken);
}

int max_pool_gradient(const pool_geometry *g, const float *x, const float *dy, float *dx) {
  /* Disjoint windows that tile the input exactly (2x2 stride 2 on an even map) write every pixel. */
  const int tiled = g->sh == g->fh && g->sw == g->fw && g->pt == 0 && g->pl == 0 && g->oh * g->sh == g->h &&
                    g->ow * g->sw == g->w;
  if (!tiled) memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->c);
  pool_call p = {g, x, dy, dx, 0};
  /* Memory-bound, ~100x cheaper per element than a multiply-add is per call: a part per core from
   * about 10^5 input values each. */
  parallel_run(parallel_parts(200.0 * g->n * g->h * g->w * g->c, g->n), max_pool_gradient_part, &p);
  return p.failed ? -1 : 0;
}
