import sys, time, torch
sys.path.insert(0, sys.argv[1])
from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
torch.set_num_threads(2)
n = int(sys.argv[2]); which = sys.argv[3]
C, K, S = 64, 3, 24
x = torch.randn(n, C, S, S, requires_grad=True)
g = torch.randn(n, C, S - 2, S - 2)
m = LocallyConnected2d(C, C, K, S) if which == "lc" else LowRankLocallyConnected2d(C, C, K, S, rank=int(which), path="kernel")
def step():
    m.zero_grad(set_to_none=True); x.grad = None
    m(x).backward(g)
for _ in range(3): step()
from torch.profiler import profile, ProfilerActivity
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as p:
    for _ in range(3): step()
print(p.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=20, max_shapes_column_width=90))
