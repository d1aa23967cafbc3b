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
    _loop,
    load,
    persistence,
    save,
)
from sktransformer._tree import tree_copy

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


# ------------------------------------------------ Ctrl-C at a known step


def _interrupt_at_step(monkeypatch, step):
    """Send this process SIGINT from inside the loss of the ``step``-th training step from now."""
    calls = []
    loss = TransformerClassifier._loss

    def interrupting(self, params, batch, rng):
        calls.append(1)
        if len(calls) == step:
            os.kill(os.getpid(), signal.SIGINT)
        return loss(self, params, batch, rng)

    monkeypatch.setattr(TransformerClassifier, "_loss", interrupting)


def test_ctrl_c_during_partial_fit_stops_with_a_warning_and_a_usable_model(monkeypatch):
    X, y = _numeric()
    clf = TransformerClassifier(**SMALL, batch_size=8).partial_fit(X, y, classes=[0, 1])
    assert clf.t_ == 8  # 60 rows, batches of 8
    before = tree_copy(clf.params_)
    handler_before = signal.getsignal(signal.SIGINT)
    _interrupt_at_step(monkeypatch, 3)
    with pytest.warns(UserWarning, match="interrupted"):
        clf.partial_fit(X, y)
    assert clf.t_ == 8 + 3  # stopped after the step that was running, not before or later
    assert clf.n_iter_ == 1  # the interrupted epoch is not counted as one
    assert not np.array_equal(clf.params_["head"]["W"], before["head"]["W"])  # its steps are kept
    assert np.isfinite(clf.predict_proba(X)).all()
    assert signal.getsignal(signal.SIGINT) is handler_before
    monkeypatch.undo()
    clf.partial_fit(X, y)  # and training goes on from there
    assert clf.t_ == 8 + 3 + 8


def test_ctrl_c_with_early_stopping_keeps_the_best_parameters(monkeypatch):
    X, y = _numeric()
    clf = TransformerClassifier(**{**SMALL, "max_iter": 50}, batch_size=20, early_stopping=True,
                                n_iter_no_change=50, learning_rate_init=0.01)
    _interrupt_at_step(monkeypatch, 3 * 6 + 2)  # in the 7th epoch (3 batches per epoch)
    with pytest.warns(UserWarning, match="best validation parameters restored"):
        clf.fit(X, y, X_val=X, y_val=1 - y)  # flipped labels: validation peaks early
    scores = clf.validation_scores_
    assert clf.n_iter_ == len(scores) == 6 and clf.t_ == 3 * 6 + 2
    assert int(np.argmax(scores)) < 5  # the best epoch is neither the last nor the interrupted one
    assert clf.best_validation_score_ == max(scores)
    assert clf.score(X, 1 - y) == clf.best_validation_score_  # the kept model is the best one


# ------------------------------------------------ a non-finite gradient, the loss finite


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_gradient_with_a_finite_loss_stops_training(monkeypatch, bad):
    X, y = _numeric()
    seen = {}
    value_and_grad_tree = _loop.value_and_grad_tree

    def poisoned(loss):
        gradients = value_and_grad_tree(loss)

        def value_and_grads(params, *args):
            value, grads = gradients(params, *args)
            seen["calls"] = seen.get("calls", 0) + 1
            if seen["calls"] == 4:  # one entry of one gradient, at the 4th step
                seen["loss"], seen["params"] = float(value), tree_copy(params)
                grads["head"]["W"][0, 0] = bad
            return value, grads

        return value_and_grads

    monkeypatch.setattr(_loop, "value_and_grad_tree", poisoned)
    clf = TransformerClassifier(**{**SMALL, "max_iter": 5})
    with pytest.warns(RuntimeWarning, match="non-finite"):
        clf.fit(X, y)
    assert np.isfinite(seen["loss"])  # the loss itself was fine
    assert clf.t_ == 3  # the 4th update was never applied
    for kept, last in zip(_leaves(clf.params_), _leaves(seen["params"]), strict=True):
        np.testing.assert_array_equal(kept, last)  # the parameters of the last finite step
    assert all(np.isfinite(leaf).all() for leaf in _leaves(clf.params_))
    assert np.isfinite(clf.predict_proba(X)).all()


# ------------------------------------------------ a failed fit and the caller's RandomState


def _same_state(a, b):
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


def test_failed_fit_leaves_a_random_state_instance_as_it_was():
    X, y = _numeric()
    random_state = np.random.RandomState(0)
    before = random_state.get_state()
    clf = TransformerClassifier(**{**SMALL, "random_state": random_state})
    with pytest.raises(ValueError, match="classes"):
        clf.fit(X, np.full(60, 7))  # one class
    assert clf.random_state is random_state
    assert _same_state(random_state.get_state(), before)

    # so the fit that follows is the fit the failed call would have been
    expected = TransformerClassifier(**{**SMALL, "random_state": np.random.RandomState(0)})
    np.testing.assert_array_equal(clf.fit(X, y).predict_proba(X),
                                  expected.fit(X, y).predict_proba(X))


@pytest.mark.parametrize("failure", ["y_val", "X_val", "d_model"])
def test_fit_failing_after_the_random_state_was_read_leaves_it_as_it_was(failure):
    X, y = _numeric()
    random_state = np.random.RandomState(0)
    before = random_state.get_state()
    params = {**SMALL, "random_state": random_state}
    with pytest.raises(ValueError):
        if failure == "y_val":
            TransformerClassifier(**params).fit(X, y, X_val=X, y_val=np.full(60, 7))
        elif failure == "X_val":
            TransformerClassifier(**params).fit(X, y, X_val=X[:, :3], y_val=y)
        else:
            TransformerClassifier(**{**params, "d_model": 10, "n_heads": 4}).fit(X, y)
    assert _same_state(random_state.get_state(), before)


def test_a_generator_given_as_random_state_is_set_back_after_a_failed_fit():
    X, y = _numeric()
    generator = np.random.default_rng(0)
    before = generator.bit_generator.state
    with pytest.raises(ValueError):
        TransformerClassifier(**{**SMALL, "random_state": generator}).fit(X, y, X_val=X[:, :3],
                                                                          y_val=y)
    assert generator.bit_generator.state == before
