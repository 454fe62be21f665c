# one process: keep_freed_memory (as the trainer), then conv / lrlc3 r16 net steps round-robin
import sys, os, time, statistics as st, torch
sys.path.insert(0, "/work/dev/src")
from lrlc.experiments.run.memory import keep_freed_memory
keep_freed_memory()
from lrlc.bench.training import make_step, MODELS, MODES
torch.set_num_threads(2)
steps = {m: make_step(MODELS[m], MODES["fp32"], 512) for m in ("conv", "lrlc3 r16")}
for f in steps.values(): f(); f()
ts = {k: [] for k in steps}
for r in range(7):
    for k, f in steps.items():
        t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
print(os.environ.get("THP_MEM_ALLOC_ENABLE"), {k: round(st.median(v), 3) for k, v in ts.items()}, flush=True)
