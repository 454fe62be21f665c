"""Session 14's two compiled locally connected forwards against `F.conv2d` and the project's
inference path. From this folder: `python bench.py check` (each against
`locally_connected2d` in float64; the kernels compute in float32), `python bench.py` (times,
N = 128 and 512, 7 alternating repetitions, medians, ratios to the convolution), and
`python bench.py alloc plain|keep` (the convolution and the project's path alone, without or
with `keep_freed_memory`, a process each: the figure the top-level README cites)."""

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.cpp_extension import load

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "src"))
from lrlc.functional import locally_connected2d  # noqa: E402

# -fopenmp: at::parallel_for is inlined from torch's headers as an OpenMP loop, which
# without it runs on one thread.
FLAGS = dict(extra_cflags=["-O3", "-march=native", "-fopenmp"], extra_ldflags=["-fopenmp"])


def columns_operands(x, weight, bias, k=3):
    """Weights (H_out, C_out, C_in, kh, kw, W_out padded to 16 + 8 lanes), x padded on the
    right so that the last vector's loads stay in the row buffer, the bias padded flat."""
    w, wo = x.shape[-1], weight.shape[1]
    wv = max(wo, (wo + 7) // 8 * 8 if wo % 16 > 8 or wo % 16 == 0 else (wo // 16) * 16 + 8)
    wl = F.pad(weight.permute(0, 2, 3, 4, 5, 1), (0, wv - wo)).contiguous()
    xp = F.pad(x, (0, wv + k - w + 8)).contiguous()
    bp = F.pad(bias.reshape(-1), (0, 16)).contiguous()
    return xp, wl, bp, wo


def kernels(x, weight, bias):
    """name -> a call computing the layer's output, operands laid out once beforehand."""
    by_columns = load("lc_by_columns", ["lc_by_columns.cpp"], **FLAGS)
    by_positions = load("lc_by_positions", ["lc_by_positions.cpp"], **FLAGS)
    cols = columns_operands(x, weight, bias)
    pos_w = weight.permute(0, 1, 3, 4, 5, 2).contiguous()  # (Ho, Wo, C, kh, kw, Co)
    return {
        "by_columns": lambda: by_columns.lc_forward(*cols),
        "by_positions": lambda: by_positions.lc_forward2(x.contiguous(), pos_w, bias, 3, 3),
    }


def check():
    torch.manual_seed(0)
    x = torch.randn(7, 64, 24, 24, dtype=torch.float64)
    weight = torch.randn(22, 22, 64, 64, 3, 3, dtype=torch.float64) * 0.05
    bias = torch.randn(64, 22, 22, dtype=torch.float64)
    ref = locally_connected2d(x, weight, bias)
    for name, call in kernels(x.float(), weight.float(), bias.float()).items():
        print(name, "max error", (call().double() - ref).abs().max().item())


def timing(compiled=True, label=""):
    torch.manual_seed(0)
    for n in (128, 512):
        x = torch.randn(n, 64, 24, 24)
        weight = torch.randn(22, 22, 64, 64, 3, 3) * 0.05
        bias = torch.randn(64, 22, 22)
        conv = torch.randn(64, 64, 3, 3) * 0.05
        calls = {"conv": lambda: F.conv2d(x, conv)}
        calls["lc_now"] = lambda: locally_connected2d(x, weight, bias)
        calls.update(kernels(x, weight, bias) if compiled else {})
        times = {k: [] for k in calls}
        with torch.no_grad():
            for call in calls.values():
                call()
            for _ in range(7):
                for name, call in calls.items():
                    start = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - start)
        ms = {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}
        print(label, n, {k: round(v, 1) for k, v in ms.items()})
        print(label, n, "x conv", {k: round(v / ms["conv"], 2) for k, v in ms.items()})


if __name__ == "__main__":
    if "check" in sys.argv:
        check()
    elif "alloc" in sys.argv:
        if "keep" in sys.argv:
            from lrlc.experiments.run.memory import keep_freed_memory

            keep_freed_memory()
        timing(compiled=False, label="keep" if "keep" in sys.argv else "plain")
    else:
        timing()
