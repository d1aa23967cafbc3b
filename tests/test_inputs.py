"""Every input read the way its user means it: lists, arrays, frames, ragged series, new words.

Each test is a reported input that was silently misread before; the right
reading is asserted for every estimator that takes that kind of input.
"""


import warnings

import numpy as np
import pytest
from configs import SMALL
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
)

# ------------------------------------------------------------ Python lists of token ids


def test_python_lists_of_ids_are_sequences_whatever_their_lengths():
    equal = [[0, 1], [2, 0], [1, 2], [2, 1]]
    ragged = [[0, 1, 2], [2, 0], [1, 2], [2, 1]]
    a = TransformerClassifier(**SMALL).fit(equal, [0, 1, 0, 1])
    b = TransformerClassifier(**SMALL).fit(ragged, [0, 1, 0, 1])
    assert 0 in a.vocabulary_ and 0 in b.vocabulary_  # 0 is a token in a list, not padding
    assert a.predict([[0, 1, 2], [1]]).shape == (2,)  # and ragged lists still read afterwards
    ids = np.array(equal)
    c = TransformerClassifier(**SMALL).fit(ids, [0, 1, 0, 1])
    with pytest.raises(AttributeError):  # an ndarray is an id matrix with 0 = padding
        _ = c.vocabulary_


def test_floats_are_never_tokens_ragged_numeric_series_are_series():
    rng = np.random.default_rng(0)
    X = [rng.normal(loc=m, size=rng.integers(5, 15)) for m in np.repeat([-1.0, 1.0], 30)]
    y = np.repeat([0, 1], 30)
    X_test = [rng.normal(loc=m, size=rng.integers(5, 15)) for m in np.repeat([-1.0, 1.0], 20)]
    clf = TransformerClassifier(**{**SMALL, "max_iter": 30}).fit(X, y)
    assert clf._codec.kind == "series" and clf._codec.input_size == 1
    assert clf.score(X_test, np.repeat([0, 1], 20)) > 0.9  # a float vocabulary would score 0.5
    reg = TransformerRegressor(**SMALL).fit(X, y.astype(float))
    assert reg.predict(X_test).shape == (40,)
    enc = TransformerEncoder(**SMALL).fit(X)
    assert enc.transform(X_test).shape == (40, 16)
    two_channels = [rng.normal(size=(n, 2)) for n in (4, 7, 5, 9)]
    assert TransformerClassifier(**SMALL).fit(two_channels, [0, 1, 0, 1])._codec.input_size == 2
    with pytest.raises(ValueError, match="channels"):
        TransformerClassifier(**SMALL).fit([rng.normal(size=(4, 2)), rng.normal(size=(5, 3))],
                                           [0, 1])


# ------------------------------------------------------------ padding in generative models


def test_vectorizer_ids_in_the_language_model_are_read_with_zero_as_padding():
    texts = ["ab ab ab", "ab", "ab ab ab ab ab ab", "ab ab"] * 5
    lm = make_pipeline(SequenceVectorizer(), TransformerLanguageModel(
        d_model=16, n_heads=2, n_layers=1, max_iter=20, learning_rate_init=0.01, random_state=0))
    lm.fit(texts)
    model = lm[-1]
    assert 0 not in model.vocabulary_  # padding is not a token
    ids = lm[0].transform(["ab ab"])
    generated = model.generate(list(ids[0][ids[0] != 0]), max_new_tokens=3, temperature=0)
    assert 0 not in generated


def test_seq2seq_reads_id_matrices_with_zero_as_padding():
    X = np.array([[3, 4, 0, 0], [4, 3, 3, 0]] * 6)
    model = TransformerSeq2Seq(**SMALL).fit(X, [["x"], ["y"]] * 6)
    assert 0 not in model.source_vocabulary_


