"""Input handling shared by the input families: the model-ready batch and the checks raw ``X`` needs.

Which kind of ``X`` a model reads is an input family
(:mod:`sktransformer._families`); this module holds what they share:
:class:`Inputs`, text columns of DataFrames, NaN-padded and ragged series,
and the checks of labels. Raw sequences are recognised by
:mod:`._sequences`, split into tokens by :mod:`._text` (the one module that
knows what a token is) and mapped to ids by :mod:`._vocabulary`.
"""

import warnings
from dataclasses import dataclass
from itertools import compress
from numbers import Number

import numpy as np
from scipy.sparse import issparse
from sklearn.utils.validation import _check_sample_weight

from ._sequences import (
    is_missing,
    is_sequence_input,
    refuse_mixed_columns,
    text_cells,
    texts_in_rows,
)
from ._text import analyze

INPUT_TYPES = ("auto", "numeric", "tokens")


@dataclass
class Inputs:
    """A model-ready batch: ``X`` (ids, features or series) and the padding ``mask`` (or None).

    ``token_types`` (N, T) are the segment ids of sentence pairs read by a
    checkpoint's tokenizer (0 for the first text, 1 for the second, 0 at
    padding); None for every other input (all segment 0).

    ``states`` (N, T, D) are the hidden states after the encoder's first
    ``first_layer`` layers, computed once when those layers are frozen
    (``trainable_layers``, :mod:`sktransformer._freezing`); the network then
    starts there. None: it starts from ``X``.
    """

    X: np.ndarray
    mask: np.ndarray | None = None
    token_types: np.ndarray | None = None
    states: np.ndarray | None = None
    first_layer: int = 0

    def __len__(self):
        return len(self.X)

    def take(self, index):
        """Rows ``index``, with trailing columns that are padding in every row cut off."""
        X = self.X[index]
        if self.mask is None:
            return Inputs(X)
        mask = self.mask[index]
        filled = np.flatnonzero(mask.any(axis=0))
        width = filled[-1] + 1 if len(filled) else 1
        types = None if self.token_types is None else self.token_types[index][:, :width]
        states = None if self.states is None else self.states[index][:, :width]
        return Inputs(X[:, :width], mask[:, :width], types, states, self.first_layer)


def _unset(estimator, *names):
    for name in names:
        if hasattr(estimator, name):
            delattr(estimator, name)


def _warn_truncation(sequences, max_len):
    """One warning per call when sequences longer than ``max_len`` are cut."""
    cut = sum(len(s) > max_len for s in sequences)
    if cut:
        warnings.warn(
            f"{cut} of {len(sequences)} sequences in X are longer than max_len={max_len} and were "
            f"cut to their first {max_len} tokens (or steps). Raise max_len to keep them whole.",
            UserWarning, stacklevel=6)


def _series_arrays(X):
    """The series of a list of numeric series holding floats, as arrays; None for any other ``X``."""
    if (hasattr(X, "iloc") or isinstance(X, np.ndarray)) and getattr(X, "ndim", 0) == 1:
        X = list(X)  # a pandas Series or 1-D object array of series
    if not isinstance(X, list | tuple) or not X:
        return None
    if not all(isinstance(x, list | tuple | np.ndarray) for x in X):
        return None
    arrays = [np.asarray(x) if not isinstance(x, np.ndarray) else x for x in X]
    if any(a.dtype.kind not in "fiub" or a.ndim not in (1, 2) for a in arrays):
        return None
    return arrays if any(a.dtype.kind == "f" for a in arrays) else None


def is_series_list(X):
    """True for a list of numeric series holding floats: 1-D (T_i,) or 2-D (T_i, C) each, any lengths.

    Floats are never tokens: a list whose sequences hold floats is a list
    of series (padded and masked like ragged token sequences); a list of
    integer lists is a list of token sequences. 1-D series of one length
    are a table of numbers too: a model fitted on series reads them as
    series, a fresh fit as numeric rows (see :func:`is_ragged_series`).
    """
    return _series_arrays(X) is not None


def is_ragged_series(X):
    """True for a list of float series that only series can be: of different lengths, or 2-D each."""
    arrays = _series_arrays(X)
    return arrays is not None and (len({a.shape for a in arrays}) > 1 or arrays[0].ndim == 2)


