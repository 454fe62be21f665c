/* A program of products over every output row i and kernel row a, in one parallel
   region (float32): the backward's row loop of lrlc.functional._rows_backward without its
   Python (about 10 ms a step at any batch, session 21). Python builds the steps from the
   views of (i, a) = (0, 0) and the pointers' steps along i and along a; each step runs for
   every (i, a), or only at a = 0 or a = kh - 1. Steps, PROGRAM_STEP integers each:
     0 product: when, by_rows, np, m, kk, ncols, a, a_p, a_m, a_k, b, b_p, b_k, b_ct, c, c_p,
       c_m, c_ct, beta rule (0: beta as given; 1: a > 0; 2: a first product into its output
       row only where i = 0 or a = kh - 1: an input row r = i + a of a stride-1 dL/dx),
       beta, da_i, da_a, db_i, db_a, dc_i, dc_a, skip (1: only where 0 <= i + a - lo_row <
       rows_hi, dL/dx's rows of the padding skipped), lo_row, rows_hi
     1 barrier
     2 copy (dL/dy's row into its zero-margined buffer): when, n, w, c, src, s_n, s_w, s_c,
       ds_i, dst, d_n, d_w (columns contiguous); each thread a share of the n; an NCHW dL/dy
       (s_w = 1) by lc_layout.c's blocked transposes (an NCHW step at N = 128: 0.98-0.99 of
       it element by element, AMD EPYC Zen 4)
     3 transposed copy (a row's dw into the weights' gradient): when, rows (W_out), cols (K),
       src, s_row, dst, d_col, dd_i: dst[k * d_col + j] = src[j * s_row + k] for the thread's
       share of j, the rows its by_rows products wrote.
     4 dot products (dw at small K, lc_dots.c): when, m, x, k, a, a_m, da_i, da_a, b, b_ct,
       db_i, db_a, c, c_m, c_k, dc_i, dc_a, beta rule (as a product's, 0 or 1), beta; each
       thread a share of the m rows.
     5 placed filters from stored ones (a locally connected weight): when, w_out, kw, c_out,
       c_in, src, s_j, s_t, s_c, ds_i, ds_a, dst, d_x, d_b: for each position j (the thread's
       share) and tap t, dst + (j + t) d_x + (kw - 1 - t) d_b, (c_out, c_in) contiguous, =
       the transpose of src + j s_j + t s_t, (c_in, c_out) with rows s_c apart.
   Steps 2 (an NCHW source), 3 and 5 transpose by lc_layout.c's blocks.
   Deltas in elements. Returns 0, -1 for an unknown instruction set or step, -2 where memory
   for the dot products' partial sums ran out (nothing then done). */

#include <omp.h>
#include <stdlib.h>

#include "lc_common.h"

#define PROGRAM_STEP 32

static int runs_now(idx when, idx a, idx kh) {
  return when == 0 || (when == 1 && a == 0) || (when == 2 && a == kh - 1);
}

int lrlc_rows_program_f32(const idx *v) {
  const int isa = (int)v[0], threads = (int)v[1];
  const idx h_out = v[2], kh = v[3], nsteps = v[4];
  const idx *steps = v + 5;
  tile_set ts;
  if (tile_set_for(isa, &ts)) return -1;
  idx part_floats = 0; /* the dot products' partial sums, per thread, allocated up front */
  for (idx s = 0; s < nsteps; s++) {
    const idx *q = steps + s * PROGRAM_STEP;
    if (q[0] < 0 || q[0] > 5) return -1;
    const idx need = q[0] == 4 ? lrlc_dots_part_floats(q[2], 1, q[4]) : 0;
    part_floats = need > part_floats ? need : part_floats;
  }
  float *parts = part_floats ? malloc((size_t)(part_floats * threads) * sizeof(float)) : NULL;
  if (part_floats && !parts) return -2;
#pragma omp parallel num_threads(threads)
  {
    const idx nt = omp_get_num_threads(), t = omp_get_thread_num();
    for (idx i = 0; i < h_out; i++)
      for (idx a = 0; a < kh; a++)
        for (idx s = 0; s < nsteps; s++) {
          const idx *q = steps + s * PROGRAM_STEP;
          if (q[0] == 1) {
#pragma omp barrier
            continue;
          }
          if (!runs_now(q[1], a, kh)) continue;
          if (q[0] == 0) {
            if (q[27] && (i + a - q[28] < 0 || i + a - q[28] >= q[29])) continue;
            int beta = (int)q[20];
            if (q[19] == 1) beta = a > 0;
            if (q[19] == 2) beta = !(i == 0 || a == kh - 1);
            product_share(&ts, (int)q[2], t, nt, q[3], q[4], q[5], q[6],
                          (const float *)q[7] + i * q[21] + a * q[22], q[8], q[9], q[10],
                          (const float *)q[11] + i * q[23] + a * q[24], q[12], q[13], q[14],
                          (float *)q[15] + i * q[25] + a * q[26], q[16], q[17], q[18], beta,
                          NULL, 0);
          } else if (q[0] == 4) {
            const int beta = q[18] == 1 ? a > 0 : (int)q[19];
            lrlc_dots_share(isa, t, nt, q[2], q[3], q[4],
                            (const float *)q[5] + i * q[7] + a * q[8], q[6],
                            (const float *)q[9] + i * q[11] + a * q[12], q[10],
                            (float *)q[13] + i * q[16] + a * q[17], q[14], q[15], beta,
                            parts + t * part_floats);
          } else if (q[0] == 5) {
            const idx w_out = q[2], kw = q[3], c_out = q[4], c_in = q[5];
            const float *src = (const float *)q[6] + i * q[10] + a * q[11];
            float *dst = (float *)q[12];
            idx lo, hi;
            share_of(w_out, t, nt, &lo, &hi);
            for (idx j = lo; j < hi; j++)
              for (idx tap = 0; tap < kw; tap++)
                lrlc_transpose_one(src + j * q[7] + tap * q[8], q[9], c_in, c_out,
                                   dst + (j + tap) * q[13] + (kw - 1 - tap) * q[14], c_in);
          } else if (q[0] == 2) {
            const idx n = q[2], w = q[3], c = q[4];
            const float *src = (const float *)q[5] + i * q[9];
            float *dst = (float *)q[10];
            idx lo, hi;
            share_of(n, t, nt, &lo, &hi);
            for (idx e = lo; e < hi; e++) {
              if (q[7] == 1) { /* an NCHW dL/dy: (C, W) -> (W, C) by lc_layout.c's blocks */
                lrlc_transpose_one(src + e * q[6], q[8], c, w, dst + e * q[11], q[12]);
                continue;
              }
              for (idx j = 0; j < w; j++) {
                const float *sj = src + e * q[6] + j * q[7];
                float *dj = dst + e * q[11] + j * q[12];
                for (idx k = 0; k < c; k++) dj[k] = sj[k * q[8]];
              }
            }
          } else {
            const idx rows = q[2], cols = q[3];
            const float *src = (const float *)q[4];
            float *dst = (float *)q[6] + i * q[8];
            idx lo, hi;
            share_of(rows, t, nt, &lo, &hi);
            if (hi > lo) lrlc_transpose_one(src + lo * q[5], q[5], hi - lo, cols, dst + lo, q[7]);
          }
        }
  }
  free(parts);
  return 0;
}
