"""No lost work, safe files, determinism and thread safety."""


import hashlib
import json
import os
import pickle
import signal
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from configs import SMALL
from sklearn.model_selection import GridSearchCV
from tasks import model_outputs
from threadpoolctl import threadpool_info

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerSeq2Seq,
    load,
    persistence,
    save,
)

TEXTS = ["the cat sat", "a dog ran off", "the end", "cats and dogs"] * 3


def _numeric():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return X, (X[:, 0] > 0).astype(int)


def _fitted_models():
    X, y = _numeric()
    return [
        (TransformerClassifier(**SMALL).fit(X, y), X),
        (TransformerClassifier(**SMALL).fit(TEXTS, [0, 1] * 6), TEXTS),
        (TransformerEncoder(**SMALL).fit(np.random.default_rng(0).integers(0, 9, (20, 5))),
         np.random.default_rng(1).integers(0, 9, (4, 5))),
        (TransformerLanguageModel(**SMALL).fit(TEXTS), TEXTS),
        (TransformerSeq2Seq(**SMALL).fit(TEXTS, TEXTS[::-1]), TEXTS),
        (SequenceVectorizer().fit(TEXTS), TEXTS),
    ]


# ------------------------------------------------------------------ files


@pytest.mark.parametrize("index", range(6))
def test_save_load_round_trip_gives_identicalmodel_outputs(index, tmp_path):
    model, X = _fitted_models()[index]
    path = tmp_path / "model.skops"
    save(model, path)
    loaded = load(path)
    assert type(loaded) is type(model)
    assert model_outputs(loaded, X) == model_outputs(model, X)
    assert model_outputs(pickle.loads(pickle.dumps(model)), X) == model_outputs(model, X)


def test_truncated_tampered_and_foreign_files_are_refused(tmp_path):
    model, _ = _fitted_models()[0]
    path = tmp_path / "model.skops"
    save(model, path)
    data = path.read_bytes()
    (tmp_path / "truncated.skops").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable"):
        load(tmp_path / "truncated.skops")
    (tmp_path / "garbage.skops").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="not a readable"):
        load(tmp_path / "garbage.skops")
    # a plain skops file of a scikit-learn model (no header) is foreign
    import skops.io
    from sklearn.linear_model import LogisticRegression

    skops.io.dump(LogisticRegression().fit(*_numeric()), tmp_path / "foreign.skops")
    with pytest.raises(ValueError, match="not an sktransformer model file"):
        load(tmp_path / "foreign.skops")


def test_file_naming_a_foreign_type_executes_nothing(tmp_path):
    """A header added to a file whose schema names os.system: refused before construction."""
    import skops.io

    foreign = tmp_path / "sneaky.skops"
    skops.io.dump({"payload": np.ones(2)}, foreign)
    with zipfile.ZipFile(foreign) as archive:
        schema = archive.read("schema.json").decode()
    schema = schema.replace('"__module__": "builtins"', '"__module__": "os"').replace(
        '"__class__": "dict"', '"__class__": "system"')
    with zipfile.ZipFile(foreign) as src, zipfile.ZipFile(tmp_path / "evil.skops", "w") as dst:
        members = {}
        for item in src.namelist():  # a valid manifest: the type check must refuse it
            data = schema.encode() if item == "schema.json" else src.read(item)
            dst.writestr(item, data)
            members[item] = hashlib.sha256(data).hexdigest()
        header = {"format": "sktransformer", "format_version": persistence.FORMAT_VERSION,
                  "class": "os.system", "members": members}
        dst.writestr(persistence.HEADER, json.dumps(header))
    with pytest.raises(ValueError, match="not sktransformer's or trusted"):
        load(tmp_path / "evil.skops")


def test_newer_format_version_is_refused_with_a_message(tmp_path, monkeypatch):
    model, _ = _fitted_models()[0]
    monkeypatch.setattr(persistence, "FORMAT_VERSION", persistence.FORMAT_VERSION + 1)
    save(model, tmp_path / "future.skops")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="Upgrade sktransformer"):
        load(tmp_path / "future.skops")


def test_save_refuses_other_objects(tmp_path):
    with pytest.raises(TypeError, match="sktransformer estimators"):
        save({"not": "a model"}, tmp_path / "x.skops")


