#!/usr/bin/python3
"""Times torch.optim.AdamW (foreach=False and foreach=True) on one flat
float32 parameter of 10M and 100M elements, reporting GB/s at 28 bytes per
parameter like bench/optimizer_bench.c, for the ratio between the two.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/torch_adamw.py [params...]
Threads: torch.set_num_threads(OMP_NUM_THREADS). Best of 10 steps (after
one warm-up step that creates the state). Not a test: asserts nothing.
"""
import os
import sys
import time

import torch


def bench(n, foreach):
    p = torch.full((n,), 0.5, dtype=torch.float32, requires_grad=True)
    p.grad = torch.full((n,), 0.01, dtype=torch.float32)
    opt = torch.optim.AdamW([p], lr=1e-3, foreach=foreach)
    opt.step()  # creates exp_avg / exp_avg_sq
    best = float("inf")
    for _ in range(10):
        t0 = time.perf_counter()
        opt.step()
        best = min(best, time.perf_counter() - t0)
    return 28.0 * n / best / 1e9


def main():
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads:
        torch.set_num_threads(threads)
    sizes = [int(a) for a in sys.argv[1:]] or [10_000_000, 100_000_000]
    print("torch %s, threads %d" % (torch.__version__, torch.get_num_threads()))
    print("%12s %18s %18s" % ("params", "foreach=False GB/s", "foreach=True GB/s"))
    for n in sizes:
        print("%12d %18.2f %18.2f" % (n, bench(n, False), bench(n, True)), flush=True)


if __name__ == "__main__":
    with torch.no_grad():
        main()
