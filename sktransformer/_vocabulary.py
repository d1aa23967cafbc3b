"""Vocabularies: token <-> id, with the special ids named once.

Ids ``0`` (padding) and ``1`` (unknown) are reserved in every vocabulary
(``N_RESERVED``); tokens get ids from 2, most frequent first.
"""

from collections import Counter
from dataclasses import replace

import numpy as np

from ._text import detokenize, surface_forms

PAD_ID = 0
UNKNOWN_ID = 1
N_RESERVED = 2  # ids 0 (padding) and 1 (unknown) are never tokens
UNKNOWN_TOKEN = "<unk>"


def build_vocabulary(token_lists, min_count=1, max_features=None, argument="X"):
    """Token -> id, most frequent first (ties: first seen first), ids from N_RESERVED.

    Raises a ``ValueError`` naming ``argument`` when the sequences hold no
    token at all (every document empty or whitespace), or naming
    ``min_count`` when it keeps none: a model fitted on them would learn
    nothing, yet predict confidently.

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
    if not kept:
        raise ValueError(
            f"min_count={min_count} keeps no token of {argument}: the most frequent occurs "
            f"{max(counts.values())} time(s). Lower min_count, or pass more data.")
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


def drop_words(ids, rate, token_end, rng):
    """``ids`` with each token id (``N_RESERVED .. token_end - 1``) made UNKNOWN_ID with probability ``rate``.

    Word dropout as Bowman et al. (2016, "Generating Sentences from a
    Continuous Space") apply it, and fairseq's ``WordDropout`` noising: a
    training token becomes the unknown token, so the unknown embedding is
    trained on every class and target alike and learns to mean "a word we do
    not know" (Iyyer et al. 2015 drop the word instead). Padding, the unknown
    id itself and special ids (``>= token_end``) are never replaced. Plain
    numpy on integer ids, before the forward pass.

    Examples
    --------
    >>> drop_words(np.array([[2, 3, 0]]), 1.0, 4, np.random.default_rng(0))
    array([[1, 1, 0]])
    """
    ids = np.asarray(ids)
    drop = (rng.random(ids.shape) < rate) & (ids >= N_RESERVED) & (ids < token_end)
    return np.where(drop, UNKNOWN_ID, ids).astype(ids.dtype)


def unknown_document(inputs, rng):
    """One row of ``inputs`` (drawn with ``rng``) with every token the unknown token: (1, T) ``Inputs``.

    Padding stays padding, so the document is as long as the row.
    """
    row = inputs.take(np.array([rng.integers(len(inputs))]))
    real = row.mask if row.mask is not None else np.ones(row.X.shape, bool)
    return replace(row, X=np.where(real, UNKNOWN_ID, PAD_ID).astype(row.X.dtype))


class Vocabulary:
    """Token <-> id, each special id named once (as Hugging Face tokenizers name theirs).

    Ids: ``pad_id`` 0 and ``unknown_id`` 1 (``N_RESERVED`` ids in every
    vocabulary), the tokens from 2 (``tokens`` maps token -> id), then one
    id per name in ``specials`` ("eos", "bos", "end", ...) in that order.
    ``aliases`` names specials that are tokens themselves (a checkpoint's
    ``<|endoftext|>`` both begins and ends a document). The [MASK] id of
    masked-token pretraining is the first id past them all, ``n_ids``.

    A generative model predicts the tokens and end-of-sequence: output
    column ``k`` is id ``k + N_RESERVED``, and "eos", when it is a special of
    its own, is the last column.
    """

    pad_id, unknown_id = PAD_ID, UNKNOWN_ID
    END_TOKEN = "<eos>"
    reads_unknown = True  # tokens never seen in fit read unknown_id (word dropout trains its row)
    forms, forms_longest = {}, 1  # chunks of the training texts that join writes as such

    def __init__(self, tokens, specials=(), aliases=None):
        self.vocabulary = dict(tokens)
        first = max(self.vocabulary.values(), default=N_RESERVED - 1) + 1  # ids of a tokenizer may skip
        self.special_ids = {name: first + i for i, name in enumerate(specials)}
        self.special_ids.update(aliases or {})
        self.n_ids = first + len(specials)
        self._tokens = [None] * (first - N_RESERVED)
        for token, i in self.vocabulary.items():
            self._tokens[i - N_RESERVED] = token
        if self.special_ids.get("eos") == first:
            self._tokens.append(self.END_TOKEN)

    def special(self, name):
        """The id of special ``name``; a ``KeyError`` naming it if this vocabulary has none."""
        if name not in self.special_ids:
            raise KeyError(f"this vocabulary has no {name!r} id (it has {sorted(self.special_ids)})")
        return self.special_ids[name]

    eos = property(lambda self: self.special("eos"), doc="End of sequence (generative models).")
    bos = property(lambda self: self.special("bos"), doc="Beginning of sequence (generative models).")
    end = property(lambda self: self.special("end"), doc="End marker after every seq2seq source.")

    @property
    def token_end(self):
        """One past the last token id: the special ids (and [MASK]) come after it."""
        return max(self.vocabulary.values(), default=N_RESERVED - 1) + 1

    @property
    def mask_id(self):
        """The [MASK] id of masked-token pretraining: the first id past the vocabulary's."""
        return self.n_ids

    def encode(self, tokens, bos=True, eos=True):
        """[<bos>] + ids of ``tokens`` (unknown ones as ``unknown_id``) + [<eos>]."""
        ids = [self.vocabulary.get(t, UNKNOWN_ID) for t in tokens]
        return ([self.bos] if bos else []) + ids + ([self.eos] if eos else [])

    def id_matrix(self, token_lists, width):
        """Padded (N, width) ids of token lists (see :func:`to_id_matrix`)."""
        return to_id_matrix(token_lists, self.vocabulary, width)

    # ------------------------------------------------- generative outputs

    @property
    def n_outputs(self):
        """Number of output columns: one per token id, and end-of-sequence."""
        return len(self._tokens)

    @staticmethod
    def output_index(ids):
        """Output column of each id (-1 for padding and unknown, which are never targets)."""
        ids = np.asarray(ids)
        return np.where(ids >= N_RESERVED, ids - N_RESERVED, -1)

    @staticmethod
    def id_of_column(columns):
        """Id of each output column (the inverse of :meth:`output_index`)."""
        return np.asarray(columns) + N_RESERVED

    def token(self, column):
        """The token of an output column (``"<eos>"`` for end-of-sequence)."""
        return self._tokens[column]

    @property
    def eos_column(self):
        """The output column of end-of-sequence."""
        return self.eos - N_RESERVED

    def is_end(self, column):
        """True for the end-of-sequence column."""
        return column == self.eos_column

    def learn_forms(self, texts, analyzer, token_lists=None):
        """Keep how ``texts`` (training texts, ``token_lists`` their tokens) wrote the runs of tokens
        ``"word"`` splits out of one chunk ("U.S.", "B-PER", "hello,"), for :meth:`join`; other
        analyzers keep none."""
        if analyzer == "word":
            self.forms = surface_forms(texts, analyzer, token_lists)
            self.forms_longest = max((run.count(" ") + 1 for run in self.forms), default=1)

    def join(self, tokens, analyzer):
        """Generated tokens -> text: no separator for characters; spaces otherwise, except within
        a run of tokens a training text held as one chunk (:meth:`learn_forms`), written as it."""
        if analyzer == "char":
            return "".join(map(str, tokens))
        return detokenize(tokens, self.forms, self.forms_longest)

    @property
    def output_tokens(self):
        """Labels of the output columns: the tokens in id order, then ``"<eos>"``."""
        return list(self._tokens)


class PairVocabulary:
    """The two sides of a sequence-to-sequence model: a source and a target :class:`Vocabulary`.

    The source has an "end" id, put after every source (so even an empty
    source has one real position); the target has "eos" and "bos".
    ``target_is_text``: targets were strings (predict joins tokens, see
    :meth:`Vocabulary.join`); ``target_is_scalar``: each target was one
    label (predict returns labels).
    """

    def __init__(self, source_tokens, target_tokens, target_is_text, target_is_scalar=False):
        self.source = Vocabulary(source_tokens, specials=("end",))
        self.target = Vocabulary(target_tokens, specials=("eos", "bos"))
        self.target_is_text = target_is_text
        self.target_is_scalar = target_is_scalar
