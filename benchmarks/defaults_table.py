"""The Transformer's defaults against the best classic baseline, task by task, over seeds.

Run from the repository root::

    python benchmarks/defaults_table.py --jobs 2               # every task and seed, defaults
    python benchmarks/defaults_table.py --quick --seeds 0      # smoke test: small sizes, 20 epochs
    python benchmarks/defaults_table.py --tasks wine a_before_b --seeds 0 1 --jobs 2
    python benchmarks/defaults_table.py --set max_ngram=1 dropout=0.2 --label ngram1_d02 \\
        --no-baselines                                         # another configuration, same tasks
    python benchmarks/defaults_table.py --summarize benchmarks/results/defaults_table.jsonl

A full run (18 tasks x 3 seeds) spent 90 minutes in the Transformer's fits
(about 45 minutes of wall time with ``--jobs 2``) on a two-core machine
that another run of this benchmark shared, so its fit seconds are about
1.5-2x those of an idle core; the baselines take seconds. ``--quick`` with
one seed runs in about 2 minutes with ``--jobs 2``. The records of that
run are ``benchmarks/results/defaults_table.jsonl``.

Each (task, seed) pair fits ``TransformerClassifier(random_state=seed,
**config)`` (``TransformerRegressor`` for regression) for each configuration
asked for, and every classic baseline of the task's family, on the same
training split, and scores them on the same test split: accuracy for
classification, R² for regression. Every fit is one JSON line appended to
``--out`` (default ``benchmarks/results/defaults_table.jsonl``; with
``--quick``, ``defaults_table_quick.jsonl``): task, kind, family, seed,
model label, score, fit and score seconds, epochs run (``n_iter_``), the
estimator's scalar fitted attributes (``max_ngram_`` ...), the number of
``ConvergenceWarning`` (silenced, counted) and other warnings. BLAS and
OpenMP run on one thread so that fit times compare; ``--jobs 2`` runs
(task, seed) pairs in two processes, which share the machine's cores, so
seconds are then indicative (they are anyway on a shared machine).

Configurations: ``CONFIGS`` below (``defaults`` is ``{}``: the
estimators' defaults), chosen with ``--configs``; ``--set k=v ...`` adds one
whose keyword arguments are read with ``ast.literal_eval`` (a value that is
no Python literal stays a string: ``learning_rate=cosine``), labelled
``--label``; any parameter of either estimator passes (one the other
estimator has not is left out of its fits and listed in the record's
``config_ignored``), and an unknown name stops the run before it
starts. With ``--set`` and no ``--configs``, only that configuration runs.
``--no-baselines`` skips the baselines (they do not depend on the
configuration); ``--baselines-only`` skips the Transformer. ``--resume``
skips every fit that ``--out`` already holds a score of (an interrupted
run goes on where it stopped).

Tasks (``TASKS``; sizes are training / test samples of a full run; every
task draws its data, or its split, from the seed; ``--quick`` shrinks
every generated task to about a fifth and adds ``max_iter=20``):

Text and token sequences (classification unless said):

- ``language_id_words``: language of one invented word. Four invented
  languages (``_language_inventories`` of ``defaults.py``: each 40
  syllables of its own and 20 shared by all), a word is 1-3 syllables of
  one; passed as character lists. 3,000 / 1,000, the words redrawn with the
  seed (the languages are fixed).
- ``language_id_real``: language of one real word, 8 European languages
  from the ``wordfreq`` package's frequency lists (data CC BY-SA 4.0;
  ``pip install wordfreq``; skipped with a note when it is absent): words
  in one language's top-20,000 list only, alphabetic, 2+ letters
  (``real_text.language_id``); 400 / 200 words per language (3,200 /
  1,600), drawn with the seed; character lists.
- ``language_id_16k``: the same at the size the fit-time budget names
  (16,000 short texts): 2,000 / 500 words per language (16,000 / 4,000).
- ``topic_short``: which of 8 standard-library packages a docstring comes
  from, docstrings cut to 20 words (``real_text.docstring_topic20``, PSF
  licence, whatever Python runs this); about 1,550 / 670 raw strings,
  sampled and split (70/30) with the seed.
- ``topic_long``: the same on long docstrings: those of at least 30 words,
  cut to 120, of 6 packages that have 60 or more such (asyncio, email,
  logging, xml, tkinter, idlelib), 50 per package drawn with the seed:
  210 / 90 raw strings (median about 50 words). Below 1,000 samples the
  defaults train 100 epochs without early stopping, so the set is kept
  small enough for about a minute's fit.
- ``sentiment_negation``: generated one-clause reviews, e.g. "the movie
  was not very good at all", from neutral filler words, 10 positive and 10
  negative adjectives (``sktransformer.datasets.make_negation_reviews``), intensifiers and
  downtoners between a negation and the adjective; the label (positive /
  negative) is the adjective's polarity flipped by a negation. A bag of
  words (even word bigrams, since modifiers separate "not" from the
  adjective) cannot represent the XOR. 2,000 / 1,000 raw strings.
- ``review_rating`` (regression): generated reviews of 1-3 such clauses
  about different aspects, joined by "and" / "but"; target: 3 + the mean
  clause score (adjective +-1 or +-2 for strong ones, x1.5 after an
  intensifier, x0.5 after a downtoner, x-0.5 under negation) + N(0, 0.25).
  2,000 / 1,000 raw strings.
- ``chars_sorted``: are a string's letters in alphabetical order? 5-12
  distinct letters of 20; half sorted, a quarter sorted with two letters
  swapped (hard negatives), a quarter shuffled; character lists. 2,000 /
  1,000.
- ``query_order`` (``defaults.py``, the guard task of the defaults): two
  query letters, ``|``, 8-16 distinct letters; is the first query letter
  before the second in the body? 4,000 / 1,000 token lists (``--quick``:
  1,000). Bag-of-tokens models score 0.5.
- ``a_before_b`` (``defaults.py``): 6-20 letters with one ``a`` and one
  ``b``; is ``a`` first? 2,000 / 1,000 token lists.
- ``first_repeated``: 8-16 letters of 20, all distinct but one letter that
  occurs twice; is the repeated letter the first token? A bag of tokens
  sees which letter is doubled but not which is first; character n-grams
  see it only when the two copies are close. 2,000 / 1,000 token lists.

Tables (every model behind ``StandardScaler`` in one pipeline; one seeded
75/25 train/test split per seed, stratified for classes; no
cross-validation, to keep the run short):

The three small real tables run 10 seeds (splits) where the other tasks
run 3 (``Task.n_seeds``): with 45 test rows, one row of wine is 0.022 of
accuracy, and on its first 3 splits gradient boosting scored 1.000 where
logistic regression scored 0.985 on average; over 5 splits, 0.982 against
0.991.

- ``wine`` (scikit-learn's copy of the UCI wine data, 178 rows, 13
  features, 3 classes): 133 / 45.
- ``breast_cancer`` (UCI Wisconsin diagnostic, 569 rows, 30 features):
  426 / 143.
- ``diabetes`` (regression; Efron et al. 2004, 442 rows, 10 features):
  331 / 111.
- ``friedman1_noise`` (regression): ``make_friedman1(n_samples=800,
  n_features=20, noise=1.0)``: 5 informative features, 15 noise; 600 / 200.
- ``classification_many_rows``: ``make_classification(n_samples=5000,
  n_features=20, n_informative=10, n_redundant=0, n_classes=3)`` (10
  noise features, 1% flipped labels): 3,750 / 1,250.
- ``interactions_3k`` (regression): scikit-learn ships no real regression
  table of thousands of rows offline (``fetch_california_housing``
  downloads), so a generated one: 10 standard-normal features, target
  ``2 x0 + 3 sin(pi x1 x2) + 2 x4 [x3 > 0] + x5^2 - |x6|`` + N(0, 0.5), x7-x9
  noise; 3,000 / 1,000.

Series:

- ``digits_series`` (``defaults.py``): scikit-learn's 8x8 digits (UCI
  optical digits test set) as 8 steps of 8 channels; 1,297 / 500.
- ``waveforms``: sine, square or sawtooth? Ragged 1-D series of 16-48
  steps (a list of float arrays), random period (4-16 steps), phase,
  amplitude, offset and Gaussian noise (0.4 x amplitude). 1,000 / 500.

Baselines (each fitted on the task's training split):

- text and tokens: character 1-5-gram TF-IDF (``analyzer="char_wb"``,
  sublinear tf) and word 1-2-gram TF-IDF, each + ``LogisticRegression(C=10,
  max_iter=2000)`` (regression: + ``RidgeCV``, alphas 0.1, 1, 10). Token
  lists are joined for the vectorizers: single characters with "" (so
  character n-grams span the sequence), other tokens with " " (the word
  vectorizer then takes every token as a word, one-character ones too).
- tables: ``HistGradientBoosting{Classifier,Regressor}(random_state=seed)``,
  ``LogisticRegression(max_iter=2000)`` / ``RidgeCV`` and RBF ``SVC`` /
  ``SVR``, all with default hyperparameters after ``StandardScaler``.
- series: each series resampled (linear interpolation) to 64 steps and
  flattened (digits: the 64 pixels), then ``HistGradientBoosting`` or
  (scaled) ``LogisticRegression``; for ``waveforms`` also the magnitudes
  of the resampled series' Fourier transform + ``HistGradientBoosting``.

``--summarize FILE [FILE ...]`` prints one markdown row per task: its kind,
family, training size; for each Transformer configuration the mean score
over seeds (min-max), the median fit seconds and Δ, its mean minus the best
baseline's; the best baseline (the one with the highest mean score, so it is
picked on the test scores, in the baselines' favour) with its mean
(min-max) and median fit seconds. A mark says how Δ compares with the noise
allowance ``max(0.005, SE)``, SE being the standard error of the mean of
the per-seed paired differences (configuration minus best baseline, same
split): ``✓`` ahead by more, ``≈`` within it (counted as matching the
baseline), ``✗`` behind by more. A second table lists every per-seed score.
Records of a (task, seed, model) written more than once count by their last
line; ``--quick`` records are summarized apart (label suffix " (quick)").
"""

