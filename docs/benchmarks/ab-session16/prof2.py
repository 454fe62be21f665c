import torch, time, sys
from lrlc.experiments.run.memory import keep_freed_memory
keep_freed_memory()
from lrlc.layers import LowRankLocallyConnected2d as L
torch.set_num_threads(2)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 512
K = 4
m = L(64, 64, 3, input_size=(24, 24), rank=K, path="kernel")
conv = torch.nn.Conv2d(64, 64, 3)
x = torch.randn(N, 64, 24, 24, requires_grad=True)
g = torch.randn(N, 64, 22, 22)
def step(mod):
    y = mod(x); y.backward(g)
def t(f, n=5):
    f(); ts=[]
    for _ in range(n):
        s=time.perf_counter(); f(); ts.append(time.perf_counter()-s)
    return sorted(ts)[n//2]
tc = t(lambda: step(conv)); tk = t(lambda: step(m))
print(f"N={N} conv {tc*1e3:.0f} ms kernel {tk*1e3:.0f} ms ratio {tk/tc:.2f}")
from torch.profiler import profile, ProfilerActivity
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as p:
    step(m); step(m)
print(p.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=20, max_shapes_column_width=90))
