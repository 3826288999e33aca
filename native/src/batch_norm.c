/*
 * Batch norm in two passes forward (statistics, then the affine map) and two backward, where tfjs
 * ops need about ten elementwise passes and four reductions. Sums are accumulated in float over
 * blocks of rows (so the loops over contiguous channels vectorise) and flushed into doubles, which
 * keeps 65,536-row sums accurate.
 */
#include "batch_norm.h"

#include <math.h>
#include <stdlib.h>

#define BLOCK_ROWS 256

int batch_norm_train(const float *x, long rows, int channels, const float *gamma, const float *beta, float epsilon,
                     float *y, float *mean, float *variance, float *inv_std) {
  double *total = calloc((size_t)channels, sizeof(double));
  float *block = malloc(sizeof(float) * (size_t)channels);
  float *scale = malloc(sizeof(float) * (size_t)channels);
  float *shift = malloc(sizeof(float) * (size_t)channels);
  if (!total || !block || !scale || !shift) {
    free(total), free(block), free(scale), free(shift);
    return -1;
  }
  for (long start = 0; start < rows; start += BLOCK_ROWS) {
    const long end = start + BLOCK_ROWS < rows ? start + BLOCK_ROWS : rows;
    for (int c = 0; c < channels; c++) block[c] = 0.0f;
    for (long r = start; r < end; r++) {
      const float *row = x + r * channels;
      for (int c = 0; c < channels; c++) block[c] += row[c];
    }
    for (int c = 0; c < channels; c++) total[c] += block[c];
  }
  for (int c = 0; c < channels; c++) {
    mean[c] = (float)(total[c] / (double)rows);
    total[c] = 0.0;
  }
  /* The variance from centred values (not E[x^2] - mean^2, which cancels badly). */
  for (long start = 0; start < rows; start += BLOCK_ROWS) {
    const long end = start + BLOCK_ROWS < rows ? start + BLOCK_ROWS : rows;
    for (int c = 0; c < channels; c++) block[c] = 0.0f;
    for (long r = start; r < end; r++) {
      const float *row = x + r * channels;
      for (int c = 0; c < channels; c++) {
        const float d = row[c] - mean[c];
        block[c] += d * d;
      }
    }
    for (int c = 0; c < channels; c++) total[c] += block[c];
  }
  for (int c = 0; c < channels; c++) {
    variance[c] = (float)(total[c] / (double)rows);
    inv_std[c] = 1.0f / sqrtf(variance[c] + epsilon);
    scale[c] = gamma[c] * inv_std[c];
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  for (long r = 0; r < rows; r++) {
    const float *row = x + r * channels;
    float *out = y + r * channels;
    for (int c = 0; c < channels; c++) out[c] = row[c] * scale[c] + shift[c];
  }
  free(total), free(block), free(scale), free(shift);
  return 0;
}

int batch_norm_gradient(const float *x, const float *dy, long rows, int channels, const float *mean,
                        const float *inv_std, const float *gamma, float *dx, float *dgamma, float *dbeta) {
  double *sum_dy = calloc((size_t)channels, sizeof(double));
  double *sum_dy_xc = calloc((size_t)channels, sizeof(double));
  float *block_dy = malloc(sizeof(float) * (size_t)channels);
  float *block_dy_xc = malloc(sizeof(float) * (size_t)channels);
  if (!sum_dy || !sum_dy_xc || !block_dy || !block_dy_xc) {
    free(sum_dy), free(sum_dy_xc), free(block_dy), free(block_dy_xc);
    return -1;
  }
  for (long start = 0; start < rows; start += BLOCK_ROWS) {
    const long end = start + BLOCK_ROWS < rows ? start + BLOCK_ROWS : rows;
    for (int c = 0; c < channels; c++) block_dy[c] = block_dy_xc[c] = 0.0f;
    for (long r = start; r < end; r++) {
      const float *xr = x + r * channels;
      const float *gr = dy + r * channels;
      for (int c = 0; c < channels; c++) {
        block_dy[c] += gr[c];
        block_dy_xc[c] += gr[c] * (xr[c] - mean[c]);
      }
    }
    for (int c = 0; c < channels; c++) {
      sum_dy[c] += block_dy[c];
      sum_dy_xc[c] += block_dy_xc[c];
    }
  }
  /* dx = gamma * inv_std * (dy - dbeta / M - xhat * dgamma / M), written as dy * a + (x - mean) * b + d. */
  float *a = block_dy, *b = block_dy_xc;
  float *d = malloc(sizeof(float) * (size_t)channels);
  if (!d) {
    free(sum_dy), free(sum_dy_xc), free(block_dy), free(block_dy_xc);
    return -1;
  }
  for (int c = 0; c < channels; c++) {
    dbeta[c] = (float)sum_dy[c];
    dgamma[c] = (float)(sum_dy_xc[c] * inv_std[c]);
    a[c] = gamma[c] * inv_std[c];
    b[c] = -a[c] * inv_std[c] * dgamma[c] / (float)rows;
    d[c] = -a[c] * dbeta[c] / (float)rows;
  }
  for (long r = 0; r < rows; r++) {
    const float *xr = x + r * channels;
    const float *gr = dy + r * channels;
    float *out = dx + r * channels;
    for (int c = 0; c < channels; c++) out[c] = gr[c] * a[c] + (xr[c] - mean[c]) * b[c] + d[c];
  }
  free(sum_dy), free(sum_dy_xc), free(block_dy), free(block_dy_xc), free(d);
  return 0;
}
