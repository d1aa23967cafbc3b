"""SequenceVectorizer: text or token lists -> a padded matrix of token ids.

This is the one place that knows what a token is. The estimators' own
handling of raw sequences goes through the same functions.
"""

import os
import re
from collections import Counter
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._atomic import atomic

PAD_ID = 0
UNKNOWN_ID = 1
N_RESERVED = 2  # ids 0 (padding) and 1 (unknown) are never tokens
UNKNOWN_TOKEN = "<unk>"
_WORD_PATTERN = re.compile(r"\w+|[^\w\s]")  # words, and each punctuation mark alone


def is_sequence_input(X):
    """True for raw sequences (a list of strings or of token lists), False for arrays.

    Strings, and lists whose elements are strings or have different lengths,
    are sequences; rectangular numeric lists and numpy arrays of numbers are
    arrays (they go through scikit-learn's usual validation).

    Examples
    --------
    >>> is_sequence_input(["a text", "another"]), is_sequence_input([[1.0, 2.0], [3.0, 4.0]])
    (True, False)
    """
    if isinstance(X, str):
        return False  # a lone string is an error the array path reports clearly
    if isinstance(X, np.ndarray) or hasattr(X, "iloc"):  # numpy, or a pandas Series of text
        return getattr(X, "ndim", 2) == 1 and (np.asarray(X).dtype.kind in "OUS")
    if not isinstance(X, list | tuple) or len(X) == 0:
        return False
    if any(isinstance(x, str) for x in X):
        return True
    if not all(isinstance(x, list | tuple | np.ndarray) for x in X):
        return False
    if len({len(x) for x in X}) > 1:
        return True
    return any(not isinstance(t, int | float | np.number) for x in X for t in x)


def _check_sequences(X):
    """Raise a clear error for inputs that are not a list of sequences."""
    if isinstance(X, str):
        raise TypeError(
            "Expected a list of sequences (strings or token lists), got a single string. "
            "Wrap it in a list: [text]."
        )
    if not hasattr(X, "__len__") or isinstance(X, dict):
        raise TypeError(f"Expected a list of sequences, got {type(X).__name__}.")
    if len(X) == 0:
        raise ValueError("Found 0 sequences: at least one sequence is required.")
    for i, x in enumerate(X):
        if not isinstance(x, str | list | tuple | np.ndarray):
            raise TypeError(
                f"Sequence {i} is a {type(x).__name__}; each sequence must be a string "
                "or a list of tokens."
            )


def _hashable_token(token, position):
    if token is None:
        raise ValueError(f"Sequence {position} contains None, which is not a valid token.")
    if isinstance(token, float) and token != token:
        raise ValueError(f"Sequence {position} contains NaN, which is not a valid token.")
    try:
        hash(token)
    except TypeError:
        raise TypeError(
            f"Sequence {position} contains an unhashable token of type {type(token).__name__}."
        ) from None
    return token.item() if isinstance(token, np.generic) else token


def analyze(x, analyzer="word", lowercase=True, position=0):
    """One sequence -> its list of tokens.

    A string is split by ``analyzer``: ``"word"`` (runs of letters and digits,
    and each punctuation mark alone), ``"char"`` (every character), or a
    callable ``str -> list``. A list of tokens is taken as it is.

    Examples
    --------
    >>> analyze("The cat, sat."), analyze("ab", analyzer="char"), analyze([3, 1])
    (['the', 'cat', ',', 'sat', '.'], ['a', 'b'], [3, 1])
    """
    if isinstance(x, str):
        if lowercase:
            x = x.lower()
        if callable(analyzer):
            tokens = list(analyzer(x))
        elif analyzer == "char":
            tokens = list(x)
        else:
            tokens = _WORD_PATTERN.findall(x)
    else:
        tokens = list(x)
    return [_hashable_token(t, position) for t in tokens]


def build_vocabulary(token_lists, min_count=1, max_features=None):
    """Token -> id, most frequent first (ties: first seen first), ids from N_RESERVED.

    Examples
    --------
    >>> build_vocabulary([["b", "a", "b"], ["c"]])
    {'b': 2, 'a': 3, 'c': 4}
    """
    counts = Counter(t for tokens in token_lists for t in tokens)
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


