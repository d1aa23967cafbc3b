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
``TfidfVectorizer``, and numpy, scipy and builtin data types), the trees of a
fitted ``HistGradientBoostingClassifier`` (``TRUSTED_TYPES``), except
``FunctionTransformer``, whose purpose is to call whatever function it is
given. A file naming any other type is refused before anything in it is
constructed, and ``save`` refuses to write such a file in the first place.

The header also holds a manifest: the SHA-256 of every other member of the
zip (``schema.json`` and each ``.npy`` array). ``load`` checks it before
anything is constructed and refuses a file with a member changed, added or
removed, naming the attribute a changed array belongs to. The manifest
catches accidents, corruption and edits made with ordinary zip tools, not
someone who recomputes it: against that, ``save(..., key=...)`` signs the
header (HMAC-SHA256) and ``load(..., key=...)`` refuses a file whose
signature does not match the key.

``pickle`` works too, but only for files you made yourself.
"""

import hashlib
import hmac
import importlib
import io
import json
import zipfile
import zlib
from pathlib import Path

from ._version import __version__

FORMAT_VERSION = 5  # 5: input families and one Vocabulary class; 4: member checksums
OLDEST_READABLE = 5  # format 4 holds codec classes this version no longer has; 3 has no manifest
HEADER = "sktransformer.json"
SCHEMA = "schema.json"  # skops's description of the object: every type in the file is named there
# scikit-learn types skops trusts that a model file may still not contain, with the reason
REFUSED_TYPES = {
    "sklearn.preprocessing._function_transformer.FunctionTransformer": "it calls arbitrary functions",
}
# scikit-learn types skops does not trust by default that a model file may contain, with the reason
TRUSTED_TYPES = {  # the fitted trees of HistGradientBoosting (linear_blend on numeric rows)
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": "arrays of tree nodes only",
}
# what reading a damaged zip may raise (ValueErrors of load's own are not among them)
READ_ERRORS = (zipfile.BadZipFile, zlib.error, json.JSONDecodeError, UnicodeDecodeError,
               KeyError, OSError, EOFError, NotImplementedError, RuntimeError, MemoryError)


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
    """(foreign type names, names to trust: sktransformer's and TRUSTED_TYPES) of a skops file."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        named = _types_in(json.loads(archive.read(SCHEMA)))
    untrusted = set(sio.get_untrusted_types(data=data))
    own = {name for name in untrusted | named if _is_own_type(name) or name in TRUSTED_TYPES}
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


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _secret(key):
    """The HMAC key as bytes (a str is UTF-8 encoded); ``None`` stays ``None``."""
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"key must be bytes or str, not {type(key).__name__}.")
    if not key:
        raise ValueError("key is empty: pass key=None to save or load without a signature.")
    return bytes(key)


def _signature(header, secret):
    """HMAC-SHA256 of the header without its signature, as canonical JSON (sorted keys, no spaces)."""
    signed = {name: value for name, value in header.items() if name != "signature"}
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).hexdigest()


def _children(node, path):
    """(child, path) pairs of a skops schema node: attributes as ``.name``, dict keys as ``['key']``."""
    content, loader = node.get("content"), node.get("__loader__")
    if loader == "ObjectNode" and isinstance(content, dict) and content.get("__loader__") == "DictNode":
        return [(value, f"{path}.{name}") for name, value in content["content"].items()]
    if loader == "DictNode" and isinstance(content, dict):
        return [(value, f"{path}[{name!r}]") for name, value in content.items()]
    return [(value, path) for name, value in node.items() if name != "key_types"]


def _array_paths(schema):
    """{member name: attribute path} of the arrays a skops schema stores in files of their own.

    A node with a ``"file"`` key is an array (or sparse matrix) whose data is
    that zip member; the path is built from the attribute names, dict keys
    and list indices above it, e.g. ``TransformerClassifier.params_['head']['W']``.
    """
    paths, stack = {}, [(schema, schema.get("__class__", "model"))]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed([(item, f"{path}[{i}]") for i, item in enumerate(node)]))
        elif isinstance(node, dict):
            if isinstance(node.get("file"), str):
                paths.setdefault(node["file"], path)
            stack.extend(reversed(_children(node, path)))
    return paths


def _name_members(archive, names):
    """``names`` for a message: each array with the attribute it holds, where the schema says."""
    try:
        paths = _array_paths(json.loads(archive.read(SCHEMA)))
    except Exception:  # the schema is damaged too: member names only
        paths = {}
    notes = {**paths, SCHEMA: "the model's types, hyperparameters and small attributes"}
    return ", ".join(f"{name} ({notes[name]})" if name in notes else name for name in names)


def _verify_members(path, archive, members):
    """Refuse a file whose members are not exactly those, with those checksums, that ``save`` listed."""
    if not isinstance(members, dict):
        raise ValueError(f"{path} is not a readable sktransformer model file: its header lists "
                         "no members to check. It was not loaded.")
    stored = set(archive.namelist()) - {HEADER}
    unlisted, missing = sorted(stored - set(members)), sorted(set(members) - stored)
    problems = []
    if unlisted:
        problems.append(f"it holds members it did not list: {', '.join(unlisted)}")
    if missing:
        problems.append(f"members it listed are missing: {', '.join(missing)}")
    if not problems:
        changed = [name for name in sorted(members) if _member_digest(archive, name) != members[name]]
        if changed:
            problems.append(f"these members do not match their checksums: "
                            f"{_name_members(archive, changed)}")
    if problems:
        raise ValueError(f"{path} was changed after it was saved: {'; '.join(problems)}. "
                         "It was not loaded.")


