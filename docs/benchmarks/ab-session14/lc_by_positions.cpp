// Prototype 2: per position GEMM, vectorised over output channels (broadcast x), NCHW in/out.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cstring>
typedef float v16 __attribute__((vector_size(64)));
static inline v16 ld(const float* p) { v16 v; std::memcpy(&v, p, 64); return v; }

// x (N, C, Hp, Wp); w (Hout, Wout, C*kh*kw, Cout) with Cout == 64; y (N, Cout, Hout, Wout)
template <int NB>
static void pos_block(const float* x, const float* w, float* y, const float* bias, int64_t C,
                      int64_t Hp, int64_t Wp, int64_t Hout, int64_t Wout, int kh, int kw,
                      int64_t i, int64_t j, int64_t n0, int nb) {
  constexpr int OV = 4;  // 64 output channels
  v16 acc[NB][OV];
  for (int o = 0; o < OV; ++o) {
    v16 b{};
    if (bias) { float t[16]; for (int q = 0; q < 16; ++q) t[q] = bias[((o * 16 + q) * Hout + i) * Wout + j]; std::memcpy(&b, t, 64); }
    for (int n = 0; n < NB; ++n) acc[n][o] = b;
  }
  const float* xr[NB];
  for (int n = 0; n < NB; ++n) xr[n] = x + ((n0 + (n < nb ? n : 0)) * C * Hp + i) * Wp + j;
  const float* wp = w;
  for (int64_t c = 0; c < C; ++c) {
    for (int u = 0; u < kh; ++u) {
      for (int v = 0; v < kw; ++v) {
        v16 wv[OV];
        #pragma GCC unroll 4
        for (int o = 0; o < OV; ++o) wv[o] = ld(wp + o * 16);
        wp += 64;
        const int64_t off = (c * Hp + u) * Wp + v;
        #pragma GCC unroll 8
        for (int n = 0; n < NB; ++n) {
          float s = xr[n][off];
          v16 xv = s - (v16){};
          #pragma GCC unroll 4
          for (int o = 0; o < OV; ++o) acc[n][o] += wv[o] * xv;
        }
      }
    }
  }
  for (int n = 0; n < nb; ++n)
    for (int o = 0; o < OV; ++o) {
      float t[16]; std::memcpy(t, &acc[n][o], 64);
      float* yp = y + (((n0 + n) * 64 + o * 16) * Hout + i) * Wout + j;
      for (int q = 0; q < 16; ++q) yp[q * Hout * Wout] = t[q];
    }
}

torch::Tensor lc_forward2(torch::Tensor xpad, torch::Tensor w, torch::Tensor bias, int64_t kh, int64_t kw) {
  int64_t N = xpad.size(0), C = xpad.size(1), Hp = xpad.size(2), Wp = xpad.size(3);
  int64_t Hout = w.size(0), Wout = w.size(1);
  auto y = torch::empty({N, 64, Hout, Wout}, xpad.options());
  const float* xp = xpad.data_ptr<float>(); const float* wp = w.data_ptr<float>();
  const float* bp = bias.numel() ? bias.data_ptr<float>() : nullptr; float* yp = y.data_ptr<float>();
  constexpr int NB = 6;
  at::parallel_for(0, Hout * Wout, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t i = t / Wout, j = t % Wout;
      const float* wpos = wp + t * C * kh * kw * 64;
      for (int64_t n0 = 0; n0 < N; n0 += NB) {
        int nb = (int)std::min<int64_t>(NB, N - n0);
        pos_block<NB>(xp, wpos, yp, bp, C, Hp, Wp, Hout, Wout, kh, kw, i, j, n0, nb);
      }
    }
  });
  return y;
}
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("lc_forward2", &lc_forward2); }