def read_token_lists(estimator, X, reset, analyzer="word", lowercase=True):
    """Token lists of ``X`` for ``estimator``: raw sequences analysed, or a 2-D array's rows as they are.

    A 2-D array goes through ``validate_data`` (so ``n_features_in_`` is
    recorded with ``reset=True`` and checked otherwise); an estimator
    fitted on raw sequences takes any list as raw sequences.
    """
    name = type(estimator).__name__
    if isinstance(X, str):
        _check_sequences(X)  # raises: a lone string is not a collection of sequences
    fitted_on_sequences = not reset and not hasattr(estimator, "n_features_in_")
    if is_sequence_input(X) or (isinstance(X, list | tuple) and (fitted_on_sequences or not X)):
        if reset:
            for attribute in ("n_features_in_", "feature_names_in_"):
                estimator.__dict__.pop(attribute, None)
        elif hasattr(estimator, "n_features_in_"):
            raise ValueError(
                f"{name} was fitted on a 2-D array of tokens; pass a 2-D array with the same columns."
            )
        _check_sequences(X)
        return [analyze(x, analyzer, lowercase, i) for i, x in enumerate(X)]
    X = validate_data(estimator, X, dtype=None, reset=reset, ensure_all_finite=True)
    if not reset and not hasattr(estimator, "n_features_in_"):
        raise ValueError(f"{name} was fitted on sequences; pass a list of strings or token lists.")
    return [[_hashable_token(t, i) for t in row] for i, row in enumerate(X.tolist())]


