/* Batched products for the row engines of lrlc.functional._rows (float32):

       C[p, m, :] = beta * C[p, m, :] + sum_k A[p, m, k] * B[p, k, :]     (beta 0 or 1)

   A is read through any strides (the overlapping patch views of the row products), B and C
   with contiguous columns. Register-blocked: a tile of ROWS rows of C by NV SIMD vectors of
   columns stays in registers for the whole reduction, each step one broadcast of A per row
   and NV loads of B, ROWS * NV fused multiply-adds. MKL's batched GEMM ran these shapes at
   about 150-175 GFLOP/s on an AMD EPYC Zen 4 where this runs at 200-210 (2 threads), the rate
   of oneDNN's convolution (docs/performance.md, session 19). The loops over a tile's rows and
   vectors are unrolled by pragma: left to GCC, the AVX2 tile stored every accumulator to the
   stack on every step and ran at half MKL's rate.

   Built by lrlc.functional._native at first use with the C compiler at hand (-O3 -fopenmp),
   one function per instruction set selected by target attributes, so one build serves
   every CPU; the caller picks the set the CPU has. No torch headers: called through ctypes
   with the tensors' data pointers and strides (in elements). */

#include <immintrin.h>
#include <stddef.h>

typedef ptrdiff_t idx;

#define ISA_AVX512 2
#define ISA_AVX2 1

/* ---- AVX-512: 6 rows x 4 vectors of 16 (24 accumulators, 4 for B, 1 for A: 29 of 32
   registers; 7 rows spilled one accumulator a step, no faster on a Zen 4) ---- */
#define R512 6
#define W512 16

__attribute__((target("avx512f,fma"), always_inline)) static inline void tile512(
    const int rows, const int nv, idx kk, const float *a, idx a_m, idx a_k, const float *b,
    idx b_k, float *c, idx c_m, int beta) {
  __m512 acc[R512][4];
  _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
      acc[r][v] = beta ? _mm512_loadu_ps(c + r * c_m + v * W512) : _mm512_setzero_ps();
  for (idx k = 0; k < kk; k++) {
    const float *bk = b + k * b_k;
    __m512 bv[4];
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) bv[v] = _mm512_loadu_ps(bk + v * W512);
    const float *ak = a + k * a_k;
    _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++) {
      __m512 av = _mm512_set1_ps(ak[r * a_m]);
      _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) _mm512_storeu_ps(c + r * c_m + v * W512, acc[r][v]);
}

#define T512(R, V)                                                                       \
  __attribute__((target("avx512f,fma"))) static void t512_##R##_##V(                    \
      idx kk, const float *a, idx a_m, idx a_k, const float *b, idx b_k, float *c, idx c_m, \
      int beta) {                                                                         \
    tile512(R, V, kk, a, a_m, a_k, b, b_k, c, c_m, beta);                                  \
  }
#define T512_ROW(R) T512(R, 1) T512(R, 2) T512(R, 3) T512(R, 4)
T512_ROW(1) T512_ROW(2) T512_ROW(3) T512_ROW(4) T512_ROW(5) T512_ROW(6)

/* ---- AVX2: 6 rows x 2 vectors of 8 (12 accumulators, 2 for B, 1 for A: 15 of 16
   registers; 3 rows x 4 vectors left the broadcast no register and ran at half MKL's rate) */
#define R256 6
#define V256 2
#define W256 8

__attribute__((target("avx2,fma"), always_inline)) static inline void tile256(
    const int rows, const int nv, idx kk, const float *a, idx a_m, idx a_k, const float *b,
    idx b_k, float *c, idx c_m, int beta) {
  __m256 acc[R256][V256];
  _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
      acc[r][v] = beta ? _mm256_loadu_ps(c + r * c_m + v * W256) : _mm256_setzero_ps();
  for (idx k = 0; k < kk; k++) {
    const float *bk = b + k * b_k;
    __m256 bv[V256];
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) bv[v] = _mm256_loadu_ps(bk + v * W256);
    const float *ak = a + k * a_k;
    _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++) {
      __m256 av = _mm256_broadcast_ss(ak + r * a_m);
      _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) _mm256_storeu_ps(c + r * c_m + v * W256, acc[r][v]);
}