def _holds_numbers(X):
    """True for a list of float (or boolean) series or rows: numbers, which are never tokens."""
    if is_ragged_series(X):
        return True
    if not isinstance(X, list | tuple) or not X or is_sequence_input(X):
        return False
    try:
        values = np.asarray(X)
    except ValueError:  # ragged nesting of other things
        return False
    return values.ndim == 2 and values.dtype.kind in "fb"


def _series_list(X):
    """Each series as a float (T_i, C) array; all with the same number of channels C."""
    series = [np.asarray(x, dtype=np.float64) for x in list(X)]
    series = [s[:, None] if s.ndim == 1 else s for s in series]
    channels = {s.shape[1] for s in series}
    if len(channels) > 1:
        raise ValueError(f"X holds series with different numbers of channels {sorted(channels)}; "
                         "every series needs the same channels (shape (length, n_channels)).")
    if not all(np.isfinite(s).all() for s in series):
        raise ValueError("X contains NaN or infinity in a series.")
    return series


def series_from_nan_padding(X):
    """A 3-D float array whose series end in all-NaN steps (tslearn's padding) -> list of (T_i, C).

    Any other ``X`` (no NaN, not a 3-D float ndarray) is returned unchanged.
    NaN anywhere but in whole trailing steps is refused: it is a missing
    value, not padding. A series of NaN steps only is an empty series, as
    ``np.empty((0, n_channels))`` in the list form.
    """
    if not (isinstance(X, np.ndarray) and X.ndim == 3 and X.dtype.kind == "f"):
        return X
    missing = np.isnan(X)
    if not missing.any():
        return X
    real = ~missing.all(axis=2)  # (N, T): steps with at least one value
    lengths = real.sum(axis=1)
    padded = np.arange(X.shape[1]) >= lengths[:, None]
    inside = np.flatnonzero((real == padded).any(axis=1) | (missing & real[..., None]).any(axis=(1, 2)))
    if len(inside):
        raise ValueError(
            f"X has NaN in series {inside[0]} that is not padding: NaN is read as padding only in "
            "whole steps at the end of a series (all channels NaN). Impute missing values first, "
            "or pass a list of (T_i, n_channels) arrays.")
    return [X[i, :length] for i, length in enumerate(lengths)]


def text_column(estimator, X, learning=False):
    """A 2-D input whose one column holds texts -> the list of those texts; other X unchanged.

    This is what ``make_column_transformer((estimator, ["review"]))`` passes,
    also as a list of one-cell rows (:func:`texts_in_rows`, as the fit read
    them, or, ``learning``, deciding it; not for a tagger, whose token lists
    are labelled as given). Several columns whose cells
    are single tokens are token sequences (one token per cell); several
    columns of texts are refused, naming the scalar selector; missing texts
    are refused.
    """
    if isinstance(X, list | tuple):
        if getattr(estimator, "_labels_tokens", False):
            return X
        return texts_in_rows(X, None if learning else getattr(estimator, "_reads_texts", None))
    if not (hasattr(X, "iloc") or isinstance(X, np.ndarray)) or getattr(X, "ndim", 0) != 2:
        return X
    values = np.asarray(X, dtype=object) if hasattr(X, "iloc") else X
    if values.dtype.kind not in "OUS" or values.size == 0:
        return X
    texts = [j for j in range(values.shape[1]) if any(isinstance(v, str) for v in values[:, j])]
    if not texts:
        return X
    refuse_mixed_columns(estimator, values, list(X.columns) if hasattr(X, "columns") else None)
    missing = [i for i, row in enumerate(values)
               if any(is_missing(v) for v in row)]
    if missing:
        raise ValueError(f"X has a missing value (None, NaN or NA) in row {missing[0]} of its text "
                         "column(s); fill missing texts first, e.g. with \"\".")
    if values.shape[1] == 1:
        return text_cells(values[:, 0])
    if not any(len(str(v).split()) > 1 for v in values.ravel()):
        return [[str(v) for v in row] for row in values]  # one token per cell: token sequences
    names = list(map(str, X.columns)) if hasattr(X, "columns") else [f"column {j}" for j in texts]
    raise ValueError(
        f"{type(estimator).__name__} reads one text column, but X has {values.shape[1]} columns "
        f"({', '.join(names)}). Select one column with a scalar name, e.g. "
        f'make_column_transformer(({type(estimator).__name__}(), "{names[0]}")), or join the texts.')