import argparse
import ast
import json
import os
import pathlib
import subprocess
import sys
import time
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from statistics import median

# One thread for BLAS and OpenMP (set before numpy loads), so fit times compare.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_diabetes,
    load_wine,
    make_classification,
    make_friedman1,
)
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression, RidgeCV  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this working tree
sys.path.insert(0, str(HERE))  # the task generators of the other benchmarks
import defaults  # noqa: E402
import real_text  # noqa: E402

import sktransformer  # noqa: E402
from sktransformer import TransformerClassifier, TransformerRegressor  # noqa: E402
from sktransformer.datasets import make_negation_reviews, make_review_ratings  # noqa: E402

DEFAULT_OUT = HERE / "results" / "defaults_table.jsonl"
QUICK_OUT = HERE / "results" / "defaults_table_quick.jsonl"
QUICK_EXTRA = {"max_iter": 20}  # added to every configuration by --quick
CONFIGS = {"defaults": {}}


class TaskSkipped(Exception):
    """A task whose data cannot be had here (an optional package missing)."""


def _size(full, quick, minimum=200):
    return max(minimum, full // 5) if quick else full


def _generated(generate, n_train, n_test, rng):
    X, y = generate(n_train + n_test, rng)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


# ---------------------------------------------------------- token and text tasks


def language_id_words(seed, quick=False):
    """One invented word (1-3 syllables of one of 4 languages) as a character list; label: language."""
    inventories = defaults._language_inventories(np.random.default_rng(12345))
    rng = np.random.default_rng(seed)
    n_train, n_test = _size(3000, quick), _size(1000, quick)
    X, y = [], []
    for _ in range(n_train + n_test):
        lang = int(rng.integers(len(inventories)))
        X.append(list("".join(rng.choice(inventories[lang], size=rng.integers(1, 4)))))
        y.append(lang)
    y = np.array(y)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _language_id(seed, n_train, n_test):
    """Real words of 8 languages (wordfreq), ``n_train`` / ``n_test`` per language, as character lists."""
    try:
        import wordfreq  # noqa: F401
    except ImportError as error:
        raise TaskSkipped("wordfreq is not installed (pip install wordfreq)") from error
    X, y, X_test, y_test = real_text.language_id(n_train, n_test, seed)
    labels = np.array(real_text.LANGUAGES)
    return [list(w) for w in X], labels[y], [list(w) for w in X_test], labels[y_test]


def language_id_real(seed, quick=False):
    """One real word of 8 languages (wordfreq) as a character list; label: language."""
    return _language_id(seed, *((100, 50) if quick else (400, 200)))


def language_id_16k(seed, quick=False):
    """``language_id_real`` at the size of the report: 2,000 / 500 words per language (16,000 / 4,000)."""
    return _language_id(seed, *((400, 100) if quick else (2000, 500)))


def _docstrings(seed, modules, per_module, n_words):
    """``real_text.docstring_topic`` with ``idlelib.idle`` kept from starting IDLE on import.

    Importing ``idlelib.idle`` runs IDLE, which parses ``sys.argv`` (and exits
    on this script's options); a ``None`` in ``sys.modules`` makes its import
    fail instead, which the loader skips.
    """
    blocked = [name for name in ("idlelib.idle", "idlelib.__main__") if name not in sys.modules]
    sys.modules.update(dict.fromkeys(blocked))
    try:
        return real_text.docstring_topic(seed, modules, per_module=per_module, n_words=n_words)
    finally:
        for name in blocked:
            sys.modules.pop(name, None)


def topic_short(seed, quick=False):
    """Stdlib docstrings cut to 20 words (8 packages), raw strings; label: package."""
    return _docstrings(seed, real_text.MODULES20, 80 if quick else 400, 20)


LONG_MODULES = ("asyncio", "email", "logging", "xml", "tkinter", "idlelib")


def topic_long(seed, quick=False, min_words=30, n_words=120):
    """Long stdlib docstrings (>= 30 words, cut to 120), 6 packages, <= 50 each, raw strings."""
    X, y, X_test, y_test = _docstrings(seed, LONG_MODULES, 10**6, n_words)
    X, y = X + X_test, np.concatenate([y, y_test])
    rng = np.random.default_rng(seed)
    keep = []
    for label in range(len(LONG_MODULES)):
        long = [i for i in np.flatnonzero(y == label) if len(X[i].split()) >= min_words]
        keep += list(rng.choice(long, size=min(len(long), 15 if quick else 50), replace=False))
    keep = rng.permutation(keep)
    X, y = [X[i] for i in keep], y[keep]
    cut = int(0.7 * len(X))
    return X[:cut], y[:cut], X[cut:], y[cut:]


def sentiment_negation(seed, quick=False):
    """One-clause reviews whose negation flips the adjective's polarity; label pos / neg."""
    return _generated(lambda n, rng: make_negation_reviews(n, random_state=rng), _size(2000, quick),
                      _size(1000, quick),
                      np.random.default_rng(seed))


def review_rating(seed, quick=False):
    """Reviews of 1-3 clauses, raw strings; target: a star rating from their adjectives."""
    return _generated(lambda n, rng: make_review_ratings(n, random_state=rng), _size(2000, quick),
                      _size(1000, quick),
                      np.random.default_rng(seed))


def chars_sorted_data(n, rng, letters=20):
    alphabet = np.array(defaults.LETTERS[:letters])
    X, y = [], []
    for i in range(n):
        chars = sorted(rng.choice(alphabet, size=rng.integers(5, 13), replace=False))
        label = i % 2
        if not label:
            if rng.random() < 0.5:  # hard negative: two letters swapped
                a, b = rng.choice(len(chars), size=2, replace=False)
                chars[a], chars[b] = chars[b], chars[a]
            else:
                while chars == sorted(chars):
                    chars = list(rng.permutation(chars))
        X.append([str(c) for c in chars])
        y.append(label)
    order = rng.permutation(n)
    return [X[i] for i in order], np.array(y)[order]


def chars_sorted(seed, quick=False):
    """Distinct letters, sorted or not (half of the unsorted off by one swap); character lists."""
    return _generated(chars_sorted_data, _size(2000, quick), _size(1000, quick),
                      np.random.default_rng(seed))


def query_order(seed, quick=False):
    """defaults.py's query-order task (data of seed s as ``defaults.make_task(.., s)``)."""
    return _generated(defaults.query_order, 1000 if quick else 4000, _size(1000, quick),
                      np.random.default_rng(1000 + seed))


def a_before_b(seed, quick=False):
    """defaults.py's a-before-b task."""
    return _generated(defaults.a_before_b, _size(2000, quick), _size(1000, quick),
                      np.random.default_rng(1000 + seed))


def first_repeated_data(n, rng, letters=20):
    X, y = [], []
    for i in range(n):
        length = int(rng.integers(8, 17))
        seq = [str(t) for t in rng.choice(defaults.LETTERS[:letters], size=length - 1,
                                          replace=False)]
        label = i % 2
        source = 0 if label else int(rng.integers(1, length - 1))
        seq.insert(int(rng.integers(source + 1, length)), seq[source])
        X.append(seq)
        y.append(label)
    order = rng.permutation(n)
    return [X[i] for i in order], np.array(y)[order]


def first_repeated(seed, quick=False):
    """Letters, all distinct but one repeated; label: is the repeated one the first token?"""
    return _generated(first_repeated_data, _size(2000, quick), _size(1000, quick),
                      np.random.default_rng(seed))


# ------------------------------------------------------------------ table tasks


def _split(X, y, seed, classification):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y if classification else None)
    return X_train, y_train, X_test, y_test


