"""In-process A/B of the paper nets' pooling: `GlobalAvgPool2d` (its input gradient in the
input's layout) against `nn.AdaptiveAvgPool2d(1)`, one training step of `lrlc bench
training` alternated: python ab_pool.py MODE MODEL[,MODEL] rounds (MODE as the bench's:
fp32, fp32+cl, bf16, bf16+cl; MODEL: conv, "lrlc3 r4", "lrlc3 r16")."""

import statistics as st
import sys
import time

import torch
from torch import nn

from lrlc.bench import training
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.models import paper_net
from lrlc.models.pooling import GlobalAvgPool2d

keep_freed_memory()
torch.set_num_threads(2)
mode, models, rounds = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
steps = {}
for name in models:
    for new in (False, True):
        paper_net.GlobalAvgPool2d = GlobalAvgPool2d if new else (lambda: nn.AdaptiveAvgPool2d(1))
        steps[(name, new)] = training.make_step(training.MODELS[name], training.MODES[mode], 512)
res: dict = {}
for _r in range(rounds):
    for key, step in steps.items():
        step()
        start = time.perf_counter()
        step()
        res.setdefault(key, []).append(time.perf_counter() - start)
for name in models:
    old, new = st.median(res[(name, False)]), st.median(res[(name, True)])
    print(
        f"{mode} {name}: AdaptiveAvgPool2d {old:.3f} s  GlobalAvgPool2d {new:.3f} s  ({new / old:.3f})"
    )
if "conv" in models:
    for name in models:
        if name != "conv":
            for new in (False, True):
                r = st.median(res[(name, new)]) / st.median(res[("conv", new)])
                print(
                    f"  {name} / conv with {'GlobalAvgPool2d' if new else 'AdaptiveAvgPool2d'}: {r:.2f}"
                )
