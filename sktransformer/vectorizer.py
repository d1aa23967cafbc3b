"""SequenceVectorizer: text or token lists -> a padded matrix of token ids.

This is the one place that knows what a token is. The estimators' own
handling of raw sequences goes through the same functions.
"""

import os
import re
import unicodedata
import warnings
from collections import Counter
from functools import cache
from numbers import Integral

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._atomic import atomic

PAD_ID = 0
UNKNOWN_ID = 1
N_RESERVED = 2  # ids 0 (padding) and 1 (unknown) are never tokens
UNKNOWN_TOKEN = "<unk>"
NORMALIZATIONS = ("NFC", "NFKC")
ACCENT_STRIPPERS = ("ascii", "unicode")

# Code points that never start a token or a character of their own: they extend the one before
# them (Unicode's Grapheme_Extend and SpacingMark, roughly). Combining marks (Mn, Mc, Me) are
# read from ``unicodedata`` on first use; these are the ones outside those categories.
_EXTENDERS = [
    0x200C, 0x200D,  # zero-width non-joiner and joiner
    *range(0xFE00, 0xFE10),  # variation selectors (text / emoji presentation)
    *range(0x1F3FB, 0x1F400),  # emoji skin-tone modifiers
    *range(0xE0020, 0xE0080),  # tag characters (subdivision flags)
]
_REGIONAL_INDICATORS = list(range(0x1F1E6, 0x1F200))  # two of them make one flag
# Hangul jamo: leading consonants L, vowels V, trailing consonants T, syllables LV and LVT.
_HANGUL = ("[\u1100-\u115f\ua960-\ua97c]*"
           "(?:[\u1160-\u11a7\ud7b0-\ud7c6]+|{LV}[\u1160-\u11a7\ud7b0-\ud7c6]*|[\uac00-\ud7a3])"
           "[\u11a8-\u11ff\ud7cb-\ud7fb]*"
           "|[\u1100-\u115f\ua960-\ua97c]+|[\u11a8-\u11ff\ud7cb-\ud7fb]+")
_JAMO = [*range(0x1100, 0x1200), *range(0xA960, 0xA980), *range(0xD7B0, 0xD800)]


def _char_class(code_points):
    """Code points -> a regex matching any one of them.

    Characters beyond U+FFFF go in a class of their own: :mod:`re` compiles a
    class within the first plane to a fast bitmap, but tests a class that
    reaches beyond it range by range.
    """
    def ranges(cps):
        parts, start, previous = [], None, None
        for cp in [*cps, None]:
            if start is not None and cp == previous + 1:
                previous = cp
                continue
            if start is not None:
                parts.append(f"\\U{start:08x}" + (f"-\\U{previous:08x}" if previous > start else ""))
            start = previous = cp
        return "".join(parts)

    code_points = sorted(set(code_points))
    classes = [f"[{ranges(part)}]" for part in ([cp for cp in code_points if cp <= 0xFFFF],
                                              [cp for cp in code_points if cp > 0xFFFF]) if part]
    return f"(?:{'|'.join(classes)})"


@cache
def _patterns():
    """(word pattern, grapheme pattern, joiners), built once from this Python's Unicode database.

    ``joiners`` finds the characters of the first plane that can make a
    cluster of more than one code point; text without them (and without
    characters beyond U+FFFF) is one character per code point. Marks
    live in planes 0, 1 and 14 only, so the scan skips the ideograph planes.
    """
    marks, pictographs = [], []
    for cp in [*range(0x20000), *range(0xE0000, 0xE0200)]:
        category = unicodedata.category(chr(cp))
        if category in ("Mn", "Mc", "Me"):
            marks.append(cp)
        elif category == "So":
            pictographs.append(cp)
    extend = _char_class(marks + _EXTENDERS)
    flag = f"{_char_class(_REGIONAL_INDICATORS)}{{2}}"
    # after a zero-width joiner, a pictograph joins the cluster (emoji ZWJ sequences)
    tail = f"(?:\u200d{_char_class(pictographs)}|{extend})*"
    hangul = _HANGUL.format(LV=_char_class(range(0xAC00, 0xD7A4, 28)))
    # a word: a letter, digit or underscore, then more of them and their marks;
    # otherwise one symbol (a flag, or a punctuation mark or emoji with its modifiers)
    word = re.compile(f"\\w(?:\\w|{extend})*|{flag}|(?!\\s|{extend})\\W{tail}")
    grapheme = re.compile(f"\r\n|{flag}{tail}|(?:{hangul}){tail}|.{tail}", re.DOTALL)
    joiners = re.compile(_char_class(  # within the first plane: text beyond it takes the long way
        [cp for cp in [ord("\r"), *marks, *_EXTENDERS, *_JAMO] if cp <= 0xFFFF])[3:-1])
    return word, grapheme, joiners


