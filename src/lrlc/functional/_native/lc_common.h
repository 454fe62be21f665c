/* What lc_bmm.c, lc_program.c, lc_dots.c and lc_layout.c share: built into one library by
   lrlc.functional._native (each file's functions below are the library's own, hidden from
   other libraries). */

#ifndef LRLC_COMMON_H
#define LRLC_COMMON_H

#include <stddef.h>

typedef ptrdiff_t idx;

#define ISA_AVX512 2
#define ISA_AVX2 1
#define HIDDEN __attribute__((visibility("hidden")))

typedef void (*tile_fn)(idx, const float *, idx, idx, const float *, idx, float *, idx,
                        const float *, idx);

/* An instruction set's tiles: [rows - 1][vectors - 1], up to rmax rows of nvmax vectors of
   width floats. */
typedef struct {
  int rmax, width, nvmax;
  const tile_fn *tiles;
} tile_set;

/* Thread t's contiguous share [lo, hi) of m items among nt, OpenMP's static shares. */
static inline void share_of(idx m, idx t, idx nt, idx *lo, idx *hi) {
  const idx q = m / nt, extra = m % nt;
  *lo = t * q + (t < extra ? t : extra);
  *hi = *lo + q + (t < extra);
}

/* lc_bmm.c */
HIDDEN int tile_set_for(int isa, tile_set *ts);
HIDDEN void product_share(const tile_set *ts, int by_rows, idx t, idx nt, idx np, idx m,
                          idx kk, idx ncols, const float *a, idx a_p, idx a_m, idx a_k,
                          const float *b, idx b_p, idx b_k, idx b_ct, float *c, idx c_p,
                          idx c_m, idx c_ct, int beta, const float *bias, idx bias_p);

/* lc_dots.c */
HIDDEN idx lrlc_dots_part_floats(idx m, idx nt, idx k);
HIDDEN void lrlc_dots_share(int isa, idx t, idx nt, idx m, idx x, idx k, const float *a,
                            idx a_m, const float *b, idx b_ct, float *c, idx c_m, idx c_k,
                            int beta, float *part);

/* lc_layout.c: D[c, r] = S[r, c] for one (rows x cols) S, rows s_r apart, and D, rows d_c
   apart, both with contiguous columns (AVX2, which every CPU with a kernel here has). */
HIDDEN void lrlc_transpose_one(const float *s, idx s_r, idx rows, idx cols, float *d, idx d_c);

#endif
