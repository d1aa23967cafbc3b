"""Saving and loading pipelines: scikit-learn's and sktransformer's types only, checksummed."""


import hashlib
import hmac
import io
import json
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from configs import SMALL
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import make_column_transformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    load,
    persistence,
    save,
)

pytest.importorskip("skops")

FAST = {**SMALL, "d_model": 8, "max_iter": 2}
TEXTS = ["a good film", "bad film", "great fun", "awful and bad", "good fun", "bad bad"]
LABELS = [1, 0, 1, 0, 1, 0]
CONSTRUCTED = []


class Doubler(TransformerMixin, BaseEstimator):
    """A custom class: the kind of type a model file must never name."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2

    def __setstate__(self, state):
        CONSTRUCTED.append(type(self).__name__)
        self.__dict__.update(state)


def _read(path):
    """(every member but the header, the header) of a zip."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = members.pop(persistence.HEADER, None)
    return members, header and json.loads(header)


def _manifest(members):
    return {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}


def _write(path, members, header):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr(persistence.HEADER, json.dumps(header))


def _add_header(source, target, cls):
    members, _ = _read(source)
    _write(target, members, {"format": "sktransformer", "format_version": persistence.FORMAT_VERSION,
                             "class": cls, "members": _manifest(members)})


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _member_holding(members, array):
    """The name of the one ``.npy`` member that stores ``array``."""
    stored = {name: np.load(io.BytesIO(data)) for name, data in members.items() if name.endswith(".npy")}
    found = [name for name, value in stored.items()
             if value.dtype == array.dtype and np.array_equal(value, array)]
    assert len(found) == 1, found
    return found[0]


ROWS = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def classifier():
    return TransformerClassifier(**FAST).fit(ROWS, np.arange(12) % 2)


@pytest.fixture
def saved(tmp_path, classifier):
    """A model file of ``classifier``, and a path for a changed copy of it."""
    save(classifier, tmp_path / "model.skops")
    return tmp_path / "model.skops", tmp_path / "changed.skops"


def test_text_pipeline_round_trip(tmp_path):
    pipe = make_pipeline(SequenceVectorizer(analyzer="char"), TransformerClassifier(**FAST))
    pipe.fit(TEXTS, LABELS)
    save(pipe, tmp_path / "pipe.skops")
    loaded = load(tmp_path / "pipe.skops")
    assert type(loaded) is type(pipe) and [n for n, _ in loaded.steps] == [n for n, _ in pipe.steps]
    np.testing.assert_array_equal(loaded.predict(TEXTS), pipe.predict(TEXTS))
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), pipe.predict_proba(TEXTS))


def test_column_transformer_with_scikit_learn_steps_round_trip(tmp_path):
    frame = pd.DataFrame({"review": TEXTS, "stars": [4.0, 1, 5, 1, 4, 2]})
    features = make_column_transformer(
        (make_pipeline(SequenceVectorizer(), TransformerEncoder(**FAST)), ["review"]),
        (StandardScaler(), ["stars"]),
        (TfidfVectorizer(), "review"),
    )
    pipe = make_pipeline(features, LogisticRegression()).fit(frame, LABELS)
    save(pipe, tmp_path / "ct.skops")
    loaded = load(tmp_path / "ct.skops")
    np.testing.assert_array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))


def test_plain_scikit_learn_estimator_round_trip(tmp_path):
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    save(model, tmp_path / "lr.skops")
    assert load(tmp_path / "lr.skops").coef_.tolist() == model.coef_.tolist()


def test_save_refuses_custom_classes_and_function_transformers(tmp_path):
    custom = make_pipeline(Doubler(), LogisticRegression()).fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="Doubler.*Nothing was written"):
        save(custom, tmp_path / "custom.skops")
    function = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression())
    function.fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="FunctionTransformer \\(it calls arbitrary functions\\)"):
        save(function, tmp_path / "function.skops")
    assert not list(tmp_path.iterdir())
    with pytest.raises(TypeError, match="not Doubler"):
        save(Doubler(), tmp_path / "x.skops")


def test_load_refuses_a_file_with_a_custom_class_before_constructing_it(tmp_path):
    import skops.io

    custom = make_pipeline(SequenceVectorizer(), Doubler()).fit(TEXTS)
    skops.io.dump(custom, tmp_path / "plain.skops")
    _add_header(tmp_path / "plain.skops", tmp_path / "custom.skops", "sklearn.pipeline.Pipeline")
    CONSTRUCTED.clear()
    with pytest.raises(ValueError, match="test_persistence.Doubler. It was not loaded"):
        load(tmp_path / "custom.skops")
    assert CONSTRUCTED == []