# ---------------------------------------------------------- no lost work


def test_ctrl_c_stops_after_the_current_step_and_keeps_a_usable_model():
    X, y = _numeric()
    X = np.repeat(X, 20, axis=0)
    y = np.repeat(y, 20)
    clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=10_000, random_state=0)
    handler_before = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.warns(UserWarning, match="interrupted"):
            clf.fit(X, y)
    finally:
        timer.cancel()
    assert 0 < clf.t_ and clf.n_iter_ < 10_000
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    assert signal.getsignal(signal.SIGINT) is handler_before  # the caller's handler restored


class _ExplodingClassifier(TransformerClassifier):
    """Its loss becomes NaN at the 4th step (as a diverging model's would)."""

    def _loss(self, params, batch, rng):
        self._calls = getattr(self, "_calls", 0) + 1
        loss = super()._loss(params, batch, rng)
        return loss * np.nan if self._calls >= 4 else loss


def test_non_finite_loss_stops_training_with_last_good_parameters():
    X, y = _numeric()
    clf = _ExplodingClassifier(**{**SMALL, "max_iter": 5})
    with pytest.warns(RuntimeWarning, match="nan"):
        clf.fit(X, y)
    assert clf.t_ == 3  # the 4th update was never applied
    assert all(np.isfinite(leaf).all() for leaf in _leaves(clf.params_))
    assert np.isfinite(clf.predict_proba(X)).all()


def _leaves(tree):
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _leaves(v)]
    if isinstance(tree, list):
        return [x for v in tree for x in _leaves(v)]
    return [tree]


def test_exception_in_partial_fit_leaves_encoder_state_untouched():
    X = np.random.default_rng(0).integers(1, 9, size=(20, 5))
    enc = TransformerEncoder(**SMALL).fit(X)
    before = pickle.dumps(enc)
    with pytest.raises(ValueError):
        enc.partial_fit(X[:, :3])
    with pytest.raises(ValueError):
        enc.partial_fit(-X)
    assert pickle.dumps(enc) == before


# ------------------------------------------------ determinism and threads


def test_identical_parameters_across_runs_and_n_jobs():
    X, y = _numeric()
    a = TransformerClassifier(**SMALL).fit(X, y)
    b = TransformerClassifier(**SMALL).fit(X, y)
    for p, q in zip(_leaves(a.params_), _leaves(b.params_), strict=True):
        np.testing.assert_array_equal(p, q)
    grid = {"n_heads": [1, 2]}
    one = GridSearchCV(TransformerClassifier(**SMALL), grid, cv=2, n_jobs=1).fit(X, y)
    two = GridSearchCV(TransformerClassifier(**SMALL), grid, cv=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"],
                                  two.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_predict_is_safe_from_several_threads():
    X, y = _numeric()
    clf = TransformerClassifier(**SMALL).fit(X, y)
    expected = clf.predict_proba(X)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: clf.predict_proba(X), range(16)))
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_failed_refit_leaves_every_estimator_as_it_was():
    import pickle

    X, y = ["a b c", "c b a", "b"] * 4, ["x", "y", "x"] * 4
    models = [TransformerSeq2Seq(**SMALL).fit(X, X), TransformerLanguageModel(**SMALL).fit(
        np.arange(24).reshape(6, 4)), TransformerClassifier(**SMALL).fit(X, y)]
    for model in models:
        before = pickle.dumps(model)
        with pytest.raises((ValueError, TypeError)):
            if isinstance(model, TransformerSeq2Seq):
                model.fit(["q r s t u v"] * 3, ["z"] * 3, X_val=X)  # validation pair incomplete
            elif isinstance(model, TransformerLanguageModel):
                model.fit(["new text"], X_val=np.ones((2, 3, 3)))  # bad X_val after a new vocabulary
            else:
                model.fit(np.ones((5, 2)), np.zeros(5))  # one class, after reading a new X
        assert pickle.dumps(model) == before


def test_concurrent_calls_restore_the_process_blas_threads():
    X = np.random.default_rng(0).normal(size=(40, 4))
    clf = TransformerClassifier(**SMALL).fit(X, (X[:, 0] > 0).astype(int))
    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    threads = [threading.Thread(target=lambda: [clf.predict_proba(X) for _ in range(50)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == before
