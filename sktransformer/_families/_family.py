"""The input-family protocol: one object per kind of ``X``, chosen at the first fit, asked ever after."""

import warnings

import numpy as np
from sklearn.utils.validation import validate_data

from .._inputs import text_column
from .._sequences import numpy_integers, reads_texts, refuse_number_tokens
from .._vocabulary import UNKNOWN_ID


class InputFamily:
    """What one kind of ``X`` is to the model: how it is read and what the network embeds.

    :func:`~sktransformer._families.choose_family` (the registry) picks a
    family at the first fit from ``X`` and ``input_type``; the estimator keeps
    it as its codec and asks it, instead of comparing names, for:

    - ``read(estimator, X, fitting, what, training)``: raw ``X`` -> ``Inputs``
      (learning the vocabulary or sizes at a fresh fit, checking otherwise);
    - ``embedding``: what the network embeds, ``"tokens"``, ``"numeric"`` or
      ``"series"`` (the embedding registry of :mod:`sktransformer._model`);
    - ``input_size``: embedding rows (token families) or features / channels;
    - ``vocabulary`` (a :class:`~sktransformer._vocabulary.Vocabulary`, or None)
      and ``mask_id``, the [MASK] id of masked-token pretraining;
    - ``position_labels(estimator, X, n_positions)``: what each position is,
      for attention plots;
    - ``fixed_width``: inputs are as wide as the training array (id matrices);
    - ``from_checkpoint``: the family is a pretrained checkpoint's tokenizer
      (its network is fine-tuned with the checkpoint recipe, ``_recipe.py``).

    A new family is one module: a subclass with ``claims``, ``learn`` and
    ``transform``, listed in the registry.
    """

    embedding = None
    vocabulary = None
    fixed_width = False
    from_checkpoint = False

    def __init__(self, input_type="auto", max_len=512, analyzer="word"):
        self.input_type = input_type
        self.max_len = max_len
        self.analyzer = analyzer
        self.fitted = False

    @classmethod
    def claims(cls, X, input_type):
        """True if this family reads ``X`` (after text columns and NaN padding were resolved)."""
        raise NotImplementedError

    # ------------------------------------------------------------- reading

    def read(self, estimator, X, fitting=False, what="X", training=False):
        """Raw ``X`` -> ``Inputs``: learning from it (a fresh ``fitting``), or checked against fit.

        A family that is already fitted (taken over from a pretrained
        encoder) is not learned again when ``fitting``: it records
        ``n_features_in_`` on ``estimator`` and reads ``X`` as any other
        input. Errors name ``what`` (``"X_val"`` for validation data); more
        ``training`` data after the first warns when it is largely unknown.
        """
        column = _text_column_name(estimator, X)
        learning = fitting and not self.fitted
        X = text_column(estimator, X, learning)
        if learning:  # one-cell rows at later calls: texts if fit read texts
            estimator._reads_texts = reads_texts(X)
        try:
            if column is not None and not fitting:
                _check_text_column_name(estimator, column)
            X = self.prepare(estimator, numpy_integers(X), fitting and not self.fitted)
            if fitting and not self.fitted:
                inputs = self.learn(estimator, X)
                self.fitted = True
                if column is not None:  # as scikit-learn records a frame's columns
                    estimator.feature_names_in_ = np.array([column], dtype=object)
            else:
                inputs = self.transform(estimator, X, reset=fitting)
        except (ValueError, TypeError) as error:
            if what == "X":
                raise
            raise type(error)(f"{what}: {error}") from None
        if training and not fitting and what == "X":
            self.warn_unknown(inputs)
        return inputs

    def prepare(self, estimator, X, learning):
        """``X`` as this family reads it (e.g. NaN-padded series as a list); ``X`` by default."""
        return X

    def learn(self, estimator, X):
        """Learn sizes (and vocabulary) from training ``X``; its ``Inputs``."""
        raise NotImplementedError

    def transform(self, estimator, X, reset=False):
        """``X`` -> ``Inputs``, checked against fit (``reset`` records ``n_features_in_``)."""
        raise NotImplementedError

    # ------------------------------------------------------------- the model's view

    @property
    def input_size(self):
        """Embedding rows of a token family (its vocabulary's ids)."""
        return self.vocabulary.n_ids

    @property
    def mask_id(self):
        """The [MASK] id of masked-token pretraining: the first id past the vocabulary's."""
        return self.vocabulary.mask_id

    def position_labels(self, estimator, X, n_positions):
        """One label per position of each sample (``t0``, ``t1``, ... unless a family knows better)."""
        return [[f"t{j}" for j in range(n_positions)] for _ in range(len(X))]

    def warn_unknown(self, inputs):
        """Warn when more than 5% of the tokens of more training data are unknown to the vocabulary."""
        if self.vocabulary is None or inputs.mask is None:
            return
        real = int(inputs.mask.sum())
        unknown = int((inputs.X == UNKNOWN_ID).sum())
        if real and unknown > 0.05 * real:
            warnings.warn(
                f"{unknown} of {real} tokens ({unknown / real:.0%}) of X are not in the vocabulary "
                "learned on the first training data and are read as one unknown token. Fix the "
                "vocabulary up front: fit the first call (or a SequenceVectorizer in front) on "
                "data with every token, or refit.", UserWarning, stacklevel=6)

    # ------------------------------------------------------------- shared checks

    def validate(self, estimator, X, reset, ndim):
        """``validate_data`` for an array of ``ndim`` dimensions, with messages that name the problem.

        An array that ``validate_data`` would return as it is (see
        :func:`_passes_as_is`) is returned at once: its checks cost about
        0.1 ms a call, a fifth of a small model's one-sequence prediction.
        """
        if not reset and _passes_as_is(estimator, X, ndim):
            return X
        try:
            given = np.ndim(X) if isinstance(X, np.ndarray | list | tuple) else None
            if given is not None and given > 3:  # before validate_data, whose width check misleads
                raise ValueError(f"X has {given} dimensions; expected 2-D or 3-D input.")
            X = validate_data(estimator, X, reset=reset, dtype="numeric", allow_nd=True,
                              ensure_min_features=1)
        except ValueError:
            refuse_number_tokens(X)  # token lists holding a number: say so, not numpy's shape error
            raise
        if X.ndim != ndim:
            raise ValueError(f"X has {X.ndim} dimensions, but {type(estimator).__name__} was "
                             f"fitted on {ndim}-D input.")
        return X

    def check_length(self, length):
        if length > self.max_len:
            raise ValueError(
                f"X has sequences of length {length}, longer than max_len={self.max_len}. "
                "Increase max_len or shorten the sequences.")

    @staticmethod
    def as_float32(X, finite=False):
        """``X`` in float32, refused where it holds NaN, infinity, or values too large for it.

        ``finite``: ``X``'s values were checked finite before (series copied
        into a float32 array, where an infinity is an overflow of that copy).
        """
        with np.errstate(over="ignore"):  # what overflows is refused here, by name
            out = X.astype(np.float32)
        if not np.isfinite(out).all():
            if np.isnan(out).any():  # checked by validate_data, unless set_config(assume_finite=True)
                raise ValueError("Input X contains NaN: the network reads no missing value. Impute "
                                 "them first, e.g. with SimpleImputer.")
            if not finite and np.isinf(X).any():  # X's own, not float32's overflow
                raise ValueError("Input X contains infinity: the network reads finite values only.")
            raise ValueError("X has values too large to represent as float32 (beyond 3.4e38); "
                             "scale the features first, e.g. with StandardScaler.")
        top = float(np.max(np.abs(out), initial=0.0))
        if top > MAX_MAGNITUDE:
            raise ValueError(
                f"X has values as large as {top:.3g}; the network computes in float32, where the "
                f"squares of values beyond {MAX_MAGNITUDE:.0e} overflow (in its layer "
                "normalisation). Scale the features first, e.g. with StandardScaler.")
        return out


