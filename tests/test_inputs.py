"""Every input read the way its user means it: lists, arrays, frames, ragged series, new words.

Each test is a reported input that was silently misread before; the right
reading is asserted for every estimator that takes that kind of input.
"""


import pickle
import re
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
    TransformerTagger,
)
from sktransformer._layers import numeric_feature_embedding
from sktransformer._model import embed

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
    assert 0 not in c.vocabulary_ and set(c.vocabulary_) == {1, 2}  # an ndarray: 0 is padding


def test_floats_are_never_tokens_ragged_numeric_series_are_series():
    rng = np.random.default_rng(0)
    X = [rng.normal(loc=m, size=rng.integers(5, 15)) for m in np.repeat([-1.0, 1.0], 30)]
    y = np.repeat([0, 1], 30)
    X_test = [rng.normal(loc=m, size=rng.integers(5, 15)) for m in np.repeat([-1.0, 1.0], 20)]
    clf = TransformerClassifier(**{**SMALL, "max_iter": 30}).fit(X, y)
    assert clf._codec.embedding == "series" and clf._codec.ragged and clf._codec.input_size == 1
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


@pytest.mark.parametrize("top", [60, 5_000, 2**40])  # a dense table, its edge, a binary search
def test_id_lookup_maps_seen_ids_padding_and_every_other_id_as_the_vocabulary_says(top):
    rng = np.random.default_rng(0)
    seen = np.unique(rng.integers(1, top, 600))
    X = rng.integers(0, 2 * top, size=(200, 12))
    X[:, -2:] = 0  # padding
    X[:20, :5] = seen[:5]
    X[20, 0] = seen[-1] + 1  # just past the largest id: unknown
    X[21, 0] = 2**62
    train = np.zeros(-(-len(seen) // 12) * 12, dtype=np.int64)
    train[: len(seen)] = seen
    train = train.reshape(-1, 12)
    clf = TransformerClassifier(**SMALL).fit(train, np.arange(len(train)) % 2)
    ids = clf._codec._as_ids(clf, X)
    vocabulary = clf._codec.vocabulary.vocabulary
    expected = np.array([[0 if t == 0 else vocabulary.get(int(t), 1) for t in row] for row in X])
    np.testing.assert_array_equal(clf._codec._rows(ids).X, expected)
    copy = pickle.loads(pickle.dumps(clf))
    assert "_table" not in copy._codec.__dict__  # a cache, made again after loading
    np.testing.assert_array_equal(copy._codec._rows(ids).X, expected)


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
    assert clf._codec.embedding == "series" and clf._codec.ragged


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


# ------------------------------------------------------------ numeric rows (README's first row)


def test_numeric_rows_read_one_token_per_feature_x_times_w_plus_b():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = np.arange(12) % 2
    clf = TransformerClassifier(**SMALL).fit(X, y)
    assert clf.config_.input_kind == "numeric" and clf.config_.input_size == 3
    table = clf.params_["embed"]
    assert table["W"].shape == table["b"].shape == (3, 16)  # one (W_j, b_j) pair per feature
    x = X.astype(np.float32)
    expected = np.stack([x[:, j, None] * table["W"][j] + table["b"][j] for j in range(3)], axis=1)
    np.testing.assert_allclose(numeric_feature_embedding(table, x), expected, rtol=1e-6)
    # and that is what the network reads: no positions, no scaling, no dropout at inference
    np.testing.assert_allclose(embed(table, clf.config_, x), expected, rtol=1e-6)
    # a rectangular list of float lists is the same numeric table, not token sequences
    as_list = TransformerClassifier(**SMALL).fit(X.tolist(), y)
    assert as_list.config_.input_kind == "numeric"
    np.testing.assert_array_equal(as_list.predict_proba(X.tolist()), clf.predict_proba(X))


# ------------------------------------------------------------ max_len: cut, one warning per call

LONG = ["a b c d e f g h", "a b", "c d e f g"]  # two sequences longer than max_len=4


def _max_len_warnings(record):
    return [str(w.message) for w in record if "max_len" in str(w.message)]


def _fit_and_infer(Estimator, X, **params):
    """Warnings about max_len of a fit on ``X`` and of one inference call on it."""
    y = {TransformerClassifier: [0, 1, 0], TransformerRegressor: [0.0, 1.0, 0.0],
         TransformerEncoder: None, TransformerSeq2Seq: ["x", "y", "x"]}[Estimator]
    with warnings.catch_warnings(record=True) as fitting:
        warnings.simplefilter("always")
        est = Estimator(**SMALL, max_len=4, **params).fit(X, y)
    with warnings.catch_warnings(record=True) as inference:
        warnings.simplefilter("always")
        (est.transform if isinstance(est, TransformerEncoder) else est.predict)(X)
    return _max_len_warnings(fitting), _max_len_warnings(inference)


@pytest.mark.parametrize("Estimator", [
    TransformerClassifier, TransformerRegressor, TransformerEncoder, TransformerSeq2Seq,
])
def test_sequences_longer_than_max_len_are_cut_with_one_warning_per_call(Estimator):
    at_fit, at_inference = _fit_and_infer(Estimator, LONG)
    assert len(at_fit) == 1 and "2 of 3 sequences" in at_fit[0]
    assert len(at_inference) == 1 and "2 of 3 sequences" in at_inference[0]
    # within max_len: nothing to say
    assert _fit_and_infer(Estimator, [s[:5] for s in LONG]) == ([], [])


def test_seq2seq_targets_longer_than_max_len_are_cut_with_one_warning():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        TransformerSeq2Seq(**SMALL, max_len=4).fit(["a", "b", "c"], LONG)
    cut = _max_len_warnings(record)
    assert len(cut) == 1 and cut[0].startswith("2 target sequences are longer than max_len=4")


def test_the_language_model_reads_documents_longer_than_max_len_in_windows_not_cut():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        lm = TransformerLanguageModel(**SMALL, max_len=4, analyzer="word").fit(LONG)
        proba = lm.predict_proba(LONG)
        lm.score(LONG)
    assert _max_len_warnings(record) == []  # nothing is cut, so nothing to warn about
    assert [len(p) for p in proba] == [8, 2, 5]  # every token of the long documents is predicted


# ------------------------------------------------------------ several text columns


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor,
                                       TransformerEncoder])