# ------------------------------------------------------------ text in a DataFrame column


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_a_one_column_frame_of_text_is_one_sequence_per_row(Estimator):
    pd = pytest.importorskip("pandas")
    reviews = ["good film very good", "bad film", "very bad", "good good"] * 5
    y = [1, 0, 0, 1] * 5
    frame = pd.DataFrame({"review": reviews, "stars": [5, 1, 2, 4] * 5})
    # a ColumnTransformer passes ["review"] as a one-column frame: each cell is a text
    est = Estimator(**SMALL).fit(frame[["review"]], y)
    assert "good" in est.vocabulary_ and "good film very good" not in est.vocabulary_
    assert est.predict(frame[["review"]]).shape == (20,)
    with pytest.raises(ValueError, match='"review"'):
        Estimator(**SMALL).fit(pd.DataFrame({"review": reviews, "title": reviews}), y)


def test_token_id_columns_mixed_with_numeric_columns_warn_and_encoder_features_work():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"text": ["a b c", "c b a", "a a b", "b c c"] * 5,
                          "price": np.arange(20.0)})
    y = [0, 1, 0, 1] * 5
    mixed = make_column_transformer((SequenceVectorizer(), "text"), (StandardScaler(), ["price"]))
    mixed.set_output(transform="pandas")
    Z = mixed.fit_transform(frame)
    with pytest.warns(UserWarning, match="token-id columns"):
        TransformerClassifier(**SMALL).fit(Z, y)
    # the documented way: features of the text next to the scaled numbers, any estimator on top
    features = make_column_transformer(
        (make_pipeline(SequenceVectorizer(), TransformerEncoder(**SMALL)), "text"),
        (StandardScaler(), ["price"]))
    model = make_pipeline(features, LogisticRegression()).fit(frame, y)
    assert model.predict(frame).shape == (20,)


# ------------------------------------------------------------ partial_fit and new words


def test_partial_fit_warns_when_new_data_is_mostly_unknown_words():
    clf = TransformerClassifier(**SMALL)
    clf.partial_fit(["red green", "green red"], [0, 1], classes=[0, 1])
    with pytest.warns(UserWarning, match="not in the vocabulary"):
        clf.partial_fit(["blue yellow", "yellow blue"], [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.partial_fit(["red green", "green red"], [0, 1])  # known words: silent
        clf.predict(["blue yellow"])  # predicting is not training: silent


# ------------------------------------------------------------ perplexity and unknown tokens


def test_perplexity_reports_unknown_tokens_instead_of_silently_improving():
    lm = TransformerLanguageModel(**{**SMALL, "max_iter": 5}, analyzer="word").fit(
        ["the cat sat", "the dog sat"] * 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lm.perplexity(["the cat sat"])
    with pytest.warns(UserWarning, match="2 of 5 tokens"):
        lm.perplexity(["the zebra sat quietly"])


# ------------------------------------------------------------ truncation, messages


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerEncoder])
def test_sequences_cut_to_max_len_are_reported_once_per_call(Estimator):
    X = ["a b c d e f g h", "a b", "c d"]
    with pytest.warns(UserWarning, match="1 of 3 sequences") as record:
        est = Estimator(**SMALL, max_len=4).fit(X, [0, 1, 0])
    assert sum("max_len" in str(w.message) for w in record) == 1
    with pytest.warns(UserWarning, match="2 of 2 sequences"):
        (est.predict if hasattr(est, "predict") else est.transform)(X[:1] * 2)


def test_validation_data_errors_name_x_val():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="X_val"):
        TransformerClassifier(**SMALL).fit(X, [0, 1] * 10, X_val=["some text"], y_val=[0])
    with pytest.raises(ValueError, match="X_val"):
        TransformerRegressor(**SMALL).fit(X, np.arange(20.0), X_val=X[:, :2], y_val=[0.0] * 20)


def test_token_ids_unseen_in_fit_are_unknown_and_sparse_ids_cost_nothing():
    X = np.array([[1, 50, 0], [50, 1, 1]] * 10)
    y = np.array([0, 1] * 10)
    clf = TransformerClassifier(**SMALL).fit(X, y)
    assert clf.config_.input_size == 4  # padding, ids 1 and 50, unknown
    probe = lambda token: clf.predict_proba(np.array([[1, token, 0]]))  # noqa: E731
    np.testing.assert_array_equal(probe(25), probe(60))  # in range or not: both unknown
    huge = TransformerClassifier(**SMALL).fit(X * 40_000_000, y)
    assert huge.n_parameters_ < 100_000


