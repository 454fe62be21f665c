/* Layout copies (float32): a batch of matrix transposes,

       D[b0, b1][c, r] = S[b0, b1][r, c]      for r < rows, c < cols

   S's rows s_r apart with contiguous columns, D's rows d_c apart with contiguous columns,
   batches s0 / s1 and d0 / d1 apart. Every NCHW <-> NHWC copy of the kernel path is one: an
   NCHW input into the (Hp, N, Wp, C) order its products read, its NHWC output and dL/dx
   back into NCHW. torch's strided copy ran them at a quarter of a plain copy's rate (128 x
   64 x 24 x 24: 2.0-3.0 ms against 0.73; AMD EPYC Zen 4, 2 threads), 5 of the 7-10 ms an
   NCHW training step at N = 128 took over a channels_last one.

   Each 8 x 8 block goes through AVX2 registers (eight loads of a row's 8 columns, unpacks
   and lane swaps, eight stores), the edges element by element; the blocks go down a strip
   of 8 columns of S, so that D is written 8 rows at a time along their length. AVX-512 CPUs
   run it too: 16 x 16 blocks in 512-bit registers were slower on the Zen 4 (0.80 against
   0.52 ms, its 512-bit shuffles take two passes), and going across S's rows first (D written
   64 rows at a time) 2-3x slower. From memory (the step's case) the copies take 2.2-2.5x
   a plain copy's time, 1 ms less than torch's each (N = 128). The threads take shares of
   the batches. */

#include <immintrin.h>
#include <omp.h>

#include "lc_common.h"

/* r[i] holds row i's 8 columns; after it, r[j] holds column j's 8 rows. */
__attribute__((target("avx2"), always_inline)) static inline void tr8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  _Pragma("GCC unroll 2") for (int i = 0; i < 2; i++) {
    const __m256d t0 = _mm256_castps_pd(t[4 * i]), t1 = _mm256_castps_pd(t[4 * i + 1]);
    const __m256d t2 = _mm256_castps_pd(t[4 * i + 2]), t3 = _mm256_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
    u[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
    u[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
    u[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
  }
  /* u[4i + q], 128-bit lane L: rows 4i .. 4i + 3 of column 4L + q; column 4L + q is then
     lane L of u[q] (rows 0-3) and of u[4 + q] (rows 4-7) */
  _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {
    r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
    r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
  }
}

static void transpose_scalar(const float *s, idx s_r, idx r0, idx r1, idx c0, idx c1, float *d,
                             idx d_c) {
  for (idx r = r0; r < r1; r++)
    for (idx c = c0; c < c1; c++) d[c * d_c + r] = s[r * s_r + c];
}

/* S (rows x cols) into D: down strips of 8 columns, D's rows written 8 at a time along
   their length. (Where S's rows run on from one matrix to the next, an NCHW image's rows,
   reading 8 of them along their whole length across the matrices was slower: 3.9 against
   3.3 ms for 128 x 64 x 24 x 24 from memory.) */
__attribute__((target("avx2"))) void lrlc_transpose_one(const float *s, idx s_r, idx rows,
                                                        idx cols, float *d, idx d_c) {
  const idx rf = rows - rows % 8, cf = cols - cols % 8;
  for (idx c0 = 0; c0 < cf; c0 += 8)
    for (idx r0 = 0; r0 < rf; r0 += 8) {
      __m256 v[8];
      _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) v[i] =
          _mm256_loadu_ps(s + (r0 + i) * s_r + c0);
      tr8x8(v);
      _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) _mm256_storeu_ps(d + (c0 + j) * d_c + r0,
                                                                          v[j]);
    }
  transpose_scalar(s, s_r, 0, rf, cf, cols, d, d_c);
  transpose_scalar(s, s_r, rf, rows, 0, cols, d, d_c);
}

/* v: isa, threads, n0, n1, rows, cols, S, s0, s1, s_r, D, d0, d1, d_c (pointers and strides
   in elements). Returns 0, -1 for an unknown instruction set (both take the AVX2 blocks). */
int lrlc_transpose_f32(const idx *v) {
  const int isa = (int)v[0], threads = (int)v[1];
  const idx n0 = v[2], n1 = v[3], rows = v[4], cols = v[5];
  const float *s = (const float *)v[6];
  float *d = (float *)v[10];
  const idx s0 = v[7], s1 = v[8], s_r = v[9], d0 = v[11], d1 = v[12], d_c = v[13];
  if (isa != ISA_AVX512 && isa != ISA_AVX2) return -1;
#pragma omp parallel num_threads(threads)
  {
    idx lo, hi;
    share_of(n0 * n1, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    for (idx b = lo; b < hi; b++)
      lrlc_transpose_one(s + (b / n1) * s0 + (b % n1) * s1, s_r, rows, cols,
                   d + (b / n1) * d0 + (b % n1) * d1, d_c);
  }
  return 0;
}