def test_several_text_columns_are_refused_naming_the_scalar_selector(Estimator):
    pd = pytest.importorskip("pandas")
    reviews = ["good film very good", "bad film", "very bad", "good good"] * 3
    frame = pd.DataFrame({"review": reviews, "title": reviews[::-1]})
    selector = f'make_column_transformer(({Estimator.__name__}(), "review"))'
    with pytest.raises(ValueError, match=re.escape(selector)):
        Estimator(**SMALL).fit(frame, [0, 1] * 6)


# ------------------------------------------------------------ fractional floats in seq2seq


def test_seq2seq_warns_about_fractional_floats_in_x_and_in_y():
    fractional = np.array([[1.5, 2.5], [3.5, 0.25]] * 3)
    ids = np.array([[1, 2], [3, 4]] * 3)

    def fractional_warnings(X, y):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            TransformerSeq2Seq(**SMALL).fit(X, y)
        return [str(w.message).split(" holds")[0] for w in record
                if "fractional floats" in str(w.message)]

    assert fractional_warnings(fractional, ids) == ["X"]
    assert fractional_warnings(ids, fractional) == ["y"]
    assert fractional_warnings(ids, ids.astype(float)) == []  # whole floats are ids


# ------------------------------------------------------------ token-id columns beside numbers


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor,
                                       TransformerEncoder])
