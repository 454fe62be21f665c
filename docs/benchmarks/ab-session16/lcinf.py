import torch, time
from lrlc.experiments.run.memory import keep_freed_memory
keep_freed_memory()
from lrlc import LocallyConnected2d as LC
torch.set_num_threads(2)
N = 512
for fmt in (torch.contiguous_format, torch.channels_last):
    x = torch.randn(N, 64, 24, 24).contiguous(memory_format=fmt)
    lc = LC(64, 64, 3, 24).to(memory_format=fmt)
    conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
    def t(f, n=7):
        with torch.no_grad():
            f(); ts = []
            for _ in range(n):
                s = time.perf_counter(); f(); ts.append(time.perf_counter() - s)
        return sorted(ts)[n // 2] * 1e3
    print(fmt, "conv", round(t(lambda: conv(x)), 1), "lc", round(t(lambda: lc(x)), 1))
    from torch.profiler import profile
    with torch.no_grad(), profile(record_shapes=True) as p:
        lc(x); lc(x)
    print(p.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=8, max_name_column_width=22, max_shapes_column_width=70))
