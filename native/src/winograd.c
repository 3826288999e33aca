/*
 * Winograd F(4x4, 3x3) convolution (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", CVPR 2016) for 3x3, stride-1, undilated layers: NHWC input, HWIO filter.
 *
 * Each 4x4 block of outputs (a tile) reads a 6x6 block of inputs d. With the fixed matrices below,
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A,
 * where (.) is the element-wise product over the 36 points of a tile and a sum over input channels.
 * So after the input transform V = B^T d B (per tile and channel) and the filter transform
 * U = G g G^T (per channel pair), the work is 36 independent matrix products
 *   M[p][tiles, cout] = V[p][tiles, cin] x U[p][cin, cout],
 * 36 multiply-adds per 16 outputs per channel pair where a direct convolution takes 144: a quarter.
 * The transforms cost a few adds per value and stay in cache because the tiles go in chunks.
 * The result equals the direct sum up to float rounding (the interpolation points 0, +-1, +-2 and
 * infinity keep it within ~1e-6 of the output's scale for these channel counts; the tests check).
 */
#include "winograd.h"
#include "parallel.h"
#include "workspace.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#define TILE 4    /* outputs per tile side */
#define SPAN 6    /* inputs per tile side: TILE + 3 - 1 */
#define POINTS 36 /* SPAN * SPAN */

/* Transformed inputs and products per chunk of tiles, in floats per part (1 MB): a chunk is
 * transformed, multiplied and transformed back while it is near the core's L2. */
#ifndef CHUNK_BUDGET
#define CHUNK_BUDGET (256 * 1024)
#endif

/* Below 32 channels in or out the 36 products are too thin for SGEMM to pay for the transforms
 * (measured 0.9-1.0x the direct kernel at 16). */
#define MIN_CHANNELS 32

static long tile_count(const conv_geometry *g) { return (long)g->n * ((g->oh + TILE - 1) / TILE) * ((g->ow + TILE - 1) / TILE); }

int winograd_supported(const conv_geometry *g) {
  return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->pt >= 0 &&
         g->pl >= 0 && g->pt <= 2 && g->pl <= 2 && g->cin >= MIN_CHANNELS && g->cout >= MIN_CHANNELS &&
         /* The filter transform (36 * cin * cout values a call) must be small against the products:
          * with fewer tiles it decided the time, and a batch-1 14x14x256 or 7x7x512 layer measured
          * 0.45-0.7x the kernels it would replace. */
         tile_count(g) >= 8 && tile_count(g) * 2048 >= (long)g->cin * g->cout;
}

/* The 1-D transforms, each applied to `c` channels of 6 (or 3) vectors `s` apart, written `t`
 * apart. Channels are contiguous in NHWC, so every loop runs over them and vectorises. */

/* r = B^T d */
VECTOR_CLONES static void input_1d(const float *d, long s, float *r, long t, int c) {
#pragma GCC ivdep
  for (int i = 0; i < c; i++) {
    const float d0 = d[i], d1 = d[s + i], d2 = d[2 * s + i], d3 = d[3 * s + i], d4 = d[4 * s + i], d5 = d[5 * s + i];
    r[i] = 4.0f * d0 - 5.0f * d2 + d4;
    r[t + i] = d3 + d4 - 4.0f * (d1 + d2);
    r[2 * t + i] = d4 - d3 + 4.0f * (d1 - d2);
    r[3 * t + i] = d4 - d2 + 2.0f * (d3 - d1);
    r[4 * t + i] = d4 - d2 + 2.0f * (d1 - d3);
    r[5 * t + i] = 4.0f * d1 - 5.0f * d3 + d5;
  }
}

/* u = G g */
VECTOR_CLONES static void filter_1d(const float *g, long s, float *u, long t, int c) {
#pragma GCC ivdep
  for (int i = 0; i < c; i++) {
    const float g0 = g[i], g1 = g[s + i], g2 = g[2 * s + i];
    u[i] = 0.25f * g0;
    u[t + i] = -(g0 + g1 + g2) / 6.0f;
    u[2 * t + i] = -(g0 - g1 + g2) / 6.0f;
    u[3 * t + i] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
    u[4 * t + i] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
    u[5 * t + i] = g2;
  }
}

