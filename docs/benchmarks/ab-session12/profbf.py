import sys, time, torch
torch.set_num_threads(2)
import os; sys.path.insert(0, os.environ.get("SRC", "/work/main/src"))
from lrlc.experiments.run.memory import keep_freed_memory; keep_freed_memory()
import lrlc
from torch.profiler import profile
C, KS, S = 64, 3, 24
n = int(sys.argv[2])
x = torch.randn(n, C, S, S, requires_grad=True); g = torch.randn(n, C, S - 2, S - 2)
for K in [int(a) for a in sys.argv[1].split(",")]:
    torch.manual_seed(0); m = lrlc.LowRankLocallyConnected2d(C, C, KS, S, rank=K, path="kernel", init="random")
    conv = torch.nn.Conv2d(C, C, KS)
    for name, mod in (("conv", conv), ("kernel", m)):
        def f():
            mod.zero_grad(set_to_none=True); x.grad = None
            with torch.autocast("cpu", torch.bfloat16):
                y = mod(x)
            y.backward(g.to(y.dtype))
        for i in range(3): f()
        with profile(record_shapes=True) as p:
            for i in range(3): f()
        print(name, "K", K)
        print(p.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=int(sys.argv[3])))
