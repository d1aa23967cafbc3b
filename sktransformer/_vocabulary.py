"""Vocabularies: token <-> id, with the special ids named once.

Ids ``0`` (padding) and ``1`` (unknown) are reserved in every vocabulary
(``N_RESERVED``); tokens get ids from 2, most frequent first.
"""

from collections import Counter

import numpy as np

PAD_ID = 0
UNKNOWN_ID = 1
N_RESERVED = 2  # ids 0 (padding) and 1 (unknown) are never tokens
UNKNOWN_TOKEN = "<unk>"


def build_vocabulary(token_lists, min_count=1, max_features=None, argument="X"):
    """Token -> id, most frequent first (ties: first seen first), ids from N_RESERVED.

    Raises a ``ValueError`` naming ``argument`` when the sequences hold no
    token at all (every document empty or whitespace): a model fitted on them
    would learn nothing, yet predict confidently.

    Examples
    --------
    >>> build_vocabulary([["b", "a", "b"], ["c"]])
    {'b': 2, 'a': 3, 'c': 4}
    """
    counts = Counter(t for tokens in token_lists for t in tokens)
    if not counts:
        raise ValueError(
            f"{argument} holds no tokens: all {len(token_lists)} of its sequences are empty (or "
            "only whitespace), so there is no vocabulary to learn. Pass sequences with tokens "
            "(empty ones may be mixed among them).")
    first_seen = {}
    for tokens in token_lists:
        for t in tokens:
            first_seen.setdefault(t, len(first_seen))
    kept = [t for t in counts if counts[t] >= min_count]
    kept.sort(key=lambda t: (-counts[t], first_seen[t]))
    if max_features is not None:
        kept = kept[:max_features]
    return {t: i + N_RESERVED for i, t in enumerate(kept)}


def to_id_matrix(token_lists, vocabulary, width):
    """Padded (N, width) int32 ids; unknown tokens get UNKNOWN_ID, longer sequences are cut.

    Examples
    --------
    >>> to_id_matrix([["a", "z"], ["a", "a", "a"]], {"a": 2}, width=2)
    array([[2, 1],
           [2, 2]], dtype=int32)
    """
    ids = np.full((len(token_lists), width), PAD_ID, dtype=np.int32)
    for i, tokens in enumerate(token_lists):
        row = [vocabulary.get(t, UNKNOWN_ID) for t in tokens[:width]]
        ids[i, : len(row)] = row
    return ids


class GenerativeVocabulary:
    """Token <-> id for models that generate tokens.

    Ids: 0 padding, 1 unknown, 2..V+1 the vocabulary's tokens, then an
    end-of-sequence id and a begin-of-sequence id. The model's outputs cover
    the tokens and end-of-sequence only (nothing else is ever a target):
    output ``k`` is id ``k + 2``.
    """

    END_TOKEN = "<eos>"

    def __init__(self, vocabulary):
        self.vocabulary = vocabulary
        self.eos = len(vocabulary) + N_RESERVED
        self.bos = self.eos + 1
        self.n_ids = self.bos + 1
        self.n_outputs = len(vocabulary) + 1
        self._tokens = [None] * self.n_outputs
        for token, i in vocabulary.items():
            self._tokens[i - N_RESERVED] = token
        self._tokens[-1] = self.END_TOKEN

    def encode(self, tokens, bos=True, eos=True):
        """[<bos>] + ids of ``tokens`` (unknown ones as 1) + [<eos>]."""
        ids = [self.vocabulary.get(t, UNKNOWN_ID) for t in tokens]
        return ([self.bos] if bos else []) + ids + ([self.eos] if eos else [])

    @staticmethod
    def output_index(ids):
        """Model output column of each id (-1 for padding and unknown, which are never targets)."""
        ids = np.asarray(ids)
        return np.where(ids >= N_RESERVED, ids - N_RESERVED, -1)

    def token(self, output_index):
        """The token of an output column (``"<eos>"`` for the last)."""
        return self._tokens[output_index]

    def is_end(self, output_index):
        """True for the end-of-sequence column."""
        return output_index == self.eos_column

    @property
    def eos_column(self):
        """The output column of end-of-sequence (the last)."""
        return self.n_outputs - 1

    @staticmethod
    def id_of_column(columns):
        """Token id of each output column (the inverse of :meth:`output_index`)."""
        return np.asarray(columns) + N_RESERVED

    @staticmethod
    def join(tokens, analyzer):
        """Generated tokens -> text: no separator for characters, spaces otherwise."""
        return ("" if analyzer == "char" else " ").join(map(str, tokens))

    @property
    def output_tokens(self):
        """Column labels of the model's outputs: the tokens in id order, then ``"<eos>"``."""
        return list(self._tokens)


class PairVocabulary:
    """The two vocabularies of a sequence-to-sequence model, with their special ids named.

    Source ids: 0 padding, 1 unknown, the source tokens from 2, then
    ``source_end``, the end marker put after every source (so even an empty
    source has one real position). Target: a :class:`GenerativeVocabulary`.
    """

    target_is_scalar = False  # every target a single label (y 1-D): predict returns labels

    def __init__(self, source, target, target_is_text, target_is_scalar=False):
        self.source = source
        self.target = target
        self.target_is_text = target_is_text
        self.target_is_scalar = target_is_scalar
        self.source_end = len(source) + N_RESERVED
        self.n_source_ids = self.source_end + 1