def wine(seed, quick=False):
    return _split(*load_wine(return_X_y=True), seed, True)


def breast_cancer(seed, quick=False):
    return _split(*load_breast_cancer(return_X_y=True), seed, True)


def diabetes(seed, quick=False):
    return _split(*load_diabetes(return_X_y=True), seed, False)


def friedman1_noise(seed, quick=False):
    X, y = make_friedman1(n_samples=_size(800, quick), n_features=20, noise=1.0,
                          random_state=seed)
    return _split(X, y, seed, False)


def classification_many_rows(seed, quick=False):
    X, y = make_classification(n_samples=_size(5000, quick), n_features=20, n_informative=10,
                               n_redundant=0, n_repeated=0, n_classes=3, flip_y=0.01,
                               random_state=seed)
    return _split(X, y, seed, True)


def interactions_3k(seed, quick=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(_size(4000, quick), 10))
    y = (2 * X[:, 0] + 3 * np.sin(np.pi * X[:, 1] * X[:, 2]) + 2 * X[:, 4] * (X[:, 3] > 0)
         + X[:, 5] ** 2 - np.abs(X[:, 6]) + rng.normal(0, 0.5, len(X)))
    return _split(X, y, seed, False)


# ----------------------------------------------------------------- series tasks


def digits_series(seed, quick=False):
    """defaults.py's digits as 8 steps of 8 channels."""
    (X, y), (X_test, y_test) = defaults.digits_series(np.random.default_rng(1000 + seed))
    if quick:
        X, y, X_test, y_test = X[:300], y[:300], X_test[:200], y_test[:200]
    return X, y, X_test, y_test


