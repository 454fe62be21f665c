import sys, torch, statistics
from lrlc.experiments.run.memory import keep_freed_memory
keep_freed_memory()
from lrlc.bench.harness import measure_group
from lrlc.bench.layers import train_step, clear_grads
from lrlc import LowRankLocallyConnected2d as L
import lrlc.functional._kernel_path as KP
torch.set_num_threads(2)
for prec in ("fp32", "bf16"):
  for cl in (True, False):
    for N in (128, 512):
        fmt = torch.channels_last if cl else torch.contiguous_format
        x = torch.randn(N, 64, 24, 24).contiguous(memory_format=fmt).requires_grad_()
        conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
        m = L(64, 64, 3, 24, rank=8, path="kernel", init="random").to(memory_format=fmt)
        def wrap(step, flag):
            def s():
                KP.IN_PLACE = flag
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
                    step()
            return s
        steps = {"conv": wrap(train_step(conv, x), False), "copy": wrap(train_step(m, x), False), "inplace": wrap(train_step(m, x), True)}
        res = measure_group(steps, warmup=2, reps=9, before=clear_grads([conv, m], x))
        med = {k: statistics.median(v["times_s"]) * 1e3 for k, v in res.items()}
        pk = {k: v["peak_bytes"] / 2**20 for k, v in res.items()}
        print(f"{prec} {'CL  ' if cl else 'NCHW'} N={N:3d}: conv {med['conv']:6.1f} ms | copy {med['copy']/med['conv']:.2f}x mem {pk['copy']/pk['conv']:.2f}x | in place {med['inplace']/med['conv']:.2f}x mem {pk['inplace']/pk['conv']:.2f}x | in place / copy {med['inplace']/med['copy']:.3f}", flush=True)