FUNCTION_TRANSFORMER = "sklearn.preprocessing._function_transformer.FunctionTransformer"


@pytest.mark.parametrize("func", [np.log1p, None], ids=["log1p", "identity"])
def test_load_refuses_a_function_transformer_that_skops_would_load(tmp_path, func, monkeypatch):
    import skops.io

    pipe = make_pipeline(FunctionTransformer(func), StandardScaler()).fit([[0.0], [1.0]])
    skops.io.dump(pipe, tmp_path / "plain.skops")
    # skops trusts it by default (np.log1p included): refusing it is sktransformer's own rule
    assert skops.io.get_untrusted_types(file=tmp_path / "plain.skops") == []
    assert isinstance(skops.io.load(tmp_path / "plain.skops").steps[0][1], FunctionTransformer)
    _add_header(tmp_path / "plain.skops", tmp_path / "function.skops", "sklearn.pipeline.Pipeline")
    monkeypatch.setattr(skops.io, "loads", lambda *args, **kwargs: pytest.fail("constructed"))
    with pytest.raises(ValueError, match=rf"contains types that are not sktransformer's or trusted "
                                         rf"scikit-learn types: {re.escape(FUNCTION_TRANSFORMER)} "
                                         r"\(it calls arbitrary functions\)\. It was not loaded\."):
        load(tmp_path / "function.skops")


def test_save_refuses_a_function_transformer_anywhere_in_a_model(tmp_path):
    frame = pd.DataFrame({"review": TEXTS, "stars": [4.0, 1, 5, 1, 4, 2]})
    nested = make_pipeline(make_column_transformer(
        (make_pipeline(SequenceVectorizer(), TransformerEncoder(**FAST)), "review"),
        (make_pipeline(FunctionTransformer(), StandardScaler()), ["stars"])), LogisticRegression())
    nested.fit(frame, LABELS)
    with pytest.raises(TypeError, match=rf"{re.escape(FUNCTION_TRANSFORMER)} \(it calls arbitrary "
                                        r"functions\)\. Nothing was written\."):
        save(nested, tmp_path / "nested.skops")
    with pytest.raises(TypeError, match="FunctionTransformer"):
        save(FunctionTransformer().fit([[0.0]]), tmp_path / "alone.skops")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("key", [None, "a secret"])
def test_scaler_and_logistic_regression_pipeline_round_trip(tmp_path, key):
    """skops's default-trusted scikit-learn types load, with their fitted state, signed or not."""
    X = np.random.default_rng(0).normal(loc=5.0, scale=3.0, size=(40, 3))
    y = (X[:, 0] > 5).astype(int)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    save(pipe, tmp_path / "pipe.skops", key=key)
    loaded = load(tmp_path / "pipe.skops", key=key)
    assert type(loaded) is Pipeline and [type(step) for _, step in loaded.steps] == [
        StandardScaler, LogisticRegression]
    for name in ("mean_", "scale_"):
        np.testing.assert_array_equal(getattr(loaded[0], name), getattr(pipe[0], name))
    np.testing.assert_array_equal(loaded[1].coef_, pipe[1].coef_)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    # and beside sktransformer's own types
    mixed = make_pipeline(StandardScaler(), TransformerClassifier(**FAST)).fit(X, y)
    save(mixed, tmp_path / "mixed.skops", key=key)
    np.testing.assert_array_equal(load(tmp_path / "mixed.skops", key=key).predict_proba(X),
                                  mixed.predict_proba(X))


def test_names_that_only_look_like_sktransformer_types_are_not_trusted():
    assert persistence._is_own_type("sktransformer.vectorizer.SequenceVectorizer")
    for name in ["sktransformer.vectorizer.Counter", "sktransformer.vectorizer.BaseEstimator",
                 "sktransformer.nothing.Here", "sktransformer..X", "sktransformerx.A", "os.system",
                 "sktransformer.vectorizer.np"]:
        assert not persistence._is_own_type(name), name


@pytest.mark.parametrize("old_format", [1, 2])
def test_model_files_of_older_formats_are_refused_clearly(tmp_path, monkeypatch, old_format):
    from sktransformer import load, persistence, save

    clf = TransformerClassifier(**FAST).fit(np.random.default_rng(0).normal(size=(10, 2)),
                                           np.arange(10) % 2)
    monkeypatch.setattr(persistence, "FORMAT_VERSION", old_format)
    save(clf, tmp_path / "old.skops")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="Fit the model again"):
        load(tmp_path / "old.skops")


def _weights(model):
    return model.params_["head"]["W"]


