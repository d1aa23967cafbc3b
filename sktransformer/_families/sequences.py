"""Token sequences: a list of strings (split by the analyzer) or of token lists, lengths free."""

import numpy as np

from .._inputs import Inputs, _holds_numbers, _unset, _warn_truncation, text_column
from .._sequences import (
    _check_sequences,
    is_sequence_input,
    refuse_foreign_tokens,
    refuse_number_tokens,
)
from .._text import analyze
from .._vocabulary import PAD_ID, Vocabulary, build_vocabulary
from ._family import InputFamily


class TokenSequences(InputFamily):
    """Raw sequences: text is normalised, lowercased and split; a vocabulary is learned in fit."""

    embedding = "tokens"

    @classmethod
    def claims(cls, X, input_type):
        return is_sequence_input(X)

    def learn(self, estimator, X):
        if self.input_type == "numeric":
            raise ValueError(
                'input_type="numeric" needs a 2-D numeric array, but X is a list of sequences.')
        _unset(estimator, "n_features_in_", "feature_names_in_")
        token_lists = self.analyze(X)
        self.vocabulary = Vocabulary(build_vocabulary(token_lists))
        return self._ids(token_lists)

    def transform(self, estimator, X, reset=False):
        name = type(estimator).__name__
        if (isinstance(X, np.ndarray) or hasattr(X, "iloc")) and getattr(X, "ndim", 0) == 2:
            # (a DataFrame would otherwise be iterated: its column names read as the texts)
            raise ValueError(f"{name} was fitted on sequences (strings or token lists); pass a "
                             "list of them, not a 2-D array.")
        if _holds_numbers(X):
            raise ValueError(f"{name} was fitted on sequences (strings or token lists), but X is a "
                             "list of numeric series or rows: floats are never tokens.")
        refuse_number_tokens(X, table_ok=False)
        token_lists = self.analyze(X)
        refuse_foreign_tokens(token_lists, self.vocabulary.vocabulary, "X")
        return self._ids(token_lists)

    def analyze(self, X):
        """The token list of each sequence (strings: normalised, lowercased, split)."""
        _check_sequences(X)
        return [analyze(x, self.analyzer, True, i) for i, x in enumerate(X)]

    def _ids(self, token_lists):
        _warn_truncation(token_lists, self.max_len)
        width = max(1, min(self.max_len, max(len(t) for t in token_lists)))
        ids = self.vocabulary.id_matrix(token_lists, width)
        return Inputs(ids, ids != PAD_ID)

    def position_labels(self, estimator, X, n_positions):
        """The tokens themselves (only the real ones: padding follows)."""
        return [t[:n_positions] for t in self.analyze(text_column(estimator, X))]