def _member_digest(archive, name, chunk=1 << 20):
    """SHA-256 of a member, read in 1 MiB chunks (a member that inflates hugely never sits in memory)."""
    digest = hashlib.sha256()
    with archive.open(name) as member:
        while block := member.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _verify_signature(path, header, secret):
    if secret is None:
        return
    signature = header.get("signature")
    if not isinstance(signature, str):
        raise ValueError(f"{path} is not signed, and load() was given a key. It was not loaded.")
    expected = _signature(header, secret).encode("ascii")
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
        raise ValueError(f"{path}: the signature does not match the key: the file was changed after "
                         "it was signed, or signed with another key. It was not loaded.")


def _read_header(path, archive):
    if HEADER not in archive.namelist():
        raise ValueError(f"{path} is not an sktransformer model file (no {HEADER}).")
    header = json.loads(archive.read(HEADER))
    if (not isinstance(header, dict) or header.get("format") != "sktransformer"
            or not isinstance(header.get("format_version"), int)):
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
    return header


def _checked_bytes(path, secret):
    """The file's bytes and header, once its version, manifest and (with a key) signature are checked."""
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            header = _read_header(path, archive)
            _verify_signature(path, header, secret)  # before any member is read: cheap, and first
            _verify_members(path, archive, header.get("members"))
    except READ_ERRORS as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable sktransformer model file: {error}") from None
    return data, header


def save(model, path, key=None):
    """Write a fitted model to ``path``: an sktransformer estimator, or a scikit-learn one built with them.

    Pipelines, ``ColumnTransformer`` and other scikit-learn estimators are
    saved as long as everything in them is a type :func:`load` trusts
    (sktransformer's, scikit-learn's except ``FunctionTransformer``, numpy's
    and builtins); anything else is refused before the file is written.
    The file's header lists the SHA-256 of every other member, which
    :func:`load` checks.

    Parameters
    ----------
    model : fitted sktransformer estimator, SequenceVectorizer, or scikit-learn estimator
    path : str or path-like
    key : bytes or str, default=None
        Secret to sign the file with: an HMAC-SHA256 of the header (and so
        of every member's checksum) is stored in it, and ``load(path,
        key=key)`` refuses the file if anything was changed, even by someone
        who recomputed the checksums. A str is encoded as UTF-8. ``None``
        writes an unsigned file, still checksummed.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        ``model`` is not an estimator, or contains a type that ``load``
        would not trust (a custom class, a ``FunctionTransformer``); or
        ``key`` is neither bytes nor str.
    ValueError
        ``key`` is empty.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.pipeline import make_pipeline
    >>> from sktransformer import SequenceVectorizer, TransformerClassifier, save, load
    >>> pipe = make_pipeline(SequenceVectorizer(), TransformerClassifier(
    ...     d_model=8, n_heads=2, n_layers=1, max_iter=2, random_state=0)).fit(["a b", "b a"], [0, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> save(pipe, path, key="a secret")
    >>> (load(path, key="a secret").predict_proba(["a b"]) == pipe.predict_proba(["a b"])).all()
    np.True_
    >>> load(path, key="another secret")
    Traceback (most recent call last):
    ...
    ValueError: ...: the signature does not match the key: ...
    """
    from sklearn.base import BaseEstimator

    sio, secret = _skops(), _secret(key)
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
    with zipfile.ZipFile(buffer) as archive:
        members = {member: _digest(archive.read(member)) for member in archive.namelist()}
    header = {"format": "sktransformer", "format_version": FORMAT_VERSION,
              "package_version": __version__, "class": name, "members": members}
    if secret is not None:
        header["signature"] = _signature(header, secret)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(HEADER, json.dumps(header))
    Path(path).write_bytes(buffer.getvalue())


def load(path, key=None):
    """Read a model written by :func:`save`, trusting only sktransformer's and scikit-learn's types.

    Before anything in the file is constructed, ``load`` checks its header:
    the format version, then that the file holds exactly the members the
    header lists, each with the SHA-256 :func:`save` recorded, and, given a
    ``key``, the header's signature.

    Parameters
    ----------
    path : str or path-like
    key : bytes or str, default=None
        The secret the file was signed with (see :func:`save`). With a key,
        an unsigned file, or one whose signature does not match, is refused.
        Without one, a signed file's checksums are still checked, but not
        its signature.

    Returns
    -------
    model : the fitted estimator (or pipeline) that was saved

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    TypeError
        ``key`` is neither bytes nor str.
    ValueError
        The file is not a model file (truncated, corrupted, another format);
        was changed after it was saved (a member changed, added or removed:
        the message names the changed arrays' attributes); comes from a
        format version older than 4 (no manifest) or newer than this package
        reads; names a type that is neither sktransformer's nor one skops
        trusts by default (or is a ``FunctionTransformer``); or, given a
        ``key``, is unsigned or signed with another key. ``key`` is empty.

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
    sio, secret, path = _skops(), _secret(key), Path(path)
    data, header = _checked_bytes(path, secret)
    try:
        foreign, own = _audit(sio, data)
    except Exception as error:  # skops raises many types for malformed schemas
        raise ValueError(f"{path} is not a readable sktransformer model file: {error}") from None
    if foreign:
        raise ValueError(f"{path} contains types that are not sktransformer's or trusted "
                         f"scikit-learn types: {_describe(foreign)}. It was not loaded.")
    try:
        model = sio.loads(data, trusted=own)
    except Exception as error:
        raise ValueError(f"{path} could not be loaded as an sktransformer model: {error}") from None
    if f"{type(model).__module__}.{type(model).__qualname__}" != header.get("class"):
        raise ValueError(f"{path}: the header says {header.get('class')}, the file holds "
                         f"{type(model).__name__}.")
    return model