@pytest.mark.parametrize("attribute, replace, named", [
    (_weights, lambda w: w + np.float32(0.5), r"TransformerClassifier\.params_\['head'\]\['W'\]"),
    (lambda model: model.classes_, lambda c: c[::-1].copy(), r"TransformerClassifier\.classes_"),
], ids=["weights", "classes"])
def test_a_replaced_array_is_refused_and_named(saved, classifier, attribute, replace, named, monkeypatch):
    import skops.io

    path, changed = saved
    members, header = _read(path)
    original = attribute(classifier)
    member = _member_holding(members, original)
    members[member] = _npy(replace(original))
    assert np.load(io.BytesIO(members[member])).shape == original.shape
    _write(changed, members, header)
    # a well-formed file: skops alone loads it, and it predicts differently
    edited = skops.io.load(changed, trusted=skops.io.get_untrusted_types(file=changed))
    assert not (np.array_equal(edited.predict_proba(ROWS), classifier.predict_proba(ROWS))
                and np.array_equal(edited.predict(ROWS), classifier.predict(ROWS)))
    monkeypatch.setattr(skops.io, "loads", lambda *args, **kwargs: pytest.fail("constructed"))
    with pytest.raises(ValueError, match=f"changed after it was saved: these members do not match "
                                         f"their checksums: {member} \\({named}\\)"):
        load(changed)


def test_an_edited_schema_is_refused(saved):
    import skops.io

    path, changed = saved
    members, header = _read(path)
    schema = json.loads(members[persistence.SCHEMA])
    schema["content"]["content"]["max_len"]["content"] = "4"  # a hyperparameter
    members[persistence.SCHEMA] = json.dumps(schema).encode()
    _write(changed, members, header)
    edited = skops.io.load(changed, trusted=skops.io.get_untrusted_types(file=changed))
    assert edited.max_len == 4
    with pytest.raises(ValueError, match="do not match their checksums: schema.json"):
        load(changed)


@pytest.mark.parametrize("change, message", [
    ("added", "it holds members it did not list: extra.npy"),
    ("removed", "members it listed are missing: "),
    ("duplicated", "these members do not match their checksums: "),
], ids=["added", "removed", "duplicated"])
def test_an_added_removed_or_duplicated_member_is_refused(saved, classifier, change, message):
    path, changed = saved
    members, header = _read(path)
    member = _member_holding(members, classifier.classes_)
    if change == "added":
        members["extra.npy"] = members[member]
    elif change == "removed":
        del members[member]
    _write(changed, members, header)
    if change == "duplicated":  # a second member of the same name, read instead of the first
        with zipfile.ZipFile(changed, "a") as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            archive.writestr(member, _npy(classifier.classes_[::-1].copy()))
    with pytest.raises(ValueError, match=f"changed after it was saved: {message}"):
        load(changed)


def test_a_header_without_its_manifest_is_refused(saved):
    path, changed = saved
    members, header = _read(path)
    del header["members"]
    _write(changed, members, header)
    with pytest.raises(ValueError, match="its header lists no members to check"):
        load(changed)


def test_a_corrupted_file_is_refused(saved, classifier):
    path, changed = saved
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(_member_holding(_read(path)[0], classifier.classes_))
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + info.file_size - 1] ^= 0xFF  # last data byte
    changed.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a readable|changed after it was saved"):
        load(changed)


def test_format_3_files_without_a_manifest_get_the_refit_advice(saved):
    path, changed = saved
    members, header = _read(path)
    del header["members"]
    header["format_version"] = 3
    _write(changed, members, header)
    with pytest.raises(ValueError, match="written in model format 3 by an earlier version .*"
                                         "Fit the model again and save it with this version\\."):
        load(changed)


KEY = "a secret"


def test_a_signed_file_loads_with_its_key_or_without_one_and_not_with_another(tmp_path, classifier):
    save(classifier, tmp_path / "signed.skops", key=KEY)
    for key in [KEY, KEY.encode(), None]:
        loaded = load(tmp_path / "signed.skops", key=key)
        np.testing.assert_array_equal(loaded.predict_proba(ROWS), classifier.predict_proba(ROWS))
    with pytest.raises(ValueError, match="signature does not match the key"):
        load(tmp_path / "signed.skops", key="another secret")


def test_an_unsigned_file_is_refused_when_a_key_is_given(saved):
    path, _ = saved
    with pytest.raises(ValueError, match="is not signed, and load\\(\\) was given a key"):
        load(path, key=KEY)


