"""Input handling: raw ``X`` -> what the model reads. The model never sees raw input.

Four kinds of input are recognised when an estimator is fitted:

============  ===========================================  ==================
kind          what the user passes                          the model reads
============  ===========================================  ==================
"numeric"     2-D float array (n_samples, n_features)       one token/feature
"tokens"      2-D integer array of token ids, 0 = padding   ids + mask
"series"      3-D float array (n_samples, seq_len, n_ch)    one vector/step
"sequences"   list of strings or of token lists (ragged)    ids + mask
============  ===========================================  ==================

Raw sequences are recognised and checked by :mod:`._sequences`, split into
tokens by :mod:`._text` (the one module that knows what a token is) and
mapped to ids by :mod:`._vocabulary`.
"""

import warnings
from dataclasses import dataclass
from numbers import Number

import numpy as np
from sklearn.utils.validation import validate_data

from ._sequences import _check_sequences, is_sequence_input, refuse_mixed_columns
from ._text import analyze
from ._vocabulary import N_RESERVED, PAD_ID, UNKNOWN_ID, build_vocabulary, to_id_matrix

INPUT_TYPES = ("auto", "numeric", "tokens")


@dataclass
class Inputs:
    """A model-ready batch: ``X`` (ids, features or series) and the padding ``mask`` (or None)."""

    X: np.ndarray
    mask: np.ndarray | None = None

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
        return Inputs(X[:, :width], mask[:, :width])


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


def is_ragged_series(X):
    """True for a list of numeric series of floats: 1-D (T_i,) or 2-D (T_i, C) each, lengths free.

    Floats are never tokens: a list whose sequences hold floats is a list
    of series (padded and masked like ragged token sequences); a list of
    integer lists is a list of token sequences.
    """
    if (hasattr(X, "iloc") or isinstance(X, np.ndarray)) and getattr(X, "ndim", 0) == 1:
        X = list(X)  # a pandas Series or 1-D object array of series
    if not isinstance(X, list | tuple) or not X:
        return False
    if not all(isinstance(x, list | tuple | np.ndarray) for x in X):
        return False
    arrays = [np.asarray(x) if not isinstance(x, np.ndarray) else x for x in X]
    if any(a.dtype.kind not in "fiub" or a.ndim not in (1, 2) for a in arrays):
        return False
    has_float = any(a.dtype.kind == "f" for a in arrays)
    ragged = len({a.shape for a in arrays}) > 1 or arrays[0].ndim == 2
    return has_float and ragged


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
    value, not padding.
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
    if len(inside) or not lengths.all():
        first = inside[0] if len(inside) else int(np.flatnonzero(lengths == 0)[0])
        raise ValueError(
            f"X has NaN in series {first} that is not padding: NaN is read as padding only in whole "
            "steps at the end of a series (all channels NaN), and each series needs at least one "
            "step. Impute missing values first, or pass a list of (T_i, n_channels) arrays.")
    return [X[i, :length] for i, length in enumerate(lengths)]


def text_column(estimator, X):
    """A 2-D input whose one column holds texts -> the list of those texts; other X unchanged.

    This is what ``make_column_transformer((estimator, ["review"]))`` passes.
    Several columns whose cells are single tokens are token sequences (one
    token per cell); several columns of texts are refused, naming the
    scalar selector; missing texts are refused.
    """
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
               if any(v is None or (isinstance(v, float) and v != v) for v in row)]
    if missing:
        raise ValueError(f"X has a missing value (None or NaN) in row {missing[0]} of its text "
                         "column(s); fill missing texts first, e.g. with \"\".")
    if values.shape[1] == 1:
        return [str(v) for v in values[:, 0]]
    if not any(len(str(v).split()) > 1 for v in values.ravel()):
        return [[str(v) for v in row] for row in values]  # one token per cell: token sequences
    names = list(map(str, X.columns)) if hasattr(X, "columns") else [f"column {j}" for j in texts]
    raise ValueError(
        f"{type(estimator).__name__} reads one text column, but X has {values.shape[1]} columns "
        f"({', '.join(names)}). Select one column with a scalar name, e.g. "
        f'make_column_transformer(({type(estimator).__name__}(), "{names[0]}")), or join the texts.')