def test_token_id_columns_beside_numeric_columns_warn_at_every_estimator(Estimator):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"text": ["a b c", "c b a", "a a b", "b c c"] * 5,
                          "price": np.arange(20.0)})
    mixed = make_column_transformer((SequenceVectorizer(), "text"), (StandardScaler(), ["price"]))
    Z = mixed.set_output(transform="pandas").fit_transform(frame)
    assert any(c.endswith("position_0") for c in Z.columns)
    y = [0, 1] * 10
    with pytest.warns(UserWarning, match="token-id columns"):
        Estimator(**SMALL).fit(Z, y)
    numbers_only = Z[[c for c in Z.columns if "position_" not in c]]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        Estimator(**SMALL).fit(numbers_only, y)
    assert not [w for w in record if "token-id" in str(w.message)]


# ------------------------------------------------------------ partial_fit: the 5% threshold

WORDS = [f"w{i}" for i in range(20)]


def _block(n_unknown):
    """10 documents, 100 tokens, ``n_unknown`` of them never seen by the first block."""
    tokens = [WORDS[i % 20] for i in range(100 - n_unknown)] + [f"new{i}" for i in range(n_unknown)]
    return [" ".join(tokens[i:i + 10]) for i in range(0, 100, 10)]


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerLanguageModel,
                                       TransformerSeq2Seq])
def test_partial_fit_warns_above_five_percent_unknown_tokens_and_keeps_the_vocabulary(Estimator):
    first = [" ".join(WORDS[:10]), " ".join(WORDS[10:])]
    if Estimator is TransformerClassifier:
        est = Estimator(**SMALL).partial_fit(first, [0, 1], classes=[0, 1])
        more = lambda X: est.partial_fit(X, [0, 1] * 5)  # noqa: E731
        vocabulary = lambda: est.vocabulary_  # noqa: E731
    elif Estimator is TransformerLanguageModel:
        est = Estimator(**SMALL, analyzer="word").partial_fit(first)
        more = est.partial_fit
        vocabulary = lambda: est.vocabulary_  # noqa: E731
    else:  # the targets are known words: only the sources count here
        est = Estimator(**SMALL).partial_fit(first, first)
        more = lambda X: est.partial_fit(X, [first[0]] * 10)  # noqa: E731
        vocabulary = lambda: est.source_vocabulary_  # noqa: E731
    learned = dict(vocabulary())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        more(_block(5))  # 5%: silent
    assert not [w for w in record if "vocabulary" in str(w.message)]
    with pytest.warns(UserWarning, match="6 of 100 tokens .6%. of X are not in the vocabulary"):
        more(_block(6))
    with pytest.warns(UserWarning, match="not in the vocabulary"):
        more(_block(50))
    assert dict(vocabulary()) == learned  # later blocks never add words


# ------------------------------------------------------------ max_ngram="auto" on the first block


