"""The figures the Performance section cites for single mechanisms, each reproduced here.

Run from the repository root (about 4 minutes, one thread, medians with min-max)::

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
5. One layer at inference on one sequence, at the speed benchmark's sizes:
   ours (``_layers.transformer_block``, batch-invariant) against the same
   arithmetic written out as plain numpy calls (``plain_block``: no autograd,
   no structure, no checks; what numpy's per-operation passes cost), and one
   primitive called through autograd's own wrapper against ours.
6. An inference shortcut considered and not adopted: each pre-LN layer
   norm's gamma and beta folded into the projection after it (W' = diag(gamma)
   W, b' = beta W + b, computed once per ``predict_proba`` call, so the norm
   skips two passes), against the model as it runs: throughput on 1,024
   sequences and one-sequence latency, alternating, at the speed benchmark's
   sizes. (Folding once per fitted model instead would need a cache of
   weights that ``partial_fit`` or a user's edit of ``params_`` can make
   stale; deciding per call by batch size would break batch invariance.)
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


def plain_block(p, x, n_heads):
    """A pre-LN encoder layer (GELU, tanh form) on x (N, T, D) as plain numpy calls, in float32."""
    f32 = np.float32

    def norm(v, q):
        width = v.shape[-1]
        ones = np.full(width, 1.0 / width, f32)
        centered = v - np.einsum("ij,j->i", v.reshape(-1, width), ones).reshape(v.shape[:-1] + (1,))
        c2 = centered.reshape(-1, width)
        inv = np.einsum("ij,ij->i", c2, c2).reshape(v.shape[:-1] + (1,))
        inv *= f32(1.0 / width)
        inv += f32(1e-5)
        np.sqrt(inv, out=inv)
        centered /= inv
        centered *= q["gamma"]
        centered += q["beta"]
        return centered

    def dense(v, q):
        out = v @ q["W"]
        out += q["b"]
        return out

    N, T, D = x.shape
    K = D // n_heads
    qkv = dense(norm(x, p["ln_attn"]), p["attn"]["qkv"]).reshape(N, T, 3, n_heads, K)
    q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    scores = (q * f32(1 / np.sqrt(K))) @ k.swapaxes(-1, -2)
    scores -= scores.max(axis=(-2, -1), keepdims=True)
    np.exp(scores, out=scores)
    sums = np.einsum("ij,j->i", scores.reshape(-1, T), np.ones(T, f32)).reshape(N, n_heads, T, 1)
    z = scores @ v
    z /= sums
    x = x + dense(z.transpose(0, 2, 1, 3).reshape(N, T, D), p["attn"]["out"])
    u = dense(norm(x, p["ln_ff"]), p["ff"]["hidden"])
    t = u * u
    t *= f32(-2 * np.sqrt(2 / np.pi) * 0.044715)
    t += f32(-2 * np.sqrt(2 / np.pi))
    t *= u
    np.exp(t, out=t)
    t += f32(1)
    u /= t
    return x + dense(u, p["ff"]["out"])


def interleaved_best(calls, rounds=25, number=100):
    """Microseconds a call of each of ``calls``, the best of ``rounds`` interleaved rounds."""
    best = {name: float("inf") for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(number):
                call()
            best[name] = min(best[name], 1e6 * (time.perf_counter() - start) / number)
    return best


def layer_table():
    from sktransformer._layers import transformer_block
    from sktransformer._model import batch_invariant

    print("\n5. one layer on one sequence (us, best of 25 interleaved rounds of 100 calls)")
    for name, cfg in CONFIGS.items():
        X, y = make_data(cfg, 64)
        clf = ours_fit(cfg, X, y)[2]
        config, block = batch_invariant(clf.config_), clf.params_["encoder"]["blocks"][0]
        x = np.random.default_rng(0).standard_normal(
            (1, cfg["seq_len"], cfg["d_model"])).astype(np.float32)
        ours = transformer_block(block, x, None, config)
        plain = plain_block(block, x, cfg["n_heads"])
        assert np.allclose(ours, plain, atol=1e-4), "the plain layer computes something else"
        best = interleaved_best({
            "ours": lambda: transformer_block(block, x, None, config),  # noqa: B023
            "plain": lambda: plain_block(block, x, cfg["n_heads"]),  # noqa: B023
        })
        print(f"  {name:10} ours {best['ours']:7.1f}   plain numpy {best['plain']:7.1f}   "
              f"ours/plain {best['ours'] / best['plain']:.2f}", flush=True)
    x = np.random.default_rng(0).standard_normal((1, 12, 64)).astype(np.float32)
    W, b = np.ones((64, 192), np.float32), np.zeros(192, np.float32)
    best = interleaved_best({"ours": lambda: _primitives.affine(x, W, b, True),
                             "autograd": lambda: _primitives.affine.traced(x, W, b, True)})
    print(f"  affine (12 x 64 @ 64 x 192) untraced: through autograd's wrapper "
          f"{best['autograd']:.2f} us, ours {best['ours']:.2f} us")


def _fold_norms(params):
    """``params`` with each block's pre-LN gamma/beta folded into the projection that reads it."""
    blocks = []
    for block in params["encoder"]["blocks"]:
        block = dict(block)
        for norm_name, sub, proj in (("ln_attn", "attn", "qkv"), ("ln_ff", "ff", "hidden")):
            gamma, beta, linear = block[norm_name]["gamma"], block[norm_name]["beta"], block[sub][proj]
            block[sub] = {**block[sub], proj: {"W": linear["W"] * gamma[:, None],
                                               "b": beta @ linear["W"] + linear["b"]}}
            block[norm_name] = {"folded": True}
        blocks.append(block)
    return {**params, "encoder": {**params["encoder"], "blocks": blocks}}