/* o = A^T m */
VECTOR_CLONES static void output_1d(const float *m, long s, float *o, long t, int c) {
#pragma GCC ivdep
  for (int i = 0; i < c; i++) {
    const float m0 = m[i], m1 = m[s + i], m2 = m[2 * s + i], m3 = m[3 * s + i], m4 = m[4 * s + i], m5 = m[5 * s + i];
    const float a = m1 + m2, b = m1 - m2, p = m3 + m4, q = m3 - m4;
    o[i] = m0 + a + p;
    o[t + i] = b + 2.0f * q;
    o[2 * t + i] = a + 4.0f * p;
    o[3 * t + i] = b + 8.0f * q + m5;
  }
}

/* U[p][cin][cout] = G g G^T for every channel pair. */
static void transform_filter(const conv_geometry *g, const float *filter, float *u, float *scratch) {
  const long pair = (long)g->cin * g->cout;
  for (int ci = 0; ci < g->cin; ci++) {
    const float *taps = filter + (long)ci * g->cout; /* tap (ky, kx) at (ky * 3 + kx) * pair */
    for (int kx = 0; kx < 3; kx++) filter_1d(taps + kx * pair, 3 * pair, scratch + kx * g->cout, 3L * g->cout, g->cout);
    for (int a = 0; a < SPAN; a++)
      filter_1d(scratch + a * 3L * g->cout, g->cout, u + (long)a * SPAN * pair + (long)ci * g->cout, pair, g->cout);
  }
}

typedef struct {
  const conv_geometry *g;
  const float *x, *u, *bias;
  float *y;
  int activation;
  int tiles_y, tiles_x;
  long tiles;
  long chunk;       /* tiles per chunk */
  int own_products; /* the AVX2 product kernel, not SGEMM */
  float *buffers; /* each part's, part_floats() apart */
} winograd_call;

/* V[p][tile] = B^T d B for the tile's 6x6 inputs, read in place when inside the image. */
static void transform_tile_input(const winograd_call *c, long tile, float *v, long point_stride, float *d, float *scratch) {
  const conv_geometry *g = c->g;
  const int cin = g->cin;
  const long per_image = (long)c->tiles_y * c->tiles_x;
  const int image = (int)(tile / per_image), ty = (int)(tile % per_image / c->tiles_x), tx = (int)(tile % c->tiles_x);
  const int iy0 = ty * TILE - g->pt, ix0 = tx * TILE - g->pl;
  const float *pixels = c->x + (long)image * g->h * g->w * cin;
  const float *src;
  long row_stride;
  if (iy0 >= 0 && ix0 >= 0 && iy0 + SPAN <= g->h && ix0 + SPAN <= g->w) {
    src = pixels + ((long)iy0 * g->w + ix0) * cin;
    row_stride = (long)g->w * cin;
  } else {
    /* A border tile: its inputs, zero outside the image, into a 6x6 buffer. */
    for (int r = 0; r < SPAN; r++)
      for (int k = 0; k < SPAN; k++) {
        const int iy = iy0 + r, ix = ix0 + k;
        float *to = d + ((long)r * SPAN + k) * cin;
        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) memset(to, 0, sizeof(float) * cin);
        else memcpy(to, pixels + ((long)iy * g->w + ix) * cin, sizeof(float) * cin);
      }
    src = d;
    row_stride = (long)SPAN * cin;
  }
  for (int k = 0; k < SPAN; k++) input_1d(src + (long)k * cin, row_stride, scratch + (long)k * cin, (long)SPAN * cin, cin);
  for (int r = 0; r < SPAN; r++)
    input_1d(scratch + (long)r * SPAN * cin, cin, v + (long)r * SPAN * point_stride, point_stride, cin);
}

