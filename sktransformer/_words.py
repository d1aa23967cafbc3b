"""Sentences given as words to a checkpoint's tokenizer: which sub-word token stands for each word.

The convention of Hugging Face's token classification (``tokenizer(words,
is_split_into_words=True)`` and its ``word_ids()``, with
``label_all_tokens=False`` as in transformers' ``run_ner.py``): each word is
tokenized on its own into one or more sub-word tokens, the tokenizer's
special tokens are added around the sentence, and a word is read at its
FIRST sub-word token: its label goes there in training, its outputs come
from there. Other sub-words and the special tokens carry no label.

A sentence of more than ``max_len`` tokens is read in overlapping windows,
cut as long documents are (:func:`~sktransformer._windows.split_document`:
half a window of overlap, the special tokens around each window), each
window a row of model input. Every word is read in exactly one window, the
one in which its first sub-word has the most context on both sides (the
earlier on a tie), in training and in prediction alike: no word is dropped.
"""

import numpy as np

from ._inputs import Inputs
from ._windows import split_document


class Words(Inputs):
    """Model inputs of sentences given as words: one row per window, one position per word.

    Parameters
    ----------
    X, mask : ndarray of shape (n_rows, width)
        Token ids (0 at padding) and the real positions of every row (a
        window of a sentence; a sentence that fits is one row).
    sentence : ndarray of shape (n_rows,)
        The sentence each row belongs to.
    word_row, word_col : ndarray of shape (n_sentences, max_words)
        Row and column of each word's first sub-word token; -1 past a
        sentence's words.
    tokens : list of list of str
        Each row's tokens, special tokens included (for attention plots).
    """

    def __init__(self, X, mask=None, sentence=None, word_row=None, word_col=None, tokens=None,
                 *args):  # (X, mask) alone: a chunk of rows, as the batching helpers build one
        super().__init__(X, mask, *args)
        self.sentence, self.word_row, self.word_col, self.tokens = sentence, word_row, word_col, tokens

    @property
    def n_sentences(self):
        return len(self.word_row)

    @property
    def words_mask(self):
        """(n_sentences, max_words) True at each sentence's words."""
        return self.word_col >= 0

    def at_words(self, values):
        """``values`` (n_rows, width, ...) at each word: (n_sentences, max_words, ...), 0 past them."""
        out = values[np.maximum(self.word_row, 0), np.maximum(self.word_col, 0)]
        return out * self.words_mask.reshape(self.words_mask.shape + (1,) * (out.ndim - 2))

    def first_windows(self):
        """(plain inputs of each sentence's first row, their tokens), for attention plots."""
        rows = np.flatnonzero(np.r_[True, self.sentence[1:] != self.sentence[:-1]])
        return Inputs(self.X, self.mask).take(rows), [self.tokens[r] for r in rows]


def first_subwords(word_ids, n_words, sample):
    """The position of each word's first sub-word token, from the tokenizer's ``word_ids``.

    Raises
    ------
    ValueError
        If a word has no token (it is empty, or only characters the tokenizer drops).
    """
    first = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in first:
            first[word] = position
    missing = [w for w in range(n_words) if w not in first]
    if missing:
        raise ValueError(f"Word {missing[0]} of sample {sample} of X gives the checkpoint's tokenizer "
                         "no token (it is empty, or only characters the tokenizer drops): remove "
                         "it or replace it, e.g. with the tokenizer's unknown token.")
    return [first[w] for w in range(n_words)]


def _owner(windows, sequence_ids, position):
    """(window, column) in which a content ``position`` has the most context on both sides."""
    best = None
    for k, (_, positions) in enumerate(windows):
        content = [p for p in positions if sequence_ids[p] is not None]
        if position in content:
            context = min(position - content[0], content[-1] - position)
            if best is None or context > best[0]:
                best = (context, k, positions.index(position))
    return best[1], best[2]


def word_inputs(encodings, word_counts, max_len):
    """:class:`Words` of tokenized sentences (``tokenizers`` encodings with ``word_ids``).

    ``word_counts`` is each sentence's number of words; a sentence longer
    than ``max_len`` tokens becomes several rows (see the module docstring).
    """
    n_sentences = len(encodings)
    word_row = np.full((n_sentences, max(word_counts, default=0)), -1, np.int64)
    word_col = np.full_like(word_row, -1)
    rows, tokens, sentence = [], [], []
    for s, (encoding, n_words) in enumerate(zip(encodings, word_counts, strict=True)):
        windows = split_document(encoding.ids, encoding.sequence_ids, max_len)
        for w, position in enumerate(first_subwords(encoding.word_ids, n_words, s)):
            k, column = _owner(windows, encoding.sequence_ids, position)
            word_row[s, w], word_col[s, w] = len(rows) + k, column
        rows += [ids for ids, _ in windows]
        tokens += [[encoding.tokens[p] for p in positions] for _, positions in windows]
        sentence += [s] * len(windows)
    width = max(1, max(len(ids) for ids in rows))
    X = np.zeros((len(rows), width), np.int32)
    mask = np.zeros((len(rows), width), bool)
    for r, ids in enumerate(rows):
        X[r, : len(ids)], mask[r, : len(ids)] = ids, True
    return Words(X, mask, np.asarray(sentence, np.int64), word_row, word_col, tokens)
