"""OpenBLAS fp32 matmul GFLOP/s through numpy, for bench/matmul.ts.

    python3 bench/matmul_numpy.py THREADS N [N ...]     # prints "n=N gflops=G" lines

Use Debian's python3 (/usr/bin/python3 with python3-numpy, linked to libopenblas0). This machine
may set OPENBLAS_CORETYPE=Haswell (AVX2) and an OPENBLAS_L2_SIZE by default; both are removed
before numpy loads so OpenBLAS picks its AVX-512 kernel, as PERF-NOTES.md describes.
"""
import os
import sys

threads = sys.argv[1] if len(sys.argv) > 1 else "1"
for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(var, None)
os.environ["OPENBLAS_NUM_THREADS"] = threads
os.environ["OMP_NUM_THREADS"] = threads

import time  # noqa: E402

import numpy as np  # noqa: E402 (must come after the environment is set)

MIN_RUNS, MAX_RUNS, BUDGET_S = 5, 31, 1.5


def gflops(n: int) -> float:
    rng = np.random.default_rng(1)
    a = rng.random((n, n), dtype=np.float32) - 0.5
    b = rng.random((n, n), dtype=np.float32) - 0.5
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)  # warm-up
    times, spent = [], 0.0
    while len(times) < MIN_RUNS or (spent < BUDGET_S and len(times) < MAX_RUNS):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
    times.sort()
    return 2 * n**3 / times[len(times) // 2] / 1e9


for arg in sys.argv[2:] or ["128", "256", "512", "1024"]:
    n = int(arg)
    print(f"n={n} gflops={gflops(n):.1f}", flush=True)