def _syllable_strings(n, seed=0):
    """Character token lists of two classes with the same letters, told apart by neighbours only.

    Class 0 strings are made of the syllables "ab" and "cd", class 1 of "ad" and "cb": single
    characters carry nothing, bigrams everything, so a probe finds that n-grams pay.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    syllables = {0: ["ab", "cd"], 1: ["ad", "cb"]}
    return [list("".join(rng.choice(syllables[c], size=4))) for c in y], y


def test_max_ngram_auto_is_decided_on_the_first_partial_fit_block():
    X, y = _syllable_strings(600)
    params = dict(d_model=8, n_heads=2, n_layers=1, random_state=0)
    small = TransformerClassifier(**params).partial_fit(X[:39], y[:39], classes=[0, 1])
    assert small.max_ngram_ == 1  # 39 rows: no evidence, n-grams off
    small.partial_fit(X[39:], y[39:])  # a large later block does not reopen the question
    assert small.max_ngram_ == 1 and "ngrams" not in small.params_["embed"]
    # the same text from 40 rows: the probe finds that n-grams pay and turns them on
    larger = TransformerClassifier(**params).partial_fit(X[:40], y[:40], classes=[0, 1])
    assert larger.max_ngram_ == 4 and "ngrams" in larger.params_["embed"]


# ------------------------------------------------------------ a new input family is one module


def test_a_new_input_family_is_one_class_and_one_registry_line(monkeypatch):
    """README: a new kind of X is an InputFamily subclass and one line in REGISTRY."""
    from sktransformer import _families
    from sktransformer._families import InputFamily
    from sktransformer._inputs import Inputs
    from sktransformer._vocabulary import N_RESERVED, Vocabulary

    class ByteStrings(InputFamily):  # raw bytes, one token per byte
        embedding = "tokens"

        @classmethod
        def claims(cls, X, input_type):
            return isinstance(X, list) and bool(X) and all(isinstance(x, bytes) for x in X)

        def learn(self, estimator, X):
            self.vocabulary = Vocabulary({b: b + N_RESERVED for b in range(256)})
            return self.transform(estimator, X)

        def transform(self, estimator, X, reset=False):
            ids = self.vocabulary.id_matrix([list(x) for x in X], max(1, *map(len, X)))
            return Inputs(ids, ids != 0)

    monkeypatch.setattr(_families, "REGISTRY", (ByteStrings, *_families.REGISTRY))
    X = [b"\x01\x02\x03", b"\x03\x02\x01", b"\x01\x01", b"\x02\x02\x02\x02"] * 5
    clf = TransformerClassifier(**SMALL).fit(X, [0, 1, 0, 1] * 5)
    assert isinstance(clf._codec, ByteStrings) and clf.config_.input_size == 256 + N_RESERVED
    weights, labels = clf.attention_weights(X[:2])
    assert clf.predict(X).shape == (20,) and labels[0][:2] == ["t0", "t1"] and len(weights) == 1


# ------------------------------------------------------------ series of one length, after any lengths


def _series_outputs(model, X):
    """Each sample's outputs: probabilities, the encoder's features, or the regressor's predictions."""
    method = next(m for m in ("predict_proba", "transform", "predict") if hasattr(model, m))
    return [np.asarray(o) for o in getattr(model, method)(X)]


def _targets(Estimator, series):
    """Targets of ``series``: labels, numbers, one label per step, or None (the encoder)."""
    labels = [i % 2 for i in range(len(series))]
    return {TransformerClassifier: labels, TransformerRegressor: [float(v) for v in labels],
            TransformerTagger: [[v] * len(s) for v, s in zip(labels, series, strict=True)]
            }.get(Estimator)


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor,
                                       TransformerEncoder, TransformerTagger])
def test_a_model_fitted_on_series_of_any_lengths_reads_series_of_one_length(Estimator):
    rng = np.random.default_rng(0)
    train = [rng.normal(size=n) for n in (3, 5, 4, 6)]
    model = Estimator(**SMALL).fit(train, _targets(Estimator, train))
    batch = [rng.normal(size=4) for _ in range(3)]  # one length: also a 2-D table of numbers
    in_ragged_batch = _series_outputs(model, [*batch, train[3]])[:3]
    for same_length in ([batch[1]], [s.tolist() for s in batch], np.stack(batch)):
        outputs = _series_outputs(model, same_length)
        expected = in_ragged_batch[1:2] if len(same_length) == 1 else in_ragged_batch
        assert all(np.array_equal(a, b) for a, b in zip(outputs, expected, strict=True))
    model.partial_fit(batch, _targets(Estimator, batch))  # more training data, as series
    assert not np.array_equal(_series_outputs(model, batch)[0], in_ragged_batch[0])
    with pytest.raises(ValueError, match=r"one series .* pass \[X\]"):
        _series_outputs(model, batch[0])  # one series, not wrapped in a list