def _label_kind(value):
    """ "text", "bytes", "number", "sequence" or "other": kinds of label numpy would silently mix."""
    if isinstance(value, str | np.str_):
        return "text"
    if isinstance(value, bytes | np.bytes_):  # b"x" and "x" would become one class
        return "bytes"
    if isinstance(value, Number | np.number) and not isinstance(value, bool | np.bool_):
        return "number"
    if isinstance(value, list | tuple | np.ndarray):
        return "sequence"
    return "other"


def _label_values(y):
    """The labels as given, one per sample: a flat array (typed arrays keep their dtype)."""
    if isinstance(y, np.ndarray):
        return y.ravel()
    values = y.to_numpy(dtype=object) if hasattr(y, "to_numpy") else list(y)
    if isinstance(values, np.ndarray):
        return values.ravel()
    out = np.empty(len(values), dtype=object)  # element by element: lists stay one sample each
    for i, value in enumerate(values):
        out[i] = value
    return out


def refuse_sparse_labels(y, name="y"):
    """scikit-learn's refusal of a sparse ``y`` (read as labels, its zeros would all be "missing")."""
    if issparse(y):
        raise TypeError(f"Sparse data was passed for {name}, but dense data is required. Use "
                        "'.toarray()' to convert to a dense numpy array.")


def check_labels(y, name="y", *, mixed=True):
    """Refuse missing values (and, with ``mixed``, labels of several kinds) among labels or targets.

    Run on the labels as given, before numpy coerces them: ``[1, "1"]``
    would otherwise become one class ``"1"``, and a ``None`` among strings a
    class of its own or a sorting error. ``y`` may be a list, a numpy array
    or a pandas Series (nullable dtypes included).

    Raises
    ------
    ValueError
        ``y`` holds None, NaN or pandas' NA (the message gives the first
        positions), or, with ``mixed``, labels of several kinds (strings,
        numbers, token lists).
    """
    refuse_sparse_labels(y, name)
    if y is None or isinstance(y, str | dict | set) or not hasattr(y, "__len__"):
        return  # not labels at all: the caller's own checks say so
    values = _label_values(y)
    if values.dtype.kind == "f":
        missing = np.flatnonzero(np.isnan(values)).tolist()
    elif values.dtype.kind == "O":
        missing = [i for i, v in enumerate(values) if is_missing(v)]
    else:
        return  # integers, booleans, strings: one type, nothing missing
    if missing:
        raise ValueError(
            f"{name} has missing values (None, NaN or NA) at position(s) {missing[:5]}: a missing "
            f"value cannot be a {'class' if mixed else 'target'}. Drop those samples, or fill "
            f"{name} first.")
    kinds = [_label_kind(v) for v in values] if values.dtype.kind == "O" else []
    present = list(dict.fromkeys(k for k in kinds if k != "other"))
    if mixed and len(present) > 1:
        shown = " and ".join(f"{kind}s (e.g. {values[kinds.index(kind)]!r})" for kind in present[:2])
        raise ValueError(
            f"{name} mixes label types: {shown}, which would be read as one type, so different "
            f"labels could merge or the targets change meaning. Convert {name} to one type first, "
            f"e.g. [str(label) for label in {name}].")


def scalar_labels(y, name="y"):
    """Class labels checked (see :func:`check_labels`), one scalar per sample, pandas' nullable
    integer and boolean labels as numpy's (``Int64`` labels stay integers, not floats).

    Raises
    ------
    ValueError
        Missing or mixed labels, or labels that are sequences (tuples, lists).
    """
    check_labels(y, name)
    values = _label_values(y) if y is not None and hasattr(y, "__len__") else None
    if values is not None and values.dtype.kind == "O" and any(
            _label_kind(v) == "sequence" for v in values):
        raise ValueError(f"{name} holds sequences (tuples or lists) as labels: a classifier takes "
                         "one label per sample (one per token: TransformerTagger).")
    dtype = getattr(y, "dtype", None)
    if hasattr(y, "to_numpy") and hasattr(dtype, "numpy_dtype"):  # Int64, boolean: no NA here
        return y.to_numpy(dtype=dtype.numpy_dtype)
    return y


