"""Training and inference speed of sktransformer, against the same model in PyTorch.

Run from the repository root::

    python benchmarks/bench.py --readme         # the README's tables, about 14 minutes
    python benchmarks/bench.py                  # full run, about 15 minutes on 2 cores
    python benchmarks/bench.py --quick          # about 7 minutes (--no-scaling: 1 less)
    python benchmarks/bench.py --configs short,standard --repeats 5 --no-torch
    python benchmarks/bench.py --quick --no-scaling --settings default,opted-in,pause-gc,tune-malloc

Everything runs on one thread (numpy's BLAS and torch alike) in float32, on
synthetic data: token ids drawn uniformly from [1, vocab), random binary
labels. Both implementations train the same architecture: token embedding
scaled by sqrt(d_model) + sinusoidal positions, pre-LN blocks (GELU,
tanh approximation), dropout 0.1, a final layer norm, masked mean pooling, a
linear head, AdamW (lr 1e-3, weight decay 0.01) and gradient-norm clipping at
1.0. sktransformer is driven only through its public ``fit`` /
``predict_proba``. Two differences remain, both torch's defaults: torch's
layer also applies dropout to the attention weights (sktransformer does not),
and in eval mode under ``no_grad`` torch runs its fused encoder-layer kernel.

Every figure of the per-configuration tables comes from a fresh process per
implementation (``--_child``), so neither inherits the other's glibc malloc
state: torch's own training raises glibc's dynamic mmap threshold for
whatever runs after it in the same process. Each setting of ``--settings``
is measured in processes of its own:

- default: nothing opted in -- what a user gets: glibc's malloc settings,
  the garbage collector on. The targets are judged on these figures.
- opted-in: ``sktransformer.set_config(pause_gc_during_fit=True,
  tune_malloc=True)`` in our process (the collector off while ``fit``
  trains, glibc's thresholds raised during each call, see
  ``sktransformer.performance.allocator_scope``); torch's process is as in
  default.
- pause-gc, tune-malloc: each of the two opted-in settings alone.
- tuned: ``sktransformer.performance.tune_allocator()`` first, in both
  implementations' processes.

With more than one setting, a last table compares ours across them: the
median over rounds of each figure with its range (min-max) over rounds, and
the median of the per-round ratios to the default setting (processes of one
round run back to back).

A process warms up (a 2-batch fit, one predict chunk, one 1-sequence
predict), then times one fit, ``PREDICT_CALLS`` predicts (their median) and
``LATENCY_CALLS`` 1-sequence predictions. Rounds alternate ours and torch back to back; every figure is
the median over ``--repeats`` rounds and each ours/torch ratio is the median
of the per-round ratios (the machine is shared and noisy).

What each number means, per configuration:

- step time: wall time of ``fit`` (one epoch of ``steps`` minibatches,
  set-up included) divided by the optimizer steps taken (``clf.t_``). For
  torch: model and optimizer construction plus the training loop, over the
  same number of steps, divided likewise.
- train tokens/s: batch_size * seq_len / step time.
- predict seq/s: sequences per second of ``predict_proba`` on 1024 sequences
  (512 for big; the model predicts in batches of at most 256); for torch,
  eval mode + ``no_grad`` forward + softmax, batches of 256. The ratio is
  ours/torch throughput (higher is better).
- predict 1 sequence: median latency of ``predict_proba`` on one sequence
  (torch: eval forward + softmax); the ratio is ours/torch time.
- peak fit memory (standard and big): in a fresh subprocess per
  implementation, resident memory after imports and data creation is the
  baseline; the high-water mark is reset (``5`` written to
  /proc/self/clear_refs), a short fit runs, and the figure is VmHWM (from
  /proc/self/status) minus the baseline.
- % matmul peak: training FLOPs per step / step time over this machine's
  numpy float32 1024x1024 @ 1024x1024 speed on one thread (measured at the
  start of the run), with FLOPs per step = 6 * N * tokens + 12 * L * T^2 *
  D * batch (N = non-embedding weights, tokens = batch * T; the second term
  is attention's scores and mixing, forward and backward).

Then a scaling table, in this process: seconds per epoch (one ``fit`` with
``max_iter=1``) as seq_len doubles (standard config, fixed n_samples) and as
n_samples doubles (seq 64), median of 3 runs per cell (1 where a run takes
over 2 s). "x" columns give the growth over the previous row: 2 is linear;
attention's T^2 term pushes it towards 4 as seq_len grows.

Then, in this process, where ``predict_proba``'s time goes: the layers' primitives
(matrix products, attention core, GELU, layer norm) timed by wrappers, the rest
("other") is input checks, chunking, embeddings, pooling and Python.

Targets (issue: training steps <= 0.8x torch's time, inference >= 1.5x its speed,
fit memory <= half) are printed beside the results and marked PASS or MISS, and
the README's table in Markdown, every figure from this run.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from statistics import median

# One thread for every library, also in the memory subprocesses (set before numpy loads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmark this working tree
import sktransformer  # noqa: E402
from sktransformer import TransformerClassifier  # noqa: E402
from sktransformer.performance import tune_allocator  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)

CONFIGS = {
    "tiny": dict(vocab=1000, d_model=32, n_heads=2, n_layers=1, d_ff=128, seq_len=16, batch=16),
    "short": dict(vocab=1000, d_model=64, n_heads=4, n_layers=2, d_ff=256, seq_len=12, batch=32),
    "standard": dict(vocab=1000, d_model=64, n_heads=4, n_layers=2, d_ff=256, seq_len=64, batch=32),
    "big": dict(vocab=1000, d_model=128, n_heads=4, n_layers=4, d_ff=512, seq_len=128, batch=32),
}
STEPS = {"tiny": 60, "short": 60, "standard": 40, "big": 16}  # optimizer steps per timed fit
QUICK_STEPS = {"tiny": 30, "short": 30, "standard": 20, "big": 6}
SCALING_REPEATS = 3  # at most, per scaling cell ...
SCALING_SLOW_SECONDS = 2.0  # ... and one run only for a cell whose first run takes longer
MEMORY_STEPS = 3  # the peak is reached within the first steps
PREDICT_SAMPLES = {"tiny": 1024, "short": 1024, "standard": 1024, "big": 512}  # per timed predict
PREDICT_BATCH = 256
PREDICT_CALLS = 3  # timed predict_proba calls per process; the median is reported (one call left
# a tiny model's throughput ratio at 0.99 in one run, 1.49 in the next)
LATENCY_CALLS = 200  # single-sequence predictions per process; the median is reported (30 left
# the per-round latency ratios spread 0.5-1.15 at the short size)
MEMORY_CONFIGS = ("standard", "big")  # peak fit memory is measured for these
SETTING_TITLES = {
    "default": "defaults (a fresh process each; nothing opted in: glibc's malloc settings, gc on)",
    "opted-in": "opted in (set_config(pause_gc_during_fit=True, tune_malloc=True) in ours)",
    "pause-gc": "set_config(pause_gc_during_fit=True) alone, in ours",
    "tune-malloc": "set_config(tune_malloc=True) alone, in ours",
    "tuned": "tuned allocator (tune_allocator() first, in both processes)",
}
MATMUL_SIZE = 1024

# (what, config, comparison, bound): training steps at 0.8x torch's time at most, inference at
# 1.5x its speed at least (1,024 sequences, and one sequence: 1 / 1.5 of its time), fit memory at
# most half of torch's
TARGETS = [
    *(("step time ours/torch", name, "<=", 0.8) for name in CONFIGS),
    *(("predict throughput ours/torch", name, ">=", 1.5) for name in CONFIGS),
    *(("1-sequence latency ours/torch", name, "<=", round(1 / 1.5, 3)) for name in CONFIGS),
    *(("peak fit memory ours/torch", name, "<=", 0.5) for name in ("standard", "big")),
    ("fraction of matmul peak", "standard", ">=", 0.30),
    ("fraction of matmul peak", "big", ">=", 0.50),
]


# ---------------------------------------------------------------- data


def make_data(cfg, n_samples, seed=0):
    """Token ids in [1, vocab) of shape (n_samples, seq_len) and random binary labels."""
    rng = np.random.default_rng(seed)
    X = rng.integers(1, cfg["vocab"], size=(n_samples, cfg["seq_len"]), dtype=np.int64)
    y = rng.integers(0, 2, size=n_samples)
    return X, y


# ---------------------------------------------------------------- ours


def ours_classifier(cfg, seed=0):
    return TransformerClassifier(
        d_model=cfg["d_model"], n_heads=cfg["n_heads"], n_layers=cfg["n_layers"],
        d_ff=cfg["d_ff"], dropout=0.1, positional_encoding="sinusoidal", pooling="mean",
        norm_first=True, activation="gelu", batch_size=cfg["batch"], learning_rate_init=1e-3,
        alpha=0.01, max_grad_norm=1.0, max_iter=1, random_state=seed, blas_threads=1,
        # the network alone, as torch trains it: no linear model beside it, no n-gram vectors,
        # no validation split, no word dropout (each costs time that torch's side does not spend)
        linear_blend=False, max_ngram=1, early_stopping=False, word_dropout=0.0,
    )


def ours_fit(cfg, X, y, seed=0):
    """(seconds, optimizer steps, fitted classifier) of one ``fit``."""
    clf = ours_classifier(cfg, seed)
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start, clf.t_, clf


def ours_predict(clf, X):
    start = time.perf_counter()
    clf.predict_proba(X)
    return time.perf_counter() - start


def non_embedding_weights(clf):
    """Learned numbers outside the embedding table (blocks, final norm, head)."""
    params = clf.params_
    return int(sum(np.size(leaf) for key, sub in params.items() if key != "embed"
                   for leaf in _leaves(sub)))


def _leaves(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _leaves(value)
    elif isinstance(tree, (list, tuple)):
        for value in tree:
            yield from _leaves(value)
    else:
        yield tree


# ---------------------------------------------------------------- torch


def import_torch():
    """The torch module set to one thread, or None if it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass
    return torch


