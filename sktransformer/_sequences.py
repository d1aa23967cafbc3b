"""Raw sequences: recognising them among other inputs, checking them, and reading token tables.

A Python list of strings or of token lists is a list of sequences; a 2-D
array is read row by row as tokens by the generative estimators. Errors
name the argument and say what to pass instead.
"""

import warnings
from collections.abc import ItemsView, Iterable, KeysView, ValuesView

import numpy as np
from scipy.sparse import issparse
from sklearn.utils.validation import validate_data

from ._text import _hashable_token, analyze
from ._vocabulary import PAD_ID


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


_NUMBER_TOKENS = (float, bool, np.floating, np.bool_)  # never tokens


def refuse_number_tokens(X, table_ok=True, argument="X"):
    """Raise for token lists holding a float or boolean: beside string tokens, or in ragged lists.

    Floats and booleans are never tokens (lists of them are numbers: the rows
    of a table, or series), so such lists have no reading; the error names the
    sequence and the token. Any other ``X`` passes, to its reader's own checks;
    equal-length lists of numbers (a table) too, unless not ``table_ok`` (a
    model fitted on sequences reads every list as token lists). ``argument``:
    the name in the message (``"prompt"`` for one sequence, named alone).
    """
    if not isinstance(X, list | tuple) or not X or not all(
            isinstance(x, list | tuple) or (isinstance(x, np.ndarray) and x.ndim == 1) for x in X):
        return
    if table_ok and len({len(x) for x in X}) == 1 and not any(
            isinstance(t, str) for x in X for t in x):
        return  # a table of numbers
    for i, x in enumerate(X):
        if isinstance(x, np.ndarray) and x.dtype.kind in "iuSU":  # typed: no float or bool inside
            continue
        if not any(issubclass(kind, _NUMBER_TOKENS) for kind in set(map(type, x))):  # C-speed scan
            continue
        for token in x:
            if isinstance(token, _NUMBER_TOKENS):
                where = argument if argument == "prompt" else f"Sequence {i} of {argument}"
                raise TypeError(
                    f"{where} holds the {type(token).__name__} token {token}: floats and "
                    "booleans are never tokens (lists of them are numbers: the rows of a table, or "
                    "series). Pass tokens as strings or integers.")


def refuse_foreign_tokens(token_lists, vocabulary, argument, *, text=False):
    """Refuse tokens of the other kind than the model's vocabulary: text for ids, ids for text.

    A model fitted on token ids (no string in its vocabulary) cannot know a
    single token of a text (``text``, or string tokens), and a continuation
    of a string prompt would be ids joined into an ambiguous string. A model
    fitted on text (or a checkpoint, whose tokens are strings) given
    sequences of integers only, none of them one of its tokens and none of
    its tokens an integer (a tokenizer's ``input_ids``, say), would read
    every one as the unknown token. A vocabulary that mixes strings and
    integers (event names and codes) takes unseen integers as unknown tokens.
    The vocabulary is scanned only where the input is suspect, so a call on
    matching tokens costs a pass over the input alone.

    Raises
    ------
    TypeError
        Naming ``argument``, with tokens of the vocabulary to pass instead.
    """
    kinds = [set(map(type, tokens)) for tokens in token_lists]  # a C-speed pass over the tokens
    if (text or any(issubclass(k, str) for found in kinds for k in found)) and not any(
            isinstance(t, str) for t in vocabulary):  # the scan stops at a text vocabulary's first
        raise TypeError(
            f"{argument} holds text, but the model was fitted on token ids, not text: no string is in "
            f"its vocabulary, so every token would be unknown. Pass {argument} as token ids, as in "
            f"fit (e.g. {list(vocabulary)[:3]}).")
    integers = [tokens for tokens, found in zip(token_lists, kinds, strict=True)
                if found and all(_is_integer_type(k) for k in found)]
    if integers and not any(t in vocabulary for tokens in integers for t in tokens) and not any(
            _is_integer(t) for t in vocabulary):
        raise TypeError(
            f"{argument} holds integers (token ids?), but the model reads text: its tokens are "
            f"strings (e.g. {[t for t in vocabulary if isinstance(t, str)][:3]}) and none of "
            f"these integers is one of them, so every one would be unknown. Pass {argument} as "
            "text or lists of string tokens; decode token ids to text first.")


def holds_text(X):
    """True for a list or tuple with a string among its samples (texts)."""
    return isinstance(X, list | tuple) and any(isinstance(x, str) for x in X)


def _is_integer(token):
    return _is_integer_type(type(token))


def _is_integer_type(kind):
    return issubclass(kind, int | np.integer) and not issubclass(kind, bool | np.bool_)


def _is_numeric_list(t):
    try:
        return np.asarray(t).dtype.kind in "fcb"
    except ValueError:  # ragged nesting
        return False


