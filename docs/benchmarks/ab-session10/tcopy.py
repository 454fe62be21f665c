import time, statistics as st, torch
torch.set_num_threads(2)
O, K, C = 22, 3, 64
d_w = torch.empty(O, O, K, K * C, C)  # weight memory (H, W, kh, kw*C_in, C_out)
src_t = torch.randn(K, O, C, K * C)   # dW^T row (kh, W_out, C_out, kwC)
src = torch.randn(K, O, K * C, C)     # dW row (kh, W_out, kwC, C_out)
def tm(f, reps=9):
    f(); ts=[]
    for _ in range(reps):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return round(st.median(ts)*1e3,2)
print("plain block copy, all rows", tm(lambda: [d_w[i].copy_(src.transpose(0, 1)) for i in range(O)]))
print("transposing copy, all rows", tm(lambda: [d_w[i].copy_(src_t.permute(1, 0, 3, 2)) for i in range(O)]))