def fold_table(rounds=5):
    from sktransformer import _base, _layers

    print("\n6. layer norms' gamma/beta folded into the next projection, per call (not adopted): "
          f"plain/folded speed, median (min-max) of {rounds} alternating rounds")
    plain_norm, plain_map = _layers.norm, _base.map_samples

    def folded_norm(params, x, eps=1e-5, batch_invariant=False, kind="layer"):
        if "folded" in params:
            return _primitives._normalize(x, eps, batch_invariant)[0]
        return plain_norm(params, x, eps, batch_invariant, kind)

    def folded_map(fn, inputs, params, config, **options):
        return plain_map(fn, inputs, _fold_norms(params), config, **options)

    def measure(clf, X):
        many = median(timed(lambda: clf.predict_proba(X), 3))
        one = median(timed(lambda: [clf.predict_proba(X[i : i + 1]) for i in range(100)], 3)) / 100
        return many, one

    for name, cfg in CONFIGS.items():
        X, y = make_data(cfg, 1024 if name != "big" else 512)
        clf = ours_fit(cfg, X[:256], y[:256])[2]
        ratios = {"throughput": [], "latency": []}
        try:
            for _ in range(rounds):
                _layers.norm, _base.map_samples = plain_norm, plain_map
                plain = measure(clf, X)
                _layers.norm, _base.map_samples = folded_norm, folded_map
                folded = measure(clf, X)
                ratios["throughput"].append(plain[0] / folded[0])
                ratios["latency"].append(plain[1] / folded[1])
        finally:
            _layers.norm, _base.map_samples = plain_norm, plain_map
        print(f"  {name:10} {len(X)} seq: {spread(ratios['throughput'], '{:.2f}')}x   "
              f"1 seq: {spread(ratios['latency'], '{:.2f}')}x", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_faults":
        faults_child(sys.argv[2], bool(int(sys.argv[3])))
    else:
        started = time.perf_counter()
        priming_table()
        budget_table()
        product_table()
        gelu_table()
        layer_table()
        fold_table()
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