def numpy_integers(X, argument="X"):
    """A DataFrame of integer columns, pandas' nullable ones (``Int64``, ...) among them -> numpy's.

    So a frame of ids is read as the same ids in an ``int64`` array (0 is
    padding), not as floats. Any other ``X`` is returned unchanged.

    Raises
    ------
    ValueError
        The frame has a missing value (NA): an id or a number cannot be missing.
    """
    if not (hasattr(X, "iloc") and X.ndim == 2 and any(hasattr(d, "numpy_dtype") for d in X.dtypes)):
        return X
    dtypes = [getattr(d, "numpy_dtype", d) for d in X.dtypes]
    if not all(d.kind in "iu" for d in dtypes):
        return X
    missing = X.isna().to_numpy().any(axis=1)
    if missing.any():
        raise ValueError(f"{argument} has a missing value (NA) in row {int(missing.argmax())} of its "
                         "integer columns; fill missing values first (as token ids, 0 is padding).")
    return X.astype(np.result_type(*dtypes))


def whole_floats_as_ids(X):
    """A float array of whole numbers (ids that went through floats) -> int64; other ``X`` unchanged."""
    if X.dtype.kind == "f" and X.size and np.abs(X).max() <= 2**53 and np.array_equal(X, np.round(X)):
        return X.astype(np.int64)
    return X


