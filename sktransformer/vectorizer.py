"""SequenceVectorizer: text or token lists -> a padded matrix of token ids.

The public face of the package's text handling: :mod:`._text` says what a
token is, :mod:`._vocabulary` maps tokens to ids, and :mod:`._sequences`
reads raw sequences and token tables; the estimators use the same functions.
"""

import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._atomic import atomic
from ._sequences import _check_sequences, read_token_lists, refuse_foreign_tokens
from ._text import ACCENT_STRIPPERS, NORMALIZATIONS
from ._vocabulary import N_RESERVED, PAD_ID, UNKNOWN_TOKEN, build_vocabulary, to_id_matrix


def _with_unseen_pieces(vocabulary, pieces, max_features):
    """``vocabulary`` and then the subword ``pieces`` not seen in fit (in the tokenizer's order).

    A word never seen in fit splits into pieces; they must have ids of their
    own, or every new word would read as unknown.
    """
    unseen = [p for p, _ in sorted(pieces.items(), key=lambda item: item[1]) if p not in vocabulary]
    if max_features is not None:
        unseen = unseen[: max(0, max_features - len(vocabulary))]
    first = len(vocabulary) + N_RESERVED
    return {**vocabulary, **{piece: first + i for i, piece in enumerate(unseen)}}


class SequenceVectorizer(TransformerMixin, BaseEstimator):
    """Turn text or token lists into a padded matrix of integer token ids.

    Id ``0`` is padding and id ``1`` stands for any token not in the
    vocabulary; known tokens get ids from 2 upwards, most frequent first. The
    output has a fixed width (``max_len``, or the longest training sequence),
    so it can feed any estimator that takes a fixed number of features, and
    an :class:`~sktransformer.TransformerClassifier` reads it as token ids.

    ``X`` is a list of strings, a list of token lists (any hashable tokens),
    a 2-D array whose rows are token sequences (e.g. columns of category
    codes or events, one token per cell), or a 2-D array with one column of
    texts (a one-column DataFrame: each cell is analysed into a sequence).
    Several columns of texts (cells of several words) are refused: give each
    text column its own vectorizer.

    Text is prepared as :class:`~sklearn.feature_extraction.text.CountVectorizer`
    prepares it: lowercased, normalised to one Unicode form (so "café" typed
    with a precomposed or a combining accent is one token), accents stripped
    if asked, then split. Tokens never start with a combining mark, zero-width
    joiner, variation selector or emoji modifier: those stay with the
    character before them.

    Parameters
    ----------
    analyzer : {"word", "char", "bpe", "wordpiece"} or callable, default="word"
        How strings are split into tokens: ``"word"`` gives runs of letters
        and digits (with their combining marks) and each other symbol
        (punctuation, an emoji with its modifiers) on its own; ``"char"``
        gives every user-perceived character, spaces included (extended
        grapheme clusters, see :func:`graphemes`: an accented letter, a flag
        or a skin-toned emoji is one token); ``"bpe"`` (byte-level, as GPT-2) and
        ``"wordpiece"`` (as BERT) learn a subword vocabulary of ``vocab_size``
        from the strings given to ``fit``; a callable maps the
        preprocessed string to a list of tokens. Sequences given as lists
        of tokens are used as they are (string tokens are normalised).
    lowercase : bool, default=True
        Lowercase strings before splitting them.
    max_len : int or None, default=None
        Width of the output; longer sequences keep their first ``max_len``
        tokens. ``None`` uses the length of the longest training sequence;
        then ``transform`` warns when it has to cut longer sequences, since
        their tokens are lost (with ``max_len`` set, cutting is what was
        asked for and is silent).
    min_count : int, default=1
        Tokens seen fewer times than this in ``fit`` become unknown.
    max_features : int or None, default=None
        Keep only this many of the most frequent tokens.

        With a subword tokenizer (``analyzer="bpe"``/``"wordpiece"`` or
        ``tokenizer=``) every piece of it gets an id, those seen in ``fit``
        first (most frequent first), then the others in the tokenizer's
        order, so a word never seen in ``fit`` reads as its known pieces;
        ``min_count > 1`` keeps only pieces seen that often, and
        ``max_features`` counts the unseen pieces too.
    vocab_size : int or None, default=None
        With ``analyzer="bpe"`` or ``"wordpiece"``: the size of the subword
        vocabulary learned in ``fit`` (default 1000). Needs the optional
        ``tokenizers`` package.
    tokenizer : str, path or None, default=None
        A ``tokenizer.json`` file (or a checkpoint directory holding one):
        strings are split into that tokenizer's subwords (its own
        normalisation, so ``lowercase`` and ``analyzer`` are not used).
        Ids are still this vectorizer's (most frequent first).
    normalize : {"NFC", "NFKC"} or None, default="NFC"
        Unicode normalisation form applied to strings before they are split.
        ``"NFKC"`` also folds compatibility characters (ligatures, full-width
        letters, superscripts) into their plain forms; ``None`` leaves text
        as it is.
    strip_accents : {"ascii", "unicode"} or None, default=None
        Remove accents, as in CountVectorizer: ``"unicode"`` drops combining
        marks from every script; ``"ascii"`` keeps only characters with an
        ASCII equivalent (emoji and non-Latin scripts vanish).

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
        "normalize": [StrOptions(set(NORMALIZATIONS)), None],
        "strip_accents": [StrOptions(set(ACCENT_STRIPPERS)), None],
    }

    def __init__(self, analyzer="word", lowercase=True, max_len=None, min_count=1,
                 max_features=None, vocab_size=None, tokenizer=None, normalize="NFC",
                 strip_accents=None):
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.max_len = max_len
        self.min_count = min_count
        self.max_features = max_features
        self.vocab_size = vocab_size
        self.tokenizer = tokenizer
        self.normalize = normalize
        self.strip_accents = strip_accents

    def _analyze_all(self, X, reset=False):
        if reset:
            self._fit_tokenizer(X)
        if getattr(self, "tokenizer_", None) is not None:  # the tokenizer normalises on its own
            token_lists = read_token_lists(self, X, reset, self.tokenizer_, lowercase=False)
        else:
            token_lists = read_token_lists(self, X, reset, self.analyzer, self.lowercase,
                                           normalize=self.normalize, strip_accents=self.strip_accents)
        if not reset:
            refuse_foreign_tokens(token_lists, self.vocabulary_, "X")
        return token_lists

    def _fit_tokenizer(self, X):
        """Read ``tokenizer`` or learn a subword vocabulary on ``X`` (sets ``tokenizer_``), if asked."""
        subword = self.analyzer in ("bpe", "wordpiece")
        if self.vocab_size is not None and not subword:
            raise ValueError(f'vocab_size is the size of a learned subword vocabulary: it needs '
                             f'analyzer="bpe" or "wordpiece", not {self.analyzer!r}.')
        if self.tokenizer is None and not subword:
            self.__dict__.pop("tokenizer_", None)
            return
        from ._tokenizer import Tokenizer

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
        tokenizer = getattr(self, "tokenizer_", None)
        if tokenizer is not None and self.min_count == 1:
            vocabulary = _with_unseen_pieces(vocabulary, tokenizer.vocabulary, self.max_features)
        longest = max((len(t) for t in token_lists), default=1)  # a 2-D array: its width
        self.width_ = self.max_len if self.max_len is not None else max(longest, 1)
        self.vocabulary_ = vocabulary
        return token_lists

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit_transform(self, X, y=None):
        """Fit, then return the id matrix of ``X`` (analysing each sequence once).

        Parameters
        ----------
        X : list of str or list of list of tokens, or 2-D array
        y : ignored

        Returns
        -------
        ids : ndarray of shape (n_samples, ``width_``), dtype int32
        """
        token_lists = self._fit(self._analyze_all(X, reset=True))
        return to_id_matrix(token_lists, self.vocabulary_, self.width_)

    def transform(self, X):
        """Sequences -> (n_samples, ``width_``) int32 ids, padded with 0.

        Parameters
        ----------
        X : list of str or list of list of tokens

        Returns
        -------
        ids : ndarray of shape (n_samples, ``width_``), dtype int32
        """
        check_is_fitted(self)
        token_lists = self._analyze_all(X)
        if self.max_len is None:
            cut = sum(len(tokens) > self.width_ for tokens in token_lists)
            if cut:
                warnings.warn(
                    f"{cut} of {len(token_lists)} sequences in X are longer than the longest "
                    f"training sequence ({self.width_} tokens) and were cut to {self.width_} "
                    "tokens. Set max_len to choose the width.",
                    UserWarning, stacklevel=2,
                )
        return to_id_matrix(token_lists, self.vocabulary_, self.width_)

    def inverse_transform(self, X):
        """Id matrix -> list of token lists (padding dropped, unknown ids as ``"<unk>"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, width) of int
            Token ids, as returned by :meth:`transform`.

        Returns
        -------
        token_lists : list of list
        """
        check_is_fitted(self)
        try:
            ids = np.asarray(X)
        except ValueError:  # ragged nested lists
            ids = np.asarray(X, dtype=object)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            kind = "ragged lists" if ids.dtype == object and ids.ndim == 1 else (
                f"a {ids.ndim}-D array of dtype {ids.dtype}")
            raise ValueError(
                f"inverse_transform expects X to be a 2-D array of integer token ids, got {kind}."
            )
        invalid = (ids < 0) | (ids >= self.n_vocab_)
        if invalid.any():
            raise ValueError(
                f"X contains ids this vectorizer never produces: {np.unique(ids[invalid])[:10].tolist()} "
                f"(its ids run from 0 to {self.n_vocab_ - 1})."
            )
        id_to_token = {i: t for t, i in self.vocabulary_.items()}
        return [[id_to_token.get(i, UNKNOWN_TOKEN) for i in row if i != PAD_ID]
                for row in ids.tolist()]

    @property
    def n_vocab_(self):
        """Number of ids the output can contain (vocabulary plus padding and unknown)."""
        check_is_fitted(self)
        return len(self.vocabulary_) + N_RESERVED

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``position_0``, ``position_1``, ...

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str, shape (``width_``,)
        """
        check_is_fitted(self)
        return np.asarray([f"position_{i}" for i in range(self.width_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags
