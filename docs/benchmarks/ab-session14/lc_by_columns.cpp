// Prototype: locally connected forward, NCHW in/out, vectorised over output columns j.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cstring>

template <int L> struct V { typedef float t __attribute__((vector_size(L * 4))); };

template <int L>
static inline typename V<L>::t loadu(const float* p) {
  typename V<L>::t v; std::memcpy(&v, p, sizeof(v)); return v;
}
template <int L>
static inline void storeu(float* p, typename V<L>::t v, int n) {
  if (n == L) std::memcpy(p, &v, sizeof(v));
  else { float tmp[L]; std::memcpy(tmp, &v, sizeof(v)); for (int q = 0; q < n; ++q) p[q] = tmp[q]; }
}

// x: (N, C, Hp, Wpx) padded so that reading j0 + v + L columns stays inside the row buffer
// w: (Hout, Cout, C, kh, kw, Wv) with Wv >= Wout, j fastest
// y: (N, Cout, Hout, Wout)
template <int L, int NB, int OB>
static void block(const float* x, const float* w, float* y, const float* bias,
                  int64_t N, int64_t C, int64_t Hp, int64_t Wpx, int64_t Cout, int64_t Hout,
                  int64_t Wout, int64_t Wv, int kh, int kw, int64_t i, int64_t o0, int64_t n0,
                  int64_t j0, int nvalid, int nb, int ob) {
  typedef typename V<L>::t vec;
  vec acc[NB][OB];
  for (int o = 0; o < OB; ++o) {
    vec b;
    if (bias && o < ob) b = loadu<L>(bias + ((o0 + o) * Hout + i) * Wout + j0);  // may overread: bias padded
    else b = vec{} ;
    for (int n = 0; n < NB; ++n) acc[n][o] = b;
  }
  const int64_t ws_o = C * kh * kw * Wv;
  for (int64_t c = 0; c < C; ++c) {
    for (int u = 0; u < kh; ++u) {
      const float* xr[NB];
      for (int n = 0; n < NB; ++n) xr[n] = x + (((n0 + (n < nb ? n : 0)) * C + c) * Hp + i + u) * Wpx + j0;
      const float* wr = w + (((i * Cout + o0) * C + c) * kh + u) * kw * Wv + j0;
      #pragma GCC unroll 4
      for (int v = 0; v < kw; ++v) {
        vec wv[OB];
        for (int o = 0; o < OB; ++o) wv[o] = loadu<L>(wr + (o < ob ? o : 0) * ws_o + v * Wv);
        #pragma GCC unroll 8
        for (int n = 0; n < NB; ++n) {
          vec xv = loadu<L>(xr[n] + v);
          #pragma GCC unroll 8
          for (int o = 0; o < OB; ++o) acc[n][o] += wv[o] * xv;
        }
      }
    }
  }
  for (int n = 0; n < nb; ++n)
    for (int o = 0; o < ob; ++o)
      storeu<L>(y + (((n0 + n) * Cout + o0 + o) * Hout + i) * Wout + j0, acc[n][o], nvalid);
}

torch::Tensor lc_forward(torch::Tensor xpad, torch::Tensor w, torch::Tensor bias, int64_t Wout) {
  // xpad (N, C, Hp, Wpx) contiguous; w (Hout, Cout, C, kh, kw, Wv); bias (Cout, Hout, Wout + pad)
  int64_t N = xpad.size(0), C = xpad.size(1), Hp = xpad.size(2), Wpx = xpad.size(3);
  int64_t Hout = w.size(0), Cout = w.size(1), kh = w.size(3), kw = w.size(4), Wv = w.size(5);
  auto y = torch::empty({N, Cout, Hout, Wout}, xpad.options());
  const float* xp = xpad.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  const float* bp = bias.defined() && bias.numel() ? bias.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  constexpr int NB = 6, OB = 4;
  int64_t nob = (Cout + OB - 1) / OB;
  constexpr int NCH = 24;
  at::parallel_for(0, Hout, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
     for (int64_t nc = 0; nc < N; nc += NCH) {
      int64_t ncend = std::min<int64_t>(N, nc + NCH);
      for (int64_t o0 = 0; o0 < Cout; o0 += OB) {
      int ob = (int)std::min<int64_t>(OB, Cout - o0);
      for (int64_t n0 = nc; n0 < ncend; n0 += NB) {
        int nb = (int)std::min<int64_t>(NB, ncend - n0);
        int64_t j0 = 0;
        for (; j0 + 16 <= Wout || (Wout - j0 > 8); j0 += 16) {
          int nv = (int)std::min<int64_t>(16, Wout - j0);
          block<16, NB, OB>(xp, wp, yp, bp, N, C, Hp, Wpx, Cout, Hout, Wout, Wv, kh, kw, i, o0, n0, j0, nv, nb, ob);
        }
        for (; j0 < Wout; j0 += 8) {
          int nv = (int)std::min<int64_t>(8, Wout - j0);
          block<8, NB, OB>(xp, wp, yp, bp, N, C, Hp, Wpx, Cout, Hout, Wout, Wv, kh, kw, i, o0, n0, j0, nv, nb, ob);
        }
      }
      }
     }
    }
  });
  return y;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("lc_forward", &lc_forward); }
