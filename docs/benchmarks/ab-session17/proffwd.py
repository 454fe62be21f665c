"""The kernel path's training step (K = 4, N = 512, 64 -> 64 channels, 24 x 24) under the torch
profiler, ops grouped by input shape: `proffwd.py [cl]`. Session 17."""

import sys

import torch
from torch.profiler import ProfilerActivity, profile

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
channels_last = len(sys.argv) > 1 and sys.argv[1] == "cl"
m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=4, path="kernel")
x = torch.randn(512, 64, 24, 24)
if channels_last:
    x = x.contiguous(memory_format=torch.channels_last)
    m = m.to(memory_format=torch.channels_last)
x.requires_grad_(True)
g = torch.randn_like(m(x))
for _ in range(2):
    m(x).backward(g)
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as p:
    for _ in range(3):  # figures in the table are for 3 steps
        m(x).backward(g)
table = p.key_averages(group_by_input_shape=True)
print(table.table(sort_by="self_cpu_time_total", row_limit=30, max_shapes_column_width=90))
