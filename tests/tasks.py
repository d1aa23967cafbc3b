"""Small generated tasks that a wrong model cannot solve."""

import numpy as np


def order_task(n_samples, length=12, vocab=20, seed=0):
    """Token ids with one A (=1) and one B (=2) among fillers; label: does A come before B?

    Every sequence holds the same multiset of special tokens, so a
    bag-of-tokens model is at chance; only order tells the classes apart.
    """
    rng = np.random.default_rng(seed)
    X = rng.integers(3, vocab, size=(n_samples, length))
    y = np.zeros(n_samples, dtype=int)
    for i in range(n_samples):
        a, b = rng.choice(length, 2, replace=False)
        X[i, a], X[i, b] = 1, 2
        y[i] = int(a < b)
    return X, y
