"""Series: a 3-D float array (n_samples, seq_len, n_channels), or series of different lengths.

Series of different lengths come as a list of (T_i, n_channels) arrays (or
(T_i,) for one channel), or as a 3-D array padded with all-NaN steps at the
end (tslearn's convention); they are padded with zeros and masked. A model
fitted on them reads any batch of series, also one whose series share a
length (a single series ``[s]``), and, with one channel, a 2-D float array
(n_series, n_steps) as that many series (tslearn's univariate layout).
"""

from numbers import Number

import numpy as np

from .._inputs import (
    Inputs,
    _series_list,
    _unset,
    _warn_truncation,
    is_ragged_series,
    is_series_list,
    series_from_nan_padding,
)
from .._sequences import is_sequence_input
from ._family import InputFamily


class Series(InputFamily):
    """One position per time step, its channels linearly embedded; ``ragged`` if lengths differ."""

    embedding = "series"
    ragged = False

    @classmethod
    def claims(cls, X, input_type):
        return is_ragged_series(X) or (isinstance(X, np.ndarray) and X.ndim == 3)

    def prepare(self, estimator, X, learning):
        """NaN-padded series -> a list of series, for a new model or one fitted on any lengths."""
        series = series_from_nan_padding(X)
        if series is X or learning or self.ragged:
            return series
        raise ValueError(
            f"X is padded with NaN steps, but {type(estimator).__name__} was fitted on series of "
            "one length, without padding. Fit on series of different lengths (a list of "
            "(T_i, n_channels) arrays, or a NaN-padded array) to predict on them.")

    def learn(self, estimator, X):
        if is_ragged_series(X):
            _unset(estimator, "n_features_in_", "feature_names_in_")
            series = _series_list(X)
            if not any(len(s) for s in series):
                raise ValueError(f"X holds no steps: all {len(series)} of its series are empty (or "
                                 "only NaN padding), so there is nothing to learn from. Pass "
                                 "series with steps (empty ones mixed with others are fine).")
            self.ragged, self.n_channels = True, series[0].shape[1]
            return self._padded(series)
        X = self.validate(estimator, X, reset=True, ndim=3)
        self.n_channels = X.shape[2]
        self.check_length(X.shape[1])
        return Inputs(self.as_float32(X))

    def transform(self, estimator, X, reset=False):
        name = type(estimator).__name__
        series = self._series(estimator, X) if self.ragged else None
        if series is not None:
            return self._padded(series)
        if is_sequence_input(X) or is_ragged_series(X):
            raise ValueError(f"{name} was fitted on a series array; it cannot read a list of "
                             "sequences or series of different lengths.")
        steps = getattr(estimator, "n_features_in_", None)
        if not reset and steps is not None and np.ndim(X) == 3 and np.shape(X)[1] != steps:
            raise ValueError(
                f"X has series of {np.shape(X)[1]} steps, but {name} was fitted on {steps} steps. "
                f"Pass series of {steps} steps, or fit on a list of series (lengths free: padded "
                "and masked).")
        X = self.validate(estimator, X, reset=reset, ndim=3)
        self._check_channels(estimator, X.shape[2])
        return Inputs(self.as_float32(X))

    def _series(self, estimator, X):
        """``X`` as a list of (T_i, C) series, for a model fitted on any lengths; None if it is none."""
        if self.n_channels == 1 and isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f":
            X = list(X)  # (n_series, n_steps): one-channel series of one length
        if is_series_list(X):
            series = _series_list(X)
            self._check_channels(estimator, series[0].shape[1])
            return series
        flat = isinstance(X, list | tuple) or (isinstance(X, np.ndarray) and X.ndim == 1)
        if flat and len(X) and isinstance(X[0], Number):
            raise ValueError(f"X is one series (a 1-D sequence of numbers), but "
                             f"{type(estimator).__name__} reads a list of series: pass [X].")
        return None

    @property
    def input_size(self):
        return self.n_channels

    def _check_channels(self, estimator, n_channels):
        if n_channels != self.n_channels:
            raise ValueError(f"X has {n_channels} channels, but {type(estimator).__name__} was "
                             f"fitted with {self.n_channels} channels.")

    def _padded(self, series):
        """Ragged (T_i, C) float series -> zero-padded (N, T, C) float32 and a mask of real steps."""
        _warn_truncation(series, self.max_len)
        width = max(1, min(self.max_len, max(len(s) for s in series)))
        X = np.zeros((len(series), width, self.n_channels), np.float32)
        mask = np.zeros((len(series), width), bool)
        with np.errstate(over="ignore"):  # what overflows float32 is refused by as_float32
            for i, s in enumerate(series):
                X[i, : min(len(s), width)] = s[:width]
                mask[i, : min(len(s), width)] = True
        return Inputs(self.as_float32(X, finite=True), mask)  # _series_list refused NaN and inf
