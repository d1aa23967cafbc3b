"""Whether token n-grams pay on a task: a linear probe on the training rows, run once at fit.

``max_ngram="auto"`` asks :func:`ngrams_help`: ridge models on TF-IDF counts
of single tokens and of 1..max_ngram-grams, cross-validated over at most
``PROBE_ROWS`` rows spread evenly over the data (no random numbers drawn);
n-grams are turned on when they remove at least ``PROBE_REDUCTION`` of the
single tokens' mean error, by ``PROBE_T`` standard errors of the per-row
differences. A training-time decision, apart from the embedding
(:mod:`sktransformer._ngrams`), which only says which row each n-gram reads.
"""

import warnings

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import Ridge, RidgeClassifier

from ._ngrams import _with_end, ngram_keys

PROBE_BLOCK = 2**16  # hashed columns per order in the probe's count matrix
# The share of single tokens' cross-validated error (0/1 loss, or squared error) n-grams must
# remove. Measured across the defaults benchmark (benchmarks/defaults_table.py, 3 seeds, the
# network beside the linear model of linear_blend): order puzzles lose 0-11% (query order,
# first repeated letter: with 4-grams 0.52-0.72 against 0.99+), and so do the words of
# docstrings; sentiment with negation 35%, a rating regression 24%, real words' language 41-43%:
# there tokens alone did as well or far better (sentiment 0.99 against 0.87, rating R2 0.75
# against 0.38: the n-gram vectors memorised phrases where attention learns how words
# combine); sorted letters 85%, where n-grams are the signal (0.99 against 0.92 without).
# Relative, so a rare class counts as much as a common one.
PROBE_REDUCTION = 0.5
PROBE_T = 3.0  # and at least this many standard errors of the per-row gains
PROBE_FOLDS = 4
PROBE_ROWS = 4000  # the probe reads this many rows, spread evenly over the data

def ngram_counts(ids, max_ngram, n_ids):
    """Sparse (N, max_ngram * PROBE_BLOCK) counts of the hashed n-grams of orders 1 .. max_ngram."""
    extended, _ = _with_end(ids, n_ids)
    rows, columns = [], []
    for n in range(1, max_ngram + 1):
        keys = ngram_keys(extended, n, n_ids)
        if n == 1:
            keys = np.where(keys == n_ids, -1, keys)  # the end boundary is not a token
        r, c = np.nonzero(keys >= 0)
        rows.append(r)
        mixed = (keys[r, c].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(48)
        columns.append((n - 1) * PROBE_BLOCK + mixed.astype(np.int64))  # every token counts
    rows, columns = np.concatenate(rows), np.concatenate(columns)
    return csr_matrix((np.ones(len(rows)), (rows, columns)),
                      shape=(len(ids), max_ngram * PROBE_BLOCK))


def ngrams_help(ids, y, max_ngram, n_ids, classification):
    """Whether n-grams predict ``y`` better than single tokens do, by a quick linear probe.

    Two ridge models (a ridge classifier for classes) on TF-IDF-weighted
    counts, one of single tokens and one of 1 .. ``max_ngram``-grams, are
    cross-validated over ``PROBE_FOLDS`` folds of at most ``PROBE_ROWS``
    rows spread evenly over the data (so rows sorted by class still give
    every class; fold ``i % PROBE_FOLDS`` for the ``i``-th of them: no random
    numbers are drawn). Per row, the difference of the two models' loss
    (0/1 error for classes, squared error otherwise) is taken; n-grams pay
    when they remove at least ``PROBE_REDUCTION`` (half) of the single
    tokens' mean loss, and by at least ``PROBE_T`` (3) standard errors
    (:func:`probe_gain` gives both figures). With fewer than 40 rows, or a
    fold whose training part has one class, there is no evidence and the
    answer is no.

    On text, where neighbouring tokens form words and phrases, n-grams pay;
    on tasks whose tokens count one at a time (order and content puzzles,
    shuffled symbols) they do not, and there n-gram vectors let the network
    memorise the training rows instead of learning attention.
    """
    return pays(probe_gain(ids, y, max_ngram, n_ids, classification))


def pays(gain):
    """True if a probe's ``gain`` (:func:`probe_gain`) clears both thresholds."""
    return gain is not None and gain[0] >= PROBE_REDUCTION and gain[1] >= PROBE_T


def probe_gain(ids, y, max_ngram, n_ids, classification):
    """(share of the single tokens' loss n-grams remove, in standard errors of the mean gain), or None.

    The probe of :func:`ngrams_help`; None when there is no evidence (fewer
    than 40 rows, or a fold's training rows of one class).
    """
    if len(ids) > PROBE_ROWS:
        spread = np.linspace(0, len(ids) - 1, PROBE_ROWS).round().astype(int)
        ids, y = ids[spread], y[spread]
    folds = np.arange(len(ids)) % PROBE_FOLDS
    if len(ids) < 10 * PROBE_FOLDS:
        return None
    losses = [_probe_losses(ids, y, order, n_ids, classification, folds) for order in (1, max_ngram)]
    if losses[0] is None or losses[1] is None:
        return None
    gain = losses[0] - losses[1]
    standard_error = gain.std() / np.sqrt(len(gain))
    share = gain.mean() / losses[0].mean() if losses[0].mean() > 0 else 0.0
    t = gain.mean() / standard_error if standard_error > 0 else (np.inf if gain.mean() > 0 else 0.0)
    return float(share), float(t)


def _probe_losses(ids, y, order, n_ids, classification, folds):
    """Per row, the cross-validated 0/1 error (or summed squared error) of a ridge probe.

    None when a fold's training rows hold a single class.
    """
    counts = ngram_counts(ids, order, n_ids)
    losses = np.zeros(len(ids))
    for fold in range(PROBE_FOLDS):
        test = folds == fold
        if classification and len(np.unique(y[~test])) < 2:
            return None
        tfidf = TfidfTransformer(sublinear_tf=True).fit(counts[~test])
        model = RidgeClassifier(alpha=1.0) if classification else Ridge(alpha=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(tfidf.transform(counts[~test]), y[~test])
        predicted = model.predict(tfidf.transform(counts[test]))
        if classification:
            losses[test] = predicted != y[test]
        else:
            n = int(test.sum())
            losses[test] = np.square(predicted.reshape(n, -1) - y[test].reshape(n, -1)).sum(axis=1)
    return losses
