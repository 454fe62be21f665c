/* Session 19, a prototype (not in the library): the row products' tile in bf16 with
   AVX512-BF16's pairwise dot products, C[p, m, :] (float32) = sum_k A[p, m, k] B[p, k, :]
   with A bf16 read through strides (pairs along k adjacent: a_k = 1) and B bf16 interleaved
   by pairs along k, (K / 2, C, 2), as a filter build could write it directly. 6 rows x 4
   vectors of 16 columns; one vdpbf16ps does two k steps. Built and timed by bf16_tile.py. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef ptrdiff_t idx;

__attribute__((target("avx512f,avx512bf16"), always_inline)) static inline void tile(
    const int rows, idx kk, const uint16_t *a, idx a_m, const uint16_t *b, idx b_k2,
    float *c, idx c_m) {
  __m512 acc[6][4];
  _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
  for (idx k2 = 0; k2 < kk / 2; k2++) {
    const uint16_t *bk = b + k2 * b_k2;
    __m512bh bv[4];
    _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)
      bv[v] = (__m512bh)_mm512_loadu_si512((const void *)(bk + v * 32));
    _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++) {
      int32_t pair;
      memcpy(&pair, a + r * a_m + 2 * k2, 4);
      __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
      _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)
        acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
  }
  _Pragma("GCC unroll 8") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)
      _mm512_storeu_ps(c + r * c_m + v * 16, acc[r][v]);
}

__attribute__((target("avx512f,avx512bf16"))) static void tile6(
    idx kk, const uint16_t *a, idx a_m, const uint16_t *b, idx b_k2, float *c, idx c_m) {
  tile(6, kk, a, a_m, b, b_k2, c, c_m);
}
__attribute__((target("avx512f,avx512bf16"))) static void tile_rest(
    int rows, idx kk, const uint16_t *a, idx a_m, const uint16_t *b, idx b_k2, float *c,
    idx c_m) {
  for (int r = 0; r < rows; r++) tile(1, kk, a + r * a_m, a_m, b, b_k2, c + r * c_m, c_m);
}

/* C (np, m, 64) float32; A (np, m, kk) bf16 with strides a_p, a_m (a_k = 1); B (np, kk / 2,
   64, 2) bf16, positions b_p apart. */
void bf16_bmm64(int threads, idx np, idx m, idx kk, const uint16_t *a, idx a_p, idx a_m,
                const uint16_t *b, idx b_p, float *c, idx c_p, idx c_m) {
  const idx row_tiles = (m + 5) / 6, tasks = np * row_tiles;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (idx t = 0; t < tasks; t++) {
    const idx p = t / row_tiles, r0 = (t % row_tiles) * 6;
    const int rows = (int)(m - r0 < 6 ? m - r0 : 6);
    const uint16_t *ap = a + p * a_p + r0 * a_m;
    float *cp = c + p * c_p + r0 * c_m;
    if (rows == 6)
      tile6(kk, ap, a_m, b + p * b_p, 128, cp, c_m);
    else
      tile_rest(rows, kk, ap, a_m, b + p * b_p, 128, cp, c_m);
  }
}
