import sys, time, statistics as st, torch
srcs = sys.argv[1:3]; prec = sys.argv[3]
torch.set_num_threads(2)
sys.path.insert(0, "/work/main/src"); from lrlc.experiments.run.memory import keep_freed_memory; keep_freed_memory(); sys.path.pop(0)
C, K, S = 64, 3, 24
mods = {}
for tag, src in zip(("A", "B"), srcs):
    sys.path.insert(0, src)
    for k in [k for k in sys.modules if k == "lrlc" or k.startswith("lrlc.")]: del sys.modules[k]
    import lrlc
    mods[tag] = (lrlc.LowRankLocallyConnected2d, lrlc.LocallyConnected2d)
    sys.path.remove(src)
ac = (lambda: torch.autocast("cpu", torch.bfloat16)) if prec == "bf16" else (lambda: torch.autocast("cpu", enabled=False))
for n in (128, 512):
    x = torch.randn(n, C, S, S, requires_grad=True)
    g = torch.randn(n, C, S - 2, S - 2)
    conv = torch.nn.Conv2d(C, C, K)
    layers = {}
    for tag in "AB":
        torch.manual_seed(0); layers["k"+tag] = mods[tag][0](C, C, K, S, rank=4, path="kernel")
        torch.manual_seed(0); layers["lc"+tag] = mods[tag][1](C, C, K, S)
    def step(m):
        def f():
            m.zero_grad(set_to_none=True); x.grad = None
            with ac(): y = m(x)
            y.backward(g.to(y.dtype))
        return f
    def infer(m):
        def f():
            with torch.no_grad(), ac(): m(x)
        return f
    fs = {"conv": step(conv), "kA": step(layers["kA"]), "kB": step(layers["kB"]),
          "lcA": step(layers["lcA"]), "lcB": step(layers["lcB"]),
          "convI": infer(conv), "lcIA": infer(layers["lcA"]), "lcIB": infer(layers["lcB"])}
    for f in fs.values(): f()
    ts = {k: [] for k in fs}
    for r in range(7):
        for k, f in fs.items():
            t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
    med = {k: round(st.median(v) * 1e3, 1) for k, v in ts.items()}
    print(prec, n, med, "kernel B/A %.3f lc B/A %.3f lcI B/A %.3f | x conv: kA %.2f kB %.2f lcA %.2f lcB %.2f lcIA %.2f lcIB %.2f" % (
        med["kB"]/med["kA"], med["lcB"]/med["lcA"], med["lcIB"]/med["lcIA"], med["kA"]/med["conv"], med["kB"]/med["conv"],
        med["lcA"]/med["conv"], med["lcB"]/med["conv"], med["lcIA"]/med["convI"], med["lcIB"]/med["convI"]), flush=True)
