/* dw's products for the kernel path (float32), as dot products along a long reduction:

       C[m, k] = S[m, k] + sum_x A[m, x] * B[k, x]

   with S = C (beta = 1) or 0. A: M rows (a row's output positions) of X contiguous floats (a
   row's filter gradients, X = C_out * kw * C_in), rows a_m apart; B: K rows (the bases) of X
   in the panels of lc_bmm.c's tile width W, (X / W, K, W), panels b_ct apart, rows W apart;
   C: (M, K), rows c_m and columns c_k apart (dw's rows written straight into the weights'
   gradient, (K, H_out, W_out): c_m = 1, c_k = H_out * W_out).

   Why not lc_bmm.c's tiles: they hold a tile of C in registers over the reduction, here a
   tile of at most 6 x 32 for a C of M x K, so at K <= 16 each step of X took one FMA per row
   for one vector of 16 columns, K of them used (K = 2: 14 of 16 padding), and the rows' A
   values came in one broadcast each: about 50 us a (22, 12288) @ (12288, K) product at any
   K <= 16, 3 ms of a training step (AMD EPYC Zen 4). Here a tile is R rows x Q rows of B,
   each (m, k) one vector of partial sums along X: every FMA does 16 (8) useful
   multiply-adds, and B is read once per chunk of X for all of a thread's rows. */

#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>

#include "lc_common.h"

#define DOTS_CHUNK 16 /* panels of X a pass over a thread's rows reads: K x 1024 floats */

/* ---- AVX-512: 4 rows of A x 4 rows of B (16 accumulators, 8 loads: 24 of 32 registers) */
#define DR512 4
#define DQ512 4

/* One panel's nv vectors (of 16) into the R x Q sums. */
__attribute__((target("avx512f,fma"), always_inline)) static inline void panel512(
    const int rows, const int nq, const int nv, const float *a, idx a_m, const float *b,
    __m512 acc[DR512][DQ512]) {
  _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) {
    __m512 av[DR512], bv[DQ512];
    _Pragma("GCC unroll 4") for (int r = 0; r < rows; r++) av[r] = _mm512_loadu_ps(a + r * a_m + v * 16);
    _Pragma("GCC unroll 4") for (int q = 0; q < nq; q++) bv[q] = _mm512_loadu_ps(b + q * 64 + v * 16);
    _Pragma("GCC unroll 4") for (int r = 0; r < rows; r++)
      _Pragma("GCC unroll 4") for (int q = 0; q < nq; q++) acc[r][q] = _mm512_fmadd_ps(av[r], bv[q], acc[r][q]);
  }
}

/* panels whole panels of 64, then tail_nv vectors of the next; the sums start from part
   (rows x nq vectors, rows p_m apart) unless first, and are stored back there. */
__attribute__((target("avx512f,fma"), always_inline)) static inline void dots512(
    const int rows, const int nq, idx panels, int tail_nv, const float *a, idx a_m,
    const float *b, idx b_ct, float *part, idx p_m, int first) {
  __m512 acc[DR512][DQ512];
  _Pragma("GCC unroll 4") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int q = 0; q < nq; q++)
      acc[r][q] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(part + r * p_m + q * 16);
  for (idx p = 0; p < panels; p++) panel512(rows, nq, 4, a + p * 64, a_m, b + p * b_ct, acc);
  if (tail_nv) panel512(rows, nq, tail_nv, a + panels * 64, a_m, b + panels * b_ct, acc);
  _Pragma("GCC unroll 4") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 4") for (int q = 0; q < nq; q++) _mm512_storeu_ps(part + r * p_m + q * 16, acc[r][q]);
}

/* ---- AVX2: 3 x 3 (9 accumulators, 6 loads: 15 of 16 registers), panels of 16 (2 vectors) */
#define DR256 3
#define DQ256 3

__attribute__((target("avx2,fma"), always_inline)) static inline void panel256(
    const int rows, const int nq, const int nv, const float *a, idx a_m, const float *b,
    __m256 acc[DR256][DQ256]) {
  _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++) {
    __m256 av[DR256], bv[DQ256];
    _Pragma("GCC unroll 3") for (int r = 0; r < rows; r++) av[r] = _mm256_loadu_ps(a + r * a_m + v * 8);
    _Pragma("GCC unroll 3") for (int q = 0; q < nq; q++) bv[q] = _mm256_loadu_ps(b + q * 16 + v * 8);
    _Pragma("GCC unroll 3") for (int r = 0; r < rows; r++)
      _Pragma("GCC unroll 3") for (int q = 0; q < nq; q++) acc[r][q] = _mm256_fmadd_ps(av[r], bv[q], acc[r][q]);
  }
}

__attribute__((target("avx2,fma"), always_inline)) static inline void dots256(
    const int rows, const int nq, idx panels, int tail_nv, const float *a, idx a_m,
    const float *b, idx b_ct, float *part, idx p_m, int first) {
  __m256 acc[DR256][DQ256];
  _Pragma("GCC unroll 3") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 3") for (int q = 0; q < nq; q++)
      acc[r][q] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(part + r * p_m + q * 8);
  for (idx p = 0; p < panels; p++) panel256(rows, nq, 2, a + p * 16, a_m, b + p * b_ct, acc);
  if (tail_nv) panel256(rows, nq, tail_nv, a + panels * 16, a_m, b + panels * b_ct, acc);
  _Pragma("GCC unroll 3") for (int r = 0; r < rows; r++)
    _Pragma("GCC unroll 3") for (int q = 0; q < nq; q++) _mm256_storeu_ps(part + r * p_m + q * 8, acc[r][q]);
}

typedef void (*dots_fn)(idx, int, const float *, idx, const float *, idx, float *, idx, int);

