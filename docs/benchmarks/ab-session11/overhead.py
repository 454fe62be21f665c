import sys, time, statistics as st, torch
sys.path.insert(0, sys.argv[1])
from lrlc import LowRankLocallyConnected2d, LocallyConnected2d
torch.set_num_threads(2)
x = torch.randn(2, 64, 24, 24, requires_grad=True); g = torch.randn(2, 64, 22, 22)
for name, m in (("k4", LowRankLocallyConnected2d(64, 64, 3, 24, rank=4, path="kernel")), ("lc", LocallyConnected2d(64, 64, 3, 24)), ("conv", torch.nn.Conv2d(64,64,3))):
    def f():
        m.zero_grad(set_to_none=True); x.grad = None
        out = m(x); out.backward(g)
    for _ in range(3): f()
    ts = []
    for _ in range(20):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    tf = []
    with torch.no_grad():
        for _ in range(20):
            t = time.perf_counter(); m(x); tf.append(time.perf_counter() - t)
    print(name, "N=2 train step ms", round(st.median(ts)*1e3, 2), "no-grad fwd", round(st.median(tf)*1e3,2))
