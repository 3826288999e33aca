/* 2-D convolution and its two gradients for NHWC tensors and HWIO filters, as im2col + SGEMM. */
#ifndef GRADCAM_CONV_H
#define GRADCAM_CONV_H

/* The addon is compiled for baseline x86-64 (SSE2), so it runs on any machine it is installed on;
 * the element-wise loops are also compiled for x86-64-v3 (AVX2 + FMA) and picked at load time where
 * the CPU has those features. Not "arch=haswell": that clone is picked by CPU *model*, so AMD and
 * later Intel CPUs ran the SSE2 clone (perf showed it; the max-pool gradient took 3.8x as long).
 * A clone's address is its baseline: call VECTOR_CLONES functions directly, not through parallel_run. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
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
/* The forward with FusedConv2D's epilogue, y = act(conv + bias) (bias may be NULL), applied chunk by
 * chunk while the output is still in cache. */
int conv2d_forward_fused(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation,
                         float *y);
/* A stride-1 convolution's input gradient is itself a convolution: of dy with the filter turned
 * 180 degrees and its in/out channels swapped, padded by dilation * (k - 1) - padding. Its
 * geometry, and the turned filter in a new buffer (the caller frees it; NULL when out of memory). */
conv_geometry input_gradient_geometry(const conv_geometry *g);
float *turned_filter(const conv_geometry *g, const float *filter);
/* The kernel a forward convolution of this geometry runs on (the input gradient takes the same
 * choice for its turned geometry where stride is 1), and its name: "winograd", "direct", ... */
typedef enum { CONV_WINOGRAD, CONV_DIRECT, CONV_POINTWISE, CONV_IM2COL } conv_kernel;
conv_kernel conv2d_forward_kernel(const conv_geometry *g);
const char *conv_kernel_name(conv_kernel kernel);
int conv2d_filter_gradient(const conv_geometry *g, const float *x, const float *dy, float *dfilter);
int conv2d_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx);

/* Depthwise: the geometry's cin is C and cout is C * m for a [kh, kw, C, m] filter. Return 0, or -1. */
int depthwise_forward(const conv_geometry *g, const float *x, const float *filter, float *y);
/* With `gate`, dx is then passed back through the activation that made the depthwise input: dx *= act'(y)
 * read from its output y (input-shaped), after cutting dx's negative part when guided. One pass saved
 * per MobileNet block (the expanded tensors are its largest). */
typedef struct {
  const float *y;
  int activation; /* ACTIVATION_RELU or ACTIVATION_RELU6 */
  int guided;
} activation_gate;
int depthwise_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx, const activation_gate *gate);

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
