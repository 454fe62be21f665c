"""In-process A/B of compiled variants (folders holding all C sources):
python inproc_dirs.py N K[,K] rounds fmt(cl|nchw) dir1 dir2 ..."""

import glob
import pathlib
import statistics as st
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "ab-session22"))
import torch
from _setup import best_of as t
from _setup import case

import lrlc.functional._native as nat

n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
rounds = int(sys.argv[3])
fmt = torch.channels_last if sys.argv[4] == "cl" else torch.contiguous_format
dirs = sys.argv[5:]
status = nat._load()[1]
libs = []
for i, d in enumerate(dirs):
    out = f"/tmp/abdir{i}.so"
    subprocess.run(
        ["cc", "-O3", "-fopenmp", "-shared", "-fPIC", *sorted(glob.glob(d + "/*.c")), "-o", out],
        check=True,
    )
    libs.append(nat._open(pathlib.Path(out)))
x, g, conv, mods = case(n, ks, fmt)
step = lambda m: lambda: m(x).backward(g)
res = {}
for _r in range(rounds):
    res.setdefault("conv", []).append(t(step(conv)))
    for k, m in mods.items():
        for i, lib in enumerate(libs):
            nat._load = lambda lib=lib: (lib, status)
            res.setdefault((k, i), []).append(t(step(m)))
c = st.median(res["conv"])
print(f"conv {c * 1e3:.1f} ms")
for k in ks:
    print(
        f"K={k}: "
        + "  ".join(
            f"v{i} {st.median(res[(k, i)]) * 1e3:.1f} ms x{st.median(res[(k, i)]) / c:.3f}"
            for i in range(len(libs))
        )
    )
    for i in range(1, len(libs)):
        pr = [res[(k, i)][j] / res[(k, 0)][j] for j in range(rounds)]
        print(f"   v{i}/v0 per round median {st.median(pr):.3f} ({min(pr):.2f}-{max(pr):.2f})")
