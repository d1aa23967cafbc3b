"""Length extrapolation of each positional encoding on an order task.

Train on sequences of length 8-32, evaluate on lengths 8-32, 33-64 and
65-128. The task needs direction: each sequence holds one ``a`` and one
``b`` among other letters, and the label says whether ``a`` comes first.
Every model is ``TransformerClassifier(positional_encoding=..., max_len=128,
random_state=0)`` with the same settings otherwise; run from the repository
root::

    python benchmarks/extrapolation.py [--n-train 2000] [--max-iter 30]

Prints one row per option: test accuracy per length range and fit seconds.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sktransformer import TransformerClassifier

LETTERS = [chr(c) for c in range(ord("c"), ord("w"))]
OPTIONS = ("sinusoidal", "learned", "rotary", "alibi", None)


def order_task(n, min_len, max_len, rng):
    """Token lists with one ``a`` and one ``b``; label 1 when ``a`` comes first."""
    X, y = [], []
    for _ in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        seq = list(rng.choice(LETTERS, size=length))
        i, j = rng.choice(length, size=2, replace=False)
        seq[i], seq[j] = "a", "b"
        X.append(seq)
        y.append(int(i < j))
    return X, np.array(y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--max-iter", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X, y = order_task(args.n_train, 8, 32, rng)
    ranges = [(8, 32), (33, 64), (65, 128)]
    tests = [order_task(args.n_test, lo, hi, rng) for lo, hi in ranges]
    print(f"{'positional_encoding':>20}" + "".join(f"{f'len {lo}-{hi}':>12}" for lo, hi in ranges)
          + f"{'fit s':>8}")
    for option in OPTIONS:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = TransformerClassifier(positional_encoding=option, max_len=128,
                                        max_iter=args.max_iter, random_state=0).fit(X, y)
        seconds = time.perf_counter() - start
        scores = [clf.score(Xt, yt) for Xt, yt in tests]
        print(f"{str(option):>20}" + "".join(f"{s:>12.3f}" for s in scores) + f"{seconds:>8.0f}",
              flush=True)


if __name__ == "__main__":
    main()