def test_pandas_series_of_text_is_a_list_of_sequences():
    pd = pytest.importorskip("pandas")
    texts = pd.Series(["the cat sat", "a dog", "the end", "cats"] * 3)
    clf = TransformerClassifier(**SMALL).fit(texts, [0, 1] * 6)
    assert clf.predict(texts).shape == (12,)
    assert SequenceVectorizer().fit_transform(texts).shape[0] == 12
    lm = TransformerLanguageModel(**SMALL).fit(texts)
    as_list = TransformerLanguageModel(**SMALL).fit(list(texts))
    assert lm.score(texts) == pytest.approx(as_list.score(list(texts)), rel=1e-6)
    assert [len(p) for p in lm.predict_proba(texts)] == [len(t) for t in texts]  # one row a character


def test_boolean_arrays_are_numeric_features_not_token_ids():
    X = np.random.default_rng(0).random((20, 4)) > 0.5
    clf = TransformerClassifier(**SMALL).fit(X, np.arange(20) % 2)
    assert clf.config_.input_kind == "numeric"


def test_huge_unsigned_ids_are_refused_not_wrapped():
    X = np.array([[2**63 + 5, 3], [4, 2**64 - 1]] * 10, dtype=np.uint64)
    with pytest.raises(ValueError, match="2\\*\\*63"):
        TransformerClassifier(**SMALL).fit(X, np.arange(20) % 2)


def test_string_cells_are_tokens_and_missing_texts_are_refused():
    events = np.array([["login", "view", "buy"], ["login", "logout", "view"]] * 6, dtype=object)
    clf = TransformerClassifier(**SMALL).fit(events, [1, 0] * 6)
    assert set(clf.vocabulary_) == {"login", "view", "buy", "logout"}
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"review": ["good film", None, "bad"] * 4})
    with pytest.raises(ValueError, match="missing value"):
        TransformerClassifier(**SMALL).fit(frame, [1, 0, 0] * 4)


def test_a_pandas_series_of_float_arrays_is_ragged_series_not_tokens():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    series = pd.Series([rng.normal(size=int(n)) for n in rng.integers(3, 9, size=12)])
    clf = TransformerClassifier(**SMALL).fit(series, [0, 1] * 6)
    assert clf._codec.kind == "series"


def test_generative_models_read_id_matrices_and_warn_about_floats_and_new_words():
    from sktransformer import SequenceVectorizer as Vec

    vec = Vec().fit(["x y z", "x", "y z"])
    Y = vec.transform(["x y", "z", "y z x", "x", "z"] * 4)  # rows padded with 0
    model = TransformerSeq2Seq(**SMALL).fit(["one two", "three", "two one", "four", "five"] * 4, Y)
    assert 0 not in model.target_vocabulary_
    with pytest.warns(UserWarning, match="fractional floats"):
        TransformerLanguageModel(**SMALL).fit(np.array([[1.5, 2.5], [3.5, 0.25]]))
    lm = TransformerLanguageModel(**SMALL).partial_fit(["abc abc"] * 4)
    with pytest.warns(UserWarning, match="not in the vocabulary"):
        lm.partial_fit(["xyz qqq"] * 4)


def test_missing_texts_and_series_of_another_length_get_clear_messages():
    with pytest.raises(ValueError, match="missing value"):
        TransformerClassifier(**SMALL).fit(["a b", None, "c"], [0, 1, 0])
    rng = np.random.default_rng(0)
    clf = TransformerClassifier(**SMALL).fit(rng.normal(size=(20, 5, 2)), [0, 1] * 10)
    with pytest.raises(ValueError, match="9 steps"):
        clf.predict(rng.normal(size=(2, 9, 2)))