def _is_missing(value):
    """True for None, a float or numpy NaN, pandas' NaT and NA (whose truth value raises)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only NaN and NaT differ from themselves
    except (TypeError, ValueError):  # pd.NA: "boolean value of NA is ambiguous"; arrays
        return not isinstance(value, list | tuple | np.ndarray)


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
    if y is None or isinstance(y, str | dict | set) or not hasattr(y, "__len__"):
        return  # not labels at all: the caller's own checks say so
    values = _label_values(y)
    if values.dtype.kind == "f":
        missing = np.flatnonzero(np.isnan(values)).tolist()
    elif values.dtype.kind == "O":
        missing = [i for i, v in enumerate(values) if _is_missing(v)]
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


class InputAdapter:
    """Remembers, from ``fit``, what kind of input a model takes and turns raw ``X`` into ``Inputs``.

    Parameters
    ----------
    input_type : {"auto", "numeric", "tokens"}
        ``"auto"`` reads integer arrays as token ids and float arrays as
        numeric features; the other two force one reading of 2-D arrays.
    max_len : int
        Longest sequence the model accepts; raw sequences are truncated to it.
    analyzer : {"word", "char"} or callable
        How raw strings are split into tokens.
    """

    def __init__(self, input_type="auto", max_len=512, analyzer="word"):
        self.input_type = input_type
        self.max_len = max_len
        self.analyzer = analyzer

    # ----------------------------------------------------------------- fit

    def read(self, estimator, X, fitting=False, what="X", training=False):
        """Raw ``X`` -> ``Inputs``: learning from it (``fitting``), or checked against what was learned.

        A codec that is already fitted (taken over from a pretrained encoder)
        is not learned again when ``fitting``: it records ``n_features_in_``
        on ``estimator`` and reads ``X`` as it would any other input. Errors
        name ``what`` (``"X_val"`` for validation data); more ``training``
        data after the first warns when its tokens are largely unknown.
        """
        X = text_column(estimator, X)
        try:
            X = self._nan_padded_series(estimator, X, fitting)
            if fitting and not hasattr(self, "kind"):
                inputs = self.fit_transform(estimator, X)
            else:
                inputs = self.transform(estimator, X, reset=fitting)
        except (ValueError, TypeError) as error:
            if what == "X":
                raise
            raise type(error)(f"{what}: {error}") from None
        if training and not fitting and what == "X":  # what the vocabulary misses
            self._warn_unknown(inputs)
        return inputs

    def _nan_padded_series(self, estimator, X, fitting):
        """NaN-padded series -> a list of series, for a new model or one fitted on series of any length."""
        series = series_from_nan_padding(X)
        if series is X or (fitting and not hasattr(self, "kind")) or getattr(self, "ragged", False):
            return series
        if self.kind == "series":
            raise ValueError(
                f"X is padded with NaN steps, but {type(estimator).__name__} was fitted on series "
                "of one length, without padding. Fit on series of different lengths (a list of "
                "(T_i, n_channels) arrays, or a NaN-padded array) to predict on them.")
        return X  # another kind of model: its own checks refuse the 3-D array

    def _warn_unknown(self, inputs):
        """Warn when more than 5% of the tokens of new training data are unknown to the vocabulary."""
        if self.kind not in ("sequences", "tokens") or inputs.mask is None:
            return
        real = int(inputs.mask.sum())
        unknown = int((inputs.X == self.unknown_id).sum())
        if real and unknown > 0.05 * real:
            warnings.warn(
                f"{unknown} of {real} tokens ({unknown / real:.0%}) of X are not in the vocabulary "
                "learned on the first training data and are read as one unknown token. Fix the "
                "vocabulary up front: fit the first call (or a SequenceVectorizer in front) on "
                "data with every token, or refit.", UserWarning, stacklevel=6)

    def fit_transform(self, estimator, X):
        """Learn the input kind (and vocabulary) from training ``X``; return its ``Inputs``."""
        if isinstance(X, str):
            _check_sequences(X)  # raises a TypeError that says what to do
        if is_ragged_series(X):
            _unset(estimator, "n_features_in_", "feature_names_in_")
            series = _series_list(X)
            self.kind, self.ragged, self.input_size = "series", True, series[0].shape[1]
            return self._series_inputs(series)
        if is_sequence_input(X):
            if self.input_type == "numeric":
                raise ValueError(
                    'input_type="numeric" needs a 2-D numeric array, but X is a list of sequences.'
                )
            _unset(estimator, "n_features_in_", "feature_names_in_")
            token_lists = self._analyze(X)
            self.kind = "sequences"
            self.vocabulary = build_vocabulary(token_lists)
            self.n_vocab = len(self.vocabulary) + N_RESERVED
            self.unknown_id = UNKNOWN_ID
            return self._sequence_inputs(token_lists)
        warn_if_token_ids_among_features(X)
        X = self._validate(estimator, X, reset=True)
        if X.ndim == 3:
            self.kind, self.input_size = "series", X.shape[2]
            self._check_length(X.shape[1])
            return Inputs(self._as_float32(X))
        if self.input_type == "tokens" or (self.input_type == "auto" and X.dtype.kind in "iu"):
            ids = self._as_ids(estimator, X)
            self._check_length(ids.shape[1])
            self.kind = "tokens"
            # The ids seen in fit get consecutive embedding rows 1..K, whatever their values
            # (sparse or hashed ids cost nothing); any other id shares row K + 1, "unknown".
            self.token_ids = np.unique(ids[ids != PAD_ID])
            if not len(self.token_ids):
                raise ValueError("X holds no tokens: every id is 0, which is padding. Pass token "
                                 'ids from 1, or input_type="numeric" for numeric features.')
            self.unknown_id = len(self.token_ids) + 1  # the row every id unseen in fit shares
            self.n_vocab = self.unknown_id + 1
            return self._token_inputs(ids)
        self.kind, self.input_size = "numeric", X.shape[1]
        return Inputs(self._as_float32(X))

    @property
    def model_kind(self):
        """What the network embeds: "tokens", "numeric" or "series"."""
        return "tokens" if self.kind == "sequences" else self.kind

    @property
    def model_input_size(self):
        """Vocabulary size for token input, else the number of features or channels."""
        return self.n_vocab if self.model_kind == "tokens" else self.input_size

    @property
    def mask_id(self):
        """The [MASK] id of masked-token pretraining: the one after the vocabulary's ids."""
        return self.n_vocab

    # ----------------------------------------------------------- transform

    def transform(self, estimator, X, reset=False):
        """Raw ``X`` -> ``Inputs``, checked against what was seen in ``fit``.

        ``reset=True`` records ``n_features_in_`` on ``estimator`` (an
        estimator that adopts this adapter from another one).
        """
        if isinstance(X, str):
            _check_sequences(X)
        if self.kind == "series" and getattr(self, "ragged", False) and is_ragged_series(X):
            series = _series_list(X)
            self._check_channels(estimator, series[0].shape[1])
            return self._series_inputs(series)
        if self.kind == "sequences":
            if (isinstance(X, np.ndarray) or hasattr(X, "iloc")) and getattr(X, "ndim", 0) == 2:
                # (a DataFrame would otherwise be iterated: its column names read as the texts)
                raise ValueError(
                    f"{type(estimator).__name__} was fitted on sequences (strings or token lists); "
                    "pass a list of them, not a 2-D array."
                )
            if _holds_numbers(X):
                raise ValueError(
                    f"{type(estimator).__name__} was fitted on sequences (strings or token lists), "
                    "but X is a list of numeric series or rows: floats are never tokens.")
            return self._sequence_inputs(self._analyze(X))
        if is_sequence_input(X) or is_ragged_series(X):
            raise ValueError(
                f"{type(estimator).__name__} was fitted on a {self.kind} array; "
                "it cannot read a list of sequences."
            )
        return self._array_inputs(estimator, X, reset)

    def _array_inputs(self, estimator, X, reset):
        """A numeric, token-id or series array -> ``Inputs``, checked against ``fit``."""
        name, ndim = type(estimator).__name__, 3 if self.kind == "series" else 2
        steps = getattr(estimator, "n_features_in_", None)
        if (self.kind == "series" and not reset and steps is not None and np.ndim(X) == 3
                and np.shape(X)[1] != steps):
            raise ValueError(
                f"X has series of {np.shape(X)[1]} steps, but {name} was fitted on {steps} steps. "
                f"Pass series of {steps} steps, or fit on a list of series (lengths free: padded "
                "and masked).")
        X = self._validate(estimator, X, reset=reset)
        if X.ndim != ndim:
            raise ValueError(f"X has {X.ndim} dimensions, but {name} was fitted on {ndim}-D input.")
        if self.kind == "series":
            self._check_channels(estimator, X.shape[2])
        if self.kind == "tokens":
            return self._token_inputs(self._as_ids(estimator, X))
        return Inputs(self._as_float32(X))

    def _check_channels(self, estimator, n_channels):
        if n_channels != self.input_size:
            raise ValueError(f"X has {n_channels} channels, but {type(estimator).__name__} was "
                             f"fitted with {self.input_size} channels.")

    def _token_inputs(self, ids):
        """User token ids -> embedding rows: 0 stays padding, seen ids 1..K, others K + 1."""
        seen = self.token_ids
        position = np.searchsorted(seen, ids)
        known = seen[np.minimum(position, len(seen) - 1)] == ids if len(seen) else np.zeros_like(
            ids, bool)
        rows = np.where(ids == PAD_ID, PAD_ID, np.where(known, position + 1, self.unknown_id))
        rows = rows.astype(np.int32)
        return Inputs(rows, rows != PAD_ID)

    def token_labels(self, rows):
        """The user's token id of each embedding row (0 for padding, -1 for unknown)."""
        table = np.concatenate([[PAD_ID], self.token_ids, [-1]])
        return table[rows]

    # ------------------------------------------------------------- helpers

    def _analyze(self, X):
        _check_sequences(X)
        return [analyze(x, self.analyzer, True, i) for i, x in enumerate(X)]

    def _sequence_inputs(self, token_lists):
        _warn_truncation(token_lists, self.max_len)
        width = max(1, min(self.max_len, max(len(t) for t in token_lists)))
        ids = to_id_matrix(token_lists, self.vocabulary, width)
        return Inputs(ids, ids != PAD_ID)

    def _series_inputs(self, series):
        """Ragged (T_i, C) float series -> zero-padded (N, T, C) float32 and a mask of real steps."""
        _warn_truncation(series, self.max_len)
        width = max(1, min(self.max_len, max(len(s) for s in series)))
        X = np.zeros((len(series), width, self.input_size), np.float32)
        mask = np.zeros((len(series), width), bool)
        for i, s in enumerate(series):
            X[i, : min(len(s), width)] = s[:width]
            mask[i, : min(len(s), width)] = True
        return Inputs(self._as_float32(X), mask)

    def _validate(self, estimator, X, reset):
        ndim = np.ndim(X) if isinstance(X, np.ndarray | list | tuple) else None
        if ndim is not None and ndim > 3:  # before validate_data, whose width check would mislead
            raise ValueError(f"X has {ndim} dimensions; expected 2-D or 3-D input.")
        return validate_data(estimator, X, reset=reset, dtype="numeric", allow_nd=True,
                             ensure_min_features=1)

    def _check_length(self, length):
        if length > self.max_len:
            raise ValueError(
                f"X has sequences of length {length}, longer than max_len={self.max_len}. "
                "Increase max_len or shorten the sequences."
            )

    @staticmethod
    def _as_float32(X):
        out = X.astype(np.float32)
        if not np.isfinite(out).all():
            raise ValueError("X has values too large to represent as float32.")
        return out

    @staticmethod
    def _as_ids(estimator, X):
        if X.dtype.kind == "b":  # False would be read as padding, True as id 1
            raise ValueError(
                f"{type(estimator).__name__} reads token ids (integers), but X is a boolean array. "
                'For numeric features use input_type="numeric".')
        if X.dtype.kind == "u" and X.size and X.max() > np.iinfo(np.int64).max:
            raise ValueError("Token ids must be smaller than 2**63.")
        if X.dtype.kind == "f" and X.size and np.abs(X).max() > 2**53:
            raise ValueError("Token ids must be integers smaller than 2**53.")
        if X.dtype.kind == "f" and not np.array_equal(X, np.round(X)):
            raise ValueError(
                "Token ids must be whole numbers, but X has fractional values. For numeric "
                'features use input_type="numeric".'
            )
        if X.size and X.min() < 0:
            raise ValueError(
                f"Negative values in data passed to {type(estimator).__name__}: token ids "
                "must be >= 0 (0 is padding)."
            )
        return X.astype(np.int64)