def test_series_of_several_channels_are_not_read_from_a_2d_array():
    rng = np.random.default_rng(0)
    clf = TransformerClassifier(**SMALL).fit([rng.normal(size=(n, 2)) for n in (3, 5, 4, 6)],
                                             [0, 1, 0, 1])
    assert clf.predict([rng.normal(size=(4, 2))]).shape == (1,)  # one series of one length
    with pytest.raises(ValueError, match="dimensions"):  # a bare (T, 2) series: which is which?
        clf.predict(rng.normal(size=(4, 2)))


# ------------------------------------------------------------ id matrices whatever their dtype


GENERATIVE = [TransformerLanguageModel, TransformerSeq2Seq, SequenceVectorizer]


def _fit_ids(Estimator, X):
    if Estimator is SequenceVectorizer:
        return Estimator().fit(X)
    model = Estimator(**SMALL)
    return model.fit(X, [["x"], ["y"]] * 6) if Estimator is TransformerSeq2Seq else model.fit(X)


def _tokens(model):
    vocabulary = (model.source_vocabulary_ if isinstance(model, TransformerSeq2Seq)
                  else model.vocabulary_)
    return sorted(vocabulary, key=str)


IDS = np.array([[1, 2, 3, 4], [1, 2, 3, 0], [5, 6, 7, 0], [5, 6, 0, 0]] * 3)


@pytest.mark.parametrize("Estimator", GENERATIVE)
def test_generative_models_read_nullable_int_frames_and_whole_floats_as_ids(Estimator):
    pd = pytest.importorskip("pandas")
    expected = _tokens(_fit_ids(Estimator, IDS))
    assert 0 not in expected
    for X in (pd.DataFrame(IDS).astype("Int64"), pd.DataFrame(IDS).astype("UInt8"),
              IDS.astype(float)):
        assert _tokens(_fit_ids(Estimator, X)) == expected  # 0 is padding, not a token
    missing = pd.DataFrame(IDS).astype("Int64")
    missing.iloc[2, 1] = pd.NA
    with pytest.raises(ValueError, match=r"missing value \(NA\) in row 2"):
        _fit_ids(Estimator, missing)


def test_seq2seq_reads_target_ids_in_nullable_int_frames_and_whole_floats_as_int_ids():
    pd = pytest.importorskip("pandas")
    texts = ["a b", "c d", "e f", "g h"] * 3
    expected = sorted(TransformerSeq2Seq(**SMALL).fit(texts, IDS).target_vocabulary_, key=str)
    assert 0 not in expected
    for y in (pd.DataFrame(IDS).astype("Int64"), IDS.astype(float)):
        model = TransformerSeq2Seq(**SMALL).fit(texts, y)
        assert sorted(model.target_vocabulary_, key=str) == expected  # 0 is padding
    missing = pd.DataFrame(IDS).astype("Int64")
    missing.iloc[1, 2] = pd.NA
    with pytest.raises(ValueError, match=r"^y has a missing value \(NA\) in row 1"):
        TransformerSeq2Seq(**SMALL).fit(texts, missing)


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor,
                                       TransformerEncoder])
def test_nullable_int_frames_of_ids_are_id_matrices_as_int64_frames_are(Estimator):
    pd = pytest.importorskip("pandas")
    y = None if Estimator is TransformerEncoder else [0, 1] * 6
    frame = pd.DataFrame(IDS, columns=list("abcd"))
    reference = Estimator(**SMALL).fit(frame, y)
    model = Estimator(**SMALL).fit(frame.astype("Int64"), y)
    assert type(model._codec) is type(reference._codec) and model._codec.embedding == "tokens"
    assert model.vocabulary_ == reference.vocabulary_
    assert np.array_equal(_series_outputs(model, frame), _series_outputs(model, frame.astype("Int64")))
    missing = frame.astype("Int64")
    missing.iloc[3, 0] = pd.NA
    with pytest.raises(ValueError, match=r"missing value \(NA\) in row 3"):
        model.predict(missing) if y is not None else model.transform(missing)
