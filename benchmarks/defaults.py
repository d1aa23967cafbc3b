"""Which defaults make TransformerClassifier learn out of the box? Accuracy and fit time per config.

Run from the repository root::

    python benchmarks/defaults.py                         # every config on every task
    python benchmarks/defaults.py --tasks query_order --configs defaults rotary --seeds 0 1

Every task is generated here (or loaded from scikit-learn), in the form a
user would pass it:

- ``query_order``: two query letters, a separator ``|``, then 8-16 distinct
  letters drawn from 20; both query letters occur in the body. Label: does
  the first query letter occur before the second in the body? Token lists
  (ragged). 4,000 training strings, 1,000 test. Needs attention to compare
  two positions found by content: bag-of-tokens models score 0.5.
- ``a_before_b``: 6-20 letters from 20 with exactly one ``a`` and one ``b``;
  label: is ``a`` before ``b``? Token lists, 2,000 train, 1,000 test.
- ``digits``: scikit-learn's 8x8 digits as an 8-step series of 8 channels
  (pixel values / 16); 1,297 train, 500 test.
- ``language_id``: 3-8 pseudo-words per sample from one of 4 invented
  languages (each has 40 syllables of its own and 20 shared by all), passed
  as character lists (spaces kept). 2,000 train, 1,000 test. (Passed as
  strings split into words, almost every test word is unseen: that variant
  scored 0.657 with the old defaults, 20 epochs.)

Each row is one ``fit`` of ``TransformerClassifier(random_state=seed,
**config)`` followed by ``score`` on the test set, with epochs run and fit
seconds (wall time, 1 BLAS thread; the machine is shared, so seconds are
indicative).
"""

import argparse
import string
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sktransformer import TransformerClassifier

LETTERS = list(string.ascii_lowercase[:20])


# --------------------------------------------------------------------- tasks


def query_order(n, rng, n_letters=20, min_len=8, max_len=16):
    """Token lists ``[q1, q2, "|", body...]`` and labels ``q1 before q2 in body``."""
    X, y = [], []
    for _ in range(n):
        body = list(rng.choice(LETTERS[:n_letters], size=rng.integers(min_len, max_len + 1),
                               replace=False))
        q1, q2 = rng.choice(body, size=2, replace=False)
        X.append([str(q1), str(q2), "|"] + [str(t) for t in body])
        y.append(int(body.index(q1) < body.index(q2)))
    return X, np.array(y)


def a_before_b(n, rng, min_len=6, max_len=20):
    """Token lists with one ``a`` and one ``b`` among other letters; label ``a`` before ``b``."""
    others = LETTERS[2:]
    X, y = [], []
    for _ in range(n):
        length = rng.integers(min_len, max_len + 1)
        seq = list(rng.choice(others, size=length - 2))
        i, j = sorted(rng.choice(length, size=2, replace=False))
        first, second = ("a", "b") if rng.random() < 0.5 else ("b", "a")
        seq.insert(i, first)
        seq.insert(j, second)
        X.append([str(t) for t in seq])
        y.append(int(first == "a"))
    return X, np.array(y)


def _language_inventories(rng, n_languages=4):
    onsets, vowels, codas = "ptkbdgmnslrvzfh", "aeiou", ["", "n", "s", "r", "l", "k"]
    syllables = sorted({o + v + c for o in onsets for v in vowels for c in codas})
    syllables = list(rng.permutation(syllables))
    shared, rest = syllables[:20], syllables[20:]
    return [shared + rest[40 * i : 40 * (i + 1)] for i in range(n_languages)]


def language_id_words(n, rng, inventory_seed=12345):
    """Strings of pseudo-words; label: which of 4 languages generated them."""
    inventories = _language_inventories(np.random.default_rng(inventory_seed))
    X, y = [], []
    for _ in range(n):
        lang = rng.integers(len(inventories))
        words = ["".join(rng.choice(inventories[lang], size=rng.integers(1, 4)))
                 for _ in range(rng.integers(3, 9))]
        X.append(" ".join(words))
        y.append(lang)
    return X, np.array(y)


def language_id(n, rng):
    """The pseudo-word strings as character lists (spaces kept): syllables are seen, words rarely."""
    X, y = language_id_words(n, rng)
    return [list(text) for text in X], y


def digits_series(rng):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8).astype(np.float32)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    return (X[:1297], y[:1297]), (X[1297:], y[1297:])


