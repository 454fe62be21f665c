"""Session 19: the torch profiler over kernel-path training steps with the compiled row
products (their calls marked `row_bmm`), the top operators by self CPU time.
Usage: python docs/benchmarks/ab-session19/profile_step.py N K [cl]"""

from _case import kernel_path_case
from torch.profiler import ProfilerActivity, profile, record_function

from lrlc.functional import _native, _rows, _rows_backward


def marked(a, b, out, accumulate=False, bias=None):
    with record_function("row_bmm"):
        return _native.row_bmm(a, b, out, accumulate, bias)


def main():
    m, x, g, label = kernel_path_case()
    _rows.row_bmm = _rows_backward.row_bmm = marked
    for _ in range(2):
        m(x).backward(g)
    steps = 2
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            m(x).backward(g)
    print(f"{label}, {steps} steps")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


if __name__ == "__main__":
    main()