def graphemes(text):
    """User-perceived characters of ``text`` (extended grapheme clusters, approximately).

    Implemented with :mod:`re` and :mod:`unicodedata` only, so a vocabulary
    does not depend on which optional packages are installed: a base
    character keeps its combining marks, variation selectors, skin-tone
    modifiers and zero-width-joined pictographs; two regional indicators
    make one flag; Hangul jamo make one syllable; CR LF is one character.
    Indic conjuncts (Unicode 15.1's rule GB9c) and prepended marks are not
    joined. The `regex` module's ``\\X`` gives the full rules.

    Examples
    --------
    >>> [len(g) for g in graphemes("e\\u0301!\\U0001f44d\\U0001f3fd\\U0001f1eb\\U0001f1f7")]
    [2, 1, 2, 2]
    """
    _, grapheme, joiners = _patterns()
    if joiners.search(text) or (text and max(text) > "\uffff"):
        return grapheme.findall(text)
    return list(text)


def words(text):
    """Words (letters, digits and their marks) and each other symbol alone, of ``text``.

    A combining mark, zero-width joiner, variation selector or skin-tone
    modifier stays with the character before it; one with nothing before
    it (at the start, or after a space) is dropped.

    Examples
    --------
    >>> [len(w) for w in words("Cafe\\u0301 nai\\u0308ve, \\U0001f469\\u200d\\U0001f4bb!")]
    [5, 6, 1, 3, 1]
    """
    return _patterns()[0].findall(text)