/* The tile's outputs A^T M A, then bias and activation, into y (only the part inside the map). */
static void transform_tile_output(const winograd_call *c, long tile, const float *m, long point_stride, float *out, float *scratch) {
  const conv_geometry *g = c->g;
  const int cout = g->cout;
  const long per_image = (long)c->tiles_y * c->tiles_x;
  const int image = (int)(tile / per_image), ty = (int)(tile % per_image / c->tiles_x), tx = (int)(tile % c->tiles_x);
  const int oy0 = ty * TILE, ox0 = tx * TILE;
  const int rows = g->oh - oy0 < TILE ? g->oh - oy0 : TILE, cols = g->ow - ox0 < TILE ? g->ow - ox0 : TILE;
  float *y = c->y + (((long)image * g->oh + oy0) * g->ow + ox0) * cout;
  for (int r = 0; r < SPAN; r++)
    output_1d(m + (long)r * SPAN * point_stride, point_stride, scratch + (long)r * TILE * cout, cout, cout);
  /* Whole tiles are written in place; edge tiles go through a 4x4 buffer. */
  const int whole = rows == TILE && cols == TILE;
  float *to = whole ? y : out;
  const long to_row = whole ? (long)g->ow * cout : (long)TILE * cout;
  for (int k = 0; k < TILE; k++) output_1d(scratch + (long)k * cout, (long)TILE * cout, to + (long)k * cout, to_row, cout);
  for (int r = 0; r < rows; r++) {
    float *row = y + (long)r * g->ow * cout;
    if (!whole) memcpy(row, out + (long)r * TILE * cout, sizeof(float) * cols * cout);
    if (c->bias || c->activation != ACTIVATION_LINEAR) add_bias_activation(row, cols, cout, c->bias, c->activation);
  }
}

/* The 36 products run on a register-blocked AVX2/FMA kernel where the CPU has it and cout is a
 * multiple of 8: a chunk's products are thin (tens of tiles by 32-128 channels), and OpenBLAS packed
 * U[p] again for each of them, which held its SGEMM to 45% of the FMA peak (measured on the shipped
 * model's layers). Each 6-tile x 16-channel block of M stays in 12 registers while every input
 * channel adds one broadcast V value times two U vectors; U[p]'s 16-column slice stays in L1. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#include <immintrin.h>
#define HAVE_PRODUCT_KERNEL 1
#define ROW_BLOCK 6

#define FMA_ROW(j, k)                                                       \
  {                                                                         \
    const __m256 x = _mm256_broadcast_ss(a + (j) * (long)cin + (k));       \
    c##j##0 = _mm256_fmadd_ps(x, b0, c##j##0);                              \
    if (wide) c##j##1 = _mm256_fmadd_ps(x, b1, c##j##1);                    \
  }
#define STORE_ROW(j)                                                        \
  {                                                                         \
    _mm256_storeu_ps(c + (j) * (long)cout, c##j##0);                        \
    if (wide) _mm256_storeu_ps(c + (j) * (long)cout + 8, c##j##1);          \
  }

/* M[rows, cout] = V[rows, cin] x U[cin, cout], rows a multiple of ROW_BLOCK, cout of 8. */
__attribute__((target("avx2,fma"))) static void products_avx2(const float *v, const float *u, float *m, long rows, int cin,
                                                              int cout) {
  for (int co = 0; co < cout; co += 16) {
    const int wide = cout - co >= 16; /* else an 8-channel tail */
    for (long r = 0; r < rows; r += ROW_BLOCK) {
      const float *a = v + r * cin;
      float *c = m + r * cout + co;
      __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
      __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
      const float *b = u + co;
      for (int k = 0; k < cin; k++, b += cout) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = wide ? _mm256_loadu_ps(b + 8) : b0;
        FMA_ROW(0, k) FMA_ROW(1, k) FMA_ROW(2, k) FMA_ROW(3, k) FMA_ROW(4, k) FMA_ROW(5, k)
      }
      STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
    }
  }
}