WAVES = ("sine", "square", "sawtooth")


def waveforms_data(n, rng):
    X, y = [], []
    for i in range(n):
        kind = WAVES[i % 3]
        t = np.arange(rng.integers(16, 49))
        phase = 2 * np.pi * (t / rng.uniform(4, 16) + rng.random())
        wave = {"sine": np.sin(phase), "square": np.sign(np.sin(phase)),
                "sawtooth": 2 * ((phase / (2 * np.pi)) % 1.0) - 1}[kind]
        amplitude = rng.uniform(0.5, 2.0)
        series = amplitude * (wave + rng.normal(0, 0.4, len(t))) + rng.normal(0, 0.5)
        X.append(series.astype(np.float32))
        y.append(kind)
    order = rng.permutation(n)
    return [X[i] for i in order], np.array(y)[order]


def waveforms(seed, quick=False):
    """Sine, square or sawtooth: ragged 1-D float series with random period, phase and noise."""
    return _generated(waveforms_data, _size(1000, quick), _size(500, quick),
                      np.random.default_rng(seed))


# ------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Task:
    make: object
    kind: str  # "classification" or "regression"
    family: str  # "text", "tokens", "table" or "series"
    description: str
    n_seeds: int = 3  # seeds (splits) of a run without --seeds


SMALL = 10  # seeds of the small real tables: with 45 test rows, one row is 0.022 of accuracy


