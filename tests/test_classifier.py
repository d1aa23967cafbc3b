"""TransformerClassifier: the scikit-learn API around the model."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransformer import TransformerClassifier, TransformerEncoder, TransformerRegressor


def test_grid_search_over_heads_and_layers_in_parallel(small_numeric, fast_params):
    X, y = small_numeric
    search = GridSearchCV(TransformerClassifier(**fast_params),
                          {"n_heads": [1, 2], "n_layers": [1, 2]}, cv=2, n_jobs=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["n_heads"] in (1, 2)
    assert search.best_estimator_.config_.n_heads == search.best_params_["n_heads"]


def test_pipeline_with_preprocessing(small_numeric, fast_params):
    X, y = small_numeric
    pipe = make_pipeline(StandardScaler(), TransformerClassifier(**fast_params)).fit(X, y)
    assert pipe.predict(X).shape == (60,)
    assert pipe.predict_proba(X).shape == (60, 2)


def test_pickle_round_trip_gives_identical_predictions(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**fast_params).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))


def test_same_random_state_same_model(small_numeric, fast_params):
    X, y = small_numeric
    a = TransformerClassifier(**fast_params).fit(X, y).predict_proba(X)
    b = TransformerClassifier(**fast_params).fit(X, y).predict_proba(X)
    c = TransformerClassifier(**{**fast_params, "random_state": 1}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_no_global_random_state_is_read_or_written(small_numeric, fast_params):
    X, y = small_numeric
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    TransformerClassifier(**{**fast_params, "random_state": None}).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_string_labels_and_multiclass(fast_params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(45, 3))
    y = np.array(["cat", "dog", "emu"])[np.arange(45) % 3]
    clf = TransformerClassifier(**fast_params).fit(X, y)
    assert set(clf.predict(X)) <= {"cat", "dog", "emu"}
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), rtol=1e-5, atol=1e-8)


def test_fitted_attributes(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**fast_params).fit(X, y)
    assert clf.n_features_in_ == 4
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None
    assert clf.t_ == 5 * int(np.ceil(60 / 32))
    assert clf.params_["embed"]["W"].dtype == np.float32


def test_d_model_not_divisible_by_heads_names_both(small_numeric):
    X, y = small_numeric
    with pytest.raises(ValueError, match=r"d_model=10.*n_heads=4"):
        TransformerClassifier(d_model=10, n_heads=4).fit(X, y)


def test_invalid_hyperparameter_is_a_clear_error(small_numeric):
    X, y = small_numeric
    with pytest.raises(ValueError, match="pooling"):
        TransformerClassifier(pooling="max").fit(X, y)


def test_convergence_warning_at_max_iter(small_numeric, fast_params):
    X, y = small_numeric
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        TransformerClassifier(**{**fast_params, "max_iter": 2}).fit(X, y)


def test_tol_stops_training_without_warning(small_numeric, fast_params):
    X, y = small_numeric
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = TransformerClassifier(**{**fast_params, "max_iter": 200, "tol": 10.0,
                                       "n_iter_no_change": 2}).fit(X, y)
    # epoch 1 improves on inf; epochs 2-4 do not improve by 10: the count exceeds 2 at epoch 4
    assert clf.n_iter_ == 4


def test_early_stopping_restores_best_parameters(fast_params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    clf = TransformerClassifier(**{**fast_params, "max_iter": 40, "early_stopping": True,
                                   "n_iter_no_change": 4, "learning_rate_init": 0.01})
    clf.fit(X[:80], y[:80], X_val=X[80:], y_val=y[80:])
    assert len(clf.validation_scores_) == clf.n_iter_ < 40
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the parameters kept are those of the best epoch, not the last one
    assert clf.score(X[80:], y[80:]) == pytest.approx(clf.best_validation_score_)


def test_early_stopping_splits_off_a_validation_set(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "early_stopping": True,
                                   "validation_fraction": 0.25}).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.t_ == clf.n_iter_ * 2  # 45 training rows -> 2 batches of 32 per epoch


def test_explicit_validation_data_is_scored_every_epoch(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**fast_params).fit(X[:40], y[:40], X_val=X[40:], y_val=y[40:])
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(X[40:], y[40:]))


def test_validation_data_must_come_in_pairs(small_numeric, fast_params):
    X, y = small_numeric
    with pytest.raises(ValueError, match="X_val and y_val"):
        TransformerClassifier(**fast_params).fit(X, y, X_val=X)


def test_warm_start_continues_training(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "warm_start": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        first_params = clf.params_["head"]["W"].copy()
        clf.fit(X, y)
    assert clf.n_iter_ == 10 and len(clf.loss_curve_) == 10
    assert clf.t_ == 10 * 2
    assert not np.array_equal(first_params, clf.params_["head"]["W"])


def test_partial_fit_one_epoch_at_a_time(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**fast_params)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1])
    clf.partial_fit(X[30:], y[30:])
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    with pytest.raises(ValueError, match="labels not in classes"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 0, 1]))


def test_failed_partial_fit_leaves_model_unchanged(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**fast_params).fit(X, y)
    before = pickle.dumps(clf)
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError):
        clf.partial_fit(X, np.full(60, 7))
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert pickle.dumps(clf) == before


def test_sample_weight_zero_removes_samples(fast_params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    X_noise = rng.normal(size=(20, 3))
    y_noise = rng.integers(0, 2, 20)
    params = {**fast_params, "batch_size": 100, "dropout": 0.0}
    a = TransformerClassifier(**params).fit(X, y)
    b = TransformerClassifier(**params).fit(np.vstack([X, X_noise]), np.r_[y, y_noise],
                                            sample_weight=np.r_[np.ones(40), np.zeros(20)])
    # same data seen, but parameter init order is identical, so only float noise differs
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-4)


def test_token_id_input_with_unseen_ids_at_predict(fast_params):
    rng = np.random.default_rng(0)
    X = rng.integers(1, 10, size=(40, 6))
    y = (X[:, 0] > 5).astype(int)
    clf = TransformerClassifier(**fast_params).fit(X, y)
    assert clf.config_.input_kind == "tokens" and clf.config_.input_size == 11
    X_new = X.copy()
    X_new[:, 3] = 10_000  # never seen in fit -> the unknown id, no crash
    assert clf.predict(X_new).shape == (40,)
    with pytest.raises(ValueError, match="Negative values"):
        clf.predict(-X)


def test_padding_id_zero_is_masked(fast_params):
    rng = np.random.default_rng(0)
    X = rng.integers(1, 10, size=(40, 6))
    X[:, 4:] = 0
    y = (X[:, 0] > 5).astype(int)
    clf = TransformerClassifier(**fast_params).fit(X, y)
    # what sits under padding never matters: the mask hides position 5 from everything
    X_other = X.copy()
    X_other[:, 5] = 0
    np.testing.assert_allclose(clf.predict_proba(X_other), clf.predict_proba(X), rtol=1e-6)


def test_input_type_numeric_reads_integers_as_features(fast_params):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 100, size=(40, 3))
    y = (X[:, 0] > 50).astype(int)
    clf = TransformerClassifier(input_type="numeric", **fast_params).fit(X, y)
    assert clf.config_.input_kind == "numeric"
    with pytest.raises(ValueError, match="whole numbers"):
        TransformerClassifier(input_type="tokens", **fast_params).fit(X + 0.5, y)


def test_three_d_series_input(fast_params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 7, 3))
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    clf = TransformerClassifier(**fast_params).fit(X, y)
    assert clf.config_.input_kind == "series" and clf.n_features_in_ == 7
    assert clf.predict(X).shape == (30,)
    with pytest.raises(ValueError, match="channels"):
        clf.predict(X[:, :, :2])


def test_ragged_lists_and_strings(fast_params):
    texts = ["a good film", "bad", "really good", "really really bad movie", "good", "bad bad"]
    y = [1, 0, 1, 0, 1, 0]
    clf = TransformerClassifier(**fast_params).fit(texts, y)
    assert "good" in clf.vocabulary_ and not hasattr(clf, "n_features_in_")
    assert clf.predict(["an unseen word", ""]).shape == (2,)
    token_lists = [[1, 2, 3], [4], [5, 6]]
    clf = TransformerClassifier(**fast_params).fit(token_lists, [0, 1, 0])
    assert clf.predict([[1, 2], [9, 9, 9, 9]]).shape == (2,)
    with pytest.raises(ValueError, match="fitted on sequences"):
        clf.predict(np.ones((2, 3), int))


def test_sequences_longer_than_max_len_are_truncated(fast_params):
    clf = TransformerClassifier(max_len=4, **fast_params).fit(["a b c d e f", "b c"], [0, 1])
    long = "a b c d x y z w"
    np.testing.assert_allclose(clf.predict_proba([long]), clf.predict_proba(["a b c d"]))
    with pytest.raises(ValueError, match="max_len=4"):
        TransformerClassifier(max_len=4, **fast_params).fit(np.ones((2, 6), int), [0, 1])


def test_verbose_prints_one_row_per_epoch(small_numeric, fast_params, capsys):
    X, y = small_numeric
    TransformerClassifier(**{**fast_params, "verbose": 1}).fit(X, y, X_val=X, y_val=y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "train_loss" in lines[0] and "valid_score" in lines[0]
    assert len(lines) == 2 + 5
    TransformerClassifier(**fast_params).fit(X, y)
    assert capsys.readouterr().out == ""


def test_verbose_partial_fit_prints_the_header_before_its_first_row(small_numeric, fast_params,
                                                                   capsys):
    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "verbose": 1})
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "train_loss" in lines[0] and set(lines[1]) == {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == ["1", "2"]  # one header, then a row a call


def test_verbose_rows_show_the_learning_rate_of_the_epoch(small_numeric, fast_params, capsys):
    X, y = small_numeric
    TransformerClassifier(**{**fast_params, "verbose": 1, "learning_rate": "linear",
                             "batch_size": 60}).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "lr" in lines[0].split()
    rates = [float(line.split()[2]) for line in lines[2:]]  # epoch, train_loss, lr, dur
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-4)
    assert rates == sorted(rates, reverse=True)  # linear decay to 10% at the last step


def test_predict_does_not_change_the_estimator(small_numeric, fast_params):
    X, y = small_numeric
    clf = TransformerClassifier(**fast_params).fit(X, y)
    before = pickle.dumps(clf)
    clf.predict_proba(X)
    assert pickle.dumps(clf) == before


def test_blas_threads_are_limited_during_fit(small_numeric, fast_params, monkeypatch):
    from threadpoolctl import threadpool_info

    X, y = small_numeric
    seen = []
    clf = TransformerClassifier(**{**fast_params, "blas_threads": 1})
    from sktransformer import _loop

    original = _loop.run_epoch

    def spy(*args, **kwargs):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return original(*args, **kwargs)

    monkeypatch.setattr(_loop, "run_epoch", spy)
    clf.fit(X, y)
    assert seen and set(seen) == {1}


def test_verbose_2_shows_a_per_batch_progress_bar(small_numeric, fast_params, capsys, monkeypatch):
    import sys

    X, y = small_numeric
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # the plain fallback
    TransformerClassifier(**{**fast_params, "verbose": 2, "max_iter": 2}).fit(X, y)
    captured = capsys.readouterr()
    assert "batch 2/2" in captured.err  # 60 samples, batches of 32
    assert len(captured.out.strip().splitlines()) == 2 + 2  # the epoch table as with verbose=1


def _initial_attention(Estimator, n_heads):
    """Per head W_Q W_K^T, and W_V W_O as one product, of a fresh model's first layer."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = None if Estimator is TransformerEncoder else np.arange(20) % 2
    # one step at a negligible learning rate: the parameters are the initial ones
    est = Estimator(d_model=16, n_heads=n_heads, n_layers=1, max_iter=1, random_state=0,
                    learning_rate_init=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    attention = est.params_["encoder"]["blocks"][0]["attn"]
    W, d, k = attention["qkv"]["W"].astype(np.float64), 16, 16 // n_heads
    qk = [W[:, h * k:(h + 1) * k] @ W[:, d + h * k:d + (h + 1) * k].T for h in range(n_heads)]
    vo = W[:, 2 * d:] @ attention["out"]["W"].astype(np.float64)
    return est, qk, vo


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_self_attention_starts_mimetic(Estimator):
    # one head: W_Q W_K^T is 0.7 Z + 0.7 I itself (Z of entries with variance 1 / d)
    est, (qk,), vo = _initial_attention(Estimator, n_heads=1)
    assert est.config_.attention_init == "mimetic"
    off_diagonal = ~np.eye(16, dtype=bool)
    assert abs(np.diag(qk).mean() - 0.7) < 0.15
    assert 0.7 / 4 * 0.6 < qk[off_diagonal].std() < 0.7 / 4 * 1.4  # 0.7 Z: std 0.7 / sqrt(16)
    assert abs(np.diag(vo).mean() + 0.4) < 0.1  # W_V W_O = 0.4 Z - 0.4 I
    assert 0.4 / 4 * 0.6 < vo[off_diagonal].std() < 0.4 / 4 * 1.4
    # two heads: each head's product is the best rank-8 fit of its own 0.7 Z + 0.7 I
    _, qk, vo = _initial_attention(Estimator, n_heads=2)
    assert all(np.diag(head).mean() > 0.35 for head in qk)  # 0.46-0.58 over 20 seeds; glorot ~0
    assert np.diag(vo).mean() < -0.3


def test_the_encoder_starts_attention_from_glorot():
    est, qk, vo = _initial_attention(TransformerEncoder, n_heads=2)
    assert est.config_.attention_init == "glorot"
    assert all(abs(np.diag(head).mean()) < 0.1 for head in qk)
    assert abs(np.diag(vo).mean()) < 0.1
