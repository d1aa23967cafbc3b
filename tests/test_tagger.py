"""TransformerTagger: one label per token, for every input family that has positions."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from configs import SMALL
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

import sktransformer
from sktransformer import SequenceVectorizer, TransformerEncoder, TransformerTagger

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LETTERS = list("abcdefghijklmnopqrst")


def repeats(n, seed):
    """Sequences of 8-16 random letters; a letter is tagged 1 where it occurs elsewhere in its sequence."""
    rng = np.random.default_rng(seed)
    X = [list(rng.choice(LETTERS, size=rng.integers(8, 17))) for _ in range(n)]
    return X, [[int(x.count(t) > 1) for t in x] for x in X]


def uppercase(n=30, seed=0):
    """Token lists of 3-6 letters, each tagged with itself in upper case."""
    rng = np.random.default_rng(seed)
    X = [list(rng.choice(list("abcd"), size=rng.integers(3, 7))) for _ in range(n)]
    return X, [[t.upper() for t in x] for x in X]


# ------------------------------------------------------------ scikit-learn's checks

# Measured with scikit-learn 1.9.1: every check that fits passes y of shape (n_samples,), one label
# per row of a 2-D float X; the tagger reads such X as one token per feature and needs one label
# per feature, so it refuses y with "y[0] is one label (...), not a sequence" before the property
# the check is about is reached. The properties themselves are tested per token below.
ONE_LABEL_PER_ROW = ("fits with one label per row (y of shape (n_samples,)); a tagger takes one "
                     "label per position and refuses it with a ValueError naming y[0]")
FITTING_CHECKS = {
    "check_fit_score_takes_y": "",
    "check_estimators_overwrite_params": "",
    "check_dont_overwrite_parameters": "",
    "check_estimators_fit_returns_self": "test_fit_returns_self_and_sets_its_attributes",
    "check_readonly_memmap_input": "test_read_only_input",
    "check_n_features_in_after_fitting": "test_id_matrix_fixed_width_output_and_padding",
    "check_n_features_in": "test_id_matrix_fixed_width_output_and_padding",
    "check_estimators_dtypes": "",
    "check_sample_weights_pandas_series": "test_sample_weight_is_per_sequence",
    "check_sample_weights_list": "test_sample_weight_is_per_sequence",
    "check_sample_weights_shape": "test_sample_weight_is_per_sequence",
    "check_sample_weights_not_overwritten": "test_sample_weight_is_per_sequence",
    "check_sample_weight_equivalence_on_dense_data": "test_integer_weights_equal_repeated_sequences",
    "check_dtype_object": "",
    "check_pipeline_consistency": "test_pipeline_with_a_vectorizer_in_front",
    "check_estimators_nan_inf": "",
    "check_estimators_pickle": "test_pickle_and_safe_files_keep_predictions",
    "check_f_contiguous_array_estimator": "",
    "check_methods_sample_order_invariance": "test_batch_invariance",
    "check_methods_subset_invariance": "test_batch_invariance",
    "check_fit2d_predict1d": "",
    "check_dict_unchanged": "test_predict_does_not_change_the_estimator",
    "check_fit_idempotent": "test_same_random_state_same_model",
    "check_fit_check_is_fitted": "",
    # these look for a message about zero weights, 1 sample or 1 feature: the y error comes first
    "check_all_zero_sample_weights_error": "test_sample_weight_is_per_sequence",
    "check_fit2d_1sample": "",
    "check_fit2d_1feature": "",
    # y wrapped in an object with only __array__: read as an array, then refused the same way
    "check_sample_weights_not_an_array": "",
    # the check blames any ValueError on negative X; the error is about y
    "check_positive_only_tag_during_fit": "",
}
EXPECTED_FAILED_CHECKS = {
    name: ONE_LABEL_PER_ROW + (f"; tested per token by {test}" if test else "")
    for name, test in FITTING_CHECKS.items()
}


CHECKED = TransformerTagger(**SMALL, dropout=0.0, batch_size=64)


@parametrize_with_checks([CHECKED], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
                         xfail_strict=True)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _messages(error):
    """The message of ``error`` and of the errors it was raised from or while handling."""
    while error is not None:
        yield str(error)
        error = error.__cause__ or error.__context__


def test_each_expected_failure_is_the_refused_one_label_per_row():
    failed = {}
    for estimator, check in estimator_checks_generator(CHECKED, legacy=True, mark=None):
        name = getattr(check, "func", check).__name__
        if name in EXPECTED_FAILED_CHECKS:
            with pytest.raises(Exception) as info:
                check(estimator)
            failed[name] = any("is one label" in m and "not a sequence" in m
                               for m in _messages(info.value))
    assert failed.keys() == EXPECTED_FAILED_CHECKS.keys() and all(failed.values()), failed
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match=r"y\[0\] is one label \(0\), not a sequence"):
        TransformerTagger(**SMALL).fit(X, y)
    TransformerTagger(**SMALL).fit(X, np.stack([y] * 3, axis=1))  # one label per feature: fits


# ------------------------------------------------------------ learning


@pytest.mark.slow
def test_learns_a_task_that_needs_attention():
    X, y = repeats(1000, seed=0)
    X_test, y_test = repeats(500, seed=1)
    tagger = TransformerTagger(max_iter=30, random_state=0).fit(X, y)  # speed: benchmarks/, not here
    accuracy = tagger.score(X_test, y_test)
    assert accuracy >= 0.95, accuracy

    # a per-token model that sees each token and its position, but not the rest of the sequence
    def token_and_position(X):
        return np.array([[t, i] for x in X for i, t in enumerate(x)], dtype=object)

    one_hot = OneHotEncoder(handle_unknown="ignore").fit(token_and_position(X))
    baseline = LogisticRegression(max_iter=1000).fit(
        one_hot.transform(token_and_position(X)), np.concatenate(y))
    truth = np.concatenate(y_test)
    chance = max(truth.mean(), 1 - truth.mean())
    baseline_accuracy = baseline.score(one_hot.transform(token_and_position(X_test)), truth)
    assert baseline_accuracy < chance + 0.02, (baseline_accuracy, chance)


# ------------------------------------------------------------ input families


def test_token_lists_give_one_array_per_sequence():
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL).fit(X, y)
    predicted, proba = tagger.predict(X), tagger.predict_proba(X)
    assert isinstance(predicted, list) and isinstance(proba, list)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    assert [p.shape for p in proba] == [(len(x), 4) for x in X]
    np.testing.assert_allclose([p.sum(axis=1) for p in proba][0], 1.0)
    for p, labels in zip(proba, predicted, strict=True):
        np.testing.assert_array_equal(tagger.classes_[p.argmax(axis=1)], labels)
    assert tagger.classes_.tolist() == ["A", "B", "C", "D"]
    assert "pooling" not in tagger.get_params()


def test_text_is_tagged_by_the_analyzer_tokens():
    X = ["The cat sat.", "A dog, ran"] * 10
    y = [["D", "N", "V", "P"], ["D", "N", "P", "V"]] * 10  # "sat." is "sat" and "."
    tagger = TransformerTagger(**SMALL).fit(X, y)
    assert [len(p) for p in tagger.predict(X[:2])] == [4, 4]
    with pytest.raises(ValueError, match=r"y\[1\] has 3 labels, but sequence 1 of X has 4 tokens"
                       r".*pass token lists"):
        TransformerTagger(**SMALL).fit(X, [["D", "N", "V", "P"], ["D", "N", "V"]] * 10)
    # a pandas Series and a one-column frame of texts read as the list does
    assert tagger.score(pd.Series(X), y) == tagger.score(X, y)
    assert tagger.score(pd.DataFrame({"text": X}), y) == tagger.score(X, y)


@pytest.mark.parametrize("given, expected", [(3, 4), (5, 4)])
def test_labels_of_another_length_name_the_sequence(given, expected):
    X, y = uppercase()
    y[7] = ["A"] * given
    X[7] = ["a"] * expected
    with pytest.raises(ValueError, match=rf"y\[7\] has {given} labels, but sequence 7 of X has "
                       rf"{expected} tokens"):
        TransformerTagger(**SMALL).fit(X, y)
    tagger = TransformerTagger(**SMALL).fit(*uppercase())
    with pytest.raises(ValueError, match=r"y_val\[7\]"):
        TransformerTagger(**SMALL).fit(*uppercase(), X_val=X, y_val=y)
    with pytest.raises(ValueError, match=r"y\[7\]"):
        tagger.score(X, y)


def test_y_that_is_not_labels_per_sequence_is_refused():
    X, y = uppercase()
    for bad, message in [(None, "requires y"), ("ABC", "requires y"),
                         (["".join(t) for t in y], r"y\[0\] is one label"),
                         (y[:-1], "X has 30 sequences, y 29")]:
        with pytest.raises(ValueError, match=message):
            TransformerTagger(**SMALL).fit(X, bad)
    with pytest.raises(ValueError, match=r"y\[0\] mixes label types"):
        TransformerTagger(**SMALL).fit(X, [["A", 1] + ["A"] * (len(x) - 2) for x in X])
    y[3] = [None] + y[3][1:]
    with pytest.raises(ValueError, match=r"y\[3\] has missing values .* at position\(s\) \[0\]"):
        TransformerTagger(**SMALL).fit(X, y)


def test_id_matrix_fixed_width_output_and_padding():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 6, size=(40, 6))
    ids[::2, 4:] = 0  # padding
    y = np.where(ids == 0, -99, ids % 2)  # labels at padding are ignored: -99 is no class
    tagger = TransformerTagger(**SMALL).fit(ids, y)
    assert tagger.classes_.tolist() == [0, 1] and tagger.n_features_in_ == 6
    predicted, proba = tagger.predict(ids), tagger.predict_proba(ids)
    assert predicted.shape == (40, 6) and proba.shape == (40, 6, 2)
    assert (proba[ids == 0] == 0).all() and (predicted[ids == 0] == 0).all()
    np.testing.assert_allclose(proba[ids != 0].sum(axis=1), 1.0)
    # label lists that stop at each row's last real id: the same model
    lists = [list(row[: np.flatnonzero(r)[-1] + 1]) for row, r in zip(y, ids, strict=True)]
    np.testing.assert_array_equal(TransformerTagger(**SMALL).fit(ids, lists).predict_proba(ids),
                                  proba)
    assert tagger.score(ids, lists) == tagger.score(ids, y)
    with pytest.raises(ValueError, match=r"y\[0\] has 5 labels, but sequence 0 of X has 6 positions"):
        TransformerTagger(**SMALL).fit(ids, [row[:5] for row in y])
    with pytest.raises(ValueError, match="X has 5 features"):
        tagger.predict(ids[:, :5])


def test_series_arrays_lists_and_nan_padding():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 7, 2))
    y = (X[:, :, 0] > 0).astype(int)
    tagger = TransformerTagger(**SMALL).fit(X, y)
    assert tagger.predict(X).shape == (30, 7) and tagger.predict_proba(X).shape == (30, 7, 2)
    lengths = rng.integers(3, 8, size=30)
    series = [x[:n] for x, n in zip(X, lengths, strict=True)]
    labels = [t[:n] for t, n in zip(y, lengths, strict=True)]
    ragged = TransformerTagger(**SMALL).fit(series, labels)
    assert [len(p) for p in ragged.predict(series)] == lengths.tolist()
    padded = np.where((np.arange(7) < lengths[:, None])[:, :, None], X, np.nan)
    from_array = ragged.predict_proba(padded)
    assert from_array.shape == (30, 7, 2)
    for p, q, n in zip(from_array, ragged.predict_proba(series), lengths, strict=True):
        np.testing.assert_array_equal(p[:n], q)
        assert (p[n:] == 0).all()
    assert ragged.score(padded, y) == ragged.score(series, labels)


def test_numeric_rows_get_one_label_per_feature():
    X = np.random.default_rng(0).normal(size=(40, 4))
    y = np.where(X > 0, "up", "down")
    tagger = TransformerTagger(**SMALL).fit(X, y)
    assert tagger.predict(X).shape == (40, 4)
    assert tagger.score(X, y) == np.mean(tagger.predict(X) == y)


def test_sequences_longer_than_max_len_are_cut_with_their_labels():
    X, y = uppercase()
    X[0], y[0] = ["a"] * 9, ["A"] * 9
    with pytest.warns(UserWarning, match="longer than max_len=6"):
        tagger = TransformerTagger(**{**SMALL, "max_len": 6}).fit(X, y)
    with pytest.warns(UserWarning, match="max_len"):
        assert len(tagger.predict(X[:1])[0]) == 6
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"y\[0\] has 6 labels, but "
                                                  "sequence 0 of X has 9"):
        tagger.score(X, [["A"] * 6] + y[1:])


def test_pipeline_with_a_vectorizer_in_front():
    X, y = uppercase()
    texts = [" ".join(x) for x in X]
    pipe = make_pipeline(SequenceVectorizer(), TransformerTagger(**SMALL)).fit(texts, y)
    predicted = pipe.predict(texts)  # one row of the vectorizer's width per text
    assert predicted.shape == (30, max(len(x) for x in X))
    right = np.concatenate([row[: len(t)] == np.array(t) for row, t in zip(predicted, y, strict=True)])
    assert pipe.score(texts, y) == pytest.approx(right.mean())


# ------------------------------------------------------------ scoring and weights


def test_score_is_token_accuracy_of_predict():
    X, y = uppercase()
    tagger = TransformerTagger(**{**SMALL, "max_iter": 1}).fit(X, y)
    right = np.concatenate([p == np.array(t) for p, t in zip(tagger.predict(X), y, strict=True)])
    assert 0 < right.mean() < 1
    assert tagger.score(X, y) == pytest.approx(right.mean())
    weights = np.arange(30) % 3
    per_token = np.concatenate([[w] * len(x) for w, x in zip(weights, X, strict=True)])
    assert tagger.score(X, y, sample_weight=weights) == pytest.approx(
        np.average(right, weights=per_token))
    assert tagger.score(X, [["Z"] * len(x) for x in X]) == 0  # unseen labels count as wrong
    with pytest.raises(ValueError, match="holds numbers, but the classes are"):
        tagger.score(X, [[1] * len(x) for x in X])


def test_sample_weight_is_per_sequence():
    X, y = uppercase()
    zero_first = np.r_[0.0, np.ones(29)]
    a = TransformerTagger(**SMALL).fit(X, y, sample_weight=zero_first)
    b = TransformerTagger(**SMALL).fit(X, y, sample_weight=pd.Series(zero_first))
    np.testing.assert_array_equal(a.predict_proba(X)[0], b.predict_proba(X)[0])
    with pytest.raises(ValueError, match="sample_weight.shape"):
        TransformerTagger(**SMALL).fit(X, y, sample_weight=np.ones(29))
    with pytest.raises(ValueError, match="zero"):
        TransformerTagger(**SMALL).fit(X, y, sample_weight=np.zeros(30))
    weights = np.ones(30)
    TransformerTagger(**SMALL).fit(X, y, sample_weight=weights)
    assert (weights == 1).all()


def test_integer_weights_equal_repeated_sequences():
    # series: nothing is learned from the data but its sizes (text would learn a vocabulary)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5, 2))
    y = np.where(X[:, :, 0] > X[:, :, 1], "up", "down")
    weights = np.arange(30) % 3
    repeated = np.repeat(np.arange(30), weights)
    settings = {**SMALL, "dropout": 0.0, "batch_size": 100, "max_iter": 5}
    a = TransformerTagger(**settings).fit(X, y, sample_weight=weights)
    b = TransformerTagger(**settings).fit(X[repeated], y[repeated])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)


# ------------------------------------------------------------ training API


def test_fit_returns_self_and_sets_its_attributes():
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL)
    assert tagger.fit(X, y) is tagger
    assert tagger.n_iter_ == 3 and len(tagger.loss_curve_) == 3
    assert tagger.params_["head"]["W"].shape == (16, 4)
    assert tagger.max_ngram_ == 1 and "a" in tagger.vocabulary_


def test_partial_fit_warm_start_and_validation_data():
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL)
    tagger.partial_fit(X[:10], y[:10], classes=["A", "B", "C", "D"])
    tagger.partial_fit(X[10:], y[10:])
    assert tagger.n_iter_ == 2 and tagger.classes_.tolist() == ["A", "B", "C", "D"]
    with pytest.raises(ValueError, match="not in classes"):
        tagger.partial_fit([["a", "b"]], [["A", "E"]])
    assert tagger.n_iter_ == 2
    warm = TransformerTagger(**SMALL, warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 6
    scored = TransformerTagger(**SMALL).fit(X[:20], y[:20], X_val=X[20:], y_val=y[20:])
    assert len(scored.validation_scores_) == 3
    assert all(0 <= s <= 1 for s in scored.validation_scores_)


def test_max_ngram_and_its_constraint():
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL, max_ngram=3).fit(X, y)
    assert tagger.max_ngram_ == 3 and "ngrams" in tagger.params_["embed"]
    with pytest.raises(ValueError, match="max_ngram"):
        TransformerTagger(**SMALL, max_ngram="auto").fit(X, y)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_encoder_transfer(pooling):
    X, y = uppercase(60)
    encoder = TransformerEncoder(**{**SMALL, "d_model": 24}, pooling=pooling).fit(X)
    tagger = TransformerTagger(**{**SMALL, "max_iter": 1}, encoder=encoder,
                               learning_rate_init=1e-9)
    tagger.fit(X, y)
    assert tagger.config_.d_model == 24 and tagger.vocabulary_ == encoder.vocabulary_
    np.testing.assert_allclose(tagger.params_["embed"]["W"], encoder.params_["embed"]["W"],
                               atol=1e-6)
    assert [len(p) for p in tagger.predict(X[:3])] == [len(x) for x in X[:3]]
    (weights,), tokens = tagger.attention_weights(X[:1])
    assert tokens[0] == (["[CLS]"] if pooling == "cls" else []) + X[0]
    # the tagger's own features are the encoder's per-token vectors through a linear head
    vectors, _ = encoder.transform_sequence(X[:1])
    head = tagger.params_["head"]
    logits = vectors[0, : len(X[0])] @ head["W"] + head["b"]
    np.testing.assert_allclose(np.log(tagger.predict_proba(X[:1])[0]),
                               logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)),
                               atol=1e-4)


def test_attention_weights_per_token():
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL).fit(X, y)
    (weights,), tokens = tagger.attention_weights(X[:3])
    width = max(len(x) for x in X[:3])
    assert weights.shape == (3, 2, width, width) and tokens == X[:3]
    np.testing.assert_allclose(weights[0, :, : len(X[0])].sum(axis=-1), 1.0, rtol=1e-5)


# ------------------------------------------------------------ the fitted model


def test_batch_invariance():
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL).fit(X, y)
    whole = tagger.predict_proba(X)
    alone = [tagger.predict_proba([x])[0] for x in X[:5]]
    reversed_ = tagger.predict_proba(X[::-1])[::-1]
    for a, b, c in zip(whole, alone + whole[5:], reversed_, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_same_random_state_same_model():
    X, y = uppercase()
    a = TransformerTagger(**SMALL).fit(X, y).predict_proba(X)
    b = TransformerTagger(**SMALL).fit(X, y).predict_proba(X)
    c = TransformerTagger(**{**SMALL, "random_state": 1}).fit(X, y).predict_proba(X)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not all(np.allclose(p, q) for p, q in zip(a, c, strict=True))


def test_predict_does_not_change_the_estimator():
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL).fit(X, y)
    before = pickle.dumps(tagger)
    tagger.predict(X), tagger.predict_proba(X), tagger.score(X, y), tagger.attention_weights(X)
    assert pickle.dumps(tagger) == before


def test_read_only_input():
    ids = np.random.default_rng(0).integers(1, 6, size=(30, 5))
    y = ids % 2
    ids.setflags(write=False)
    y.setflags(write=False)
    tagger = TransformerTagger(**SMALL).fit(ids, y)
    assert tagger.predict(ids).shape == (30, 5)


def test_pickle_and_safe_files_keep_predictions(tmp_path):
    X, y = uppercase()
    tagger = TransformerTagger(**SMALL).fit(X, y)
    expected = tagger.predict_proba(X)
    sktransformer.save(tagger, tmp_path / "tagger.skt")
    for copy in (pickle.loads(pickle.dumps(tagger)), sktransformer.load(tmp_path / "tagger.skt")):
        assert all(np.array_equal(p, q) for p, q in zip(copy.predict_proba(X), expected, strict=True))


def test_cross_validation_with_label_lists():
    X, y = uppercase(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(TransformerTagger(**SMALL), X, y, cv=2)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()


def test_weights_given_only_to_empty_sequences_are_refused_naming_sample_weight():
    """Non-zero only on sequences without tokens: fit trained on a loss of exactly 0 (weight decay
    still moving the weights) and score crashed in numpy's average (ZeroDivisionError)."""
    X, y, w = [["a", "b"], [], ["b", "a"]], [["X", "Y"], [], ["Y", "X"]], [0, 1, 0]
    tagger = TransformerTagger(**{**SMALL, "max_iter": 1}).fit(X, y)
    before = pickle.dumps(tagger)
    for call in (lambda: tagger.score(X, y, sample_weight=w),
                 lambda: tagger.partial_fit(X, y, sample_weight=w),
                 lambda: TransformerTagger(**{**SMALL, "max_iter": 1}).fit(X, y, sample_weight=w)):
        with pytest.raises(ValueError, match="sample_weight is 0 for every sequence that has tokens"):
            call()
    assert pickle.dumps(tagger) == before
    assert tagger.score(X, y, sample_weight=[0, 1, 1]) == tagger.score(X[2:], y[2:])
