"""Saving and loading fitted models in a format that cannot run code on load.

A model file is a skops file (``skops.io``, the format scikit-learn's
documentation recommends for files from untrusted sources: a zip of a JSON
schema and ``.npy`` arrays, loaded without ``pickle``), with one more
member, ``sktransformer.json``, that records the file format version, the
package version and the class. ``load`` reads that header first, refuses
files from a newer format, and then lets skops rebuild the object.

What a file may contain: sktransformer's own classes, and what skops itself
trusts by default (scikit-learn's estimators, such as ``Pipeline``,
``ColumnTransformer``, ``LogisticRegression``, ``StandardScaler`` or
``TfidfVectorizer``, and numpy, scipy and builtin data types), except
``FunctionTransformer``, whose purpose is to call whatever function it is
given. A file naming any other type is refused before anything in it is
constructed, and ``save`` refuses to write such a file in the first place.

``pickle`` works too, but only for files you made yourself.
"""

import importlib
import io
import json
import zipfile
from pathlib import Path

from ._version import __version__

FORMAT_VERSION = 3  # 3: one codec per estimator (_codec), flat AdamW; 2: dense token-id maps
OLDEST_READABLE = 3  # formats 1-2: estimator internals this version no longer has
HEADER = "sktransformer.json"
SCHEMA = "schema.json"  # skops's description of the object: every type in the file is named there
# scikit-learn types skops trusts that a model file may still not contain, with the reason
REFUSED_TYPES = {
    "sklearn.preprocessing._function_transformer.FunctionTransformer": "it calls arbitrary functions",
}


def _type_name(obj_or_class):
    cls = obj_or_class if isinstance(obj_or_class, type) else type(obj_or_class)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_own_type(name):
    """True if ``name`` is a class defined in sktransformer (imports only sktransformer modules)."""
    module_name, _, class_name = name.rpartition(".")
    if module_name != "sktransformer" and not module_name.startswith("sktransformer."):
        return False
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except Exception:  # a malformed name in a file: not ours
        return False
    return isinstance(cls, type) and cls.__module__ == module_name


def _types_in(schema):
    """Every ``module.class`` named anywhere in a skops schema (a superset is safe)."""
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module, cls = node.get("__module__"), node.get("__class__")
            if isinstance(module, str) and isinstance(cls, str):
                found.add(f"{module}.{cls}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _audit(sio, data):
    """(foreign type names, sktransformer type names) of a skops file's bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        named = _types_in(json.loads(archive.read(SCHEMA)))
    untrusted = set(sio.get_untrusted_types(data=data))
    own = {name for name in untrusted | named if _is_own_type(name)}
    foreign = (untrusted - own) | (named & set(REFUSED_TYPES))
    return sorted(foreign), sorted(own)


def _describe(foreign):
    return ", ".join(f"{name} ({REFUSED_TYPES[name]})" if name in REFUSED_TYPES else name
                     for name in foreign)


def _skops():
    try:
        import skops.io
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            'Saving and loading models needs skops: pip install "sktransformer[io]"'
        ) from None
    return skops.io


def save(model, path):
    """Write a fitted model to ``path``: an sktransformer estimator, or a scikit-learn one built with them.

    Pipelines, ``ColumnTransformer`` and other scikit-learn estimators are
    saved as long as everything in them is a type :func:`load` trusts
    (sktransformer's, scikit-learn's except ``FunctionTransformer``, numpy's
    and builtins); anything else is refused before the file is written.

    Parameters
    ----------
    model : fitted sktransformer estimator, SequenceVectorizer, or scikit-learn estimator
    path : str or path-like

    Returns
    -------
    None

    Raises
    ------
    TypeError
        ``model`` is not an estimator, or contains a type that ``load``
        would not trust (a custom class, a ``FunctionTransformer``).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.pipeline import make_pipeline
    >>> from sktransformer import SequenceVectorizer, TransformerClassifier, save, load
    >>> pipe = make_pipeline(SequenceVectorizer(), TransformerClassifier(
    ...     d_model=8, n_heads=2, n_layers=1, max_iter=2, random_state=0)).fit(["a b", "b a"], [0, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> save(pipe, path)
    >>> (load(path).predict_proba(["a b"]) == pipe.predict_proba(["a b"])).all()
    np.True_
    """
    from sklearn.base import BaseEstimator

    sio = _skops()
    name = _type_name(model)
    if not (_is_own_type(name) or (isinstance(model, BaseEstimator) and name.startswith("sklearn."))):
        raise TypeError(
            f"save() writes sktransformer estimators and scikit-learn estimators (such as "
            f"pipelines) built from them, not {type(model).__name__}."
        )
    buffer = io.BytesIO(sio.dumps(model))
    foreign, _ = _audit(sio, buffer.getvalue())
    if foreign:
        raise TypeError(
            f"save() refuses this {type(model).__name__}: it contains types that load() does not "
            f"trust, so the file could not be loaded: {_describe(foreign)}. Nothing was written."
        )
    header = {"format": "sktransformer", "format_version": FORMAT_VERSION,
              "package_version": __version__, "class": name}
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(HEADER, json.dumps(header))
    Path(path).write_bytes(buffer.getvalue())


def load(path):
    """Read a model written by :func:`save`, trusting only sktransformer's and scikit-learn's types.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : the fitted estimator (or pipeline) that was saved

    Raises
    ------
    ValueError
        The file is not a model file (truncated, tampered with, another
        format), comes from a newer format version, or names a type that is
        neither sktransformer's nor one skops trusts by default (or is a
        ``FunctionTransformer``).

    Examples
    --------
    >>> import os, tempfile
    >>> from sktransformer import load
    >>> path = os.path.join(tempfile.mkdtemp(), "not-a-model.skops")
    >>> _ = open(path, "wb").write(b"garbage")
    >>> load(path)
    Traceback (most recent call last):
    ...
    ValueError: ... is not a readable sktransformer model file: File is not a zip file
    """
    sio = _skops()
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if HEADER not in archive.namelist():
                raise ValueError(f"{path} is not an sktransformer model file (no {HEADER}).")
            header = json.loads(archive.read(HEADER))
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, KeyError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable sktransformer model file: {error}") from None
    if header.get("format") != "sktransformer" or not isinstance(header.get("format_version"), int):
        raise ValueError(f"{path} has no valid sktransformer header.")
    if header["format_version"] < OLDEST_READABLE:
        raise ValueError(
            f"{path} was written in model format {header['format_version']} by an earlier "
            f"version of sktransformer whose models this version ({__version__}) cannot run. "
            "Fit the model again and save it with this version."
        )
    if header["format_version"] > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in model format {header['format_version']} by sktransformer "
            f"{header.get('package_version')}; this sktransformer ({__version__}) reads format "
            f"{FORMAT_VERSION} and older. Upgrade sktransformer to load it."
        )
    try:
        foreign, own = _audit(sio, path.read_bytes())
    except Exception as error:  # skops raises many types for malformed schemas
        raise ValueError(f"{path} is not a readable sktransformer model file: {error}") from None
    if foreign:
        raise ValueError(f"{path} contains types that are not sktransformer's or trusted "
                         f"scikit-learn types: {_describe(foreign)}. It was not loaded.")
    try:
        model = sio.load(path, trusted=own)
    except Exception as error:
        raise ValueError(f"{path} could not be loaded as an sktransformer model: {error}") from None
    if f"{type(model).__module__}.{type(model).__qualname__}" != header.get("class"):
        raise ValueError(f"{path}: the header says {header.get('class')}, the file holds "
                         f"{type(model).__name__}.")
    return model
