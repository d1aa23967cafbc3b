"""Regression tests for defects found in review (each failed before its fix)."""

import threading
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerSeq2Seq,
)

FAST = dict(d_model=16, n_heads=2, n_layers=1, max_iter=3, random_state=0)


def test_seq2seq_learned_positions_handle_targets_and_outputs_of_max_len():
    X, y = ["a b", "c d"] * 4, ["1 2 3 4", "4 3 2 1"] * 4
    model = TransformerSeq2Seq(max_len=4, positional_encoding="learned", **FAST).fit(X, y)
    assert all(len(p.split()) <= 4 for p in model.predict(X))
    with pytest.raises(ValueError, match="max_output_len"):
        model.set_params(max_output_len=9).predict(X)


def test_seq2seq_score_compares_whole_targets_and_warns_about_truncation():
    X = ["a", "b"] * 6
    y = ["1 2 3 4 5 6 7", "7 6 5 4 3 2 1"] * 6
    with pytest.warns(UserWarning, match="longer than max_len"):
        model = TransformerSeq2Seq(max_len=4, **FAST).fit(X, y)
    assert model.score(X, y) == 0.0  # at most 4 tokens can never equal a 7-token target
    assert model.token_accuracy(X, y) <= 4 / 7


def test_failed_refit_leaves_every_estimator_as_it_was():
    import pickle

    X, y = ["a b c", "c b a", "b"] * 4, ["x", "y", "x"] * 4
    models = [TransformerSeq2Seq(**FAST).fit(X, X), TransformerLanguageModel(**FAST).fit(
        np.arange(24).reshape(6, 4)), TransformerClassifier(**FAST).fit(X, y)]
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


def test_partial_fit_starts_from_the_encoder():
    X = np.random.default_rng(0).integers(1, 9, size=(30, 5))
    encoder = TransformerEncoder(**FAST).fit(X)
    clf = TransformerClassifier(encoder=encoder, random_state=0).partial_fit(X, np.arange(30) % 2)
    assert clf.config_.d_model == 16 and clf.config_.n_layers == 1


def test_token_ids_unseen_in_fit_are_unknown_and_sparse_ids_cost_nothing():
    X = np.array([[1, 50, 0], [50, 1, 1]] * 10)
    y = np.array([0, 1] * 10)
    clf = TransformerClassifier(**FAST).fit(X, y)
    assert clf.config_.input_size == 4  # padding, ids 1 and 50, unknown
    probe = lambda token: clf.predict_proba(np.array([[1, token, 0]]))  # noqa: E731
    np.testing.assert_array_equal(probe(25), probe(60))  # in range or not: both unknown
    huge = TransformerClassifier(**FAST).fit(X * 40_000_000, y)
    assert huge.n_parameters_ < 100_000


def test_seq2seq_output_for_an_empty_source_does_not_depend_on_its_batch():
    X, y = ["a b", "b a", ""] * 4, ["1", "2", "3"] * 4
    model = TransformerSeq2Seq(**FAST).fit(X, y)
    alone = model.predict_log_proba_of_output([""])
    together = model.predict_log_proba_of_output(["", "a b a b a b a b a b a"])[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-5)


def test_concurrent_calls_restore_the_process_blas_threads():
    X = np.random.default_rng(0).normal(size=(40, 4))
    clf = TransformerClassifier(**FAST).fit(X, (X[:, 0] > 0).astype(int))
    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    threads = [threading.Thread(target=lambda: [clf.predict_proba(X) for _ in range(50)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == before


def test_dropout_close_to_one_does_not_divide_by_zero():
    X = np.random.default_rng(0).normal(size=(20, 3))
    TransformerClassifier(**{**FAST, "dropout": 0.999995}).fit(X, np.arange(20) % 2)


def test_pandas_series_of_text_is_a_list_of_sequences():
    pd = pytest.importorskip("pandas")
    texts = pd.Series(["the cat sat", "a dog", "the end", "cats"] * 3)
    clf = TransformerClassifier(**FAST).fit(texts, [0, 1] * 6)
    assert clf.predict(texts).shape == (12,)
    assert SequenceVectorizer().fit_transform(texts).shape[0] == 12
    assert TransformerLanguageModel(**FAST).fit(texts).score(texts) < 0


def test_boolean_arrays_are_numeric_features_not_token_ids():
    X = np.random.default_rng(0).random((20, 4)) > 0.5
    clf = TransformerClassifier(**FAST).fit(X, np.arange(20) % 2)
    assert clf.config_.input_kind == "numeric"


def test_generate_and_seq2seq_reject_malformed_arguments_clearly():
    lm = TransformerLanguageModel(**FAST).fit(["abc", "cab"])
    for temperature in (None, float("nan"), -1.0):
        with pytest.raises(ValueError, match="temperature"):
            lm.generate("a", temperature=temperature)
    with pytest.raises(TypeError, match="target sequences"):
        TransformerSeq2Seq(**FAST).fit(["a", "b"], {"a": 1, "b": 2})


def test_huge_unsigned_ids_are_refused_not_wrapped():
    X = np.array([[2**63 + 5, 3], [4, 2**64 - 1]] * 10, dtype=np.uint64)
    with pytest.raises(ValueError, match="2\\*\\*63"):
        TransformerClassifier(**FAST).fit(X, np.arange(20) % 2)


def test_model_files_of_the_old_development_format_are_refused_clearly(tmp_path, monkeypatch):
    from sktransformer import load, persistence, save

    clf = TransformerClassifier(**FAST).fit(np.random.default_rng(0).normal(size=(10, 2)),
                                           np.arange(10) % 2)
    monkeypatch.setattr(persistence, "FORMAT_VERSION", 1)
    save(clf, tmp_path / "old.skops")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="Fit the model again"):
        load(tmp_path / "old.skops")
