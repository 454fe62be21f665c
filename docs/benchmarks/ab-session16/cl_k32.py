import torch, statistics
from lrlc.experiments.run.memory import keep_freed_memory
keep_freed_memory()
from lrlc.bench.harness import measure_group
from lrlc.bench.layers import train_step, clear_grads
from lrlc.layers import LowRankLocallyConnected2d as L
torch.set_num_threads(2)
for N, K in ((128, 32), (128, 8)):
    x = torch.randn(N, 64, 24, 24).contiguous(memory_format=torch.channels_last).requires_grad_()
    xn = x.detach().contiguous().requires_grad_()
    conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=torch.channels_last)
    m_cl = L(64, 64, 3, 24, rank=K, path="kernel", init="random").to(memory_format=torch.channels_last)
    m_plain = L(64, 64, 3, 24, rank=K, path="kernel", init="random")
    steps = {"conv": train_step(conv, x), "cl weights": train_step(m_cl, x), "plain weights": train_step(m_plain, x), "nchw input": train_step(m_plain, xn)}
    res = measure_group(steps, warmup=2, reps=7, before=clear_grads([conv, m_cl, m_plain], x))
    print(N, K, {k: round(statistics.median(v["times_s"]) * 1e3, 1) for k, v in res.items()}, flush=True)
    print([ (n, tuple(p.shape), p.stride()) for n, p in m_cl.named_parameters() if p.dim() >= 4])