def test_a_signed_file_loaded_without_its_key_is_still_checksummed(tmp_path, classifier):
    save(classifier, tmp_path / "signed.skops", key=KEY)
    members, header = _read(tmp_path / "signed.skops")
    members[_member_holding(members, _weights(classifier))] = _npy(_weights(classifier) * 2)
    _write(tmp_path / "changed.skops", members, header)
    with pytest.raises(ValueError, match="do not match their checksums"):
        load(tmp_path / "changed.skops")


def test_a_rewritten_manifest_passes_the_checksums_but_not_the_signature(tmp_path, classifier):
    save(classifier, tmp_path / "signed.skops", key=KEY)
    members, header = _read(tmp_path / "signed.skops")
    members[_member_holding(members, _weights(classifier))] = _npy(_weights(classifier) * 2)
    header["members"] = _manifest(members)
    _write(tmp_path / "changed.skops", members, header)
    loaded = load(tmp_path / "changed.skops")  # what checksums alone cannot catch
    assert not np.array_equal(_weights(loaded), _weights(classifier))
    with pytest.raises(ValueError, match="signature does not match the key"):
        load(tmp_path / "changed.skops", key=KEY)
    del header["signature"]
    _write(tmp_path / "unsigned.skops", members, header)
    with pytest.raises(ValueError, match="is not signed"):
        load(tmp_path / "unsigned.skops", key=KEY)


def test_the_signature_covers_the_whole_header(tmp_path, classifier):
    save(classifier, tmp_path / "signed.skops", key=KEY)
    members, header = _read(tmp_path / "signed.skops")
    header["package_version"] = "0.0.1"
    _write(tmp_path / "changed.skops", members, header)
    load(tmp_path / "changed.skops")
    with pytest.raises(ValueError, match="signature does not match the key"):
        load(tmp_path / "changed.skops", key=KEY)


def test_keys_are_non_empty_bytes_or_str(tmp_path, classifier):
    with pytest.raises(TypeError, match="key must be bytes or str, not int"):
        save(classifier, tmp_path / "model.skops", key=123)
    with pytest.raises(ValueError, match="key is empty"):
        save(classifier, tmp_path / "model.skops", key="")
    save(classifier, tmp_path / "model.skops", key=KEY)
    with pytest.raises(TypeError, match="key must be bytes or str"):
        load(tmp_path / "model.skops", key=123)


def _canonical(header):
    """The header without its signature as persistence.py signs it: sorted keys, no spaces, ASCII."""
    unsigned = {name: value for name, value in header.items() if name != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


@pytest.mark.parametrize("key", [KEY, KEY.encode(), "clé ünicode", b"\x00\xff binary"],
                         ids=["str", "bytes", "unicode", "binary"])
def test_the_signature_is_hmac_sha256_of_the_header_without_it(tmp_path, classifier, key):
    save(classifier, tmp_path / "signed.skops", key=key)
    _, header = _read(tmp_path / "signed.skops")
    secret = key.encode("utf-8") if isinstance(key, str) else key
    assert header["signature"] == hmac.new(secret, _canonical(header), hashlib.sha256).hexdigest()
    assert set(header) == {"format", "format_version", "package_version", "class", "members",
                           "signature"}


def test_a_file_resigned_with_the_key_loads_and_one_signed_with_another_does_not(tmp_path, classifier):
    """Anyone holding the key can sign (recompute manifest and HMAC as the README describes)."""
    save(classifier, tmp_path / "signed.skops", key=KEY)
    members, header = _read(tmp_path / "signed.skops")
    members[_member_holding(members, _weights(classifier))] = _npy(_weights(classifier) * 2)
    header["members"] = _manifest(members)
    for secret, name in ((KEY.encode(), "resigned.skops"), (b"another secret", "other.skops")):
        header["signature"] = hmac.new(secret, _canonical(header), hashlib.sha256).hexdigest()
        _write(tmp_path / name, members, header)
    np.testing.assert_array_equal(_weights(load(tmp_path / "resigned.skops", key=KEY)),
                                  _weights(classifier) * 2)
    with pytest.raises(ValueError, match="signature does not match the key"):
        load(tmp_path / "other.skops", key=KEY)


def test_a_wrong_key_is_refused_before_any_member_is_read(tmp_path, monkeypatch):
    """A signed file is checked for its signature first: a huge member costs nothing to refuse."""
    model = TransformerClassifier(**FAST).fit(TEXTS, LABELS)
    save(model, tmp_path / "signed.skops", key="right")
    monkeypatch.setattr(persistence, "_member_digest", lambda *a, **k: pytest.fail("member read"))
    with pytest.raises(ValueError, match="signature does not match"):
        load(tmp_path / "signed.skops", key="wrong")