def is_missing(value):
    """True for None, a float or numpy NaN, pandas' NaT and NA (whose truth value raises)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only NaN and NaT differ from themselves
    except (TypeError, ValueError):  # pd.NA: "boolean value of NA is ambiguous"; arrays
        return not isinstance(value, list | tuple | np.ndarray)


def check_collection(X, argument="X", *, bytes_ok=False):
    """Refuse an ``X`` that is no ordered collection of samples, naming ``argument``.

    A generator, ``map`` or other iterator or a dict view (which numpy
    would read as one scalar), a set (whose order is arbitrary, so outputs
    and ``y`` would not line up), bytes (undecoded text) or complex numbers
    are refused with what to pass instead (``bytes_ok``: bytes are left to
    the caller, for an input family of the user's that reads them).
    """
    if isinstance(X, set | frozenset):
        raise TypeError(f"Expected {argument} to be a list of samples, got a {type(X).__name__}, "
                        "which has no order: pass a list.")
    if not bytes_ok:
        refuse_bytes(X, argument)
    if getattr(getattr(X, "dtype", None), "kind", None) == "c":  # arrays (a list: not scanned)
        raise ValueError(f"Complex data not supported: {argument} holds complex numbers, and "
                         "features are real; pass their real and imaginary parts (or magnitude and "
                         "phase) as columns of their own.")
    if isinstance(X, KeysView | ValuesView | ItemsView) or (
            not hasattr(X, "__len__") and not issparse(X) and isinstance(X, Iterable)):
        raise TypeError(f"Expected {argument} to be a list of samples, got a {type(X).__name__} "
                        f"(read as one value, not as samples): pass list({argument}).")


def refuse_bytes(X, argument="X"):
    """Refuse a list or array of ``bytes`` (text not decoded), naming ``argument``."""
    first = (X[0] if isinstance(X, list | tuple) and X else
             X.flat[0] if isinstance(X, np.ndarray) and X.size else None)
    if isinstance(first, bytes | np.bytes_):
        raise TypeError(f"{argument} holds bytes ({argument}[0] is {first[:20]!r}), not text: decode "
                        f"them first, e.g. [b.decode('utf-8') for b in {argument}].")


def _check_sequences(X, argument="X"):
    """Raise a clear error, naming ``argument``, for inputs that are not a list of sequences."""
    if isinstance(X, str):
        raise TypeError(
            f"Expected {argument} to be a list of sequences (strings or token lists), got a "
            "single string. Wrap it in a list: [text]."
        )
    if issparse(X):  # whose len() raises
        raise TypeError(f"Expected {argument} to be a list of sequences, got a sparse matrix.")
    check_collection(X, argument)
    if not hasattr(X, "__len__") or isinstance(X, dict):
        raise TypeError(f"Expected {argument} to be a list of sequences, got {type(X).__name__}.")
    if len(X) == 0:
        raise ValueError(f"Found 0 sequences in {argument}: at least one sequence is required.")
    for i, x in enumerate(X):
        if is_missing(x):
            raise ValueError(f"{argument} has a missing value (None, NaN or NA) at position {i}; fill "
                             'missing texts first, e.g. with "".')
        if not isinstance(x, str | list | tuple | np.ndarray):
            raise TypeError(
                f"Sequence {i} of {argument} is a {type(x).__name__}; each sequence must be a "
                "string or a list of tokens."
            )


def text_cells(column, argument="X"):
    """The cells of a one-column table of texts, each refused unless it is a string.

    Such a column is read one text per row; a number, boolean, bytes or
    tuple among the texts would otherwise be read as its ``str()`` or kept
    as one token (floats are never tokens), where a list of the same texts
    is refused.
    """
    for i, cell in enumerate(column):
        if not isinstance(cell, str):
            raise TypeError(
                f"Row {i} of {argument}'s text column is a {type(cell).__name__} ({cell!r:.40}); "
                "each cell of a text column must be a string (fill missing texts with \"\", turn "
                "numbers into text yourself if they are words).")
    return [str(cell) for cell in column]  # np.str_ -> str


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


def _sequences_for(estimator, X, reset):
    """Check raw sequences ``X`` against what ``estimator`` was fitted on (a fresh fit forgets arrays)."""
    if reset:
        for attribute in ("n_features_in_", "feature_names_in_"):
            estimator.__dict__.pop(attribute, None)
    elif hasattr(estimator, "n_features_in_"):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on a 2-D array with "
            f"{estimator.n_features_in_} column(s); pass X as a 2-D array with the same columns.")
    _check_sequences(X)


def _token_table(estimator, X, reset):
    """A 2-D table of tokens, validated: no missing cell, no numbers beside text columns."""
    if isinstance(X, list | tuple):  # numpy would turn a NaN among strings into the token "nan"
        for i, row in enumerate(X):
            for token in row if isinstance(row, list | tuple) else ():
                _hashable_token(token, i)
        refuse_number_tokens(X)  # and 1.5 or True among strings into "1.5" or "True"
    if hasattr(X, "isna") and getattr(X, "ndim", 0) == 2 and X.isna().to_numpy().any():
        row = int(X.isna().to_numpy().any(axis=1).argmax())  # before validate_data: pd.NA has no truth
        raise ValueError(f"X has a missing value (None, NaN or NA) in row {row}; fill missing "
                         'texts or tokens first, e.g. with "".')
    X = validate_data(estimator, X, dtype=None, reset=reset, ensure_all_finite=True)
    if not reset and not hasattr(estimator, "n_features_in_"):
        raise ValueError(f"{type(estimator).__name__} was fitted on sequences; pass X as a list of "
                         "strings or token lists.")
    if X.dtype.kind == "O":
        missing = [i for i, row in enumerate(X) if any(is_missing(v) for v in row)]
        if missing:
            raise ValueError(f"X has a missing value (None, NaN or NA) in row {missing[0]}; fill "
                             'missing texts or tokens first, e.g. with "".')
        refuse_mixed_columns(estimator, X, getattr(estimator, "feature_names_in_", None))
    return X


def texts_in_rows(X, texts=None):
    """A list of one-cell rows of strings -> the list of those strings when read as texts; else ``X``.

    What ``df[["review"]].values.tolist()`` or a database cursor's
    ``fetchall()`` gives: the one-column table of texts an ``(n, 1)`` array
    would be, not sequences of one token each (a whole document would be one
    token). ``texts``: how the model reads such rows, as its fit decided
    (True: texts; False: token lists, its fit read token lists), so that a
    row reads the same in every batch; None (fitting): texts if some cell
    holds several words.
    """
    if not isinstance(X, list | tuple) or not X or not all(
            isinstance(row, list | tuple) and len(row) == 1 and isinstance(row[0], str) for row in X):
        return X
    if texts is None:
        texts = any(len(row[0].split()) > 1 for row in X)
    return [row[0] for row in X] if texts else X


def reads_texts(X):
    """Whether ``X`` (as the model read it at fit) is texts: a list of strings, recorded so that
    :func:`texts_in_rows` reads one-cell rows alike at every later call."""
    return isinstance(X, list | tuple) and bool(X) and all(isinstance(x, str) for x in X)


def read_token_lists(estimator, X, reset, analyzer="word", lowercase=True, *, normalize="NFC",
                     strip_accents=None):
    """Token lists of ``X`` for ``estimator``: raw sequences analysed, or a 2-D array's rows.

    A 2-D array goes through ``validate_data`` (so ``n_features_in_`` is
    recorded with ``reset=True`` and checked otherwise); an estimator
    fitted on raw sequences takes any list as raw sequences. An array of
    integers is an id matrix: 0 is padding, also in a frame of pandas'
    nullable integers or an array of whole floats (ids that went through
    floats are read as the integers they are).

    A 2-D array with one column of strings (a one-column DataFrame, as
    ``ColumnTransformer`` passes for ``["review"]``) is a column of texts:
    each cell is analysed into one sequence. With several columns, each cell
    is one token (codes, events); a column whose cells hold several words is
    refused, since concatenating texts would need a choice of separator that
    is the user's to make.
    """
    options = {"normalize": normalize, "strip_accents": strip_accents}
    check_collection(X)
    X = texts_in_rows(X, None if reset else getattr(estimator, "_reads_texts", None))
    if reset:  # one-cell rows at later calls: texts if fit read texts
        estimator._reads_texts = reads_texts(X)
    X = numpy_integers(X)
    if isinstance(X, str):
        _check_sequences(X)  # raises: a lone string is not a collection of sequences
    fitted_on_sequences = not reset and not hasattr(estimator, "n_features_in_")
    if is_sequence_input(X) or (isinstance(X, list | tuple) and (fitted_on_sequences or not X)):
        _sequences_for(estimator, X, reset)
        if fitted_on_sequences:
            refuse_number_tokens(X, table_ok=False)
        return [analyze(x, analyzer, lowercase, i, **options) for i, x in enumerate(X)]
    X = whole_floats_as_ids(_token_table(estimator, X, reset))
    rows = X.tolist()
    if X.shape[1] == 1 and any(isinstance(row[0], str) for row in rows):
        return [analyze(text, analyzer, lowercase, i, **options)
                for i, text in enumerate(text_cells([row[0] for row in rows]))]
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
