"""Memory and time of ``TransformerLanguageModel.score`` on many documents with a large vocabulary.

A tiny language model (``d_model=16``, one layer, ``max_iter=1``) is fitted
on token lists that hold every word of a 50,000-word vocabulary once; it
then scores 1,000 and 10,000 documents of 25-35 tokens drawn from that
vocabulary. Each measurement runs in a fresh Python process that loads the
pickled model and the documents first; the peak is the process's highest
resident memory during ``score`` (Linux: the high-water mark is reset just
before the call; elsewhere ``ru_maxrss``) minus its resident memory just
before it, so the model, the documents and the interpreter are not counted.

Scoring holds one chunk's vocabulary-wide logits at a time, so the peak
should not grow with the number of documents and the time should grow
linearly (ratio ~10 from 1,000 to 10,000 documents). Run from the
repository root::

    python benchmarks/lm_scoring.py [--vocab 50000] [--docs 1000 10000]

Prints documents x tokens x seconds x peak MB, and the time ratio.
"""

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sktransformer import TransformerLanguageModel


def words(vocab):
    return [f"w{i}" for i in range(vocab)]


def documents(vocab, n, seed):
    """``n`` token lists of 25-35 words drawn uniformly from the vocabulary."""
    rng = np.random.default_rng(seed)
    table = words(vocab)
    return [[table[i] for i in rng.integers(0, vocab, int(rng.integers(25, 36)))] for _ in range(n)]


def fit_model(vocab):
    """A tiny model whose vocabulary is all ``vocab`` words (each appears once in training)."""
    order = np.random.default_rng(0).permutation(vocab)
    table = words(vocab)
    train = [[table[i] for i in order[s : s + 30]] for s in range(0, vocab, 30)]
    lm = TransformerLanguageModel(d_model=16, n_heads=2, n_layers=1, max_len=32, max_iter=1,
                                  early_stopping=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch, on purpose
        return lm.fit(train)


def _resident_mb(field):
    """VmRSS or VmHWM of this process in MB (Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak():
    """Reset the resident high-water mark (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(model_path, vocab, n):
    """Score ``n`` documents in this process; returns seconds, peak MB above baseline, tokens."""
    with open(model_path, "rb") as f:
        lm = pickle.load(f)
    docs = documents(vocab, n, seed=1)
    lm.score(docs[:2])  # imports and first-call costs out of the measurement
    before = _resident_mb("VmRSS")
    if before is not None and _reset_peak():
        peak = lambda: _resident_mb("VmHWM")  # noqa: E731
    else:  # ru_maxrss: the peak since the process started (kB on Linux, bytes on macOS)
        scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale  # noqa: E731
    start = time.perf_counter()
    score = lm.score(docs)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": peak() - before, "score": score,
            "tokens": sum(map(len, docs)) + n}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", type=int, default=50_000)
    parser.add_argument("--docs", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.model, args.vocab, args.measure)))
        return
    start = time.perf_counter()
    lm = fit_model(args.vocab)
    model_mb = sum(p.nbytes for p in _leaves(lm.params_)) / 2**20
    print(f"vocabulary {len(lm.tokens_):,} outputs; fitted in {time.perf_counter() - start:.1f} s; "
          f"parameters {model_mb:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lm.pkl")
        with open(path, "wb") as f:
            pickle.dump(lm, f)
        rows = [json.loads(subprocess.run(
            [sys.executable, __file__, "--vocab", str(args.vocab), "--measure", str(n), "--model", path],
            check=True, capture_output=True, text=True).stdout) for n in args.docs]
    print(f"{'documents':>10} {'tokens':>8} {'seconds':>8} {'peak MB':>8} {'score':>8}")
    for n, row in zip(args.docs, rows, strict=True):
        print(f"{n:>10,} {row['tokens']:>8,} {row['seconds']:>8.2f} {row['peak_mb']:>8.0f} "
              f"{row['score']:>8.3f}")
    for (n0, r0), (n1, r1) in zip(zip(args.docs, rows, strict=True),
                                  zip(args.docs[1:], rows[1:], strict=True), strict=False):
        print(f"time({n1:,}) / time({n0:,}) = {r1['seconds'] / r0['seconds']:.1f} "
              f"(linear: {n1 / n0:.1f})")


def _leaves(tree):
    """The arrays of a nested dict/list of parameters."""
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, list | tuple):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree] if isinstance(tree, np.ndarray) else []


if __name__ == "__main__":
    main()