#define T256(R, V)                                                                       \
  __attribute__((target("avx2,fma"))) static void t256_##R##_##V(                       \
      idx kk, const float *a, idx a_m, idx a_k, const float *b, idx b_k, float *c, idx c_m, \
      int beta) {                                                                         \
    tile256(R, V, kk, a, a_m, a_k, b, b_k, c, c_m, beta);                                  \
  }
#define T256_ROW(R) T256(R, 1) T256(R, 2)
T256_ROW(1) T256_ROW(2) T256_ROW(3) T256_ROW(4) T256_ROW(5) T256_ROW(6)

typedef void (*tile_fn)(idx, const float *, idx, idx, const float *, idx, float *, idx, int);

static const tile_fn TILES512[R512][4] = {
    {t512_1_1, t512_1_2, t512_1_3, t512_1_4}, {t512_2_1, t512_2_2, t512_2_3, t512_2_4},
    {t512_3_1, t512_3_2, t512_3_3, t512_3_4}, {t512_4_1, t512_4_2, t512_4_3, t512_4_4},
    {t512_5_1, t512_5_2, t512_5_3, t512_5_4}, {t512_6_1, t512_6_2, t512_6_3, t512_6_4}};
static const tile_fn TILES256[R256][V256] = {{t256_1_1, t256_1_2}, {t256_2_1, t256_2_2},
                                             {t256_3_1, t256_3_2}, {t256_4_1, t256_4_2},
                                             {t256_5_1, t256_5_2}, {t256_6_1, t256_6_2}};

/* Returns 0, or -1 for an instruction set this build does not know. The caller checks the
   shapes (columns a multiple of the vector width) and that the CPU has the set. */
int lrlc_bmm_f32(int isa, int threads, idx np, idx m, idx kk, idx ncols, const float *a,
                 idx a_p, idx a_m, idx a_k, const float *b, idx b_p, idx b_k, float *c,
                 idx c_p, idx c_m, int beta) {
  int rmax, width, nvmax;
  const tile_fn *tiles; /* [rows - 1][vectors - 1], nvmax vectors a row */
  if (isa == ISA_AVX512) {
    rmax = R512, width = W512, nvmax = 4, tiles = &TILES512[0][0];
  } else if (isa == ISA_AVX2) {
    rmax = R256, width = W256, nvmax = V256, tiles = &TILES256[0][0];
  } else {
    return -1;
  }
  const idx tile_cols = nvmax * width;
  const idx col_tiles = (ncols + tile_cols - 1) / tile_cols;
  const idx row_tiles = (m + rmax - 1) / rmax;
  const idx per_p = col_tiles * row_tiles;
  const idx tasks = np * per_p;
  /* Tasks by position, then column tile, then row tile: one thread's consecutive tiles read
     the same panel of B (kk x 4 vectors), which then stays in its core's cache. */
#pragma omp parallel for num_threads(threads) schedule(static)
  for (idx t = 0; t < tasks; t++) {
    const idx p = t / per_p, rest = t % per_p;
    const idx ct = rest / row_tiles, rt = rest % row_tiles;
    const idx r0 = rt * rmax, c0 = ct * tile_cols;
    const int rows = (int)(m - r0 < rmax ? m - r0 : rmax);
    const idx cols = ncols - c0 < tile_cols ? ncols - c0 : tile_cols;
    const int nv = (int)(cols / width);
    tiles[(rows - 1) * nvmax + nv - 1](kk, a + p * a_p + r0 * a_m, a_m, a_k, b + p * b_p + c0, b_k,
                            c + p * c_p + r0 * c_m + c0, c_m, beta);
  }
  return 0;
}

/* The same with its arguments in one array (isa, threads, np, m, kk, ncols, a, a_p, a_m, a_k,
   b, b_p, b_k, c, c_p, c_m, beta; pointers as integers): one ctypes argument converts in
   a fraction of the time of seventeen, and the row engines make hundreds of calls a step. */
int lrlc_bmm_f32_packed(const idx *v) {
  return lrlc_bmm_f32((int)v[0], (int)v[1], v[2], v[3], v[4], v[5], (const float *)v[6], v[7],
                      v[8], v[9], (const float *)v[10], v[11], v[12], (float *)v[13], v[14],
                      v[15], (int)v[16]);
}
