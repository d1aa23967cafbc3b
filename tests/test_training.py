"""The training loop: minibatches, optimizer, gradients of a parameter tree, and what the README
promises of training (schedule, early stopping, validation data, defaults, the runtime of a step)."""


import gc
import math
import threading
import warnings

import numpy as np
import pytest
from autograd import value_and_grad
from configs import SMALL

import sktransformer
from sktransformer import (
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
    _loop,
    _probe,
    _runtime,
)
from sktransformer._base import TrainingData
from sktransformer._grad import value_and_grad_tree
from sktransformer._inputs import Inputs
from sktransformer._loop import minibatches
from sktransformer._optim import AdamW
from sktransformer._tree import tree_leaves


def test_minibatches_cover_every_row_once_and_bucket_by_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=1000)
    mask = np.arange(60)[None, :] < lengths[:, None]
    data = TrainingData(Inputs(mask.astype(np.int32), mask))
    batches = minibatches(data, 32, np.random.default_rng(1), bucket_batches=32)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padding = sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches)
    shuffled = np.random.default_rng(2).permutation(1000)
    random_padding = sum(lengths[b].max() * len(b) - lengths[b].sum()
                         for b in np.array_split(shuffled, len(batches)))
    assert padding < 0.2 * random_padding  # batches of similar lengths: little padding to compute
    assert minibatches(data, 32, np.random.default_rng(1), 32)[0].tolist() == batches[0].tolist()
    unbucketed = minibatches(data, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(unbucketed).tolist()) == list(range(1000))


def test_gradients_of_a_parameter_tree_match_autograd():
    rng = np.random.default_rng(0)
    params = {"a": rng.normal(size=(3, 2)), "layers": [{"w": rng.normal(size=2)}, {"w": rng.normal(size=2)}],
              "unused": rng.normal(size=4)}

    def loss(p, x):
        h = np.tanh(x @ p["a"])
        for layer in p["layers"]:
            h = h * layer["w"]
        return (h**2).sum()

    x = rng.normal(size=(5, 3))
    expected_value, expected = value_and_grad(loss)(params, x)
    value, grads = value_and_grad_tree(loss)(params, x)
    assert value == expected_value
    for g, e in zip(tree_leaves(grads), tree_leaves(expected), strict=True):
        np.testing.assert_allclose(g, e)
    assert (grads["unused"] == 0).all()


def test_adamw_first_step_moves_each_weight_by_the_learning_rate_and_decays_matrices():
    params = {"W": np.ones((2, 2), np.float32), "b": np.ones(2, np.float32)}
    grads = {"W": np.full((2, 2), 0.5, np.float32), "b": np.full(2, -0.5, np.float32)}
    optimizer = AdamW(params, learning_rate=0.1, weight_decay=0.1, max_grad_norm=None)
    assert optimizer.update(params, grads)
    np.testing.assert_allclose(params["W"], 1 * (1 - 0.01) - 0.1, rtol=1e-5)  # decay, then Adam step
    np.testing.assert_allclose(params["b"], 1 + 0.1, rtol=1e-5)  # no decay on biases
    assert params["W"].dtype == np.float32
    assert not optimizer.update(params, {"W": grads["W"] * np.nan, "b": grads["b"]})
    np.testing.assert_allclose(params["b"], 1.1, rtol=1e-5)  # a non-finite step changes nothing


def test_gradient_clipping_bounds_the_global_norm():
    params = {"w": np.zeros(4, np.float32)}
    optimizer = AdamW(params, learning_rate=1.0, weight_decay=0.0, max_grad_norm=1.0)
    optimizer.update(params, {"w": np.full(4, 100.0, np.float32)})
    np.testing.assert_allclose(optimizer.m["w"], 0.1 * 100 / (200 + 1e-12), rtol=1e-5)


def test_warm_start_with_early_stopping_never_publishes_worse_parameters():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    params = dict(d_model=16, n_heads=2, n_layers=1, max_iter=30, early_stopping=True,
                  n_iter_no_change=3, random_state=0, learning_rate_init=0.01)
    clf = TransformerClassifier(**params).fit(X, y, X_val=X, y_val=y)
    first = clf.score(X, y)
    clf.set_params(warm_start=True, learning_rate_init=0.5, max_grad_norm=None, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, X_val=X, y_val=y)
    assert clf.score(X, y) >= first


def _numeric(n=60, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, 4))
    return X, (X[:, 0] > 0).astype(int)


# ------------------------------------------------------------ the learning-rate schedule