static int product_kernel(const conv_geometry *g) {
  static int cpu = -1;
  if (cpu < 0) {
    __builtin_cpu_init();
    cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return cpu && g->cout % 8 == 0;
}
#else
#define ROW_BLOCK 1
static int product_kernel(const conv_geometry *g) {
  (void)g;
  return 0;
}
#endif

/* Rows of a chunk's V and M: its tiles, rounded up to whole row blocks (the extra rows are zero). */
static long chunk_rows(long tiles) { return (tiles + ROW_BLOCK - 1) / ROW_BLOCK * ROW_BLOCK; }

static long chunk_tiles(const conv_geometry *g) {
  const long tiles = CHUNK_BUDGET / ((long)POINTS * (g->cin + g->cout));
  return tiles < 8 ? 8 : tiles;
}

/* Floats one part's buffers take: a chunk's transformed inputs and products, and two tile buffers. */
static size_t part_floats(const conv_geometry *g, long chunk) {
  const int wide = g->cin > g->cout ? g->cin : g->cout;
  return (size_t)chunk_rows(chunk) * POINTS * (g->cin + g->cout) + (size_t)POINTS * wide * 2;
}

/* A range of tiles, chunk by chunk: input transform, 36 products, output transform. */
static void winograd_part(int part, int parts, void *context) {
  winograd_call *c = context;
  const conv_geometry *g = c->g;
  const long from = c->tiles * part / parts, to = c->tiles * (part + 1) / parts;
  if (from >= to) return;
  float *v = c->buffers + part * part_floats(g, c->chunk);
  float *m = v + (size_t)chunk_rows(c->chunk) * POINTS * g->cin;
  float *tile_buffer = m + (size_t)chunk_rows(c->chunk) * POINTS * g->cout;
  float *scratch = tile_buffer + (size_t)POINTS * (g->cin > g->cout ? g->cin : g->cout);
  for (long first = from; first < to; first += c->chunk) {
    const long count = first + c->chunk > to ? to - first : c->chunk;
    const long rows = c->own_products ? chunk_rows(count) : count;
    const long v_stride = rows * g->cin, m_stride = rows * g->cout;
    for (long t = 0; t < count; t++) transform_tile_input(c, first + t, v + t * g->cin, v_stride, tile_buffer, scratch);
    for (int p = 0; p < POINTS; p++) {
      float *vp = v + p * v_stride, *mp = m + p * m_stride;
      const float *up = c->u + (long)p * g->cin * g->cout;
#ifdef HAVE_PRODUCT_KERNEL
      if (c->own_products) {
        memset(vp + count * g->cin, 0, sizeof(float) * (size_t)(rows - count) * g->cin);
        products_avx2(vp, up, mp, rows, g->cin, g->cout);
        continue;
      }
#endif
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)count, g->cout, g->cin, 1.0f, vp, g->cin, up, g->cout,
                  0.0f, mp, g->cout);
    }
    for (long t = 0; t < count; t++) transform_tile_output(c, first + t, m + t * g->cout, m_stride, tile_buffer, scratch);
  }
}

int winograd_forward(const conv_geometry *g, const float *x, const float *filter, const float *bias, int activation, float *y) {
  winograd_call c = {.g = g, .x = x, .bias = bias, .y = y, .activation = activation, .tiles_y = (g->oh + TILE - 1) / TILE,
                     .tiles_x = (g->ow + TILE - 1) / TILE};
  c.tiles = tile_count(g);
  /* Work counted as half the direct multiply-adds (144 per tile and channel pair): with its
   * transforms the whole runs 1.5-2.5x faster than the direct sum, not the products' 4x. */
  const int parts = parallel_parts((double)c.tiles * 72 * g->cin * g->cout, c.tiles);
  const long per_part = (c.tiles + parts - 1) / parts;
  c.chunk = chunk_tiles(g) < per_part ? chunk_tiles(g) : per_part;
  const size_t filter_floats = (size_t)POINTS * g->cin * g->cout;
  float *space = workspace_floats(filter_floats + (size_t)parts * part_floats(g, c.chunk));
  if (!space) return -1;
  float *u = space;
  c.buffers = space + filter_floats;
  /* The filter transform's scratch (6x3 rows of cout) borrows part 0's product buffer. */
  c.own_products = product_kernel(g);
  transform_filter(g, filter, u, c.buffers + (size_t)chunk_rows(c.chunk) * POINTS * g->cin);
  c.u = u;
  parallel_run(parts, winograd_part, &c);
  return 0;
}