#define D512(R, Q)                                                                          \
  __attribute__((target("avx512f,fma"))) static void d512_##R##_##Q(                       \
      idx panels, int tail_nv, const float *a, idx a_m, const float *b, idx b_ct,           \
      float *part, idx p_m, int first) {                                                     \
    dots512(R, Q, panels, tail_nv, a, a_m, b, b_ct, part, p_m, first);                     \
  }
#define D512_ROW(R) D512(R, 1) D512(R, 2) D512(R, 3) D512(R, 4)
D512_ROW(1) D512_ROW(2) D512_ROW(3) D512_ROW(4)

#define D256(R, Q)                                                                          \
  __attribute__((target("avx2,fma"))) static void d256_##R##_##Q(                          \
      idx panels, int tail_nv, const float *a, idx a_m, const float *b, idx b_ct,           \
      float *part, idx p_m, int first) {                                                     \
    dots256(R, Q, panels, tail_nv, a, a_m, b, b_ct, part, p_m, first);                     \
  }
#define D256_ROW(R) D256(R, 1) D256(R, 2) D256(R, 3)
D256_ROW(1) D256_ROW(2) D256_ROW(3)

static const dots_fn DOTS512[DR512][DQ512] = {
    {d512_1_1, d512_1_2, d512_1_3, d512_1_4}, {d512_2_1, d512_2_2, d512_2_3, d512_2_4},
    {d512_3_1, d512_3_2, d512_3_3, d512_3_4}, {d512_4_1, d512_4_2, d512_4_3, d512_4_4}};
static const dots_fn DOTS256[DR256][DQ256] = {
    {d256_1_1, d256_1_2, d256_1_3}, {d256_2_1, d256_2_2, d256_2_3}, {d256_3_1, d256_3_2, d256_3_3}};

/* The floats of partial sums one thread's share of m rows needs (`lrlc_dots_share`). */
idx lrlc_dots_part_floats(idx m, idx nt, idx k) { return (m + nt - 1) / nt * k * 16; }

/* Thread t's share (of nt) of C's rows, [lo, hi) as OpenMP's static shares, computed: what
   lc_program.c's program and lrlc_dots_f32_packed run in each thread. isa: ISA_AVX512 or
   ISA_AVX2 (the caller checks); x a multiple of the vector width (16 / 8); part: the thread's
   `lrlc_dots_part_floats` floats, allocated by the caller before any thread starts, so that
   no call fails half done. */
void lrlc_dots_share(int isa, idx t, idx nt, idx m, idx x, idx k, const float *a, idx a_m,
                     const float *b, idx b_ct, float *c, idx c_m, idx c_k, int beta,
                     float *part) {
  const int rmax = isa == ISA_AVX512 ? DR512 : DR256, qmax = isa == ISA_AVX512 ? DQ512 : DQ256;
  const idx w = isa == ISA_AVX512 ? 64 : 16, vec = isa == ISA_AVX512 ? 16 : 8;
  const dots_fn *fns = isa == ISA_AVX512 ? &DOTS512[0][0] : &DOTS256[0][0];
  idx lo, hi;
  share_of(m, t, nt, &lo, &hi);
  const idx p_m = k * vec; /* the partial sums: (hi - lo, K) vectors */
  const idx full = x / w;
  const int tail_nv = (int)((x % w) / vec);
  for (idx p0 = 0; p0 < full || (p0 == full && tail_nv); p0 += DOTS_CHUNK) {
    const idx panels = full - p0 < DOTS_CHUNK ? full - p0 : DOTS_CHUNK;
    const int tail = p0 + DOTS_CHUNK >= full ? tail_nv : 0;
    for (idx m0 = lo; m0 < hi; m0 += rmax) {
      const int rows = (int)(hi - m0 < rmax ? hi - m0 : rmax);
      for (idx k0 = 0; k0 < k; k0 += qmax) {
        const int nq = (int)(k - k0 < qmax ? k - k0 : qmax);
        fns[(rows - 1) * qmax + nq - 1](panels, tail, a + m0 * a_m + p0 * w, a_m,
                                        b + p0 * b_ct + k0 * w, b_ct,
                                        part + (m0 - lo) * p_m + k0 * vec, p_m, p0 == 0);
      }
    }
    if (tail) break;
  }
  for (idx r = lo; r < hi; r++)
    for (idx kk = 0; kk < k; kk++) {
      const float *s = part + (r - lo) * p_m + kk * vec;
      float sum = 0;
      for (idx v = 0; v < vec; v++) sum += s[v];
      float *ck = c + r * c_m + kk * c_k;
      *ck = beta ? *ck + sum : sum;
    }
}

/* `row_dots`' call: (isa, threads, m, x, k, a, a_m, b, b_ct, c, c_m, c_k, beta), pointers as
   integers. Returns 0, -1 for an unknown instruction set, -2 where memory ran out (nothing
   then computed). */
int lrlc_dots_f32_packed(const idx *v) {
  const int isa = (int)v[0], threads = (int)v[1];
  if (isa != ISA_AVX512 && isa != ISA_AVX2) return -1;
  /* sized for one thread's share of all rows: OpenMP may start fewer than asked for */
  const idx each = lrlc_dots_part_floats(v[2], 1, v[4]);
  float *parts = malloc((size_t)(each * threads) * sizeof(float));
  if (!parts) return -2;
#pragma omp parallel num_threads(threads)
  lrlc_dots_share(isa, omp_get_thread_num(), omp_get_num_threads(), v[2], v[3], v[4],
                  (const float *)v[5], v[6], (const float *)v[7], v[8], (float *)v[9], v[10],
                  v[11], (int)v[12], parts + omp_get_thread_num() * each);
  free(parts);
  return 0;
}
