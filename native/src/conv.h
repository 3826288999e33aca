/* 2-D convolution and its two gradients for NHWC tensors and HWIO filters, as im2col + SGEMM. */
#ifndef GRADCAM_CONV_H
#define GRADCAM_CONV_H

/* The addon is compiled for baseline x86-64 (SSE2), so it runs on any machine it is installed on;
 * the element-wise loops are also compiled for AVX2 + FMA and picked at load time where the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define VECTOR_CLONES
#endif

typedef struct {
  int n, h, w, cin;   /* input [n, h, w, cin] */
  int kh, kw, cout;   /* filter [kh, kw, cin, cout] */
  int oh, ow;         /* output [n, oh, ow, cout] */
  int sh, sw;         /* strides */
  int pt, pl;         /* padding before the first row / column */
  int dh, dw;         /* dilations */
} conv_geometry;

/* Number of int32 fields in the geometry array the JS side passes, in the order above. */
#define CONV_GEOMETRY_FIELDS 15

/* Each returns 0, or -1 when a scratch buffer could not be allocated. */
int conv2d_forward(const conv_geometry *g, const float *x, const float *filter, float *y);
/* Whether the forward runs on the direct kernel (direct_conv.h) rather than im2col + SGEMM. */
int conv2d_forward_is_direct(const conv_geometry *g);
/* The forward with FusedConv2D's epilogue, y = act(conv + bias) (bias may be NULL), applied chunk by
 * chunk while the output is still in cache. */
int conv2d_forward_fused(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation,
                         float *y);
int conv2d_filter_gradient(const conv_geometry *g, const float *x, const float *dy, float *dfilter);
int conv2d_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx);

/* Depthwise: the geometry's cin is C and cout is C * m for a [kh, kw, C, m] filter. Return 0, or -1. */
int depthwise_forward(const conv_geometry *g, const float *x, const float *filter, float *y);
int depthwise_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx);

typedef struct {
  int n, h, w, c;     /* input [n, h, w, c] */
  int fh, fw;         /* window */
  int oh, ow;         /* output [n, oh, ow, c] */
  int sh, sw;         /* strides */
  int pt, pl;         /* padding before the first row / column */
} pool_geometry;

#define POOL_GEOMETRY_FIELDS 12

/* dx = dy routed to the first maximum of each window (values within float rounding of it count as
 * tied), summed where windows overlap. Returns 0, or -1 when out of memory. */
int max_pool_gradient(const pool_geometry *g, const float *x, const float *dy, float *dx);

/* The epilogues of FusedConv2D the addon has. */
#define ACTIVATION_LINEAR 0
#define ACTIVATION_RELU 1
#define ACTIVATION_RELU6 2

/* dx = dy * act'(from its output y), with dy's negative part cut first when `guided` (guided
 * backprop's rule): ReLU passes where y > 0, ReLU6 where 0 < y < 6, linear everywhere. */
void activation_gradient(const float *dy, const float *y, float *dx, long n, int activation, int guided);

/* y[i, c] = act(y[i, c] + bias[c]) over [pixels, channels]. */
void add_bias_activation(float *y, long pixels, int channels, const float *bias, int activation);

#endif
