"""Id matrices: a 2-D integer array of token ids (a SequenceVectorizer's output), 0 = padding."""

import numpy as np

from .._inputs import Inputs, is_ragged_series
from .._sequences import is_sequence_input
from .._vocabulary import N_RESERVED, PAD_ID, UNKNOWN_ID, Vocabulary
from ._family import InputFamily


class IdMatrix(InputFamily):
    """(n_samples, seq_len) ids: the ids seen in fit get their own embeddings, others "unknown".

    The vocabulary maps each id seen in fit to a row from ``N_RESERVED``,
    whatever its value (sparse or hashed ids cost nothing); every other id
    reads the unknown row, and 0 stays padding.
    """

    embedding = "tokens"
    fixed_width = True

    @classmethod
    def claims(cls, X, input_type):
        if input_type == "tokens":
            return True
        try:
            return input_type == "auto" and np.asarray(X).dtype.kind in "iu"
        except ValueError:  # ragged nesting: not an array of ids
            return False

    def learn(self, estimator, X):
        ids = self._as_ids(estimator, self.validate(estimator, X, reset=True, ndim=2))
        self.check_length(ids.shape[1])
        seen = np.unique(ids[ids != PAD_ID])
        if not len(seen):
            raise ValueError("X holds no tokens: every id is 0, which is padding. Pass token ids "
                             'from 1, or input_type="numeric" for numeric features.')
        self.vocabulary = Vocabulary({int(t): N_RESERVED + i for i, t in enumerate(seen)})
        self._seen = seen
        return self._rows(ids)

    def transform(self, estimator, X, reset=False):
        if is_sequence_input(X) or is_ragged_series(X):
            raise ValueError(f"{type(estimator).__name__} was fitted on a token-id array; it cannot "
                             "read a list of sequences or series.")
        return self._rows(self._as_ids(estimator, self.validate(estimator, X, reset=reset, ndim=2)))

    def _rows(self, ids):
        """The user's ids -> vocabulary ids (a vectorised lookup: 0 padding, unseen -> unknown)."""
        seen = self._seen
        if getattr(self, "_table_of", None) is not seen:  # made once per vocabulary, never pickled
            self._table, self._table_of = dense_table(seen), seen
        table = self._table
        if table is not None:  # one gather: a tenth of the time of the binary search below
            rows = table[np.minimum(ids, len(table) - 1)]
            return Inputs(rows, rows != PAD_ID)
        position = np.searchsorted(seen, ids)
        known = seen[np.minimum(position, len(seen) - 1)] == ids
        rows = np.where(ids == PAD_ID, PAD_ID, np.where(known, position + N_RESERVED, UNKNOWN_ID))
        rows = rows.astype(np.int32)
        return Inputs(rows, rows != PAD_ID)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_table", None)
        state.pop("_table_of", None)
        return state

    def position_labels(self, estimator, X, n_positions):
        """The user's id at each position (0 padding, -1 an id never seen in fit)."""
        rows = self.transform(estimator, X).X[:, :n_positions]
        table = np.concatenate([[PAD_ID, -1], self._seen])
        return [list(map(int, row)) for row in table[rows]]

    @staticmethod
    def _as_ids(estimator, X):
        name = type(estimator).__name__
        if X.dtype.kind == "b":  # False would be read as padding, True as an id
            raise ValueError(f"{name} reads token ids (integers), but X is a boolean array. For "
                             'numeric features use input_type="numeric".')
        if X.dtype.kind == "u" and X.size and X.max() > np.iinfo(np.int64).max:
            raise ValueError("Token ids must be smaller than 2**63.")
        if X.dtype.kind == "f" and X.size and np.abs(X).max() > 2**53:
            raise ValueError("Token ids must be integers smaller than 2**53.")
        if X.dtype.kind == "f" and not np.array_equal(X, np.round(X)):
            raise ValueError("Token ids must be whole numbers, but X has fractional values. For "
                             'numeric features use input_type="numeric".')
        if X.size and X.min() < 0:
            raise ValueError(f"Negative values in data passed to {name}: token ids must be >= 0 "
                             "(0 is padding).")
        return X.astype(np.int64)



# A vocabulary whose largest id is at most this many times its size (plus a constant) is looked
# up in a dense table; sparse or hashed ids (up to 2**63) keep the binary search.
DENSE_TABLE_FACTOR = 8
DENSE_TABLE_EXTRA = 4096


def dense_table(seen):
    """``table[id]`` = the vocabulary id of every user id up to max(seen) + 1, or None (ids too sparse).

    ``seen`` holds the sorted ids of fit (all >= 1). The last entry, at
    max(seen) + 1, is the unknown id that every larger id is clipped to; 0
    (padding) maps to itself.
    """
    top = int(seen[-1])
    if top > DENSE_TABLE_FACTOR * len(seen) + DENSE_TABLE_EXTRA:
        return None
    table = np.full(top + 2, UNKNOWN_ID, dtype=np.int32)
    table[PAD_ID] = PAD_ID
    table[seen] = np.arange(N_RESERVED, N_RESERVED + len(seen), dtype=np.int32)
    return table
