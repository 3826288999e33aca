/*
 * Convolutions as matrix products. A patch matrix holds one row per output pixel and one column
 * per (ky, kx, c) filter tap, the order of an HWIO filter's rows, so the filter is used as a
 * [kh*kw*cin, cout] matrix in place and the product lands in NHWC order with no transposes:
 *   forward          y[rows, cout]     = patches x filter
 *   filter gradient  dfilter[K, cout]  = patches^T x dy        (summed over batch chunks)
 *   input gradient   dpatches[rows, K] = dy x filter^T, then scattered back (col2im)
 * The batch is processed in chunks so the patch matrix stays near the cache rather than
 * reaching hundreds of megabytes for a large batch. Called from a thread whose setting allows it
 * (parallel.h), the forward and input-gradient calls split their output rows (or images) over
 * several cores; each part runs single-threaded OpenBLAS on its own rows, so the parts never wait
 * on each other.
 */
#include "conv.h"
#include "direct_conv.h"
#include "parallel.h"
#include "winograd.h"
#include "workspace.h"

#include <cblas.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* Patch-matrix budget per part, in floats (1 MB): a chunk's patches are written, then read by
 * SGEMM while they are still in the core's L2 cache. A 16 MB budget per call measured 20% slower
 * forward convolutions on one core and on two (the shipped model's six, batch 64, interleaved). */
#define PART_PATCH_BUDGET (256 * 1024)

static int patch_cols(const conv_geometry *g) { return g->kh * g->kw * g->cin; }

/* Work is counted in lines: one output row of one image, n * oh of them; line L is image L / oh,
 * output row L % oh. Splitting by lines serves a batch (whole images per part) and a single image
 * (rows of it per part) alike. */
static long line_count(const conv_geometry *g) { return (long)g->n * g->oh; }

/* Lines per patch-matrix chunk (of one part: the budget is per part). */
static long chunk_lines(const conv_geometry *g) {
  const long per_line = (long)g->ow * patch_cols(g);
  long lines = per_line > 0 ? PART_PATCH_BUDGET / per_line : line_count(g);
  if (lines < 1) lines = 1;
  return lines > line_count(g) ? line_count(g) : lines;
}

/* A 1x1, stride-1, unpadded convolution's patch matrix is the input itself. */
static int is_pointwise(const conv_geometry *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 &&
         g->oh == g->h && g->ow == g->w;
}

static void im2col(const conv_geometry *g, const float *x, long first_line, long count, float *patches) {
  const int cols = patch_cols(g);
  const size_t channel_bytes = sizeof(float) * (size_t)g->cin;
  for (long l = 0; l < count; l++) {
    const long line = first_line + l;
    const int oy = (int)(line % g->oh);
    const float *image = x + (size_t)(line / g->oh) * g->h * g->w * g->cin;
    for (int ox = 0; ox < g->ow; ox++) {
      float *row = patches + ((size_t)l * g->ow + ox) * cols;
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

/* Adds each patch-matrix entry back onto the input pixel it was copied from. */
static void col2im_add(const conv_geometry *g, const float *patches, long first_line, long count, float *dx) {
  const int cols = patch_cols(g);
  for (long l = 0; l < count; l++) {
    const long line = first_line + l;
    const int oy = (int)(line % g->oh);
    float *image = dx + (size_t)(line / g->oh) * g->h * g->w * g->cin;
    for (int ox = 0; ox < g->ow; ox++) {
      const float *row = patches + ((size_t)l * g->ow + ox) * cols;
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

/* One call split in parts: each part takes a contiguous range of `units` (lines, images or rows). */
typedef struct {
  const conv_geometry *g;
  const float *a, *b;
  float *out;
  long units;
  /* The forward's epilogue, applied to each chunk while it is still in cache (bias may be NULL). */
  const float *bias;
  int activation;
  /* Each part's patch matrix, part_floats apart (from the calling thread's workspace). */
  float *scratch;
  size_t part_floats;
} split_call;

static void epilogue(const split_call *c, float *y, long pixels) {
  if (c->bias || c->activation != ACTIVATION_LINEAR) add_bias_activation(y, pixels, c->g->cout, c->bias, c->activation);
}

static void part_range(const split_call *c, int part, int parts, long *from, long *to) {
  *from = c->units * part / parts;
  *to = c->units * (part + 1) / parts;
}

/* Forward over a range of lines: im2col then y[lines] = patches x filter, chunk by chunk. */
static void forward_part(int part, int parts, void *context) {
  split_call *c = context;
  const conv_geometry *g = c->g;
  long from, to;
  part_range(c, part, parts, &from, &to);
  if (from >= to) return;
  const int cols = patch_cols(g);
  const long chunk = chunk_lines(g);
  float *patches = c->scratch + part * c->part_floats;
  for (long line = from; line < to; line += chunk) {
    const long count = line + chunk > to ? to - line : chunk;
    im2col(g, c->a, line, count, patches);
    float *y = c->out + (size_t)line * g->ow * g->cout;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(count * g->ow), g->cout, cols, 1.0f, patches, cols, c->b,
                g->cout, 0.0f, y, g->cout);
    epilogue(c, y, count * g->ow);
  }
}

/* Pointwise forward over a range of pixels: y[rows] = x[rows] x filter. */
static void pointwise_forward_part(int part, int parts, void *context) {
  split_call *c = context;
  const conv_geometry *g = c->g;
  long from, to;
  part_range(c, part, parts, &from, &to);
  if (from >= to) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(to - from), g->cout, g->cin, 1.0f, c->a + (size_t)from * g->cin,
              g->cin, c->b, g->cout, 0.0f, c->out + (size_t)from * g->cout, g->cout);
  epilogue(c, c->out + (size_t)from * g->cout, to - from);
}

/* out[rows, k] = a[rows, c] x b[k, c]^T over a range of rows: the pointwise input gradient, and the
 * product step of a general one split by lines. The geometry gives only c = cin and k = cout. */
static void rows_times_filter_transposed(int part, int parts, void *context) {
  split_call *c = context;
  const int in = c->g->cin, out = c->g->cout;
  long from, to;
  part_range(c, part, parts, &from, &to);
  if (from >= to) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(to - from), out, in, 1.0f, c->a + (size_t)from * in, in, c->b,
              in, 0.0f, c->out + (size_t)from * out, out);
}

/* Input gradient over a range of whole images (their dx is theirs alone): dpatches = dy x filter^T,
 * scattered back, chunk by chunk. */
static void input_gradient_part(int part, int parts, void *context) {
  split_call *c = context;
  const conv_geometry *g = c->g;
  long from, to;
  part_range(c, part, parts, &from, &to);
  if (from >= to) return;
  from *= g->oh;
  to *= g->oh;
  const int cols = patch_cols(g);
  const long chunk = chunk_lines(g);
  float *patches = c->scratch + part * c->part_floats;
  for (long line = from; line < to; line += chunk) {
    const long count = line + chunk > to ? to - line : chunk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(count * g->ow), cols, g->cout, 1.0f,
                c->a + (size_t)line * g->ow * g->cout, g->cout, c->b, g->cout, 0.0f, patches, cols);
    col2im_add(g, patches, line, count, c->out);
  }
}

/* Points each part at its patch matrix in this thread's workspace; 0 when out of memory. */
static int patch_scratch(split_call *c, int parts) {
  c->part_floats = (size_t)chunk_lines(c->g) * c->g->ow * patch_cols(c->g);
  c->scratch = workspace_floats(c->part_floats * parts);
  return c->scratch != NULL;
}

/* Multiply-adds of a convolution (each kernel's work is the same count). */
static double conv_work(const conv_geometry *g) {
  return (double)g->n * g->oh * g->ow * g->cout * patch_cols(g);
}

conv_geometry input_gradient_geometry(const conv_geometry *g) {
  return (conv_geometry){g->n,  g->oh, g->ow, g->cout, g->kh, g->kw, g->cin, g->h, g->w, 1, 1,
                         g->dh * (g->kh - 1) - g->pt, g->dw * (g->kw - 1) - g->pl, g->dh, g->dw};
}

float *turned_filter(const conv_geometry *g, const float *filter) {
  const int taps = g->kh * g->kw;
  float *turned = malloc(sizeof(float) * (size_t)taps * g->cin * g->cout);
  if (!turned) return NULL;
  for (int k = 0; k < taps; k++) {
    const float *from = filter + (size_t)(taps - 1 - k) * g->cin * g->cout; /* [cin][cout] */
    float *to = turned + (size_t)k * g->cout * g->cin;                      /* [cout][cin] */
    for (int i = 0; i < g->cin; i++)
      for (int o = 0; o < g->cout; o++) to[(size_t)o * g->cin + i] = from[(size_t)i * g->cout + o];
  }
  return turned;
}

/* Winograd first where it applies (a quarter of the multiply-adds), then the direct kernel. */
conv_kernel conv2d_forward_kernel(const conv_geometry *g) {
  if (winograd_supported(g)) return CONV_WINOGRAD;
  if (is_pointwise(g)) return CONV_POINTWISE;
  return direct_conv_supported(g) ? CONV_DIRECT : CONV_IM2COL;
}

const char *conv_kernel_name(conv_kernel kernel) {
  static const char *const names[] = {"winograd", "direct", "pointwise", "im2col"};
  return names[kernel];
}

int conv2d_forward(const conv_geometry *g, const float *x, const float *filter, float *y) {
  return conv2d_forward_fused(g, x, filter, NULL, ACTIVATION_LINEAR, y);
}

int conv2d_forward_fused(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation,
                         float *y) {
  const conv_kernel kernel = conv2d_forward_kernel(g);
  if (kernel == CONV_WINOGRAD) return winograd_forward(g, x, filter, bias, activation, y);
  if (kernel == CONV_DIRECT) return direct_conv_forward(g, x, filter, bias, activation, y);
  split_call c = {.g = g, .a = x, .b = filter, .out = y, .bias = bias, .activation = activation};
  if (kernel == CONV_POINTWISE) {
    c.units = (long)g->n * g->h * g->w;
    parallel_run(parallel_parts(conv_work(g), c.units), pointwise_forward_part, &c);
    return 0;
  }
  c.units = line_count(g);
  const int parts = parallel_parts(conv_work(g), c.units);
  if (!patch_scratch(&c, parts)) return -1;
  parallel_run(parts, forward_part, &c);
  return 0;
}

typedef struct {
  const conv_geometry *g;
  const float *x, *dy;
  float *dfilter, *scratch; /* scratch: each part's patches, then parts 1.. own partial sums */
  size_t patch_floats, filter_floats;
} filter_call;

/* One part's dfilter = patches^T x dy over its range of lines (pixels when pointwise), chunk by chunk. */
static void filter_gradient_part(int part, int parts, void *context) {
  const filter_call *c = context;
  const conv_geometry *g = c->g;
  float *out = part == 0 ? c->dfilter : c->scratch + parts * c->patch_floats + (part - 1) * c->filter_floats;
  if (is_pointwise(g)) {
    const long pixels = (long)g->n * g->h * g->w, from = pixels * part / parts, to = pixels * (part + 1) / parts;
    if (from >= to) {
      memset(out, 0, sizeof(float) * c->filter_floats);
      return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->cin, g->cout, (int)(to - from), 1.0f, c->x + (size_t)from * g->cin,
                g->cin, c->dy + (size_t)from * g->cout, g->cout, 0.0f, out, g->cout);
    return;
  }
  const int cols = patch_cols(g);
  const long chunk = chunk_lines(g), lines = line_count(g), from = lines * part / parts, to = lines * (part + 1) / parts;
  float *patches = c->scratch + part * c->patch_floats;
  if (from >= to) memset(out, 0, sizeof(float) * c->filter_floats);
  for (long line = from; line < to; line += chunk) {
    const long count = line + chunk > to ? to - line : chunk;
    im2col(g, c->x, line, count, patches);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, g->cout, (int)(count * g->ow), 1.0f, patches, cols,
                c->dy + (size_t)line * g->ow * g->cout, g->cout, line == from ? 0.0f : 1.0f, out, g->cout);
  }
}

/* dfilter = patches^T x dy. Split over the cores by lines, each part summing into its own dfilter,
 * then added up: a data-parallel training worker (one thread) runs it whole, and tfjs-node's
 * training on the main thread spent half its kernel time here on one core. */
int conv2d_filter_gradient(const conv_geometry *g, const float *x, const float *dy, float *dfilter) {
  const int pointwise = is_pointwise(g);
  filter_call c = {.g = g, .x = x, .dy = dy, .dfilter = dfilter};
  c.filter_floats = (size_t)patch_cols(g) * g->cout;
  c.patch_floats = pointwise ? 0 : (size_t)chunk_lines(g) * g->ow * patch_cols(g);
  const int parts = parallel_parts(conv_work(g), pointwise ? (long)g->n * g->h * g->w : line_count(g));
  c.scratch = workspace_floats(parts * c.patch_floats + (parts - 1) * c.filter_floats + 1);
  if (!c.scratch) return -1;
  parallel_run(parts, filter_gradient_part, &c);
  for (int p = 1; p < parts; p++) {
    const float *partial = c.scratch + parts * c.patch_floats + (p - 1) * c.filter_floats;
    for (size_t i = 0; i < c.filter_floats; i++) dfilter[i] += partial[i];
  }
  return 0;
}

int conv2d_input_gradient(const conv_geometry *g, const float *dy, const float *filter, float *dx) {
  if (g->sh == 1 && g->sw == 1) {
    const conv_geometry t = input_gradient_geometry(g);
    if (t.pt >= 0 && t.pl >= 0 && winograd_supported(&t)) {
      float *turned = turned_filter(g, filter);
      const int failed = turned ? winograd_forward(&t, dy, turned, NULL, ACTIVATION_LINEAR, dx) : -1;
      free(turned);
      return failed;
    }
  }
  if (!is_pointwise(g) && direct_input_gradient_supported(g)) return direct_conv_input_gradient(g, dy, filter, dx);
  split_call c = {.g = g, .a = dy, .b = filter, .out = dx};
  if (is_pointwise(g)) {
    /* dx[pixels, cin] = dy[pixels, cout] x filter[cin, cout]^T */
    const conv_geometry rows = {1, 1, 1, g->cout, 1, 1, g->cin, 1, 1, 1, 1, 0, 0, 1, 1};
    split_call product = {.g = &rows, .a = dy, .b = filter, .out = dx, .units = (long)g->n * g->h * g->w};
    parallel_run(parallel_parts(conv_work(g), product.units), rows_times_filter_transposed, &product);
    return 0;
  }
  memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->cin);
  const int parts = parallel_parts(conv_work(g), line_count(g));
  if (g->n >= parts) {
    /* Whole images per part: neighbouring output rows scatter onto shared input rows. */
    c.units = g->n;
    if (!patch_scratch(&c, parts)) return -1;
    parallel_run(parts, input_gradient_part, &c);
    return 0;
  }
  /* Fewer images than parts (batch 1): the product is split by lines, the scatter stays on one thread. */
  const int cols = patch_cols(g);
  const long chunk = chunk_lines(g), lines = line_count(g);
  float *patches = workspace_floats((size_t)chunk * g->ow * cols);
  if (!patches) return -1;
  for (long line = 0; line < lines; line += chunk) {
    const long count = line + chunk > lines ? lines - line : chunk;
    const conv_geometry rows = {1, 1, 1, g->cout, 1, 1, cols, 1, (int)(count * g->ow), 1, 1, 0, 0, 1, 1};
    split_call product = {.g = &rows, .a = dy + (size_t)line * g->ow * g->cout, .b = filter, .out = patches, .units = count * g->ow};
    parallel_run(parts, rows_times_filter_transposed, &product);
    col2im_add(g, patches, line, count, dx);
  }
  return 0;
}

VECTOR_CLONES void add_bias_activation(float *y, long pixels, int channels, const float *bias, int activation) {
  for (long i = 0; i < pixels; i++) {
    float *row = y + i * channels;
    if (bias)
      for (int c = 0; c < channels; c++) row[c] += bias[c];
    if (activation == ACTIVATION_RELU)
      for (int c = 0; c < channels; c++) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
    else if (activation == ACTIVATION_RELU6)
      for (int c = 0; c < channels; c++) row[c] = row[c] > 0.0f ? (row[c] < 6.0f ? row[c] : 6.0f) : 0.0f;
  }
}

typedef struct {
  const float *dy, *y;
  float *dx;
  long n;
  int activation, guided;
} activation_call;

/* Branch-free, so the compiler vectorises it: one loop per (guided, top) case. */
static inline void dx_linear(const activation_call *a, long i) { a->dx[i] = a->guided && a->dy[i] < 0.0f ? 0.0f : a->dy[i]; }

VECTOR_CLONES static void mask_by_output(const float *restrict dy, const float *restrict y, float *restrict dx, long n, float top, int guided) {
  if (guided) {
    for (long i = 0; i < n; i++) {
      const float g = dy[i] > 0.0f ? dy[i] : 0.0f;
      dx[i] = (y[i] > 0.0f) & (y[i] < top) ? g : 0.0f;
    }
  } else {
    for (long i = 0; i < n; i++) dx[i] = (y[i] > 0.0f) & (y[i] < top) ? dy[i] : 0.0f;
  }
}

static void activation_gradient_part(int part, int parts, void *context) {
  const activation_call *a = context;
  const long from = a->n * part / parts, to = a->n * (part + 1) / parts;
  if (a->activation == ACTIVATION_LINEAR) {
    for (long i = from; i < to; i++) dx_linear(a, i);
    return;
  }
  mask_by_output(a->dy + from, a->y + from, a->dx + from, to - from, a->activation == ACTIVATION_RELU6 ? 6.0f : INFINITY, a->guided);
}

void activation_gradient(const float *dy, const float *y, float *dx, long n, int activation, int guided) {
  activation_call a = {dy, y, dx, n, activation, guided};
  /* Memory-bound like the max-pool gradient: a part per core from about 10^5 values each. */
  parallel_run(parallel_parts(200.0 * n, n), activation_gradient_part, &a);
}