TASKS = {
    "language_id_words": Task(language_id_words, "classification", "tokens",
                              "language of one invented word, character lists"),
    "language_id_real": Task(language_id_real, "classification", "tokens",
                             "language of one real word (wordfreq, 8 languages), character lists"),
    "language_id_16k": Task(language_id_16k, "classification", "tokens",
                            "the same, 16,000 training words: the fit-time budget's size"),
    "topic_short": Task(topic_short, "classification", "text",
                        "stdlib package of a docstring cut to 20 words, raw strings"),
    "topic_long": Task(topic_long, "classification", "text",
                       "stdlib package of a docstring of up to 150 words, raw strings"),
    "sentiment_negation": Task(sentiment_negation, "classification", "text",
                               "polarity of a one-clause review with negation, raw strings"),
    "review_rating": Task(review_rating, "regression", "text",
                          "star rating of a 1-3 clause review with negation, raw strings"),
    "chars_sorted": Task(chars_sorted, "classification", "tokens",
                         "are the letters sorted? character lists"),
    "query_order": Task(query_order, "classification", "tokens",
                        "is query letter 1 before query letter 2 in the body? token lists"),
    "a_before_b": Task(a_before_b, "classification", "tokens",
                       "is a before b? token lists"),
    "first_repeated": Task(first_repeated, "classification", "tokens",
                           "is the one repeated letter the first token? token lists"),
    "wine": Task(wine, "classification", "table", "UCI wine, 13 features, 3 classes", SMALL),
    "breast_cancer": Task(breast_cancer, "classification", "table",
                          "UCI breast cancer Wisconsin, 30 features", SMALL),
    "diabetes": Task(diabetes, "regression", "table", "diabetes progression, 10 features", SMALL),
    "friedman1_noise": Task(friedman1_noise, "regression", "table",
                            "make_friedman1, 5 informative + 15 noise features"),
    "classification_many_rows": Task(classification_many_rows, "classification", "table",
                                     "make_classification, 5,000 rows, 10 of 20 features noise"),
    "interactions_3k": Task(interactions_3k, "regression", "table",
                            "generated nonlinear regression with interactions, 4,000 rows"),
    "digits_series": Task(digits_series, "classification", "series",
                          "8x8 digits as 8 steps of 8 channels"),
    "waveforms": Task(waveforms, "classification", "series",
                      "sine / square / sawtooth, ragged noisy 1-D series"),
}
# Rough full-size fit minutes of the defaults, to start the longest pairs first.
COST = {"language_id_16k": 5, "query_order": 3, "language_id_real": 2, "topic_long": 1.5, "topic_short": 1.5,
        "classification_many_rows": 1.5, "waveforms": 1.5, "interactions_3k": 1.5}


# ----------------------------------------------------------------- baselines


def _joined(X):
    """Token lists joined into strings: single characters with "", other tokens with " "."""
    if X and isinstance(X[0], str):
        return X
    return ["".join(x) if all(len(t) == 1 for t in x) else " ".join(x) for x in X]


def _word_pattern(X):
    return r"(?u)\b\w+\b" if X and isinstance(X[0], str) else r"\S+"


def _spaced(X):
    """Token lists joined with spaces (the word vectorizer's view: every token a word)."""
    return X if X and isinstance(X[0], str) else [" ".join(x) for x in X]


def _resample(X, length=64):
    """Each series linearly resampled to ``length`` steps and flattened (a 3-D array: flattened)."""
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return X.reshape(len(X), -1)
    rows = []
    for x in X:
        x = np.asarray(x, dtype=float)
        x = x[:, None] if x.ndim == 1 else x
        grid = np.linspace(0, len(x) - 1, length)
        rows.append(np.stack([np.interp(grid, np.arange(len(x)), x[:, c])
                              for c in range(x.shape[1])], axis=1).ravel())
    return np.array(rows)


def _spectrum(X):
    """Magnitudes of the Fourier transform of each resampled (1-channel) series."""
    flat = _resample(X)
    return np.abs(np.fft.rfft(flat - flat.mean(axis=1, keepdims=True), axis=1))


