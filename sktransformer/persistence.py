"""Saving and loading fitted models in a format that cannot run code on load.

A model file is a skops file (``skops.io``, the format scikit-learn's
documentation recommends for files from untrusted sources: a zip of a JSON
schema and ``.npy`` arrays, loaded without ``pickle``), with one more
member, ``sktransformer.json``, that records the file format version, the
package version and the class. ``load`` reads that header first, refuses
files from a newer format, and then lets skops rebuild the object while
trusting only sktransformer's own types: a file naming any other type is
refused before anything is constructed.

``pickle`` works too, but only for files you made yourself.
"""

import json
import zipfile
from pathlib import Path

from . import __version__

FORMAT_VERSION = 2  # 2: dense token-id maps, seq2seq source end markers
OLDEST_READABLE = 2  # format 1 came only from development snapshots before the 0.1.0 release
HEADER = "sktransformer.json"


def _trusted_types():
    """Fully qualified names of the only classes a model file may contain."""
    from . import _inputs, _model, _optim, pretrained, vectorizer
    from .classifier import TransformerClassifier
    from .encoder import TransformerEncoder
    from .language_model import TransformerLanguageModel
    from .seq2seq import TransformerSeq2Seq

    classes = [TransformerClassifier, TransformerEncoder, TransformerLanguageModel,
               TransformerSeq2Seq, vectorizer.SequenceVectorizer, vectorizer.GenerativeVocabulary,
               _inputs.InputAdapter, _model.ModelConfig, _optim.AdamW,
               # a loaded checkpoint's tokenizer (kept as its JSON text) and vocabulary
               pretrained.Tokenizer, pretrained.TokenizerAdapter, pretrained.CheckpointVocabulary]
    return [f"{c.__module__}.{c.__qualname__}" for c in classes]


def _skops():
    try:
        import skops.io
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            'Saving and loading models needs skops: pip install "sktransformer[io]"'
        ) from None
    return skops.io


def save(model, path):
    """Write a fitted sktransformer estimator to ``path`` (a skops file with our header).

    Parameters
    ----------
    model : fitted sktransformer estimator or SequenceVectorizer
    path : str or path-like

    Examples
    --------
    >>> import os, tempfile
    >>> from sktransformer import TransformerClassifier, save, load
    >>> clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_iter=2,
    ...                             random_state=0).fit([[1.0, 2.0], [2.0, 1.0]], [0, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> save(clf, path)
    >>> (load(path).predict_proba([[1.0, 2.0]]) == clf.predict_proba([[1.0, 2.0]])).all()
    np.True_
    """
    sio = _skops()
    name = f"{type(model).__module__}.{type(model).__qualname__}"
    if name not in _trusted_types():
        raise TypeError(f"save() writes sktransformer estimators, not {type(model).__name__}.")
    path = Path(path)
    sio.dump(model, path)
    header = {"format": "sktransformer", "format_version": FORMAT_VERSION,
              "package_version": __version__, "class": name}
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(HEADER, json.dumps(header))


def load(path):
    """Read a model written by :func:`save`, trusting only sktransformer's own types.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : the fitted estimator that was saved

    Raises
    ------
    ValueError
        The file is not a model file (truncated, tampered with, another
        format), comes from a newer format version, or names a type that is
        not sktransformer's.

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
            f"{path} was written in model format {header['format_version']} by a development "
            f"version of sktransformer whose models this version ({__version__}) cannot run. "
            "Fit the model again and save it with this version."
        )
    if header["format_version"] > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in model format {header['format_version']} by sktransformer "
            f"{header.get('package_version')}; this sktransformer ({__version__}) reads format "
            f"{FORMAT_VERSION} and older. Upgrade sktransformer to load it."
        )
    trusted = _trusted_types()
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as error:  # skops raises many types for malformed schemas
        raise ValueError(f"{path} is not a readable sktransformer model file: {error}") from None
    foreign = sorted(set(untrusted) - set(trusted))
    if foreign:
        raise ValueError(f"{path} contains types that are not sktransformer's: {foreign}. "
                         "It was not loaded.")
    try:
        model = sio.load(path, trusted=trusted)
    except Exception as error:
        raise ValueError(f"{path} could not be loaded as an sktransformer model: {error}") from None
    if f"{type(model).__module__}.{type(model).__qualname__}" != header.get("class"):
        raise ValueError(f"{path}: the header says {header.get('class')}, the file holds "
                         f"{type(model).__name__}.")
    return model
