import sys, torch, statistics
from lrlc.experiments.run.memory import keep_freed_memory
keep_freed_memory()
from lrlc.bench.harness import measure_group
from lrlc.bench.layers import train_step, clear_grads
from lrlc import LowRankLocallyConnected2d as L, LocallyConnected2d as LC
import lrlc
torch.set_num_threads(2)
tag = sys.argv[1]
for prec in ("fp32",):
  for cl in (False,):
    for N in (128,):
        fmt = torch.channels_last if cl else torch.contiguous_format
        x = torch.randn(N, 64, 24, 24).contiguous(memory_format=fmt).requires_grad_()
        conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
        m = L(64, 64, 3, 24, rank=int(__import__("os").environ.get("K","8")), path="kernel", init="random").to(memory_format=fmt)
        lc = LC(64, 64, 3, 24).to(memory_format=fmt)
        def wrap(step):
            def s():
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
                    step()
            return s
        steps = {"conv": wrap(train_step(conv, x)), "kernel": wrap(train_step(m, x)), "lc": wrap(train_step(lc, x))}
        res = measure_group(steps, warmup=2, reps=5, before=clear_grads([conv, m, lc], x))
        med = {k: statistics.median(v["times_s"]) * 1e3 for k, v in res.items()}
        pk = {k: v["peak_bytes"] / 2**20 for k, v in res.items()}
        print(f"{tag} {prec} {'CL  ' if cl else 'NCHW'} N={N:3d}: conv {med['conv']:6.1f} ms {pk['conv']:5.0f} MiB | kernel {med['kernel']/med['conv']:.2f}x mem {pk['kernel']/pk['conv']:.2f}x | lc {med['lc']/med['conv']:.2f}x mem {pk['lc']/pk['conv']:.2f}x", flush=True)
