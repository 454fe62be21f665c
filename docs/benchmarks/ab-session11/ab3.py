import sys, time, statistics as st, torch
srcs = sys.argv[1:3]
torch.set_num_threads(2)
sys.path.insert(0, "/work/dev/src"); from lrlc.experiments.run.memory import keep_freed_memory; keep_freed_memory(); sys.path.pop(0)
import importlib
C, K, S = 64, 3, 24
# two copies of lrlc side by side: import each under its own name via sys.path swapping
mods = {}
for tag, src in zip(("A", "B"), srcs):
    sys.path.insert(0, src)
    for k in [k for k in sys.modules if k == "lrlc" or k.startswith("lrlc.")]: del sys.modules[k]
    import lrlc
    mods[tag] = lrlc.LowRankLocallyConnected2d
    sys.path.remove(src)
    # keep references to the modules by retaining the class objects (they hold their globals)
for n in (128, 512):
    x = torch.randn(n, C, S, S, requires_grad=True)
    g = torch.randn(n, C, S - 2, S - 2)
    torch.manual_seed(0); a = mods["A"](C, C, K, S, rank=4, path="kernel")
    torch.manual_seed(0); b = mods["B"](C, C, K, S, rank=4, path="kernel")
    conv = torch.nn.Conv2d(C, C, K)
    def step(m):
        def f():
            m.zero_grad(set_to_none=True); x.grad = None
            m(x).backward(g)
        return f
    fs = {"conv": step(conv), "A": step(a), "B": step(b)}
    for f in fs.values(): f()
    ts = {k: [] for k in fs}
    for r in range(10):
        for k, f in fs.items():
            t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
    med = {k: round(st.median(v) * 1e3, 1) for k, v in ts.items()}
    print(n, med, "B/A %.3f" % (med["B"] / med["A"]), "A/conv %.2f B/conv %.2f" % (med["A"] / med["conv"], med["B"] / med["conv"]), flush=True)
