"""Numeric rows: a 2-D float array, one token per feature (``x_j W_j + b_j``, as in FT-Transformer)."""

import numpy as np

from .._inputs import Inputs, is_ragged_series, warn_if_token_ids_among_features
from .._sequences import is_sequence_input
from ._family import InputFamily


class NumericRows(InputFamily):
    """(n_samples, n_features) floats: feature ``j`` is position ``j``, embedded by its own weights."""

    embedding = "numeric"

    @classmethod
    def claims(cls, X, input_type):
        return True  # the registry's last resort: any other table is numeric (or refused here)

    def learn(self, estimator, X):
        warn_if_token_ids_among_features(X)
        _refuse_dates(X)
        _refuse_nan_padded_rows(X)
        X = self.validate(estimator, X, reset=True, ndim=2)
        self.n_features = X.shape[1]
        return Inputs(self.as_float32(X))

    def transform(self, estimator, X, reset=False):
        if is_sequence_input(X) or is_ragged_series(X):
            raise ValueError(f"{type(estimator).__name__} was fitted on a numeric array; it cannot "
                             "read a list of sequences.")
        _refuse_dates(X)
        _refuse_nan_padded_rows(X)
        return Inputs(self.as_float32(self.validate(estimator, X, reset=reset, ndim=2)))

    @property
    def input_size(self):
        return self.n_features

    def position_labels(self, estimator, X, n_positions):
        """The feature names seen in fit, or ``x0``, ``x1``, ..."""
        names = getattr(estimator, "feature_names_in_", None)
        labels = list(map(str, names)) if names is not None else [f"x{j}" for j in range(n_positions)]
        return [list(labels) for _ in range(len(X))]


def _refuse_nan_padded_rows(X):
    """A 2-D float table whose rows end in NaN looks like NaN-padded series: say how to pass those."""
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind != "f" or not X.size:
        return
    missing = np.isnan(X)
    if not missing[:, -1].any():
        return  # no row ends in NaN: NaN elsewhere gets scikit-learn's message about imputing
    trailing = np.flip(np.cumprod(np.flip(missing, axis=1), axis=1), axis=1).astype(bool)
    if (missing == trailing).all():
        raise ValueError(
            "X holds NaN only at the end of rows, as series padded with NaN are written; but a "
            "2-D float array is read as numeric features, one per column. Pass series of "
            "different lengths as a list of 1-D arrays (lengths free), or as a 3-D array "
            "(n_samples, n_steps, 1) padded with NaN steps.")


def _refuse_dates(X):
    """Dates and durations are not numbers a model should read as such (NaT would be -9.2e18)."""
    kinds = [("X", np.asarray(X).dtype)] if isinstance(X, np.ndarray) else list(
        getattr(X, "dtypes", {}).items()) if hasattr(X, "dtypes") else []
    dated = [f"{name} ({dtype})" for name, dtype in kinds
             if getattr(dtype, "kind", "") in "mM" or "datetime" in str(dtype) or "period" in str(dtype)]
    if dated:
        raise ValueError(
            f"X has date or duration values: {', '.join(map(str, dated))}. Turn them into numbers "
            "first (e.g. seconds since a date, day of week, month), with missing dates filled; "
            "they are not read as numeric features.")
