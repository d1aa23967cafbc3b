"""Token n-gram embedding rows: which learned vector each position's n-grams get.

A position ``t`` of a token sequence gets, for each order ``n`` in
``2 .. max_ngram``, the n-gram of tokens ``t - n + 1 .. t``; positions before
the start and after the end read as a boundary token, so beginnings (``^ab``)
are n-grams too, and the last token also gets the n-gram that ends with the
boundary after it (``ng$``). Its learned vector is added to the token's embedding (as fastText adds
the vectors of a word's character n-grams; Bojanowski et al. 2017, "Enriching
Word Vectors with Subword Information"): the first layer then sees local
patterns such as ``-ing`` or ``de la`` directly instead of having to learn
them from attention on little data.

Only n-grams seen at least ``MIN_COUNT`` times in fit get a vector of their
own, the ``MAX_PER_ORDER`` most frequent of each order; every other n-gram of
an order shares that order's "rare" row, which training therefore learns as
"an n-gram not seen often", the way it will meet n-grams unseen in fit.
Padding inside an n-gram's window (left or middle padding) reads as the
boundary; padding positions themselves read the rare row (they are masked).

Everything here works on id matrices (N, T) with 0 as padding, once per
batch, outside autograd's tape: the rows are integer inputs of the model.
Whether n-grams pay on a task is a training-time decision, made by
:mod:`sktransformer._probe`.
"""

import numpy as np

MIN_COUNT = 2  # fewer occurrences in fit: the order's shared "rare" row
MAX_PER_ORDER = 2**14  # most frequent n-grams of one order with a row of their own


def ngram_keys(ids, n, n_ids):
    """One int64 key per position: the n-gram ending there, or -1 where the position is padding.

    ``ids`` (N, T) ints in ``[0, n_ids)``, 0 = padding; ``n_ids`` is the
    boundary token's id. Positions before the start, and padding inside the
    window (left or middle padding), read as the boundary, so a sequence
    padded on the left has the same n-grams as on the right. Keys are exact
    when ``(n_ids + 1) ** n < 2**63`` and a 64-bit polynomial hash
    otherwise (top bit cleared).
    """
    ids, n_ids = np.asarray(ids, np.int64), int(n_ids)
    N, T = ids.shape
    padded = np.concatenate([np.full((N, n - 1), n_ids, np.int64), ids], axis=1)
    padded[padded == 0] = n_ids
    exact = (n_ids + 1) ** n < 2**63
    base = np.uint64(n_ids + 1 if exact else 0x9E3779B97F4A7C15)
    key = np.zeros((N, T), np.uint64)
    for j in range(n):
        key = key * base + padded[:, j : j + T].astype(np.uint64)  # wraps modulo 2**64 if hashed
    if not exact:
        key &= np.uint64(2**63 - 1)
    return np.where(ids == 0, -1, key.astype(np.int64))


def _with_end(ids, n_ids):
    """``ids`` (N, T) with a column more and the boundary token after each row's last real token.

    Rows without a real token are left as they are (no boundary n-grams).
    """
    ids = np.asarray(ids, np.int64)
    N, T = ids.shape
    real = ids != 0
    has = real.any(axis=1)
    last = np.where(has, T - np.argmax(real[:, ::-1], axis=1), 0)  # one past the last real token
    out = np.zeros((N, T + 1), np.int64)
    out[:, :T] = ids
    out[np.flatnonzero(has), last[has]] = n_ids
    return out, last


def fit_ngrams(ids, max_ngram, n_ids):
    """The n-grams of orders ``2 .. max_ngram`` that get a row: one sorted key array per order."""
    tables = []
    extended, _ = _with_end(ids, n_ids)
    for n in range(2, max_ngram + 1):
        keys = ngram_keys(extended, n, n_ids)
        values, counts = np.unique(keys[keys >= 0], return_counts=True)
        keep = counts >= MIN_COUNT
        values, counts = values[keep], counts[keep]
        if len(values) > MAX_PER_ORDER:
            values = values[np.sort(np.argsort(-counts, kind="stable")[:MAX_PER_ORDER])]
        tables.append(values)
    return tables


def n_ngram_rows(tables):
    """Rows of the n-gram embedding table: per order, a rare row, a not-last row and the known."""
    return sum(len(keys) + 2 for keys in tables)


def ngram_rows(ids, tables, n_ids):
    """(N, T, 2K) embedding rows of the K = len(tables) orders at each position of ``ids``.

    Slot ``k`` is the n-gram of order ``k + 2`` ending at the position; slot
    ``K + k`` is, at a sequence's last token, the n-gram of that order ending
    at the boundary after it (a suffix such as ``ng$``), and elsewhere the
    order's "not last" row.
    """
    extended, last = _with_end(ids, n_ids)
    T, rows = ids.shape[1], np.arange(len(ids))
    inner, suffix, offset = [], [], 0
    for n, known in enumerate(tables, start=2):
        keys = ngram_keys(extended, n, n_ids)
        where = np.minimum(np.searchsorted(known, keys), max(len(known) - 1, 0))
        found = known[where] == keys if len(known) else np.zeros(keys.shape, bool)
        table_rows = np.where(found, offset + 2 + where, offset)
        inner.append(table_rows[:, :T])
        end = np.full((len(ids), T), offset + 1)
        has_end = last > 0
        end[rows[has_end], last[has_end] - 1] = table_rows[rows[has_end], last[has_end]]
        suffix.append(end)
        offset += len(known) + 2
    return np.stack(inner + suffix, axis=-1).astype(np.int32)
