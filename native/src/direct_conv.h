/* Direct (im2col-free) convolution for x86-64 CPUs with AVX2 + FMA; see direct_conv.c. */
#ifndef GRADCAM_DIRECT_CONV_H
#define GRADCAM_DIRECT_CONV_H

#include "conv.h"

/* Whether this CPU and geometry take the direct kernel (AVX2 + FMA, cout a multiple of 8). */
int direct_conv_supported(const conv_geometry *g);

/* y = act(conv(x, filter) + bias), bias may be NULL. Returns 0, or -1 when out of memory. */
int direct_conv_forward(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation,
                        float *y);

/* Whether this CPU and geometry take the direct kernel for the input gradient (stride 1). */
int direct_input_gradient_supported(const conv_geometry *g);

/* dx = the input gradient of a stride-1 convolution, as a direct convolution of dy. 0, or -1. */
int direct_conv_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx);

#endif
