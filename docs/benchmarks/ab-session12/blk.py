import sys, time, statistics as st, torch
torch.set_num_threads(2)
sys.path.insert(0, "/work/main/src")
from lrlc.experiments.run.memory import keep_freed_memory; keep_freed_memory()
import lrlc, lrlc.functional._basis_rows as br
orig = br.rows_per_block
C, KS, S = 64, 3, 24  # see README.md for how each was run
ranks = [int(a) for a in sys.argv[1].split(",")]; blocks = [int(a) for a in sys.argv[2].split(",")]; ns=[int(a) for a in sys.argv[3].split(",")]
for n in ns:
    x = torch.randn(n, C, S, S, requires_grad=True); g = torch.randn(n, C, S - 2, S - 2)
    conv = torch.nn.Conv2d(C, C, KS)
    for K in ranks:
        layers = {}
        for b in blocks:
            br.rows_per_block = (lambda b: (lambda k, w, h: b))(b)
            torch.manual_seed(0); layers[b] = lrlc.LowRankLocallyConnected2d(C, C, KS, S, rank=K, path="kernel", init="random")
        def step(m, b=None):
            def f():
                if b is not None: br.rows_per_block = (lambda k, w, h: b)
                m.zero_grad(set_to_none=True); x.grad = None
                m(x).backward(g)
            return f
        fs = {"conv": step(conv), **{f"b{b}": step(layers[b], b) for b in blocks}}
        for f in fs.values(): f()
        ts = {k: [] for k in fs}
        for r in range(7):
            for k, f in fs.items():
                t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
        med = {k: round(st.median(v) * 1e3, 1) for k, v in ts.items()}
        print(n, K, med, {k: round(v / med["conv"], 2) for k, v in med.items()}, flush=True)
