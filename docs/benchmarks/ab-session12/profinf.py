import sys, torch
torch.set_num_threads(2)
sys.path.insert(0, sys.argv[1])
from lrlc.experiments.run.memory import keep_freed_memory; keep_freed_memory()
import lrlc
from torch.profiler import profile
C, KS, S = 64, 3, 24
n = 512
x = torch.randn(n, C, S, S)
torch.manual_seed(0); m = lrlc.LocallyConnected2d(C, C, KS, S)
def f():
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=len(sys.argv) < 3): m(x)
for i in range(3): f()
with profile(record_shapes=True) as p:
    for i in range(5): f()
print(p.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=12))
