import time, statistics as st, torch
torch.set_num_threads(2)
def t(f, r=15):
    f(); ts=[]
    for _ in range(r):
        a=time.perf_counter(); f(); ts.append(time.perf_counter()-a)
    return round(st.median(ts)*1e3,3)
for n in (128, 512):
    wp, c, kw, hp = 24, 64, 3, 24
    g_win = torch.randn(wp, n, kw * c)
    t_ = torch.randn(wp, kw * c, c)
    a = torch.zeros(hp, wp, n, c)
    b = torch.zeros(n, hp, wp, c)
    print(n, "baddbmm contiguous row", t(lambda: a[5].baddbmm_(g_win, t_)))
    print(n, "baddbmm nhwc row", t(lambda: b[:, 5].transpose(0, 1).baddbmm_(g_win, t_)))
    print(n, "bmm out contiguous", t(lambda: torch.bmm(g_win, t_, out=a[5])))
    print(n, "bmm out nhwc", t(lambda: torch.bmm(g_win, t_, out=b[:, 5].transpose(0, 1))))
    print(n, "baddbmm beta0 nhwc", t(lambda: b[:, 5].transpose(0, 1).baddbmm_(g_win, t_, beta=0)))