def baselines(task, X_train, seed):
    """(name, unfitted model) pairs of the task's family."""
    kind, family = TASKS[task].kind, TASKS[task].family
    classification = kind == "classification"
    if family in ("text", "tokens"):
        linear = ((lambda: LogisticRegression(C=10, max_iter=2000)) if classification
                  else (lambda: RidgeCV(alphas=(0.1, 1.0, 10.0))))
        head = "LR" if classification else "ridge"
        return [
            (f"char 1-5 TF-IDF + {head}",
             make_pipeline(FunctionTransformer(_joined),
                           TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5),
                                           sublinear_tf=True), linear())),
            (f"word 1-2 TF-IDF + {head}",
             make_pipeline(FunctionTransformer(_spaced),
                           TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                           token_pattern=_word_pattern(X_train)), linear())),
        ]
    if family == "table":
        if classification:
            return [
                ("HistGradientBoosting", make_pipeline(
                    StandardScaler(), HistGradientBoostingClassifier(random_state=seed))),
                ("LogisticRegression", make_pipeline(StandardScaler(),
                                                     LogisticRegression(max_iter=2000))),
                ("SVC (RBF)", make_pipeline(StandardScaler(), SVC())),
            ]
        return [
            ("HistGradientBoosting", make_pipeline(
                StandardScaler(), HistGradientBoostingRegressor(random_state=seed))),
            ("RidgeCV", make_pipeline(StandardScaler(), RidgeCV())),
            ("SVR (RBF)", make_pipeline(StandardScaler(), SVR())),
        ]
    # series
    flat = FunctionTransformer(_resample)
    models = [
        ("resampled + HistGradientBoosting",
         make_pipeline(flat, HistGradientBoostingClassifier(random_state=seed))),
        ("resampled + LR", make_pipeline(FunctionTransformer(_resample), StandardScaler(),
                                         LogisticRegression(max_iter=2000))),
    ]
    if task == "waveforms":
        models.append(("|FFT| + HistGradientBoosting", make_pipeline(
            FunctionTransformer(_spectrum), HistGradientBoostingClassifier(random_state=seed))))
    return models


def _estimator_class(task):
    return TransformerClassifier if TASKS[task].kind == "classification" else TransformerRegressor


def transformer(task, seed, config):
    """The unfitted Transformer of a task, and the keys of ``config`` its class has not.

    A parameter of one estimator only (``label_smoothing``: the classifier's)
    is passed where it exists and listed as ignored elsewhere.
    """
    cls = _estimator_class(task)
    accepted = cls().get_params()
    estimator = cls(random_state=seed, **{k: v for k, v in config.items() if k in accepted})
    ignored = sorted(set(config) - set(accepted))
    if TASKS[task].family == "table":
        return make_pipeline(StandardScaler(), estimator), ignored
    return estimator, ignored


# ------------------------------------------------------------------- running


_BLEND_NAMES = {"LogisticRegression": "LR", "Ridge": "ridge",
                "HistGradientBoostingClassifier": "GBM", "HistGradientBoostingRegressor": "GBM"}


def _attributes(model):
    """Scalar fitted attributes of the last step (``n_iter_``, ``max_ngram_`` ...)."""
    last = model[-1] if hasattr(model, "steps") else model
    found = {}
    for name, value in vars(last).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, bool | int | float | str | np.integer | np.floating | np.bool_):
            found[name] = value.item() if isinstance(value, np.generic) else value
        elif name == "n_iter_" and isinstance(value, np.ndarray):
            found[name] = int(value.max())
        elif name == "ngram_probe_" and value is not None:
            found[name] = [round(float(v), 3) for v in value]
        elif name == "validation_scores_" and value:  # the epoch early stopping kept (1-based)
            found["best_epoch"] = int(np.argmax(value)) + 1
    blend = getattr(last, "blend_model_", None)
    if blend is not None:  # which classic model the network learned the residual of, and if kept
        found["blend"] = type(blend[-1]).__name__
        head = getattr(last, "params_", {}).get("head", {})
        found["network_kept"] = any(np.any(np.asarray(w) != 0) for w in head.values())
    return found