def make_task(name, seed=0):
    rng = np.random.default_rng(1000 + seed)
    if name == "digits":
        return digits_series(rng)
    generate, n_train = {"query_order": (query_order, 4000), "a_before_b": (a_before_b, 2000),
                         "language_id": (language_id, 2000)}[name]
    X, y = generate(n_train + 1000, rng)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


TASKS = ["query_order", "a_before_b", "digits", "language_id"]

# ------------------------------------------------------------------ configs

SCREEN = {"max_iter": 20, "early_stopping": True, "n_iter_no_change": 5}
CONFIGS = {
    "defaults": {},
    "old20": {**SCREEN},
    "rotary20": {**SCREEN, "positional_encoding": "rotary"},
    "rot_lr3e-3_cos": {**SCREEN, "positional_encoding": "rotary", "learning_rate_init": 3e-3,
                       "learning_rate": "cosine", "warmup_fraction": 0.05, "dropout": 0.0},
    "sin_lr3e-3_cos": {**SCREEN, "learning_rate_init": 3e-3,
                       "learning_rate": "cosine", "warmup_fraction": 0.05, "dropout": 0.0},
    "alibi_lr3e-3_cos": {**SCREEN, "positional_encoding": "alibi", "learning_rate_init": 3e-3,
                         "learning_rate": "cosine", "warmup_fraction": 0.05, "dropout": 0.0},
    "rot_lr1e-3_cos_d0": {**SCREEN, "positional_encoding": "rotary",
                          "learning_rate": "cosine", "warmup_fraction": 0.05, "dropout": 0.0},
    "rot_lr3e-3_cos_cls": {**SCREEN, "positional_encoding": "rotary", "learning_rate_init": 3e-3,
                           "learning_rate": "cosine", "warmup_fraction": 0.05, "dropout": 0.0,
                           "pooling": "cls"},
    "sin_d0_b8": {"max_iter": 30, "early_stopping": True, "n_iter_no_change": 10,
                  "dropout": 0.0, "batch_size": 8},
    "sin_d0_b16_lr3e-3_cos": {"max_iter": 30, "early_stopping": True, "n_iter_no_change": 10,
                              "dropout": 0.0, "batch_size": 16, "learning_rate_init": 3e-3,
                              "learning_rate": "cosine", "warmup_fraction": 0.05},
    "rot_d0_b8": {"max_iter": 30, "early_stopping": True, "n_iter_no_change": 10,
                  "dropout": 0.0, "batch_size": 8, "positional_encoding": "rotary"},
    "sin_cls_d0": {"max_iter": 40, "early_stopping": True, "n_iter_no_change": 10,
                   "dropout": 0.0, "pooling": "cls"},
    "sin_cls_d0_b16_lr2e-3_cos": {"max_iter": 40, "early_stopping": True, "n_iter_no_change": 10,
                                  "dropout": 0.0, "pooling": "cls", "batch_size": 16,
                                  "learning_rate_init": 2e-3, "learning_rate": "cosine",
                                  "warmup_fraction": 0.05},
    "rot_cls_d0_lr3e-3_cos": {"max_iter": 30, "early_stopping": True, "n_iter_no_change": 10,
                              "dropout": 0.0, "pooling": "cls", "positional_encoding": "rotary",
                              "learning_rate_init": 3e-3, "learning_rate": "cosine",
                              "warmup_fraction": 0.05},
    "sin_L3_d0_cos": {"max_iter": 40, "early_stopping": True, "n_iter_no_change": 15,
                      "dropout": 0.0, "n_layers": 3, "learning_rate": "cosine",
                      "warmup_fraction": 0.05},
}


def run(task, config_name, seed, data_seed=0, verbose=0):
    (X, y), (X_test, y_test) = make_task(task, data_seed)
    clf = TransformerClassifier(random_state=seed, verbose=verbose, **CONFIGS[config_name])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    seconds = time.perf_counter() - start
    return clf.score(X_test, y_test), clf.n_iter_, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=TASKS, choices=TASKS)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{'config':<24} {'task':<12} {'seed':>4} {'accuracy':>8} {'epochs':>6} {'fit s':>7}")
    for config_name in args.configs:
        for task in args.tasks:
            for seed in args.seeds:
                accuracy, epochs, seconds = run(task, config_name, seed, verbose=args.verbose)
                print(f"{config_name:<24} {task:<12} {seed:>4} {accuracy:>8.3f} {epochs:>6d} "
                      f"{seconds:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