# Numeric values (features, series) at most this large: float32 squares of larger ones overflow.
MAX_MAGNITUDE = 1e18


def _passes_as_is(estimator, X, ndim):
    """True if ``X`` is what ``validate_data(reset=False)`` would return unchanged and without a word.

    A numpy array (not a subclass) of integers or finite float32/float64, of
    ``ndim`` dimensions, with at least one sample and the fitted number of
    features, for an estimator fitted without feature names (whose checks,
    and warnings, only ``validate_data`` makes).
    """
    if type(X) is not np.ndarray or X.ndim != ndim or X.ndim < 2 or X.shape[0] < 1:
        return False
    if hasattr(estimator, "feature_names_in_") or getattr(estimator, "n_features_in_", None) != X.shape[1]:
        return False
    if X.dtype.kind in "iu":
        return True
    return X.dtype in (np.float32, np.float64) and bool(np.isfinite(X).all())


def _text_column_name(estimator, X):
    """The column name of a one-column DataFrame of texts (what text_column reads), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or len(columns) != 1 or text_column(estimator, X) is X:
        return None
    return str(columns[0])


def _check_text_column_name(estimator, column):
    """Refuse a one-column frame of texts named otherwise than the one fit read, as scikit-learn
    refuses a frame of other columns; a list or Series of texts carries no name and passes."""
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and list(fitted) != [column]:
        raise ValueError(
            "The feature names should match those that were passed during fit: "
            f"{type(estimator).__name__} was fitted on the text column {str(fitted[0])!r}, but X "
            f"is the column {column!r}. Select the same column (or pass the texts as a list).")