def test_linear_schedule_spans_every_batch_and_ends_at_ten_percent(monkeypatch):
    X, y = _numeric()
    rates = []
    update = AdamW.update

    def spy(self, params, grads):
        rates.append(self.current_learning_rate())  # the rate this step applies
        return update(self, params, grads)

    monkeypatch.setattr(AdamW, "update", spy)
    clf = TransformerClassifier(**{**SMALL, "max_iter": 3}, batch_size=16, learning_rate="linear",
                                learning_rate_init=1e-2, tol=0.0, n_iter_no_change=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    total_steps = 3 * math.ceil(60 / 16)  # max_iter * ceil(n_samples / batch_size) = 12
    assert clf.t_ == len(rates) == total_steps == clf._optimizer.total_steps
    # from learning_rate_init at the first step down to 10% of it at the last, linearly
    np.testing.assert_allclose(rates, np.linspace(1e-2, 1e-3, total_steps), rtol=1e-9)


# ------------------------------------------------------------ early stopping and validation data


@pytest.mark.parametrize("n_samples, validated, blend", [
    (999, False, False), (1000, True, False), (99, False, "auto"), (100, True, "auto")])
def test_auto_early_stopping_holds_out_validation_data_from_1000_training_rows(n_samples,
                                                                               validated, blend):
    """From 1,000 rows; with linear_blend (the default), from 100 (its share needs them)."""
    X, y = _numeric(n_samples)
    clf = TransformerClassifier(d_model=8, n_heads=1, n_layers=1, max_iter=1, batch_size=100,
                                random_state=0, linear_blend=blend)
    assert clf.early_stopping == "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    if validated:
        assert isinstance(clf.validation_scores_, list) and len(clf.validation_scores_) == 1
        assert clf.t_ == -(-(n_samples - n_samples // 10) // 100)  # 10% held out
        assert (clf.blend_model_ is not None) == (blend == "auto")
    else:
        assert clf.validation_scores_ is None and clf.best_validation_score_ is None
        assert clf.t_ == -(-n_samples // 100)  # every row trained
        assert clf.blend_model_ is None


def test_auto_early_stopping_with_explicit_validation_data_keeps_the_best_epoch():
    X, y = _numeric()
    clf = TransformerClassifier(**{**SMALL, "max_iter": 30}, n_iter_no_change=3,
                                learning_rate_init=0.01)
    assert clf.early_stopping == "auto"
    # validation labels flipped: the better the model learns y, the worse it validates
    clf.fit(X, y, X_val=X, y_val=1 - y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ < 30  # validated every epoch, and stopped on it
    assert int(np.argmax(scores)) < clf.n_iter_ - 1  # the best epoch is not the last one
    assert clf.best_validation_score_ == max(scores)
    assert clf.score(X, 1 - y) == clf.best_validation_score_  # its parameters are the ones kept


def test_explicit_validation_data_means_no_hidden_split(monkeypatch):
    X, y = _numeric(40)
    rows = []
    loss = TransformerClassifier._loss

    def spy(self, params, batch, rng):
        rows.append(len(batch["target"]))
        return loss(self, params, batch, rng)

    monkeypatch.setattr(TransformerClassifier, "_loss", spy)
    clf = TransformerClassifier(**SMALL, batch_size=4, early_stopping=True, n_iter_no_change=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, X_val=X[:10], y_val=y[:10])
    assert len(clf.validation_scores_) == clf.n_iter_ == 3
    assert clf.t_ == clf.n_iter_ * math.ceil(40 / 4)  # a 10% split would leave 9 batches
    assert sum(rows) == clf.n_iter_ * 40  # every training row, every epoch


def _validation_cases():
    """Training data and validation data that disagree: validation peaks early, then falls."""
    forward, backward = np.arange(1, 9), np.arange(8, 0, -1)
    sources = ["a b c", "b c a", "c a b"]
    return {
        TransformerEncoder: (np.tile(forward, (40, 1)), None, np.tile(backward, (10, 1)), None),
        TransformerLanguageModel: (["abcdefgh"] * 40, None, ["hgfedcba"] * 10, None),
        TransformerSeq2Seq: (sources * 12, ["x y z", "y z x", "z x y"] * 12,
                             sources * 3, ["z y x", "x z y", "y x z"] * 3),
    }


@pytest.mark.parametrize("Estimator", [TransformerEncoder, TransformerLanguageModel,
                                       TransformerSeq2Seq])
def test_validation_data_is_scored_and_the_best_epoch_kept_by_every_estimator(Estimator):
    X, y, X_val, y_val = _validation_cases()[Estimator]
    est = Estimator(**{**SMALL, "max_iter": 12}, early_stopping=True, n_iter_no_change=3,
                    learning_rate_init=0.01, dropout=0.0)
    if y is None:
        est.fit(X, X_val=X_val)
    else:
        est.fit(X, y, X_val=X_val, y_val=y_val)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ < 12
    assert int(np.argmax(scores)) < est.n_iter_ - 1  # the best epoch is not the last one
    assert est.best_validation_score_ == max(scores)
    kept = est._validation_score(est.params_, est._validation_data(X_val, y_val))
    assert kept == est.best_validation_score_
    if Estimator is TransformerEncoder:  # its public score is the validation score
        assert est.score(X_val) == est.best_validation_score_


# ------------------------------------------------------------ defaults the README states

README_DEFAULTS = {  # every estimator: "Defaults that learn", "Scaling out", the benchmarks' sizes
    "early_stopping": "auto", "n_iter_no_change": 20, "tol": 5e-3, "blas_threads": 1,
    "d_model": 64, "n_heads": 4, "n_layers": 2, "positional_encoding": "sinusoidal",
}
OWN_DEFAULTS = {
    TransformerClassifier: {"max_ngram": "auto", "pooling": "mean", "max_iter": "auto",
                            "learning_rate_init": "auto", "learning_rate": "auto",
                            "warmup_fraction": "auto"},
    TransformerRegressor: {"max_ngram": "auto", "pooling": "mean", "max_iter": "auto",
                           "learning_rate_init": "auto"},
    TransformerEncoder: {},
    TransformerLanguageModel: {"learning_rate_init": 3e-3, "analyzer": "char", "max_iter": 100},
    TransformerSeq2Seq: {},
}


@pytest.mark.parametrize("Estimator", list(OWN_DEFAULTS))
def test_the_defaults_the_readme_states(Estimator):
    est = Estimator()
    expected = {**README_DEFAULTS, **OWN_DEFAULTS[Estimator]}
    assert {name: est.get_params()[name] for name in expected} == expected
    assert est._batch_size() == 32  # batch_size="auto"
    from sktransformer import _base, _supervised

    assert _base.AUTO_EARLY_STOPPING_MIN_SAMPLES == 1000  # "on from 1,000 training samples"
    assert _supervised.AUTO_MAX_NGRAM == 4  # "the 2-4-grams ending there"
    # the probe: "4-fold cross-validated on at most 4,000 rows", "at least half of the single
    # tokens' error, by 3 standard errors"
    assert (_probe.PROBE_FOLDS, _probe.PROBE_ROWS) == (4, 4000)
    assert (_probe.PROBE_REDUCTION, _probe.PROBE_T) == (0.5, 3.0)


# ------------------------------------------------------------ the runtime of a training step


def _gc_states_in_training(monkeypatch, fit, gc_on_before):
    """gc.isenabled() at every training step of ``fit()``, and after it, with gc on or off before."""
    seen = []
    loss = TransformerClassifier._loss

    def spy(self, params, batch, rng):
        seen.append(gc.isenabled())
        return loss(self, params, batch, rng)

    monkeypatch.setattr(TransformerClassifier, "_loss", spy)
    enabled = gc.isenabled()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (gc.enable if gc_on_before else gc.disable)()
            fit()
            after = gc.isenabled()
    finally:
        (gc.enable if enabled else gc.disable)()
    assert seen
    return set(seen), after


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_training_leaves_the_garbage_collector_alone_by_default(monkeypatch, method):
    X, y = _numeric()
    fit = lambda: getattr(TransformerClassifier(**SMALL), method)(X, y)  # noqa: E731
    assert _gc_states_in_training(monkeypatch, fit, gc_on_before=True) == ({True}, True)
    assert _gc_states_in_training(monkeypatch, fit, gc_on_before=False) == ({False}, False)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_pause_gc_during_fit_turns_the_collector_off_while_training_and_back(monkeypatch, method):
    X, y = _numeric()

    def fit():
        with sktransformer.config_context(pause_gc_during_fit=True):
            getattr(TransformerClassifier(**SMALL), method)(X, y)

    assert _gc_states_in_training(monkeypatch, fit, gc_on_before=True) == ({False}, True)
    # the caller had it off: it stays off
    assert _gc_states_in_training(monkeypatch, fit, gc_on_before=False) == ({False}, False)


def test_overlapping_trainings_turn_the_collector_back_on_after_the_last():
    inside, release = threading.Event(), threading.Event()

    def worker():
        with _runtime._gc_paused():
            inside.set()
            release.wait(5)

    enabled = gc.isenabled()
    gc.enable()
    try:
        thread = threading.Thread(target=worker)
        with _runtime._gc_paused():
            thread.start()
            inside.wait(5)
            assert not gc.isenabled()
        assert not gc.isenabled()  # the worker still trains
        release.set()
        thread.join()
        assert gc.isenabled() and _runtime._gc_pauses["count"] == 0
    finally:
        (gc.enable if enabled else gc.disable)()


def test_each_batch_is_trimmed_to_its_longest_member_and_batches_are_not_sorted(monkeypatch):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 21, size=48)
    X = [[f"t{j % 7}" for j in range(n)] for n in lengths]
    y = lengths % 2
    widths = []
    loss = TransformerClassifier._loss

    def spy(self, params, batch, rng):
        inputs = batch["inputs"]
        widths.append((inputs.X.shape[1], int(inputs.mask.sum(axis=1).max())))
        return loss(self, params, batch, rng)

    buckets = []
    minibatches = _loop.minibatches

    def minibatches_spy(data, batch_size, rng, bucket_batches=None):
        buckets.append(bucket_batches)
        return minibatches(data, batch_size, rng, bucket_batches)

    monkeypatch.setattr(TransformerClassifier, "_loss", spy)
    monkeypatch.setattr(_loop, "minibatches", minibatches_spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        TransformerClassifier(**SMALL, batch_size=4, max_ngram=1).fit(X, y)
    assert len(widths) == 3 * 12
    assert all(width == longest for width, longest in widths)  # no all-padding column computed
    assert min(width for width, _ in widths) < lengths.max()  # so most batches are narrower
    assert buckets == [None] * 3  # the default path does not sort sequences by length