class SequenceVectorizer(TransformerMixin, BaseEstimator):
    """Turn text or token lists into a padded matrix of integer token ids.

    Id ``0`` is padding and id ``1`` stands for any token not in the
    vocabulary; known tokens get ids from 2 upwards, most frequent first. The
    output has a fixed width (``max_len``, or the longest training sequence),
    so it can feed any estimator that takes a fixed number of features, and
    an :class:`~sktransformer.TransformerClassifier` reads it as token ids.

    ``X`` is a list of strings, a list of token lists (any hashable tokens),
    or a 2-D array whose rows are token sequences (e.g. columns of category
    codes or events, one token per cell).

    Parameters
    ----------
    analyzer : {"word", "char", "bpe", "wordpiece"} or callable, default="word"
        How strings are split into tokens: ``"word"`` gives runs of letters
        and digits and each punctuation mark on its own; ``"char"`` gives
        every character (spaces included); ``"bpe"`` (byte-level, as GPT-2)
        and ``"wordpiece"`` (as BERT) learn a subword vocabulary of
        ``vocab_size`` from the strings given to ``fit``; a callable maps a
        string to a list of tokens. Sequences given as lists of tokens are used as they
        are.
    lowercase : bool, default=True
        Lowercase strings before splitting them.
    max_len : int or None, default=None
        Width of the output; longer sequences keep their first ``max_len``
        tokens. ``None`` uses the length of the longest training sequence.
    min_count : int, default=1
        Tokens seen fewer times than this in ``fit`` become unknown.
    max_features : int or None, default=None
        Keep only this many of the most frequent tokens.
    vocab_size : int or None, default=None
        With ``analyzer="bpe"`` or ``"wordpiece"``: the size of the subword
        vocabulary learned in ``fit`` (default 1000). Needs the optional
        ``tokenizers`` package.
    tokenizer : str, path or None, default=None
        A ``tokenizer.json`` file (or a checkpoint directory holding one):
        strings are split into that tokenizer's subwords (its own
        normalisation, so ``lowercase`` and ``analyzer`` are not used).
        Ids are still this vectorizer's (most frequent first).

    Attributes
    ----------
    vocabulary_ : dict
        Token -> id.
    width_ : int
        Number of columns of the output.
    tokenizer_ : sktransformer.pretrained.Tokenizer
        With a subword analyzer or ``tokenizer``: the tokenizer that splits
        strings.

    Examples
    --------
    >>> from sktransformer import SequenceVectorizer
    >>> vec = SequenceVectorizer(analyzer="char").fit(["abba", "cab"])
    >>> vec.transform(["abc", "ad"])
    array([[2, 3, 4, 0],
           [2, 1, 0, 0]], dtype=int32)
    >>> vec.inverse_transform([[2, 3, 4, 0]])
    [['a', 'b', 'c']]
    """

    _parameter_constraints: dict = {
        "analyzer": [StrOptions({"word", "char", "bpe", "wordpiece"}), callable],
        "lowercase": ["boolean"],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "min_count": [Interval(Integral, 1, None, closed="left")],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "vocab_size": [Interval(Integral, 1, None, closed="left"), None],
        "tokenizer": [str, os.PathLike, None],
    }

    def __init__(self, analyzer="word", lowercase=True, max_len=None, min_count=1,
                 max_features=None, vocab_size=None, tokenizer=None):
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.max_len = max_len
        self.min_count = min_count
        self.max_features = max_features
        self.vocab_size = vocab_size
        self.tokenizer = tokenizer

    def _analyze_all(self, X, reset=False):
        if reset:
            self._fit_tokenizer(X)
        if getattr(self, "tokenizer_", None) is not None:  # the tokenizer normalises on its own
            return read_token_lists(self, X, reset, self.tokenizer_, lowercase=False)
        return read_token_lists(self, X, reset, self.analyzer, self.lowercase)

    def _fit_tokenizer(self, X):
        """Read ``tokenizer`` or learn a subword vocabulary on ``X`` (sets ``tokenizer_``), if asked."""
        subword = self.analyzer in ("bpe", "wordpiece")
        if self.vocab_size is not None and not subword:
            raise ValueError(f'vocab_size is the size of a learned subword vocabulary: it needs '
                             f'analyzer="bpe" or "wordpiece", not {self.analyzer!r}.')
        if self.tokenizer is None and not subword:
            self.__dict__.pop("tokenizer_", None)
            return
        from .pretrained import Tokenizer

        if self.tokenizer is not None:
            self.tokenizer_ = Tokenizer.from_file(self.tokenizer)
            return
        _check_sequences(X)
        if not all(isinstance(x, str) for x in X):
            raise TypeError(f'analyzer="{self.analyzer}" learns subwords of strings; X has token lists.')
        self.tokenizer_ = Tokenizer.train(X, self.analyzer, self.vocab_size or 1000, self.lowercase)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y=None):
        """Learn the vocabulary and the output width from sequences ``X``.

        Parameters
        ----------
        X : list of str or list of list of tokens
        y : ignored

        Returns
        -------
        self : SequenceVectorizer
        """
        self._fit(self._analyze_all(X, reset=True))
        return self

    def _fit(self, token_lists):
        vocabulary = build_vocabulary(token_lists, self.min_count, self.max_features)
        longest = max((len(t) for t in token_lists), default=1)  # a 2-D array: its width
        self.width_ = self.max_len if self.max_len is not None else max(longest, 1)
        self.vocabulary_ = vocabulary
        return token_lists

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit_transform(self, X, y=None):
        """Fit, then return the id matrix of ``X`` (analysing each sequence once)."""
        token_lists = self._fit(self._analyze_all(X, reset=True))
        return to_id_matrix(token_lists, self.vocabulary_, self.width_)

    def transform(self, X):
        """Sequences -> (n_samples, width_) int32 ids, padded with 0.

        Parameters
        ----------
        X : list of str or list of list of tokens

        Returns
        -------
        ids : ndarray of shape (n_samples, width_), dtype int32
        """
        check_is_fitted(self)
        return to_id_matrix(self._analyze_all(X), self.vocabulary_, self.width_)

    def inverse_transform(self, X):
        """Id matrix -> list of token lists (padding dropped, unknown ids as ``"<unk>"``)."""
        check_is_fitted(self)
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype.kind not in "iu":
            raise ValueError("inverse_transform expects a 2-D array of integer token ids.")
        id_to_token = {i: t for t, i in self.vocabulary_.items()}
        return [[id_to_token.get(int(i), UNKNOWN_TOKEN) for i in row if i != PAD_ID] for row in X]

    @property
    def n_vocab_(self):
        """Number of ids the output can contain (vocabulary plus padding and unknown)."""
        check_is_fitted(self)
        return len(self.vocabulary_) + N_RESERVED

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``position_0``, ``position_1``, ..."""
        check_is_fitted(self)
        return np.asarray([f"position_{i}" for i in range(self.width_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags


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
        return output_index == self.n_outputs - 1

    @staticmethod
    def join(tokens, analyzer):
        """Generated tokens -> text: no separator for characters, spaces otherwise."""
        return ("" if analyzer == "char" else " ").join(map(str, tokens))

    @property
    def output_tokens(self):
        """Column labels of the model's outputs: the tokens in id order, then ``"<eos>"``."""
        return list(self._tokens)
