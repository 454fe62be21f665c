"""ResNet-50 with LRLC in its last stage against plain ResNet-50 on a GPU: one training step
(forward, backward, SGD), batch 64, 224 x 224, 1000 classes, bf16 autocast and channels_last
(session 15). Medians of 10 steps after 3 warm-ups, CUDA-synchronised; peak memory. The
paper's argument is that LRLC makes relaxed invariance affordable at this scale; this measures
what it costs here. Usage: python resnet50_step.py [--quick]
"""

import statistics
import sys
import time

import torch

from lrlc.models.registry import build_model

QUICK = "--quick" in sys.argv
DEV = "cuda" if torch.cuda.is_available() else "cpu"
BATCH, SIZE = (2, 64) if QUICK else (64, 224)
WARM, REPS = (1, 1) if QUICK else (3, 10)


def step_time(name, rank):
    model = build_model(name, (3, SIZE, SIZE), 1000, rank=rank).to(DEV)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(BATCH, 3, SIZE, SIZE, device=DEV).to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (BATCH,), device=DEV)

    def step():
        with torch.autocast(DEV, torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(WARM):
        step()
    if DEV == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        step()
        if DEV == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if DEV == "cuda" else float("nan")
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return statistics.median(times) * 1e3, peak, params


def main():
    print(f"torch {torch.__version__}, {DEV}", torch.cuda.get_device_name() if DEV == "cuda" else "")
    print(f"batch {BATCH}, {SIZE}x{SIZE}, bf16 autocast, channels_last")
    print("model            rank  params M  step ms  x resnet50  peak MiB")
    base = None
    for name, rank in [("resnet50", 1), ("resnet50_lrlc", 1), ("resnet50_lrlc", 4),
                       ("resnet50_lrlc", 16)]:  # fmt: skip
        ms, peak, params = step_time(name, rank)
        base = base or ms
        print(f"{name:<16} {rank:<5} {params:<9.1f} {ms:<8.1f} {ms / base:<11.2f} {peak:.0f}",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