def preprocess(text, lowercase=True, normalize="NFC", strip_accents=None):
    """Lowercase, normalise (``"NFC"``, ``"NFKC"`` or None) and strip accents from one string.

    ``strip_accents="unicode"`` removes combining marks after a compatibility
    decomposition (as :class:`~sklearn.feature_extraction.text.CountVectorizer`
    does), then recomposes what is left, so Hangul syllables stay whole;
    ``"ascii"`` keeps only what has an ASCII equivalent (emoji and most
    non-Latin scripts disappear).

    Examples
    --------
    >>> preprocess("Cafe\\u0301") == "caf\\u00e9", preprocess("Café", strip_accents="unicode")
    (True, 'cafe')
    """
    if lowercase:
        text = text.lower()
    if normalize is not None:
        text = unicodedata.normalize(normalize, text)
    if strip_accents == "unicode":
        decomposed = unicodedata.normalize("NFKD", text)
        text = unicodedata.normalize(
            "NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
    elif strip_accents == "ascii":
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text


def is_sequence_input(X):
    """True for raw sequences (a list of strings or of token lists), False for arrays.

    One reading for Python lists, whatever their lengths: a list of strings
    or of token lists (integers or any hashable tokens) is a list of
    sequences, in which ``0`` is a token like any other. Lists of floats are
    numeric (a rectangular table, or ragged series), never tokens. numpy
    arrays and DataFrames of numbers are arrays (an integer array is an id
    matrix with ``0`` = padding).

    Examples
    --------
    >>> is_sequence_input(["a text", "another"]), is_sequence_input([[1.0, 2.0], [3.0, 4.0]])
    (True, False)
    >>> is_sequence_input([[0, 1], [2, 0]]), is_sequence_input(np.array([[0, 1], [2, 0]]))
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
    for x in X:
        if isinstance(x, np.ndarray):
            if x.ndim != 1 or x.dtype.kind in "fcb":
                return False
        elif any(isinstance(t, float | bool | np.floating | np.bool_) or (
                isinstance(t, list | tuple | np.ndarray) and _is_numeric_list(t)) for t in x):
            return False
    return True


def _is_numeric_list(t):
    try:
        return np.asarray(t).dtype.kind in "fcb"
    except ValueError:  # ragged nesting
        return False


def _check_sequences(X, argument="X"):
    """Raise a clear error, naming ``argument``, for inputs that are not a list of sequences."""
    if isinstance(X, str):
        raise TypeError(
            f"Expected {argument} to be a list of sequences (strings or token lists), got a "
            "single string. Wrap it in a list: [text]."
        )
    if issparse(X):  # whose len() raises
        raise TypeError(f"Expected {argument} to be a list of sequences, got a sparse matrix.")
    if not hasattr(X, "__len__") or isinstance(X, dict):
        raise TypeError(f"Expected {argument} to be a list of sequences, got {type(X).__name__}.")
    if isinstance(X, set | frozenset):  # outputs would come in an arbitrary order
        raise TypeError(f"Expected {argument} to be a list of sequences, got a {type(X).__name__}, "
                        "which has no order: pass a list.")
    if len(X) == 0:
        raise ValueError(f"Found 0 sequences in {argument}: at least one sequence is required.")
    for i, x in enumerate(X):
        if x is None or (isinstance(x, float) and x != x):
            raise ValueError(f"{argument} has a missing value (None or NaN) at position {i}; fill "
                             'missing texts first, e.g. with "".')
        if not isinstance(x, str | list | tuple | np.ndarray):
            raise TypeError(
                f"Sequence {i} of {argument} is a {type(x).__name__}; each sequence must be a "
                "string or a list of tokens."
            )


def _warn_fractional(X, argument):
    """Warn when an array of fractional floats is about to be read as tokens (each value one token)."""
    if isinstance(X, np.ndarray) and X.dtype.kind == "f" and X.size and not np.array_equal(
            X, np.round(X)):
        warnings.warn(
            f"{argument} holds fractional floats: the generative estimators read every cell as a "
            "token, so each distinct value becomes a vocabulary entry. Pass token ids (integers), "
            "strings or token lists; numeric series belong to the classifier, regressor or "
            "encoder.", UserWarning, stacklevel=4)


def warn_unknown_tokens(token_lists, vocabulary, argument="X"):
    """Warn when more than 5% of the tokens of more training data are not in ``vocabulary``."""
    total = sum(len(t) for t in token_lists)
    unknown = sum(1 for tokens in token_lists for t in tokens if t not in vocabulary)
    if total and unknown > 0.05 * total:
        warnings.warn(
            f"{unknown} of {total} tokens ({unknown / total:.0%}) of {argument} are not in the "
            "vocabulary learned on the first training data and are read as one unknown token. Fix "
            "the vocabulary up front: fit the first call on data with every token, or refit.",
            UserWarning, stacklevel=5)


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


def analyze(x, analyzer="word", lowercase=True, position=0, *, normalize="NFC",
            strip_accents=None):
    """One sequence -> its list of tokens.

    A string is first preprocessed (:func:`preprocess`: lowercased if
    ``lowercase``, normalised to Unicode form ``normalize``, accents stripped
    if ``strip_accents``), then split by ``analyzer``: ``"word"`` (:func:`words`:
    runs of letters and digits with their combining marks, and each other
    symbol alone), ``"char"`` (:func:`graphemes`: user-perceived characters,
    so an accented letter or an emoji with its modifiers is one token), or a
    callable ``str -> list`` (which receives the preprocessed string).

    A list of tokens is taken as it is, except that string tokens are
    normalised to ``normalize`` too (so "café" typed either way is one
    token); they are not lowercased.

    The defaults are the estimators' too: raw text passed to an estimator
    is NFC-normalised and lowercased.

    Examples
    --------
    >>> analyze("The cat, sat."), analyze("ab", analyzer="char"), analyze([3, 1])
    (['the', 'cat', ',', 'sat', '.'], ['a', 'b'], [3, 1])
    >>> analyze("Cafe\\u0301") == analyze("Caf\\u00e9") == ["caf\\u00e9"]
    True
    """
    if isinstance(x, str):
        x = preprocess(x, lowercase, normalize, strip_accents)
        if callable(analyzer):
            tokens = list(analyzer(x))
        elif analyzer == "char":
            tokens = graphemes(x)
        else:
            tokens = words(x)
        return [_hashable_token(t, position) for t in tokens]
    tokens = [_hashable_token(t, position) for t in x]
    if normalize is None:
        return tokens
    return [unicodedata.normalize(normalize, t) if isinstance(t, str) else t for t in tokens]


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


def read_token_lists(estimator, X, reset, analyzer="word", lowercase=True, *, normalize="NFC",
                     strip_accents=None):
    """Token lists of ``X`` for ``estimator``: raw sequences analysed, or a 2-D array's rows.

    A 2-D array goes through ``validate_data`` (so ``n_features_in_`` is
    recorded with ``reset=True`` and checked otherwise); an estimator
    fitted on raw sequences takes any list as raw sequences.

    A 2-D array with one column of strings (a one-column DataFrame, as
    ``ColumnTransformer`` passes for ``["review"]``) is a column of texts:
    each cell is analysed into one sequence. With several columns, each cell
    is one token (codes, events); a column whose cells hold several words is
    refused, since concatenating texts would need a choice of separator that
    is the user's to make.
    """
    options = {"normalize": normalize, "strip_accents": strip_accents}
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
                f"{name} was fitted on a 2-D array with {estimator.n_features_in_} column(s); "
                "pass X as a 2-D array with the same columns."
            )
        _check_sequences(X)
        return [analyze(x, analyzer, lowercase, i, **options) for i, x in enumerate(X)]
    if isinstance(X, list | tuple):  # numpy would turn a NaN among strings into the token "nan"
        for i, row in enumerate(X):
            for token in row if isinstance(row, list | tuple) else ():
                _hashable_token(token, i)
    X = validate_data(estimator, X, dtype=None, reset=reset, ensure_all_finite=True)
    if not reset and not hasattr(estimator, "n_features_in_"):
        raise ValueError(f"{name} was fitted on sequences; pass X as a list of strings or token lists.")
    if X.dtype.kind == "O":
        refuse_mixed_columns(estimator, X, getattr(estimator, "feature_names_in_", None))
    rows = X.tolist()
    if X.shape[1] == 1 and any(isinstance(row[0], str) for row in rows):
        return [analyze(row[0] if isinstance(row[0], str) else row, analyzer, lowercase, i, **options)
                for i, row in enumerate(rows)]
    _refuse_text_columns(estimator, rows)
    if X.dtype.kind in "iu":  # an id matrix (a SequenceVectorizer's output): 0 is padding
        rows = [[t for t in row if t != PAD_ID] for row in rows]
    return [analyze(row, analyzer, lowercase, i, **options) for i, row in enumerate(rows)]


def refuse_mixed_columns(estimator, values, names=None):
    """Raise if a 2-D object table has columns of strings beside columns of numbers.

    Read together, the numbers would become tokens (``"3.5"``) and lose
    their magnitude; the message names both groups of columns and the
    supported ways to combine text with numbers.
    """
    n_columns = values.shape[1] if values.ndim == 2 else 0
    text = [j for j in range(n_columns) if any(isinstance(v, str) for v in values[:, j])]
    if not text or len(text) == n_columns:
        return
    label = [str(names[j]) if names is not None else f"column {j}" for j in range(n_columns)]
    numeric = [label[j] for j in range(n_columns) if j not in text]
    name = type(estimator).__name__
    raise ValueError(
        f"{name} cannot read text columns ({', '.join(label[j] for j in text)}) together with "
        f"numeric columns ({', '.join(numeric)}): the numbers would become tokens and lose their "
        "magnitude. Combine them as features instead: make_column_transformer((make_pipeline("
        f'SequenceVectorizer(), TransformerEncoder()), "{label[text[0]]}"), (StandardScaler(), '
        f"{numeric[:3]})) in front of any estimator, or pass the numeric columns alone to {name}.")


def _refuse_text_columns(estimator, rows):
    """Raise if a multi-column 2-D ``X`` has a column of texts (cells of several words)."""
    n_columns = len(rows[0]) if rows else 0
    text = [j for j in range(n_columns)
            if any(isinstance(row[j], str) and len(row[j].split()) > 1 for row in rows)]
    if not text:
        return
    names = getattr(estimator, "feature_names_in_", None)
    shown = [str(names[j]) if names is not None else f"column {j}" for j in text]
    example = shown[0] if names is not None else "review"
    name = type(estimator).__name__
    raise ValueError(
        f"{name} reads one column of texts, but X has {n_columns} columns and "
        f"{', '.join(shown)} hold(s) texts of several words. Give each text column its own "
        f"{name}: in a ColumnTransformer, select one column, e.g. "
        f'make_column_transformer(({name}(), "{example}")) (a scalar name passes the column '
        f'as 1-D text; ["{example}"] works too). Several columns are read as one token per cell.'
    )


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
            return read_token_lists(self, X, reset, self.tokenizer_, lowercase=False)
        return read_token_lists(self, X, reset, self.analyzer, self.lowercase,
                                normalize=self.normalize, strip_accents=self.strip_accents)

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
        ids : ndarray of shape (n_samples, width_), dtype int32
        """
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
        names : ndarray of str, shape (width_,)
        """
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
