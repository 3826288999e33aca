/* Winograd F(4x4, 3x3) convolution for 3x3, stride-1, undilated layers; see winograd.c. */
#ifndef GRADCAM_WINOGRAD_H
#define GRADCAM_WINOGRAD_H

#include "conv.h"

/* Whether the geometry has the shape the transform is for (3x3, stride 1, no dilation, padding at
 * most 2, 16 or more channels in and out). */
int winograd_supported(const conv_geometry *g);

/* y = act(conv(x, filter) + bias), bias may be NULL. Returns 0, or -1 when out of memory. */
int winograd_forward(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation, float *y);

#endif
