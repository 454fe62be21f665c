import sys, time, torch
torch.set_num_threads(2)
sys.path.insert(0, "/work/main/src")
from lrlc.experiments.run.memory import keep_freed_memory; keep_freed_memory()
import lrlc
from torch.profiler import profile
C, KS, S = 64, 3, 24
n = int(sys.argv[2])
x = torch.randn(n, C, S, S, requires_grad=True); g = torch.randn(n, C, S - 2, S - 2)
for K in [int(a) for a in sys.argv[1].split(",")]:
    torch.manual_seed(0); m = lrlc.LowRankLocallyConnected2d(C, C, KS, S, rank=K, path="kernel", init="random")
    def f():
        m.zero_grad(set_to_none=True); x.grad = None; m(x).backward(g)
    for i in range(3): f()
    with profile() as p:
        for i in range(3): f()
    print("K", K)
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))