def build_torch_model(torch, cfg):
    """The same architecture in torch.nn."""
    nn = torch.nn
    d, max_len = cfg["d_model"], cfg["seq_len"]

    class TorchTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(cfg["vocab"], d, padding_idx=0)
            position = torch.arange(max_len, dtype=torch.float32)[:, None]
            frequency = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float32) / d)
            pe = torch.zeros(max_len, d)
            pe[:, 0::2] = torch.sin(position * frequency)
            pe[:, 1::2] = torch.cos(position * frequency)
            self.register_buffer("pe", pe)
            self.dropout = nn.Dropout(0.1)
            layer = nn.TransformerEncoderLayer(
                d, cfg["n_heads"], cfg["d_ff"], dropout=0.1, activation=nn.GELU(approximate="tanh"),
                batch_first=True, norm_first=True,
            )
            self.encoder = nn.TransformerEncoder(layer, cfg["n_layers"], norm=nn.LayerNorm(d),
                                                 enable_nested_tensor=False)
            self.head = nn.Linear(d, 2)

        def forward(self, ids):
            padding = ids == 0
            h = self.embed(ids) * math.sqrt(d) + self.pe[: ids.shape[1]]
            h = self.encoder(self.dropout(h), src_key_padding_mask=padding)
            keep = (~padding).unsqueeze(-1).to(h.dtype)
            pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
            return self.head(pooled)

    return TorchTransformer()