def fit_and_score(model, X_train, y_train, X_test, y_test):
    record = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        record["fit_seconds"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        record["score"] = float(model.score(X_test, y_test))
        record["score_seconds"] = round(time.perf_counter() - start, 3)
    record["convergence_warnings"] = sum(issubclass(w.category, ConvergenceWarning)
                                         for w in caught)
    others = [f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught
              if not issubclass(w.category, ConvergenceWarning)]
    record["other_warnings"] = len(others)
    if others:
        record["warning_messages"] = sorted(set(others))[:3]
    record["attributes"] = _attributes(model)
    record["n_iter"] = record["attributes"].get("n_iter_")
    return record


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def _append(out, record):
    """One JSON line, appended under an exclusive lock (two processes may write)."""
    import fcntl

    line = json.dumps(record) + "\n"
    with open(out, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line)
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


def run_pair(task, seed, configs, run_baselines, quick, out, meta, done=frozenset()):
    """Fit and score every configuration and baseline on one (task, seed); append the records.

    ``done`` holds (task, seed, model) triples to skip (``--resume``).
    """
    with threadpool_limits(1):
        base = {"task": task, "kind": TASKS[task].kind, "family": TASKS[task].family,
                "seed": seed, "quick": quick, **meta}
        labels = list(configs) + ([name for name, _ in baselines(task, [""], seed)]
                                  if run_baselines else [])
        if all((task, seed, label) in done for label in labels):
            return []
        try:
            X_train, y_train, X_test, y_test = TASKS[task].make(seed, quick)
        except TaskSkipped as skipped:
            return [f"{task} seed {seed}: skipped: {skipped}"]
        except BaseException as error:  # a data loader's SystemExit too
            _append(out, {**base, "model": "(data)", "model_type": "data", "score": None,
                          "error": f"{type(error).__name__}: {error}"})
            return [f"{task} seed {seed}: the data failed: {type(error).__name__}: {error}"]
        base.update(n_train=len(y_train), n_test=len(y_test))
        jobs = [(label, "transformer", config, None) for label, config in configs.items()]
        if run_baselines:
            jobs += [(name, "baseline", None, model)
                     for name, model in baselines(task, X_train, seed)]
        jobs = [job for job in jobs if (task, seed, job[0]) not in done]
        lines = []
        for label, model_type, config, model in jobs:
            record = {**base, "model": label, "model_type": model_type}
            if model_type == "transformer":
                config = {**config, **(QUICK_EXTRA if quick else {})}
                record["config"] = {k: _jsonable(v) for k, v in config.items()}
                model, ignored = transformer(task, seed, config)
                if ignored:
                    record["config_ignored"] = ignored
            try:
                record.update(fit_and_score(model, X_train, y_train, X_test, y_test))
            except Exception as error:  # keep the run going; the record says what failed
                record.update(score=None, error=f"{type(error).__name__}: {error}",
                              traceback=traceback.format_exc()[-2000:])
            record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            _append(out, record)
            score = "failed" if record["score"] is None else f"{record['score']:.3f}"
            lines.append(f"{task:<25} {seed:>4} {label:<34} {score:>7} "
                         f"{record.get('fit_seconds', float('nan')):>7.1f} s  "
                         f"epochs {record.get('n_iter')}")
        return lines


def _parse_set(items):
    config = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"--set wants NAME=VALUE, got {item!r}")
        try:
            config[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            config[key] = text
    return config


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# ----------------------------------------------------------------- summarize


def _load(paths):
    latest = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    label = r["model"] + (" (quick)" if r.get("quick") else "")
                    latest[(r["task"], label, r["seed"])] = {**r, "label": label}
    return list(latest.values())


def _cell(text):
    """Text for a markdown table cell (a ``|`` escaped)."""
    return str(text).replace("|", r"\|")


def _fmt_scores(scores):
    mean = np.mean(scores)
    if len(scores) == 1:
        return f"{mean:.3f}"
    return f"{mean:.3f} ({min(scores):.3f}-{max(scores):.3f})"


def summarize(paths):
    records = [r for r in _load(paths) if r.get("score") is not None]
    failed = [r for r in _load(paths) if r.get("score") is None]
    labels = []
    for r in records:
        if r["model_type"] == "transformer" and r["label"] not in labels:
            labels.append(r["label"])
    labels.sort(key=lambda label: (not label.startswith("defaults"), label))
    header = ["task", "kind", "family", "n train"]
    for label in labels:
        header += [f"{label}: score", "fit s", "Δ vs best"]
    header += ["best baseline", "score", "fit s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    detail = []
    counts = {label: {"✓": 0, "≈": 0, "✗": 0} for label in labels}
    for task in [t for t in TASKS if any(r["task"] == t for r in records)]:
        rows = [r for r in records if r["task"] == task]
        by_model = {}
        for r in rows:
            by_model.setdefault((r["model_type"], r["label"]), {})[r["seed"]] = r
        base = {k[1]: v for k, v in by_model.items() if k[0] == "baseline"}
        best = max(base, key=lambda name: np.mean([r["score"] for r in base[name].values()]),
                   default=None)
        first = rows[0]
        n_train = sorted({r["n_train"] for r in rows})
        cells = [task, {"classification": "clf", "regression": "reg"}[first["kind"]], first["family"],
                 "/".join(f"{n:,}" for n in n_train)]
        for label in labels:
            runs = by_model.get(("transformer", label), {})
            if not runs:
                cells += ["", "", ""]
                continue
            scores = [r["score"] for r in runs.values()]
            cells += [_fmt_scores(scores), f"{median(r['fit_seconds'] for r in runs.values()):.0f}"]
            if best is None:
                cells.append("")
                continue
            seeds = sorted(set(runs) & set(base[best]))
            diffs = np.array([runs[s]["score"] - base[best][s]["score"] for s in seeds])
            delta = float(np.mean(scores) - np.mean([r["score"] for r in base[best].values()]))
            se = float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0.0
            allowance = max(0.005, se)
            mark = "✓" if delta > allowance else ("≈" if delta >= -allowance else "✗")
            counts[label][mark] += 1
            cells.append(f"{delta:+.3f} {mark} (±{allowance:.3f})")
        if best is not None:
            b = base[best]
            cells += [best, _fmt_scores([r["score"] for r in b.values()]),
                      f"{median(r['fit_seconds'] for r in b.values()):.1f}"]
        else:
            cells += ["", "", ""]
        print("| " + " | ".join(_cell(c) for c in cells) + " |")
        for (model_type, label), runs in sorted(by_model.items()):
            per_seed = ", ".join(f"{s}: {runs[s]['score']:.3f}" for s in sorted(runs))
            epochs = ", ".join(str(runs[s].get("n_iter")) for s in sorted(runs))
            extra = ""
            if model_type == "transformer":
                attrs = {s: runs[s].get("attributes", {}) for s in sorted(runs)}
                ngram = ", ".join(str(a.get("max_ngram_")) for a in attrs.values())
                extra = f"epochs {epochs}; max_ngram_ {ngram}"
                best = [str(a["best_epoch"]) for a in attrs.values() if "best_epoch" in a]
                if best:
                    extra += "; best epoch " + ", ".join(best)
                probes = [a["ngram_probe_"] for a in attrs.values() if "ngram_probe_" in a]
                if probes:
                    extra += "; probe " + ", ".join(f"{p[0]:.2f}/{p[1]:.0f}" for p in probes)
                blends = [a for a in attrs.values() if "blend" in a]
                if blends:
                    extra += "; blend " + ", ".join(
                        f"{_BLEND_NAMES.get(a['blend'], a['blend'])}{'+net' if a['network_kept'] else ''}"
                        for a in blends)
            conv = sum(r.get("convergence_warnings", 0) for r in runs.values())
            if conv:
                extra += f"{'; ' if extra else ''}{conv} ConvergenceWarning"
            detail.append(f"| {task} | {_cell(label)}{' (best)' if label == best else ''} | "
                          f"{per_seed} | {extra} |")
    print()
    for label, c in counts.items():
        print(f"{label}: ahead of the best baseline (✓) on {c['✓']} tasks, within the noise "
              f"allowance (≈) on {c['≈']}, behind (✗) on {c['✗']}.")
    print("\nΔ: mean over seeds minus the best baseline's mean; allowance max(0.005, SE of the "
          "paired per-seed differences). Scores: accuracy (classification), R² (regression).")
    print("\n| task | model | score per seed | notes |\n|---|---|---|---|")
    print("\n".join(detail))
    if failed:
        print(f"\n{len(failed)} failed fits:")
        for r in failed:
            print(f"- {r['task']} seed {r['seed']} {r['label']}: {r.get('error')}")


# ---------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="seeds of every task (default: 0 .. n_seeds - 1 of each: 3, and "
                             f"{SMALL} for the small real tables)")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=None,
                        help="named configurations (default: defaults, or none with --set)")
    parser.add_argument("--set", nargs="+", default=None, metavar="NAME=VALUE",
                        help="keyword arguments of one more configuration (ast.literal_eval)")
    parser.add_argument("--label", default=None, help="the --set configuration's label")
    parser.add_argument("--jobs", type=int, default=1, help="(task, seed) pairs run at once")
    parser.add_argument("--out", default=None, help="JSONL file the records are appended to")
    parser.add_argument("--summarize", nargs="+", default=None, metavar="FILE",
                        help="print the tables of these JSONL files and exit")
    parser.add_argument("--quick", action="store_true",
                        help="smaller tasks and max_iter=20: a smoke test")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--baselines-only", action="store_true")
    parser.add_argument("--resume", action="store_true",
                        help="skip fits that --out already holds a score of (same quick setting)")
    args = parser.parse_args(argv)
    if args.summarize:
        summarize(args.summarize)
        return 0

    configs = {name: CONFIGS[name] for name in (args.configs or ([] if args.set else
                                                                 ["defaults"]))}
    if args.set:
        extra = _parse_set(args.set)
        label = args.label or ",".join(f"{k}={v}" for k, v in extra.items())
        configs[label] = extra
    known = set(TransformerClassifier().get_params()) | set(TransformerRegressor().get_params())
    for label, config in configs.items():  # unknown parameters fail here, not in a worker
        if set(config) - known:
            parser.error(f"configuration {label!r}: neither estimator has the parameter(s) "
                         f"{sorted(set(config) - known)}")
    if args.baselines_only:
        configs = {}
    out = pathlib.Path(args.out or (QUICK_OUT if args.quick else DEFAULT_OUT))
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"jobs": args.jobs, "commit": _commit(), "version": sktransformer.__version__}
    pairs = sorted(((t, s) for t in args.tasks
                    for s in (args.seeds or range(TASKS[t].n_seeds))),
                   key=lambda pair: -COST.get(pair[0], 1))
    print(f"{len(pairs)} (task, seed) pairs, configurations {list(configs)}, baselines "
          f"{'off' if args.no_baselines else 'on'}, {args.jobs} process(es); records -> {out}")
    done = set()
    if args.resume and out.exists():
        done = {(r["task"], r["seed"], r["model"]) for r in map(json.loads, out.open())
                if r.get("score") is not None and bool(r.get("quick")) == args.quick}
        print(f"--resume: {len(done)} fits already in {out.name} are skipped")
    print(f"{'task':<25} {'seed':>4} {'model':<34} {'score':>7} {'fit s':>9}", flush=True)
    arguments = [(t, s, configs, not args.no_baselines, args.quick, str(out), meta, done)
                 for t, s in pairs]
    start = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_pair, *a) for a in arguments]
            for future in as_completed(futures):
                lines = future.result()
                if lines:
                    print("\n".join(lines), flush=True)
    else:
        for a in arguments:
            lines = run_pair(*a)
            if lines:
                print("\n".join(lines), flush=True)
    print(f"done in {(time.perf_counter() - start) / 60:.1f} min; "
          f"summary: python benchmarks/defaults_table.py --summarize {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