def is_ragged(estimator, X):
    """True for sequences in a list or a text column (per-token outputs are lists), False for arrays."""
    return (isinstance(X, list | tuple) or getattr(X, "ndim", 2) < 2
            or text_column(estimator, X) is not X)


def real_positions(inputs):
    """(N, T) True at the real positions of model inputs."""
    return inputs.mask if inputs.mask is not None else np.ones(inputs.X.shape[:2], bool)


def _label_rows(estimator, y, n_sequences, name):
    """``y`` as a list of label sequences, one per sequence of X (refused otherwise)."""
    refuse_sparse_labels(y, name)
    y = np.asarray(y) if hasattr(y, "__array__") and not hasattr(y, "__len__") else y
    if y is None or isinstance(y, str | dict | set) or not hasattr(y, "__len__"):
        raise ValueError(f"{type(estimator).__name__} requires {name}: a sequence of labels for "
                         f"each sequence of X, got {type(y).__name__}.")
    rows = list(y.to_numpy() if hasattr(y, "iloc") and y.ndim == 2 else y)
    if len(rows) != n_sequences:
        raise ValueError(f"X has {n_sequences} sequences, {name} {len(rows)} label sequences.")
    return rows


def _check_label_row(estimator, row, i, name):
    """Refuse a single label where label sequence ``i`` is expected."""
    if isinstance(row, str | bytes | dict | set) or not hasattr(row, "__len__"):
        raise ValueError(
            f"{name}[{i}] is one label ({row}), not a sequence: {type(estimator).__name__} "
            "takes one label per token (for one per sequence use TransformerClassifier).")


def _kept_labels(rows, keeps, name):
    """The labels of ``rows`` where ``keeps`` is True, in order, checked (naming a bad sequence)."""
    labels = [label for row, keep in zip(rows, keeps, strict=True) for label in compress(row, keep)]
    try:
        check_labels(labels, name)
    except ValueError:  # name the sequence with a missing label, or with labels of two types
        for i, (row, keep) in enumerate(zip(rows, keeps, strict=True)):
            check_labels(list(compress(row, keep)), f"{name}[{i}]")
        raise
    return labels


def per_token_labels(estimator, X, y, inputs, name="y"):
    """(the labels of the real positions of ``inputs``, in row order; their (N, T) mask).

    ``y`` holds one label sequence per sequence of ``X``: as many labels as
    the sequence has tokens (text: as the estimator's analyzer splits it), or,
    for an array, as its width or up to the row's last real position.

    Raises
    ------
    ValueError
        A label sequence of another length (naming the sequence and both
        lengths), a single label where a sequence is expected, missing or
        mixed labels (naming the sequence).
    """
    rows = _label_rows(estimator, y, len(inputs), name)
    real, ragged = real_positions(inputs), is_ragged(estimator, X)
    sequences = list(text_column(estimator, X)) if ragged else [()] * len(rows)
    ends = np.where(real.any(axis=1), real.shape[1] - np.argmax(real[:, ::-1], axis=1), 0)
    for i, (row, x) in enumerate(zip(rows, sequences, strict=True)):
        _check_label_row(estimator, row, i, name)
        tokens = analyze(x, estimator._codec.analyzer, True, i) if isinstance(x, str) else x
        n = len(tokens) if ragged else np.shape(X)[1]  # an array's width (or up to padding)
        if len(row) != n and (ragged or len(row) != ends[i]):
            hint = (" Text is split into words and symbols: pass token lists to label your "
                    "own tokens." if isinstance(x, str) else "")
            raise ValueError(f"{name}[{i}] has {len(row)} labels, but sequence {i} of X has "
                             f"{n} {'tokens' if ragged else 'positions'}: give one label per "
                             f"position.{hint}")
    return _kept_labels(rows, real, name), real