def torch_fit(torch, cfg, X, y, seed=0):
    """(seconds, optimizer steps, model) of one epoch over (X, y), construction included."""
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    torch.manual_seed(seed)
    start = time.perf_counter()
    model = build_torch_model(torch, cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    model.train()
    steps, total = 0, 0.0
    order = torch.randperm(len(X_t))
    for first in range(0, len(X_t), cfg["batch"]):
        index = order[first : first + cfg["batch"]].sort().values
        loss = torch.nn.functional.cross_entropy(model(X_t[index]), y_t[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
        steps += 1
    return time.perf_counter() - start, steps, model


def torch_predict(torch, model, X):
    X_t = torch.from_numpy(X)
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        parts = [torch.softmax(model(X_t[i : i + PREDICT_BATCH]), dim=1).numpy()
                 for i in range(0, len(X_t), PREDICT_BATCH)]
    np.concatenate(parts)
    return time.perf_counter() - start


# ---------------------------------------------------------------- memory


def _status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(impl, config_name):
    """Run inside a fresh subprocess: print the peak resident memory of a short fit, as JSON."""
    cfg = CONFIGS[config_name]
    torch = import_torch() if impl == "torch" else None
    X, y = make_data(cfg, MEMORY_STEPS * cfg["batch"])
    baseline = _status_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False  # the high-water mark then includes the imports
    if impl == "torch":
        torch_fit(torch, cfg, X, y)
    else:
        ours_fit(cfg, X, y)
    peak = _status_kb("VmHWM")
    print(json.dumps({"baseline_mb": baseline / 1024, "peak_mb": peak / 1024,
                      "delta_mb": (peak - baseline) / 1024, "reset": reset}))


def ours_latency(clf, X, calls):
    """Median seconds of ``predict_proba`` on one sequence."""
    times = []
    for i in range(calls):
        start = time.perf_counter()
        clf.predict_proba(X[i % len(X) : i % len(X) + 1])
        times.append(time.perf_counter() - start)
    return median(times)


def torch_latency(torch, model, X, calls):
    """Median seconds of eval-mode forward + softmax on one sequence."""
    X_t = torch.from_numpy(X)
    model.eval()
    times = []
    with torch.no_grad():
        for i in range(calls):
            start = time.perf_counter()
            torch.softmax(model(X_t[i % len(X) : i % len(X) + 1]), dim=1).numpy()
            times.append(time.perf_counter() - start)
    return median(times)


def run_child(impl, config_name, steps):
    """Run inside a fresh subprocess: one implementation's step, predict and latency, as JSON.

    Warm-up first (a 2-batch fit, a predict of one chunk, one latency call), then one
    timed fit of ``steps`` minibatches, PREDICT_CALLS timed predicts (their median) and
    LATENCY_CALLS single-sequence predictions.
    """
    cfg = CONFIGS[config_name]
    threadpool_limits(limits=1)
    torch = import_torch() if impl == "torch" else None
    if impl == "torch" and torch is None:
        raise SystemExit("torch is not installed")
    X, y = make_data(cfg, steps * cfg["batch"])
    X_pred, _ = make_data(cfg, PREDICT_SAMPLES[config_name], seed=1)
    X_warm, y_warm = X[: 2 * cfg["batch"]], y[: 2 * cfg["batch"]]
    if impl == "torch":
        model = torch_fit(torch, cfg, X_warm, y_warm)[2]
        torch_predict(torch, model, X_pred[:PREDICT_BATCH])
        seconds, n_steps, model = torch_fit(torch, cfg, X, y)
        predict = median(torch_predict(torch, model, X_pred) for _ in range(PREDICT_CALLS))
        latency = torch_latency(torch, model, X_pred, LATENCY_CALLS)
        n_weights = None
    else:
        clf = ours_fit(cfg, X_warm, y_warm)[2]
        ours_predict(clf, X_pred[:PREDICT_BATCH])
        seconds, n_steps, clf = ours_fit(cfg, X, y)
        predict = median(ours_predict(clf, X_pred) for _ in range(PREDICT_CALLS))
        latency = ours_latency(clf, X_pred, LATENCY_CALLS)
        n_weights = non_embedding_weights(clf)
    print(json.dumps({"step": seconds / n_steps, "predict_seq_s": len(X_pred) / predict,
                      "latency": latency, "n_weights": n_weights}))


def child_run(impl, config_name, steps, setting):
    """The figures of ``run_child`` from a fresh process, or None if it failed."""
    result = subprocess.run(
        [sys.executable, __file__, "--_child", impl, config_name, str(steps),
         "--setting", setting],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        print(f"  ({impl} subprocess failed: {result.stderr.strip()[-300:]})")
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def peak_fit_memory(impl, config_name, setting):
    """Peak minus baseline resident memory (MB) of a fit, measured in a fresh subprocess."""
    result = subprocess.run(
        [sys.executable, __file__, "--_memory-child", impl, config_name, "--setting", setting],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        print(f"  (memory subprocess for {impl} failed: {result.stderr.strip()[-300:]})")
        return None
    info = json.loads(result.stdout.strip().splitlines()[-1])
    if not info["reset"]:
        print("  (could not reset VmHWM: the peak includes imports)")
    return info["delta_mb"]


# ---------------------------------------------------------------- FLOPs


def matmul_peak_gflops(repeats=7):
    """(median, best) GFLOP/s of numpy float32 1024x1024 @ 1024x1024 on one BLAS thread."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)).astype(np.float32)
    B = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)).astype(np.float32)
    flops = 2 * MATMUL_SIZE**3
    with threadpool_limits(limits=1, user_api="blas"):
        A @ B  # warm-up
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            A @ B
            rates.append(flops / (time.perf_counter() - start) / 1e9)
    return median(rates), max(rates)


def flops_per_step(cfg, n_weights):
    T, D, L, batch = cfg["seq_len"], cfg["d_model"], cfg["n_layers"], cfg["batch"]
    return 6 * n_weights * batch * T + 12 * L * T**2 * D * batch


def flops_formula(cfg, n_weights):
    T, D, L, batch = cfg["seq_len"], cfg["d_model"], cfg["n_layers"], cfg["batch"]
    return (f"6*N*tokens + 12*L*T^2*D*batch = 6*{n_weights:,}*{batch * T:,} + "
            f"12*{L}*{T}^2*{D}*{batch} = {flops_per_step(cfg, n_weights) / 1e9:.3f} GFLOP/step")


# ---------------------------------------------------------------- one configuration


def paired_ratio(ours, theirs):
    """Median over repeats of ours_i / theirs_i (back-to-back runs share the machine's state)."""
    pairs = [(a, b) for a, b in zip(ours, theirs, strict=True) if a is not None and b]
    return median(a / b for a, b in pairs) if pairs else None


def _median(values):
    values = [v for v in values if v is not None]
    return median(values) if values else None


def bench_config(name, torch_present, repeats, steps, peak_gflops, settings):
    """Measure one configuration in fresh processes, print its table; return the target figures."""
    cfg = CONFIGS[name]
    layers = f"{cfg['n_layers']} layer" + ("s" if cfg["n_layers"] > 1 else "")
    print(f"\n== {name}: vocab {cfg['vocab']}, d_model {cfg['d_model']}, {cfg['n_heads']} heads, "
          f"{layers}, d_ff {cfg['d_ff']}, seq {cfg['seq_len']}, batch {cfg['batch']} ==", flush=True)
    impls = ("ours", "torch") if torch_present else ("ours",)
    runs = {(a, i): [] for a in settings for i in impls}
    for _ in range(repeats):  # rounds; within a round ours and torch run back to back
        for setting in settings:
            for impl in impls:
                runs[setting, impl].append(child_run(impl, name, steps, setting) or {})

    def figures(setting, impl, key):
        return [run.get(key) for run in runs.get((setting, impl), [])]

    n_weights = _median(figures(settings[0], "ours", "n_weights"))
    flops = flops_per_step(cfg, n_weights) if n_weights else None
    tokens = cfg["batch"] * cfg["seq_len"]
    print(f"  {steps} steps per timed fit, {repeats} fresh process(es) per implementation and "
          f"setting; N = {n_weights:,} non-embedding weights" if n_weights else "")
    if flops:
        print(f"  FLOPs per step: {flops_formula(cfg, n_weights)}")

    targets = {(what, cfg_name): (op, bound) for what, cfg_name, op, bound in TARGETS}

    def target(what, setting):
        return targets.get((what, name)) if setting == "default" else None

    print(f"  {'':40}{'ours':>11}{'torch':>11}{'ours/torch':>11}   target")
    result = {}
    for setting in settings:
        print(f"  {SETTING_TITLES[setting]}")
        o_step, t_step = figures(setting, "ours", "step"), figures(setting, "torch", "step")
        o_pred = figures(setting, "ours", "predict_seq_s")
        t_pred = figures(setting, "torch", "predict_seq_s")
        o_lat, t_lat = figures(setting, "ours", "latency"), figures(setting, "torch", "latency")
        step = (_median(o_step), _median(t_step), paired_ratio(o_step, t_step) if t_step else None)
        predict = (_median(o_pred), _median(t_pred), paired_ratio(o_pred, t_pred) if t_pred else None)
        latency = (_median(o_lat), _median(t_lat), paired_ratio(o_lat, t_lat) if t_lat else None)
        _row("step time (ms)", _scale(step[0], 1e3), _scale(step[1], 1e3), step[2],
             target("step time ours/torch", setting), ratio_judged=True)
        _row("train tokens/s", _inv(step[0], tokens), _inv(step[1], tokens), _inv(step[2], 1), None)
        _row(f"predict seq/s ({PREDICT_SAMPLES[name]} seq, batch {PREDICT_BATCH})", *predict,
             target("predict throughput ours/torch", setting), ratio_judged=True)
        _row("predict 1 sequence (ms)", _scale(latency[0], 1e3), _scale(latency[1], 1e3),
             latency[2], target("1-sequence latency ours/torch", setting), ratio_judged=True)
        if flops and step[0]:
            ours_gflops = flops / step[0] / 1e9
            torch_gflops = flops / step[1] / 1e9 if step[1] else None
            frac_target = target("fraction of matmul peak", setting)
            _row("% of numpy matmul peak", 100 * ours_gflops / peak_gflops,
                 100 * torch_gflops / peak_gflops if torch_gflops else None, None,
                 None if frac_target is None else (frac_target[0], 100 * frac_target[1]),
                 judged_value=100 * ours_gflops / peak_gflops)
        else:
            ours_gflops = None
        result[setting] = {"step": step, "predict": predict, "latency": latency,
                           "peak_fraction": ours_gflops / peak_gflops if ours_gflops else None,
                           "rounds": {key: figures(setting, "ours", key)
                                      for key in ("step", "predict_seq_s", "latency")},
                           "ratio_rounds": {key: _round_ratios(figures(setting, "ours", key),
                                                               figures(setting, "torch", key))
                                            for key in ("step", "predict_seq_s", "latency")}}

    if name in MEMORY_CONFIGS:
        ours_mem = peak_fit_memory("ours", name, settings[0])
        torch_mem = peak_fit_memory("torch", name, settings[0]) if torch_present else None
        memory = (ours_mem, torch_mem,
                  ours_mem / torch_mem if ours_mem is not None and torch_mem else None)
        _row(f"peak fit memory (MB, {settings[0]})", *memory,
             target("peak fit memory ours/torch", settings[0]), ratio_judged=True)
        result[settings[0]]["memory"] = memory
    return result


def _round_ratios(ours, theirs):
    """ours_i / theirs_i for each round where both ran."""
    return [a / b for a, b in zip(ours, theirs, strict=False) if a is not None and b]


def _inv(value, numerator):
    return None if not value else numerator / value


def _scale(value, factor):
    return None if value is None else value * factor


def _fmt(value):
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.2f}"


def _judge(value, target):
    if target is None:
        return ""
    op, bound = target
    if value is None:
        return f"{op} {bound:g}  n/a"
    ok = value <= bound if op == "<=" else value >= bound
    return f"{op} {bound:g}  {'PASS' if ok else 'MISS'}"


def _row(label, ours, theirs, ratio, target, ratio_judged=False, judged_value=None):
    judged = ratio if ratio_judged else judged_value
    print(f"    {label:38}{_fmt(ours):>11}{_fmt(theirs):>11}{_fmt(ratio):>11}   "
          f"{_judge(judged, target)}", flush=True)


# ---------------------------------------------------------------- scaling


def epoch_seconds(cfg, n_samples, torch, repeats):
    """(ours, torch or None): median seconds of one epoch over n_samples, runs alternating.

    A cell whose first pair of runs is slow is not repeated.
    """
    X, y = make_data(cfg, n_samples)
    ours, theirs = [], []
    for r in range(repeats):
        ours.append(ours_fit(cfg, X, y, seed=r)[0])
        if torch is not None:
            theirs.append(torch_fit(torch, cfg, X, y, seed=r)[0])
        if ours[0] + (theirs[0] if theirs else 0) > SCALING_SLOW_SECONDS:
            break
    return median(ours), median(theirs) if theirs else None


def scaling_table(title, rows, torch, repeats):
    """rows: (label, cfg, n_samples). Prints seconds per epoch and growth per row."""
    print(f"\n  {title}")
    print(f"  {'':14}{'ours s':>10}{'x':>7}{'torch s':>10}{'x':>7}{'ours/torch':>12}")
    previous = None
    for label, cfg, n_samples in rows:
        ours, theirs = epoch_seconds(cfg, n_samples, torch, repeats)
        grow_ours = f"{ours / previous[0]:.2f}" if previous else ""
        grow_torch = f"{theirs / previous[1]:.2f}" if previous and theirs else ""
        print(f"  {label:14}{ours:>10.3f}{grow_ours:>7}{_fmt(theirs):>10}{grow_torch:>7}"
              f"{_fmt(ours / theirs if theirs else None):>12}", flush=True)
        previous = (ours, theirs)


def bench_scaling(torch, quick, repeats):
    base = CONFIGS["standard"]
    seq_lens = (32, 64, 128) if quick else (32, 64, 128, 256, 512)
    sizes = (256, 512) if quick else (256, 512, 1024, 2048)
    fixed_n = 128 if quick else 256
    runs = (f"median of {repeats} runs, 1 where a run takes over {SCALING_SLOW_SECONDS:g} s"
            if repeats > 1 else "1 run")
    print(f"\n== scaling (standard config; seconds per epoch = one fit with max_iter=1, {runs}) ==")
    scaling_table(f"seq_len doubling, n_samples {fixed_n}",
                  [(f"seq {T}", {**base, "seq_len": T}, fixed_n) for T in seq_lens], torch, repeats)
    scaling_table("n_samples doubling, seq 64",
                  [(f"n {n}", {**base, "seq_len": 64}, n) for n in sizes], torch, repeats)


# ---------------------------------------------------------------- summary


def _spread(values, scale=1.0, digits=1):
    """``median (min-max)`` of the rounds' values, times ``scale``."""
    values = [v * scale for v in values if v is not None]
    if not values:
        return "-"
    fmt = f"{{:,.{digits}f}}"
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def print_settings_table(results, settings):
    """Ours in each setting: step time, predict throughput and latency, median (min-max) over rounds.

    Ratios are medians of the per-round ratios to the first setting.
    """
    base = settings[0]
    print(f"\n== ours by setting: median (min-max) over rounds; ratios to {base}, median of rounds ==")
    for what, key, scale, digits in (("step time (ms)", "step", 1e3, 1),
                                      ("predict seq/s", "predict_seq_s", 1, 0),
                                      ("predict 1 sequence (ms)", "latency", 1e3, 2)):
        print(f"  {what}")
        print(f"  {'config':10}" + "".join(f"{s:>26}" for s in settings)
              + "".join(f"{s + '/' + base:>22}" for s in settings[1:]))
        for name, result in results.items():
            rounds = {s: result[s]["rounds"][key] for s in settings}
            cells = "".join(f"{_spread(rounds[s], scale, digits):>26}" for s in settings)
            ratios = "".join(f"{_fmt(paired_ratio(rounds[s], rounds[base])):>22}" for s in settings[1:])
            print(f"  {name:10}{cells}{ratios}", flush=True)



def print_summary(results, torch_present):
    print("\n== targets (defaults: fresh processes, glibc's malloc settings) ==")
    for what, name, op, bound in TARGETS:
        res = results.get(name, {}).get("default")
        if res is None:
            continue
        value = {
            "step time ours/torch": res["step"][2],
            "predict throughput ours/torch": res["predict"][2],
            "1-sequence latency ours/torch": res["latency"][2],
            "peak fit memory ours/torch": (res.get("memory") or (None, None, None))[2],
            "fraction of matmul peak": res["peak_fraction"],
        }[what]
        shown = "n/a (no torch)" if value is None and not torch_present else _fmt(value)
        print(f"  {what + ' @ ' + name:44}{shown:>14}   {_judge(value, (op, bound))}")


def machine_line(peak):
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    blas = [i for i in blas if "numpy" in i["filepath"]] or blas  # not scipy's or torch's copy
    kernel = ", ".join(f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})" for i in blas)
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    return (f"numpy {np.__version__}, BLAS: {kernel}"
            + (f", OPENBLAS_CORETYPE={coretype}" if coretype else "")
            + f"\nnumpy float32 {MATMUL_SIZE}^3 matmul, 1 thread: {peak[0]:.1f} GFLOP/s median "
            f"(best {peak[1]:.1f}); this median is the 'matmul peak' below")


def invariance_cost(configs, repeats=5, n_samples=1024):
    """Predict throughput with the batch-invariant per-sample products, against one large product.

    Batch-invariant inference (``sktransformer._runtime``) multiplies each
    sample's rows on their own so that its outputs never depend on the rest
    of the batch. The comparison switches that off for one measurement only,
    in this process, to show what the guarantee costs.
    """
    from sktransformer import _runtime

    print("\nbatch-invariant inference: predict throughput, per-sample products vs one product")
    print(f"{'config':>10}  {'invariant seq/s':>16}  {'one product seq/s':>18}  {'cost':>6}")
    for name in configs:
        cfg = CONFIGS[name]
        X, y = make_data(cfg, n_samples)
        clf = ours_fit(cfg, X[:256], y[:256])[2]
        invariant = _median([ours_predict(clf, X) for _ in range(repeats)])
        original = _runtime.batch_invariant
        _runtime.batch_invariant = lambda config: config  # the model's own config: one product
        try:
            plain = _median([ours_predict(clf, X) for _ in range(repeats)])
        finally:
            _runtime.batch_invariant = original
        print(f"{name:>10}  {n_samples / invariant:>16,.0f}  {n_samples / plain:>18,.0f}  "
              f"{invariant / plain:>5.2f}x")


BREAKDOWN_PARTS = (  # (label, names in sktransformer._layers whose calls are timed)
    ("matrix products (affine)", ("affine",)),
    ("attention core (QK^T, softmax, PV)", ("scaled_dot_product_attention",)),
    ("activation (GELU)", ("gelu", "gelu_erf")),
    ("layer norm", ("layer_norm",)),
)


def inference_breakdown(configs, n_samples=1024, latency_calls=200):
    """Where ``predict_proba``'s time goes: the layers' primitives timed by wrappers, the rest is
    Python, embeddings, pooling, input checks and chunking. Printed as shares of the total."""
    from sktransformer import _layers

    print("\nwhere our inference time goes (predict_proba; the layers' primitives timed in place, "
          "'other' = the rest: input checks, chunking, embeddings, pooling, Python)")
    spent = {}
    originals = {name: getattr(_layers, name) for _, names in BREAKDOWN_PARTS for name in names}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    header = "".join(f"{label.split(' (')[0]:>20}" for label, _ in BREAKDOWN_PARTS)
    print(f"  {'config':10}{'call':>14}{'total':>10}{header}{'other':>12}")
    activations = dict(_layers.ACTIVATIONS)  # the feed-forward layer looks its activation up here
    try:
        for name, function in originals.items():
            setattr(_layers, name, timed(name, function))
        for key in activations:
            if key in originals:
                _layers.ACTIVATIONS[key] = getattr(_layers, key)
        for name in configs:
            cfg = CONFIGS[name]
            X, y = make_data(cfg, n_samples)
            clf = ours_fit(cfg, X[:256], y[:256])[2]
            clf.predict_proba(X[:256])
            calls = ((f"{n_samples} seq", lambda clf=clf, X=X: clf.predict_proba(X)),
                     ("1 seq", lambda clf=clf, X=X: [clf.predict_proba(X[i : i + 1])
                                                     for i in range(latency_calls)]))
            for label, call in calls:
                spent.clear()
                start = time.perf_counter()
                call()
                total = time.perf_counter() - start
                parts = [sum(spent.get(n, 0.0) for n in names) for _, names in BREAKDOWN_PARTS]
                cells = "".join(f"{100 * p / total:>19.0f}%" for p in parts)
                per_call = total / (1 if label != "1 seq" else latency_calls)
                print(f"  {name:10}{label:>14}{1e3 * per_call:>8.2f}ms{cells}"
                      f"{100 * (total - sum(parts)) / total:>11.0f}%", flush=True)
    finally:
        for name, function in originals.items():
            setattr(_layers, name, function)
        _layers.ACTIVATIONS.update(activations)


def _ratio_cell(values, digits=2):
    """``median (min-max)`` of per-round ratios, for the Markdown table."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def print_markdown_table(results, setting="default"):
    """The README's table: every figure from this run; ratios are medians of per-round ratios."""
    print(f"\n== README table (setting: {setting}; medians of rounds, per-round ratio min-max) ==")
    print("| config | train step, ours / torch (ms) | step ratio (<= 0.8) "
          "| predict seq/s, ours / torch | predict ratio (>= 1.5) "
          "| 1 sequence, ours / torch (ms) | latency ratio (<= 0.67) "
          "| peak fit memory, ours / torch (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        res = result.get(setting)
        if res is None:
            continue
        ratios = res["ratio_rounds"]
        memory = res.get("memory")
        mem = f"{_fmt(memory[0])} / {_fmt(memory[1])}" if memory else "-"
        print(f"| {name} | {_fmt(_scale(res['step'][0], 1e3))} / {_fmt(_scale(res['step'][1], 1e3))} "
              f"| {_ratio_cell(ratios['step'])} | {_fmt(res['predict'][0])} / "
              f"{_fmt(res['predict'][1])} | {_ratio_cell(ratios['predict_seq_s'])} "
              f"| {_fmt(_scale(res['latency'][0], 1e3))} / {_fmt(_scale(res['latency'][1], 1e3))} "
              f"| {_ratio_cell(ratios['latency'])} | {mem} |")


def run_checkpoint_benchmark(repeats):
    """benchmarks/checkpoint_speed.py in a subprocess (its output passed through), if it can run."""
    script = Path(__file__).with_name("checkpoint_speed.py")
    print("\n" + "=" * 30 + " real checkpoint (benchmarks/checkpoint_speed.py) " + "=" * 30, flush=True)
    result = subprocess.run([sys.executable, str(script), "--repeats", str(repeats)], check=False)
    if result.returncode != 0:
        print(f"  (checkpoint benchmark did not run: exit code {result.returncode})")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer steps, one process per cell, smaller scaling table")
    parser.add_argument("--readme", action="store_true",
                        help="the run the README's tables come from: --quick --repeats 5 "
                             "--no-scaling --settings default, then the real checkpoint's "
                             "benchmark (benchmarks/checkpoint_speed.py, 3 rounds)")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated subset of: " + ",".join(CONFIGS))
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    parser.add_argument("--repeats", type=int, default=None,
                        help="fresh processes per implementation, setting and configuration "
                             "(default 3, or 1 with --quick)")
    parser.add_argument("--settings", default="default,opted-in",
                        help="comma-separated settings to measure: default (nothing opted in, what "
                             "a user gets), opted-in (set_config(pause_gc_during_fit=True, "
                             "tune_malloc=True)), pause-gc or tune-malloc (one of the two alone), "
                             "tuned (tune_allocator() first)")
    parser.add_argument("--setting", choices=tuple(SETTING_TITLES), default="default",
                        help=argparse.SUPPRESS)  # of a child process
    parser.add_argument("--_memory-child", nargs=2, metavar=("IMPL", "CONFIG"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--_child", nargs=3, metavar=("IMPL", "CONFIG", "STEPS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {list(CONFIGS)}")
    if args.readme:
        args.quick, args.no_scaling, args.settings = True, True, "default"
        args.repeats = args.repeats or 5
    args.settings = [a.strip() for a in args.settings.split(",") if a.strip()]
    if not args.settings or set(args.settings) - set(SETTING_TITLES):
        parser.error(f"--settings: choose from {list(SETTING_TITLES)}")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.setting == "tuned":
        tune_allocator()
    elif (args._child or args._memory_child or ["ours"])[0] == "ours":  # torch: unaffected
        sktransformer.set_config(pause_gc_during_fit=args.setting in ("opted-in", "pause-gc"),
                                 tune_malloc=args.setting in ("opted-in", "tune-malloc"))
    if args._memory_child:
        memory_child(*args._memory_child)
        return
    if args._child:
        impl, name, steps = args._child
        run_child(impl, name, int(steps))
        return
    started = time.perf_counter()
    threadpool_limits(limits=1)  # every pool, for the whole run
    torch = None if args.no_torch else import_torch()
    peak = matmul_peak_gflops()
    print("sktransformer benchmark" + (" (--quick)" if args.quick else ""))
    print(machine_line(peak))
    if torch is not None:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
    elif args.no_torch:
        print("torch comparison skipped (--no-torch)")
    else:
        print("torch is not installed: comparison skipped (pip install torch to enable it)")

    steps = QUICK_STEPS if args.quick else STEPS
    results = {}
    for name in args.configs:
        results[name] = bench_config(name, torch is not None, args.repeats, steps[name], peak[0],
                                     args.settings)
    if not args.no_scaling:
        bench_scaling(torch, args.quick, min(args.repeats, SCALING_REPEATS))
    invariance_cost(args.configs)
    inference_breakdown(args.configs)
    if len(args.settings) > 1:
        print_settings_table(results, args.settings)
    print_summary(results, torch is not None)
    print_markdown_table(results, args.settings[0])
    if args.readme:
        run_checkpoint_benchmark(args.repeats)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
