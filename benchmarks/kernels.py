"""The figures the Performance section cites for single mechanisms, each reproduced here.

Run from the repository root (about 3 minutes, one thread, medians with min-max)::

    python benchmarks/kernels.py

1. glibc's malloc primed or not (``sktransformer.performance.prime_allocator``):
   minor page faults per training step and per ``predict_proba`` of 1,024
   sequences, and the step time, in fresh processes (3 each, alternating), at
   the speed benchmark's sizes (``benchmarks/bench.py``'s configurations).
2. The inference chunk budget (``_runtime.FLOAT_BUDGET``): ``predict_proba``
   throughput at 2 MiB (the default) and at the earlier 64 MiB.
3. Per-sample products against a checkpoint-wide matrix, one product per
   sample against the blocked form (``_primitives._per_sample_product``).
4. GELU's exact form in float32: the fitted distribution function against
   scipy's erf.
"""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy import special  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this working tree
from bench import CONFIGS, make_data, ours_fit  # noqa: E402

from sktransformer import _primitives, _runtime, performance  # noqa: E402

ROUNDS = 3


def spread(values, fmt="{:,.1f}"):
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def timed(call, repeats):
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def _faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def faults_child(name, primed):
    """In a fresh process: faults per step of a 20-step fit and per 1,024-sequence predict."""
    if not primed:
        performance._primed["done"] = True  # as if done: glibc keeps its initial thresholds
    cfg = CONFIGS[name]
    steps = 20 if name != "big" else 6
    X, y = make_data(cfg, steps * cfg["batch"])
    X_pred, _ = make_data(cfg, 1024 if name != "big" else 256, seed=1)
    clf = ours_fit(cfg, X[: 2 * cfg["batch"]], y[: 2 * cfg["batch"]])[2]  # warm-up
    clf.predict_proba(X_pred[:64])
    before = _faults()
    seconds, n_steps, clf = ours_fit(cfg, X, y)
    fit_faults = _faults() - before
    before = _faults()
    clf.predict_proba(X_pred)
    print(json.dumps({"step_faults": fit_faults / n_steps, "step_ms": 1e3 * seconds / n_steps,
                      "predict_faults": _faults() - before, "n_predict": len(X_pred)}))


def priming_table():
    print("1. glibc's malloc primed or not (fresh processes, 3 each; median (min-max))")
    print(f"  {'config':10}{'':10}{'faults / step':>22}{'step (ms)':>24}{'faults / predict':>26}")
    for name in ("tiny", "standard", "big"):
        runs = {True: [], False: []}
        for _ in range(ROUNDS):
            for primed in (False, True):
                out = subprocess.run([sys.executable, __file__, "--_faults", name, str(int(primed))],
                                     capture_output=True, text=True, check=True).stdout
                runs[primed].append(json.loads(out.strip().splitlines()[-1]))
        for primed in (False, True):
            rows = runs[primed]
            print(f"  {name:10}{'primed' if primed else 'unprimed':10}"
                  f"{spread([r['step_faults'] for r in rows], '{:,.0f}'):>22}"
                  f"{spread([r['step_ms'] for r in rows]):>24}"
                  f"{spread([r['predict_faults'] for r in rows], '{:,.0f}'):>26}"
                  f"  ({rows[0]['n_predict']} seq)", flush=True)


def budget_table():
    print("\n2. predict_proba throughput (sequences/s) at two chunk budgets (5 calls each)")
    default = _runtime.FLOAT_BUDGET
    for name in ("standard", "big"):
        cfg = CONFIGS[name]
        X, y = make_data(cfg, 256)
        clf = ours_fit(cfg, X, y)[2]
        X_pred, _ = make_data(cfg, 512, seed=1)
        cells = []
        for budget in (default, 2**24):
            _runtime.FLOAT_BUDGET = budget
            rates = [len(X_pred) / t for t in timed(lambda clf=clf, X=X_pred: clf.predict_proba(X), 5)]
            cells.append(f"{budget * 4 >> 20} MiB: {spread(rates, '{:,.0f}')}")
        _runtime.FLOAT_BUDGET = default
        print(f"  {name:10}" + "   ".join(cells), flush=True)


def product_table():
    print("\n3. per-sample products, GFLOP/s (9 calls each): one product per sample vs blocked")
    rng = np.random.default_rng(0)
    for n, rows, d_in, d_out in ((14, 24, 384, 1536), (56, 24, 384, 384), (7, 64, 384, 1152)):
        x = rng.standard_normal((n, rows, d_in)).astype(np.float32)
        W = rng.standard_normal((d_in, d_out)).astype(np.float32)
        flops = 2 * n * rows * d_in * d_out
        plain = [flops / t / 1e9 for t in timed(lambda: x @ W, 9)]  # noqa: B023
        used = [flops / t / 1e9 for t in timed(lambda: _primitives._per_sample_product(x, W), 9)]  # noqa: B023
        print(f"  {n} x {rows} rows @ {d_in} x {d_out}: {spread(plain)} vs {spread(used)}"
              + ("" if rows <= 48 else "  (not blocked: too many rows)"), flush=True)


def gelu_table():
    print("\n4. GELU's exact form in float32, ns per value (2^18 values, 21 calls each)")
    x = (np.random.default_rng(0).standard_normal(2**18) * 2).astype(np.float32)
    half = np.float32(np.sqrt(0.5))
    scipy_form = [1e9 * t / x.size for t in timed(
        lambda: x * ((special.erf(x * half) + 1) * np.float32(0.5)), 21)]
    fitted = [1e9 * t / x.size for t in timed(lambda: _primitives.gelu_erf(x), 21)]
    print(f"  scipy's erf {spread(scipy_form, '{:.1f}')}, fitted {spread(fitted, '{:.1f}')}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_faults":
        faults_child(sys.argv[2], bool(int(sys.argv[3])))
    else:
        started = time.perf_counter()
        priming_table()
        budget_table()
        product_table()
        gelu_table()
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