def per_word_labels(estimator, y, words_mask, name="y"):
    """The labels of every word of sentences given as words, in order (a checkpoint's tagger).

    ``words_mask`` (n_sentences, max_words) is True at each sentence's words.

    Raises
    ------
    ValueError
        A label sequence of another length than its sentence's words (naming
        the sample and both lengths), a single label where a sequence is
        expected, missing or mixed labels (naming the sequence).
    """
    rows = _label_rows(estimator, y, len(words_mask), name)
    for i, (row, n) in enumerate(zip(rows, words_mask.sum(axis=1), strict=True)):
        _check_label_row(estimator, row, i, name)
        if len(row) != n:
            raise ValueError(f"{name}[{i}] has {len(row)} labels, but sample {i} of X has {n} words: "
                             "give one label per word (a text is split into words and symbols: "
                             "pass word lists to label your own words).")
    return _kept_labels(rows, [np.ones(len(row), bool) for row in rows], name)


def check_label_type(labels, classes, name="y"):
    """Refuse labels of another type (strings against numbers) than the fitted ``classes``."""
    labels = np.asarray(labels)
    if (labels.dtype.kind in "OUS") != (classes.dtype.kind in "OUS"):
        raise ValueError(
            f"{name} holds {'strings' if labels.dtype.kind in 'OUS' else 'numbers'}, but the classes "
            f"are {classes.tolist()}: pass {name} with labels of the classes' type.")
    return labels


def check_weights(sample_weight, rows, name="sample_weight"):
    """Per-sample weights as float64 scaled so the largest is 1 (None: all 1).

    Refuses non-finite, negative or all-zero weights. Only ratios matter (the
    losses are weighted means), and scaling keeps weights of 1e-320 or 1e39
    from becoming 0 or inf in the model's float32.
    """
    nested = (any(isinstance(w, list | tuple) or np.ndim(w) > 0 for w in sample_weight)
              if isinstance(sample_weight, list | tuple) else np.asarray(sample_weight).ndim > 1)
    if nested:
        raise ValueError(
            f"{name} holds one number per sample, shape (n_samples,), not a sequence or row per "
            "sample (a tagger gives each sequence's weight to all of its tokens).")
    weight = _check_sample_weight(sample_weight, rows, dtype=np.float64)
    if not np.isfinite(weight).all():
        raise ValueError(f"{name} has non-finite values (NaN or inf); pass finite weights >= 0.")
    if (weight < 0).any():
        raise ValueError(f"Negative values in {name}: weights must be >= 0.")
    top = weight.max(initial=0.0)
    if top <= 0:
        raise ValueError(f"{name} is 0 for every sample, so there is nothing to learn or score. "
                         "Sample weights must contain at least one non-zero number.")
    return weight / top


def check_token_weights(weight, real, name="sample_weight"):
    """``weight`` (one per sequence, from :func:`check_weights`), refused if it gives every token
    weight 0: positive only on sequences without tokens (``real``: (n, T), True at tokens), or
    there is no token at all (a tagger has nothing to label)."""
    if not real.any():
        raise ValueError("X holds no tokens: every sequence is empty, so there is no token to "
                         "learn or score. Pass sequences with tokens (empty ones mixed with others "
                         "are fine).")
    if not (weight * real.any(axis=1)).any():
        raise ValueError(f"{name} is 0 for every sequence that has tokens (only empty sequences "
                         "weigh anything), so there is no token to learn or score. Give a "
                         "non-zero weight to at least one sequence with tokens.")
    return weight


def warn_if_token_ids_among_features(X):
    """Warn when a DataFrame mixes SequenceVectorizer id columns with other (numeric) columns.

    A ``ColumnTransformer`` with ``set_output(transform="pandas")`` names the
    vectorizer's columns ``...position_<i>``: read as numeric features they
    would silently lose their meaning as token ids.
    """
    columns = [str(c) for c in getattr(X, "columns", [])]
    ids = [c for c in columns if c.rsplit("__", 1)[-1].startswith("position_")]
    if ids and len(ids) < len(columns):
        warnings.warn(
            f"X mixes {len(ids)} token-id columns ({ids[0]}, ...) with {len(columns) - len(ids)} "
            "other columns; read together they are numeric features and the ids lose their "
            "meaning. Combine text with numeric columns through features instead: "
            "make_column_transformer((make_pipeline(SequenceVectorizer(), TransformerEncoder()), "
            '"text"), (StandardScaler(), [...])) in front of any estimator.', UserWarning,
            stacklevel=6)
