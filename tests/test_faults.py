"""Faults users reported, each as a kind: the reported input, and the same kind in every estimator.

Each test failed on the code before its fix. A refused call must leave a
fitted model exactly as it was (``model_outputs`` before and after).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from tasks import model_outputs

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
    TransformerTagger,
)

FAST = dict(d_model=8, n_heads=2, n_layers=1, max_iter=2, random_state=0)
TEXTS = ["a b c", "b c d", "c d a", "d a b"] * 3
rng0 = np.random.default_rng(0)
X_NUM = rng0.normal(size=(12, 3))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of the 2-epoch models
        yield


def _unchanged(model, X, call, error=ValueError, match=None):
    """``call()`` raises ``error`` (matching ``match``) and the fitted ``model`` predicts as before."""
    before = model_outputs(model, X)
    with pytest.raises(error, match=match):
        call()
    assert model_outputs(model, X) == before


# ------------------------------------------------------------ beam width


@pytest.fixture(scope="module")
def seq2seq():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TransformerSeq2Seq(**FAST).fit(TEXTS, TEXTS[::-1])


@pytest.mark.parametrize("width", [0, -2, 2.5, "4"])
def test_invalid_beam_width_is_refused_wherever_it_is_given(seq2seq, width):
    with pytest.raises(ValueError, match="beam_width"):
        TransformerSeq2Seq(**FAST, beam_width=width).fit(TEXTS, TEXTS)
    before = model_outputs(seq2seq, TEXTS)
    with pytest.raises(ValueError, match="beam_width"):
        seq2seq.predict_log_proba_of_output(TEXTS[:2], beam_width=width)
    seq2seq.set_params(beam_width=width)
    try:
        for method in (seq2seq.predict, seq2seq.predict_log_proba_of_output, seq2seq.score):
            with pytest.raises(ValueError, match="beam_width"):
                method(TEXTS[:2]) if method != seq2seq.score else method(TEXTS[:2], TEXTS[:2])
    finally:
        seq2seq.set_params(beam_width=1)
    assert model_outputs(seq2seq, TEXTS) == before


def test_beam_wider_than_the_target_vocabulary_works(seq2seq):
    wide = seq2seq.predict_log_proba_of_output(TEXTS[:4], beam_width=100)
    narrow = seq2seq.predict_log_proba_of_output(TEXTS[:4], beam_width=1)
    assert np.isfinite(wide).all() and np.all(wide >= narrow - 1e-9)


@pytest.mark.parametrize("threads", [0, -1, 1.5])
def test_invalid_blas_threads_after_fit_is_refused_at_inference(threads):
    model = TransformerClassifier(**FAST).fit(X_NUM, [0, 1] * 6)
    model.set_params(blas_threads=threads)
    with pytest.raises(ValueError, match="blas_threads"):
        model.predict(X_NUM)


# ------------------------------------------------------------ empty documents


EMPTY = ["", "  ", "\t\n", ""] * 2


@pytest.mark.parametrize("make", [
    lambda: TransformerClassifier(**FAST).fit(EMPTY, [0, 1] * 4),
    lambda: TransformerRegressor(**FAST).fit(EMPTY, np.arange(8.0)),
    lambda: TransformerEncoder(**FAST).fit(EMPTY),
    lambda: TransformerLanguageModel(**FAST).fit([""] * 24),
    lambda: TransformerSeq2Seq(**FAST).fit(EMPTY, ["a"] * 8),
    lambda: TransformerSeq2Seq(**FAST).fit(TEXTS[:8], EMPTY),
    lambda: SequenceVectorizer().fit(EMPTY),
    lambda: TransformerClassifier(**FAST).fit(np.zeros((8, 3), int), [0, 1] * 4),
], ids=["classifier", "regressor", "encoder", "language-model", "seq2seq-X", "seq2seq-y",
        "vectorizer", "id-matrix-of-padding"])
def test_documents_that_are_all_empty_are_refused(make):
    with pytest.raises(ValueError, match="no tokens"):
        make()


def test_empty_documents_among_real_ones_still_train_and_an_empty_prompt_generates():
    clf = TransformerClassifier(**FAST).fit(["", "good fun", " ", "bad film"] * 3, [1, 1, 0, 0] * 3)
    assert clf.predict_proba([""]).shape == (1, 2)
    lm = TransformerLanguageModel(**FAST).fit(["", "abc", "", "cab"] * 3)
    assert isinstance(lm.generate("", max_new_tokens=3, random_state=0), str)


# ------------------------------------------------------------ missing and mixed labels


MISSING = [["a", None, "b", "a"] * 3, ["a", np.nan, "b", "a"] * 3,
           pd.Series(["a", pd.NA, "b", "a"] * 3, dtype="string"),
           pd.Series(["a", pd.NA, "b", "a"] * 3, dtype=object), np.r_[[1.0, np.nan, 2.0, 1.0] * 3],
           pd.array([1, None, 2, 1] * 3, dtype="Int64")]


@pytest.mark.parametrize("y", MISSING, ids=["None", "NaN", "NA-string", "NA-object", "nan-float",
                                             "Int64-NA"])
@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerSeq2Seq])
def test_missing_values_in_y_are_refused_and_never_become_a_class(cls, y):
    if cls is TransformerRegressor and not pd.api.types.is_numeric_dtype(pd.Series(y).dropna()):
        y = pd.Series(y).map({"a": 1.0, "b": 2.0}).astype(object).where(pd.Series(y).notna(), None)
    with pytest.raises(ValueError, match="missing values"):
        cls(**FAST).fit(TEXTS, y)


def test_missing_values_in_y_val_and_classes_are_refused():
    y = ["a", "b", "a", "b"] * 3
    with pytest.raises(ValueError, match="y_val has missing values"):
        TransformerClassifier(**FAST).fit(TEXTS, y, X_val=TEXTS[:2], y_val=["a", None])
    with pytest.raises(ValueError, match="classes has missing values"):
        TransformerClassifier(**FAST).partial_fit(TEXTS, y, classes=["a", "b", None])


@pytest.mark.parametrize("cls, y", [
    (TransformerClassifier, [1, "1", 2, "2"] * 3),
    (TransformerClassifier, [b"x", "x", "y", "y"] * 3),
    (TransformerSeq2Seq, ["1", 2, "3", "4"] * 3),
    (TransformerSeq2Seq, ["a b", ["a", "b"], "c", "d"] * 3),
])
def test_mixed_label_types_are_refused(cls, y):
    with pytest.raises(ValueError, match="mixes label types"):
        cls(**FAST).fit(TEXTS, y)


def test_a_refused_y_leaves_a_fitted_classifier_as_it_was():
    clf = TransformerClassifier(**FAST).fit(TEXTS, ["x", "y"] * 6)
    _unchanged(clf, TEXTS, lambda: clf.fit(TEXTS, ["x", None] * 6), match="missing")
    _unchanged(clf, TEXTS, lambda: clf.partial_fit(TEXTS, ["x", 1] * 6), match="mixes")


# ------------------------------------------------------------ NaN-padded series


def _padded_series():
    X = np.random.default_rng(1).normal(size=(8, 6, 2))
    X[0, 3:], X[3, 5:], X[6, 1:] = np.nan, np.nan, np.nan
    as_list = [row[~np.isnan(row).all(axis=1)] for row in X]
    return X, as_list


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerEncoder])
def test_nan_padded_series_read_as_the_equivalent_list_of_series(cls):
    X, as_list = _padded_series()
    y = [0, 1] * 4
    from_array = cls(**FAST).fit(X, y) if cls is not TransformerEncoder else cls(**FAST).fit(X)
    from_list = cls(**FAST).fit(as_list, y) if cls is not TransformerEncoder else cls(**FAST).fit(
        as_list)
    assert model_outputs(from_array, X) == model_outputs(from_list, as_list)
    assert model_outputs(from_array, as_list) == model_outputs(from_list, X)


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerEncoder])
def test_an_all_nan_series_is_read_as_the_empty_series_of_the_list_form(cls):
    X, as_list = _padded_series()
    model = cls(**FAST).fit(X, [0, 1] * 4) if cls is not TransformerEncoder else cls(**FAST).fit(X)
    X[3], as_list[3] = np.nan, np.empty((0, X.shape[2]))  # series 3: no step at all
    assert model_outputs(model, X) == model_outputs(model, as_list)


@pytest.mark.parametrize("X", [[np.empty((0, 2))] * 4, np.full((4, 3, 2), np.nan)],
                         ids=["list", "nan-padded"])
@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerEncoder])
def test_series_that_are_all_empty_are_refused_at_fit(cls, X):
    with pytest.raises(ValueError, match="X holds no steps"):
        cls(**FAST).fit(X, [0, 1] * 2) if cls is not TransformerEncoder else cls(**FAST).fit(X)


def test_nan_that_is_not_padding_is_refused_with_the_supported_form():
    X, _ = _padded_series()
    X[1, 2, 0] = np.nan  # one channel of a real step: a missing value
    with pytest.raises(ValueError, match=r"list of \(T_i, n_channels\) arrays"):
        TransformerClassifier(**FAST).fit(X, [0, 1] * 4)
    X, _ = _padded_series()
    X[2, 1] = np.nan  # a NaN step before real ones
    with pytest.raises(ValueError, match="not padding"):
        TransformerEncoder(**FAST).fit(X)


def test_a_fixed_length_series_model_refuses_nan_padding_by_name():
    X, _ = _padded_series()
    model = TransformerClassifier(**FAST).fit(np.nan_to_num(X), [0, 1] * 4)
    _unchanged(model, np.nan_to_num(X), lambda: model.predict(X), match="NaN steps")


# ------------------------------------------------------------ set_params after fit


ARCHITECTURE = [("n_layers", 2), ("d_model", 16), ("n_heads", 4), ("d_ff", 8), ("max_len", 64),
                ("positional_encoding", "rotary"), ("norm_first", False), ("activation", "relu")]


def _fitted(cls, warm_start):
    params = {**FAST, "warm_start": warm_start}
    if cls is TransformerSeq2Seq:
        return cls(**params).fit(TEXTS, TEXTS[::-1]), lambda m: m.partial_fit(TEXTS, TEXTS[::-1])
    if cls in (TransformerEncoder, TransformerLanguageModel):
        return cls(**params).fit(TEXTS), lambda m: m.partial_fit(TEXTS)
    y = [0, 1] * 6 if cls is TransformerClassifier else np.arange(12.0)
    return cls(**params).fit(TEXTS, y), lambda m: m.partial_fit(TEXTS, y)


@pytest.mark.parametrize("name, value", ARCHITECTURE)
@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerEncoder,
                                 TransformerLanguageModel, TransformerSeq2Seq])
def test_architecture_changed_after_fit_is_refused_by_warm_start_and_partial_fit(cls, name, value):
    model, partial = _fitted(cls, warm_start=True)
    model.set_params(**{name: value})
    _unchanged(model, TEXTS, lambda: partial(model), match=f"{name}={value!r}")
    refit = (lambda: model.fit(TEXTS, TEXTS[::-1])) if cls is TransformerSeq2Seq else (
        (lambda: model.fit(TEXTS)) if cls in (TransformerEncoder, TransformerLanguageModel) else
        (lambda: model.fit(TEXTS, [0, 1] * 6 if cls is TransformerClassifier else np.arange(12.0))))
    _unchanged(model, TEXTS, refit, match="warm_start=False")
    model.set_params(warm_start=False)
    refit()  # a new fit builds the new architecture
    assert getattr(model.config_, name if name != "max_len" or cls is not TransformerSeq2Seq
                   else "n_layers") == (value if name != "max_len" or cls is not TransformerSeq2Seq
                                        else model.n_layers)


def test_dropout_changed_between_fits_is_used_by_the_next_warm_start_fit():
    model = TransformerClassifier(**{**FAST, "warm_start": True}).fit(X_NUM, [0, 1] * 6)
    model.set_params(dropout=0.3, attention_dropout=0.2).fit(X_NUM, [0, 1] * 6)
    assert (model.config_.dropout, model.config_.attention_dropout) == (0.3, 0.2)
    seq2seq = TransformerSeq2Seq(**{**FAST, "warm_start": True}).fit(TEXTS, TEXTS[::-1])
    seq2seq.set_params(dropout=0.3).partial_fit(TEXTS, TEXTS[::-1])
    assert seq2seq.config_.dropout == seq2seq.config_.source.dropout == 0.3  # its encoder too


def test_inference_reads_text_as_the_model_was_fitted_after_set_params():
    lm = TransformerLanguageModel(**FAST).fit(TEXTS)
    before = (lm.generate("a b c d", max_new_tokens=5, temperature=0), lm.score(TEXTS),
              lm.attention_weights(TEXTS)[0][0].tolist())
    lm.set_params(analyzer="word", max_len=4)
    assert (lm.generate("a b c d", max_new_tokens=5, temperature=0), lm.score(TEXTS),
            lm.attention_weights(TEXTS)[0][0].tolist()) == before
    model = TransformerSeq2Seq(**FAST).fit(TEXTS, TEXTS[::-1])
    before = model.predict_log_proba_of_output(TEXTS).tolist(), model.score(TEXTS, TEXTS[::-1])
    model.set_params(analyzer="word", target_analyzer="word", max_len=3)
    assert (model.predict_log_proba_of_output(TEXTS).tolist(),
            model.score(TEXTS, TEXTS[::-1])) == before


# ------------------------------------------------------------ text next to numbers


def test_numeric_columns_beside_a_string_column_are_refused_naming_both():
    frame = pd.DataFrame({"price": [1.0, 2, 3, 4] * 3, "age": [3, 1, 2, 5] * 3,
                          "colour": ["red", "blue", "red", "green"] * 3})
    y = [0, 1] * 6
    for make in (lambda: TransformerClassifier(**FAST).fit(frame, y),
                 lambda: TransformerRegressor(**FAST).fit(frame, np.arange(12.0)),
                 lambda: TransformerEncoder(**FAST).fit(frame),
                 lambda: TransformerLanguageModel(**FAST).fit(frame),
                 lambda: TransformerSeq2Seq(**FAST).fit(frame, TEXTS),
                 lambda: SequenceVectorizer().fit(frame)):
        with pytest.raises(ValueError, match=r"text columns \(colour\).*numeric columns \(price, age\)"):
            make()
    events = pd.DataFrame({"first": ["login", "view"] * 6, "then": ["buy", "exit", "view"] * 4})
    assert TransformerClassifier(**FAST).fit(events, y).predict(events).shape == (12,)


# ------------------------------------------------------------ temperature


@pytest.mark.parametrize("temperature", [1e-310, 5e-324, 1e-30])
def test_a_temperature_near_zero_is_greedy(temperature):
    lm = TransformerLanguageModel(**FAST).fit(TEXTS)
    greedy = lm.generate("a b", max_new_tokens=6, temperature=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an overflow that is the point is not news
        assert lm.generate("a b", max_new_tokens=6, temperature=temperature, random_state=0) == greedy


# ------------------------------------------------------------ sample weights


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor])
def test_a_sample_weight_of_three_is_the_row_three_times(cls):
    """Weighted fits agree with fits on repeated rows to float32 precision (dropout off)."""
    rng = np.random.default_rng(0)
    X, weight = rng.normal(size=(15, 3)), rng.integers(0, 4, size=15)
    y = (X[:, 0] > 0).astype(int) if cls is TransformerClassifier else 10 * X[:, 0] + 3
    params = {**FAST, "max_iter": 20, "batch_size": 64, "dropout": 0.0}
    weighted = cls(**params).fit(X, y, sample_weight=weight)
    repeated = cls(**params).fit(np.repeat(X, weight, axis=0), np.repeat(y, weight))
    out = "predict_proba" if cls is TransformerClassifier else "predict"
    np.testing.assert_allclose(getattr(weighted, out)(X), getattr(repeated, out)(X), rtol=1e-5,
                               atol=1e-6)


def test_warm_start_with_a_new_class_is_refused_saying_how_to_learn_it():
    clf = TransformerClassifier(**{**FAST, "warm_start": True}).fit(X_NUM, [0, 1] * 6)
    _unchanged(clf, X_NUM, lambda: clf.fit(X_NUM, [0, 1, 2] * 4), match="warm_start=False")


@pytest.mark.parametrize("argument", [dict(top_k=True), dict(max_new_tokens=True), dict(top_k=0),
                                      dict(max_new_tokens=-1), dict(temperature=float("inf"))])
def test_generate_refuses_booleans_and_out_of_range_arguments_by_name(argument):
    lm = TransformerLanguageModel(**FAST).fit(TEXTS)
    with pytest.raises(ValueError, match=next(iter(argument))):
        lm.generate("a", **argument)


@pytest.mark.parametrize("y", [["a", None] * 6, ["a", 1] * 6, [0.5, np.nan] * 6, [1, 2] * 6])
def test_score_refuses_missing_mixed_or_foreign_labels_by_name(y):
    clf = TransformerClassifier(**FAST).fit(TEXTS, ["a", "b"] * 6)
    with pytest.raises(ValueError, match="y (has missing|mixes|holds numbers)"):
        clf.score(TEXTS, y)


@pytest.mark.parametrize("cls, name, value", [
    (TransformerClassifier, "pooling", "cls"), (TransformerRegressor, "input_type", "numeric"),
    (TransformerEncoder, "pooling", "cls"), (TransformerClassifier, "max_ngram", 3),
    (TransformerLanguageModel, "analyzer", "word"), (TransformerSeq2Seq, "analyzer", "char"),
    (TransformerSeq2Seq, "target_analyzer", "word"),
])
def test_every_structural_parameter_changed_after_fit_is_refused_by_name(cls, name, value):
    model, partial = _fitted(cls, warm_start=True)
    model.set_params(**{name: value})
    _unchanged(model, TEXTS, lambda: partial(model), match=f"{name}={value!r}")


def test_a_new_encoder_after_fit_is_refused_by_warm_start():
    encoder = TransformerEncoder(**FAST).fit(TEXTS)
    clf = TransformerClassifier(**{**FAST, "warm_start": True}, encoder=encoder).fit(TEXTS, [0, 1] * 6)
    clf.set_params(encoder=TransformerEncoder(**FAST).fit(TEXTS))
    _unchanged(clf, TEXTS, lambda: clf.fit(TEXTS, [0, 1] * 6), match="encoder=")


def test_whitespace_documents_are_refused_by_a_word_language_model():
    with pytest.raises(ValueError, match="no tokens"):
        TransformerLanguageModel(**FAST, analyzer="word").fit(["  ", "\t", ""] * 4)


@pytest.mark.parametrize("y", [["a b", None] * 6, ["a b", 3] * 6])
def test_seq2seq_score_refuses_missing_or_mixed_targets(seq2seq, y):
    with pytest.raises(ValueError, match="y (has missing|mixes)"):
        seq2seq.score(TEXTS, y)


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerEncoder])
def test_a_2d_table_of_nan_padded_rows_is_told_how_to_pass_series(cls):
    X = np.random.default_rng(2).normal(size=(8, 6))
    X[0, 3:], X[5, 5:] = np.nan, np.nan  # univariate series padded with NaN, written as rows
    y = None if cls is TransformerEncoder else [0, 1] * 4
    with pytest.raises(ValueError, match=r"list of 1-D arrays .* \(n_samples, n_steps, 1\)"):
        cls(**FAST).fit(X, y) if y is not None else cls(**FAST).fit(X)
    fitted = cls(**FAST).fit(np.nan_to_num(X), y) if y is not None else cls(**FAST).fit(
        np.nan_to_num(X))
    _unchanged(fitted, np.nan_to_num(X), lambda: (fitted.predict(X) if y is not None
                                                  else fitted.transform(X)), match="1-D arrays")


# ------------------------------------------------------------ variants found by a new-user trial


def test_a_missing_value_in_a_pandas_string_column_is_refused_by_every_estimator():
    frame = pd.DataFrame({"text": pd.array(["x y", None] + ["z w"] * 10, dtype="string")})
    for make in (lambda: TransformerClassifier(**FAST).fit(frame, [0, 1] * 6),
                 lambda: TransformerEncoder(**FAST).fit(frame),
                 lambda: TransformerLanguageModel(**FAST).fit(frame),
                 lambda: TransformerSeq2Seq(**FAST).fit(frame, ["a"] * 12),
                 lambda: SequenceVectorizer().fit(frame)):
        with pytest.raises(ValueError, match="missing value"):
            make()
    clf = TransformerClassifier(**FAST).fit(frame.fillna(""), [0, 1] * 6)
    _unchanged(clf, frame.fillna(""), lambda: clf.predict(frame), match="missing value")


@pytest.mark.parametrize("X", [
    pd.DataFrame({"n": np.arange(12.0), "when": pd.date_range("2020", periods=12)}),
    pd.DataFrame({"when": pd.to_datetime([None] + ["2020"] * 11)}),  # NaT would read as -9.2e18
    pd.DataFrame({"n": np.arange(12.0), "wait": pd.to_timedelta(np.arange(12), unit="s")}),
    np.array(["2020-01-01"] * 24, dtype="datetime64[D]").reshape(12, 2),
], ids=["dates-beside-numbers", "NaT", "durations", "datetime64-array"])
def test_dates_are_refused_as_numeric_features_naming_the_column(X):
    with pytest.raises(ValueError, match="date or duration"):
        TransformerRegressor(**FAST).fit(X, np.arange(12.0))


def test_temperature_as_a_fraction_works_and_beyond_float_is_refused():
    from fractions import Fraction

    lm = TransformerLanguageModel(**FAST).fit(TEXTS)
    assert lm.generate("a", temperature=Fraction(1, 2), random_state=0) == lm.generate(
        "a", temperature=0.5, random_state=0)
    with pytest.raises(ValueError, match="temperature"):
        lm.generate("a", temperature=10**400)


@pytest.mark.parametrize("weight", [np.nan, np.inf, "nan-one", "all-zero", "negative"])
@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor])
def test_sample_weights_that_would_train_nothing_are_refused_by_name(cls, weight):
    y = [0, 1] * 6 if cls is TransformerClassifier else np.arange(12.0)
    w = {"nan-one": np.r_[np.nan, np.ones(11)], "all-zero": np.zeros(12),
         "negative": np.r_[-1.0, np.ones(11)]}.get(weight, weight)
    with pytest.raises(ValueError, match="sample_weight|Sample weights|weights must be"):
        cls(**FAST).fit(X_NUM, y, sample_weight=w)
    fitted = cls(**FAST).fit(X_NUM, y)
    with pytest.raises(ValueError, match="sample_weight|Sample weights|weights must be"):
        fitted.score(X_NUM, y, sample_weight=w)


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor])
def test_only_the_ratios_of_sample_weights_matter_even_beyond_float32(cls):
    y = (X_NUM[:, 0] > 0).astype(int) if cls is TransformerClassifier else 3 * X_NUM[:, 0]
    w = np.random.default_rng(3).integers(1, 4, size=12).astype(float)
    outputs = [cls(**{**FAST, "dropout": 0.0}).fit(X_NUM, y, sample_weight=w * scale).predict(X_NUM)
               for scale in (1.0, 1e-320, 1e39)]  # 1e-320 is 0 in float32, 1e39 is inf
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-6)
    np.testing.assert_allclose(outputs[2], outputs[0], rtol=1e-6)


def test_classifier_labels_are_scalars_and_nullable_pandas_labels_keep_their_type():
    with pytest.raises(ValueError, match="y holds sequences"):
        TransformerClassifier(**FAST).fit(TEXTS, [(1, 2), (3,)] * 6)
    with pytest.raises(ValueError, match="classes"):
        TransformerClassifier(**FAST).partial_fit(TEXTS, [0, 1] * 6, classes=[[0, 1]])
    ints = TransformerClassifier(**FAST).fit(TEXTS, pd.array([1, 2] * 6, dtype="Int64"))
    assert ints.classes_.dtype.kind == "i" and ints.classes_.tolist() == [1, 2]
    flags = TransformerClassifier(**FAST).fit(TEXTS, pd.array([True, False] * 6, dtype="boolean"))
    assert flags.classes_.dtype == bool


@pytest.mark.parametrize("name, value", [
    ("learning_rate_init", float("nan")), ("alpha", float("nan")), ("batch_size", 0),
    ("batch_size", -5), ("batch_size", 2.5), ("dropout", 1.5), ("label_smoothing", 2.0),
    ("warmup_fraction", 5.0), ("tol", float("nan")), ("verbose", "x"),
])
@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerEncoder,
                                 TransformerLanguageModel, TransformerSeq2Seq])
def test_partial_fit_of_a_fitted_model_checks_hyperparameters_set_since(cls, name, value):
    # scikit-learn's fit context skips the checks once fitted; a NaN learning rate trained NaNs
    model, partial = _fitted(cls, warm_start=False)
    if name not in model.get_params():
        pytest.skip(f"{cls.__name__} has no {name}")
    model.set_params(**{name: value})
    _unchanged(model, TEXTS, lambda: partial(model), error=(ValueError, TypeError), match=name)



@pytest.mark.parametrize("y", [[1e160, -1e160, 1e160, 1.0], [1e300, -1e300, 5e299, 0.0],
                               [1e200, 1e200 * (1 + 1e-15), 1e200, 1e200 * (1 - 1e-15)]])
def test_regressor_targets_of_huge_magnitude_give_finite_predictions_without_overflow(y):
    texts = ["the cat sat", "a dog ran", "the bird flew", "a fish swam"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence
        warnings.simplefilter("error", RuntimeWarning)  # an overflow in standardising y
        model = TransformerRegressor(**FAST).fit(texts, y)
        predicted = model.predict(texts)
    spread = max(y) - min(y) if np.isfinite(max(y) - min(y)) else max(map(abs, y))
    assert np.isfinite(predicted).all()
    assert np.all(predicted >= min(y) - 5 * spread) and np.all(predicted <= max(y) + 5 * spread)


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerEncoder])
@pytest.mark.parametrize("scale", [1e20, 1e30, 1e300])
def test_numeric_values_whose_squares_overflow_float32_are_refused_saying_to_scale(cls, scale):
    warnings.simplefilter("error", RuntimeWarning)  # the refusal alone, no overflow warning too
    y = [0, 1] * 6 if cls is TransformerClassifier else np.arange(12.0)
    with pytest.raises(ValueError, match="StandardScaler"):
        cls(**FAST).fit(X_NUM * scale, y)
    model = cls(**FAST).fit(X_NUM, y)
    _unchanged(model, X_NUM, lambda: model.predict(X_NUM * scale) if hasattr(model, "predict")
               else model.transform(X_NUM * scale), match="StandardScaler")
    series = [np.arange(5.0) * scale, np.arange(3.0)] * 6
    with pytest.raises(ValueError, match="StandardScaler"):
        cls(**FAST).fit(series, y)


def test_regressor_targets_that_are_not_numbers_are_refused_naming_y():
    with pytest.raises(ValueError, match="^y must hold numbers.*'x'"):
        TransformerRegressor(**FAST).fit(TEXTS, ["x", "y"] * 6)
    model = TransformerRegressor(**FAST).fit(TEXTS, np.arange(12.0))
    _unchanged(model, TEXTS, lambda: model.partial_fit(TEXTS, ["x", "y"] * 6), match="^y must")
    _unchanged(model, TEXTS, lambda: model.score(TEXTS, ["x", "y"] * 6), match="^y must")


TRAINABLE = [TransformerClassifier, TransformerRegressor, TransformerEncoder,
             TransformerLanguageModel, TransformerSeq2Seq]


def _fit_with(cls, **params):
    model = cls(**{**FAST, "max_iter": 5, **params})
    if cls is TransformerSeq2Seq:
        return model.fit(TEXTS, TEXTS[::-1])
    if cls in (TransformerEncoder, TransformerLanguageModel):
        return model.fit(TEXTS)
    return model.fit(TEXTS, [0, 1] * 6 if cls is TransformerClassifier else np.arange(12.0))


def _largest_weight(model):
    from sktransformer._tree import tree_leaves

    return max(float(np.abs(leaf).max()) for leaf in tree_leaves(model.params_) if leaf.ndim >= 2)


@pytest.mark.parametrize("cls", TRAINABLE)
def test_weight_decay_beyond_one_step_shrinks_the_weights_instead_of_flipping_them(cls):
    # AdamW's p *= 1 - lr * alpha: past lr * alpha = 2 the weights flipped sign and grew every step
    light = _largest_weight(_fit_with(cls, alpha=0.0))
    for alpha in (3e3, 1e4, 1e30):
        model = _fit_with(cls, alpha=alpha)
        assert _largest_weight(model) <= light
        if cls is not TransformerSeq2Seq:
            assert np.isfinite(model_outputs(model, TEXTS)).all()


@pytest.mark.parametrize("cls", TRAINABLE)
def test_a_fit_that_diverges_keeps_the_last_parameters_whose_loss_was_finite(cls):
    # the update before a non-finite loss left huge weights whose every output was NaN
    with pytest.warns(RuntimeWarning, match="non-finite"):
        model = _fit_with(cls, learning_rate_init=1e30)
    if cls is TransformerSeq2Seq:
        assert np.isfinite(model.predict_log_proba_of_output(TEXTS[:4])).all()
    else:
        assert np.isfinite(model_outputs(model, TEXTS)).all()


def _fitted_on_text(cls):
    if cls is SequenceVectorizer:
        return SequenceVectorizer().fit(TEXTS)
    if cls is TransformerTagger:
        return cls(**FAST).fit([t.split() for t in TEXTS], [[0, 1, 0]] * 12)
    return _fit_with(cls)


@pytest.mark.parametrize("cls", [*TRAINABLE, TransformerTagger, SequenceVectorizer])
@pytest.mark.parametrize("ids", [[[1, 2, 3], [2, 3, 4]], [np.array([5, 2, 3]), np.array([2, 3])]])
def test_token_ids_given_to_a_model_fitted_on_text_are_refused_not_read_as_unknown(cls, ids):
    # a text model read lists of ints as unknown tokens and answered as for an empty input
    model = _fitted_on_text(cls)
    call = {SequenceVectorizer: "transform", TransformerEncoder: "transform",
            TransformerSeq2Seq: "predict", TransformerLanguageModel: "score"}.get(cls, "predict")
    X = [t.split() for t in TEXTS] if cls is TransformerTagger else TEXTS
    before = model_outputs(model, X) if cls is not SequenceVectorizer else model.transform(X).tolist()
    with pytest.raises(TypeError, match="^X holds integers .token ids.*reads text"):
        getattr(model, call)(ids)
    after = model_outputs(model, X) if cls is not SequenceVectorizer else model.transform(X).tolist()
    assert after == before
    if cls is TransformerLanguageModel:
        with pytest.raises(TypeError, match="^prompt holds integers"):
            model.generate([1, 2], max_new_tokens=2)


def test_integer_tokens_the_vocabulary_holds_are_still_read():
    mixed = [["a", 1, "b"], [2, "c"], ["a", 2]] * 4
    model = TransformerClassifier(**FAST).fit(mixed, [0, 1, 0] * 4)
    assert model.predict_proba([[1, 2], [2, "a"]]).shape == (2, 2)
    # a vocabulary of names and codes: an unseen code is an unknown token, in any position
    assert model.predict_proba([[999], [999, "a"], ["a", 999]]).shape == (3, 2)
    assert SequenceVectorizer().fit(mixed).transform([[999, "a"]]).shape == (1, 3)


def _training_targets(monkeypatch, cls):
    """The class ids each fit of ``cls`` trains on (after the validation split), as lists."""
    seen, train = [], cls._train

    def spy(self, data, val_data, partial):
        seen.append((set(np.ravel(data.arrays["target"]).tolist()) - {-1},
                     set(np.ravel(val_data.arrays["target"]).tolist()) - {-1}))
        return train(self, data, val_data, partial)

    monkeypatch.setattr(cls, "_train", spy)
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_early_stopping_never_leaves_a_class_out_of_training(monkeypatch, seed):
    # a class too small to stratify fell back to a plain split: 'y' could be validation-only
    seen = _training_targets(monkeypatch, TransformerClassifier)
    X, y = TEXTS[:7], ["x"] * 6 + ["y"]
    TransformerClassifier(**{**FAST, "random_state": seed}, early_stopping=True,
                          validation_fraction=0.3).fit(X, y)
    trained, validated = seen[-1]
    assert trained == {0, 1} and validated
    seen = _training_targets(monkeypatch, TransformerTagger)
    tags = [[0, 0, 0]] * 6 + [[0, 2, 1]]
    TransformerTagger(**{**FAST, "random_state": seed}, early_stopping=True,
                      validation_fraction=0.3).fit([t.split() for t in TEXTS[:7]], tags)
    trained, validated = seen[-1]
    assert trained == {0, 1, 2} and validated


def test_automatic_early_stopping_on_one_example_per_class_trains_on_everything():
    # the split that keeps every class in training left no validation sample, and fit raised
    X = [f"item {i} word{i % 7}" for i in range(120)]
    model = TransformerClassifier(**FAST).fit(X, [f"c{i}" for i in range(120)])  # "auto": from 100
    assert model.validation_scores_ is None and len(model.classes_) == 120


@pytest.mark.parametrize("fraction, n, match", [(0.99, 12, "validation_fraction=0.99 of 12"),
                                                (0.5, 2, "no sample is left to validate on")])
def test_a_validation_split_that_cannot_be_made_is_refused_by_name(fraction, n, match):
    with pytest.raises(ValueError, match=match):
        TransformerClassifier(**FAST, early_stopping=True, validation_fraction=fraction).fit(
            TEXTS[:n], [0, 1] * (n // 2))


def test_token_accuracy_of_empty_outputs_that_match_empty_targets_is_one():
    # 0 right of 0 positions gave 0.0 while score (exact match) gave 1.0
    model = TransformerSeq2Seq(**FAST).fit(TEXTS, TEXTS[::-1])
    model._predict_columns = lambda X: ([[] for _ in X], None)  # a model that says nothing
    assert model.token_accuracy(TEXTS[:2], ["", ""]) == 1.0
    assert model.token_accuracy(TEXTS[:2], ["", "a"]) == 0.0


@pytest.mark.parametrize("cls", [*TRAINABLE, TransformerTagger, SequenceVectorizer])
@pytest.mark.parametrize("kind, match", [("generator", r"pass list\(X\)"), ("map", r"pass list\(X\)"),
                                         ("keys", r"pass list\(X\)"), ("set", "no order")])
def test_x_as_an_iterator_or_a_set_is_refused_saying_what_to_pass(cls, kind, match):
    # numpy read a generator as one scalar: "Expected 2D array, got scalar array instead"
    texts = [t.split() for t in TEXTS] if cls is TransformerTagger else TEXTS
    make = {"generator": lambda: (t for t in texts), "map": lambda: map(lambda t: t, texts),
            "keys": lambda: dict.fromkeys(map(tuple, texts) if cls is TransformerTagger
                                          else texts).keys(),
            "set": lambda: set(map(tuple, texts) if cls is TransformerTagger else texts)}[kind]
    y = {TransformerClassifier: [0, 1] * 6, TransformerRegressor: np.arange(12.0),
         TransformerSeq2Seq: TEXTS, TransformerTagger: [[0, 1, 0]] * 12}.get(cls)
    model = cls() if cls is SequenceVectorizer else cls(**FAST)
    with pytest.raises(TypeError, match=f"^Expected X to be a list of samples.*{match}"):
        model.fit(make(), y) if y is not None else model.fit(make())
    model.fit(texts, y) if y is not None else model.fit(texts)
    call = (model.transform if cls in (SequenceVectorizer, TransformerEncoder) else
            model.score if cls is TransformerLanguageModel else model.predict)
    if cls is SequenceVectorizer:
        with pytest.raises(TypeError, match=match):
            call(make())
    else:
        _unchanged(model, texts, lambda: call(make()), error=TypeError, match=match)


def test_regressor_validation_where_r2_is_undefined_is_refused_or_scored_by_squared_error():
    # R² of one sample or of equal targets was 0.0 every epoch: early stopping halted on noise
    texts = [f"w{i} w{i % 3} w{i % 5}" for i in range(20)]
    y = np.arange(20.0)
    model = TransformerRegressor(**FAST).fit(texts, y)
    for X_val, y_val in ((texts[:1], y[:1]), (texts[:4], [3.0] * 4)):
        _unchanged(model, texts, lambda X_val=X_val, y_val=y_val: model.fit(
            texts, y, X_val=X_val, y_val=y_val), match="^y_val has .* R² on it.* is undefined")
    split = TransformerRegressor(**{**FAST, "max_iter": 6}, early_stopping=True,
                                 validation_fraction=0.05).fit(texts, y)  # one validation sample
    scores = split.validation_scores_
    assert len(scores) == 6 and all(s <= 0 for s in scores) and len(set(scores)) == 6


@pytest.mark.parametrize("dirty, clean", [
    ("\ufeffgood movie", "good movie"), ("go\u00adod movie", "good movie"),
    ("good\u200e movie\u202c", "good movie"), ("good\x00 mov\x7fie", "good movie"),
    ("good\u200bmovie", "good movie"),  # a zero-width space separates words
])
def test_invisible_characters_do_not_become_tokens(dirty, clean):
    # a byte-order mark, soft hyphen, direction mark or NUL was a token, or split a word in two
    from sktransformer._text import analyze

    assert analyze(dirty) == analyze(clean)
    assert analyze(dirty, analyzer="char") == analyze(clean, analyzer="char")
    model = TransformerClassifier(**FAST).fit(["good movie", "bad movie", "good film", "bad film"] * 3,
                                             [1, 0, 1, 0] * 3)
    np.testing.assert_array_equal(model.predict_proba([dirty]), model.predict_proba([clean]))
    with pytest.raises(ValueError, match="holds no tokens"):
        SequenceVectorizer().fit(["\u200b\ufeff\u00ad"])


def test_a_prompt_longer_than_the_context_is_generated_from_with_a_warning():
    # the prompt's start (its <bos> and any instruction) was dropped without a word
    lm = TransformerLanguageModel(**{**FAST, "max_len": 8}).fit(TEXTS)
    # 23 characters and <bos>
    with pytest.warns(UserWarning, match=r"prompt is 24 tokens long .* first 16 are dropped"):
        lm.generate(" ".join(["a b c d"] * 3), max_new_tokens=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lm.generate("a b c d", max_new_tokens=2)  # within the context: no warning


def test_reading_matching_tokens_never_walks_the_vocabulary():
    # the check for foreign tokens walked a whole id vocabulary on every call (0.35 -> 5 ms)
    class Unwalkable(dict):
        def __iter__(self):  # a look at the first tokens is fine, a walk is not
            for i, token in enumerate(dict.__iter__(self)):
                assert i < 3, "the vocabulary was walked"
                yield token

    ids = [[1, 2, 3], [4, 5, 6]] * 6
    model = TransformerClassifier(**FAST, linear_blend=False).fit(ids, [0, 1] * 6)
    text = TransformerClassifier(**FAST, linear_blend=False).fit(TEXTS, [0, 1] * 6)
    for fitted, X in ((model, ids), (text, TEXTS)):
        fitted._codec.vocabulary.vocabulary = Unwalkable(fitted._codec.vocabulary.vocabulary)
        assert fitted.predict_proba(X).shape == (12, 2)


def test_a_diverged_fit_keeps_exactly_the_parameters_before_the_update_that_overflowed(monkeypatch):
    from sktransformer._optim import AdamW
    from sktransformer._tree import tree_copy, tree_leaves

    snapshots, update = [], AdamW.update

    def spy(self, params, grads):
        snapshots.append(tree_copy(params))
        return update(self, params, grads)

    monkeypatch.setattr(AdamW, "update", spy)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        model = _fit_with(TransformerClassifier, learning_rate_init=1e30)
    kept, before_last = tree_leaves(model.params_), tree_leaves(snapshots[-1])
    assert all(np.array_equal(a, b) for a, b in zip(kept, before_last, strict=True))
    assert "before" not in model._optimizer.__dict__.get("_flat", {})  # the copy is freed after fit


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor])
def test_lists_of_integer_tokens_of_any_length_fit_with_the_default_linear_model(cls):
    # the linear model beside the network (linear_blend="auto", from 100 samples) took len() of
    # each token to choose its reading: integer tokens raised TypeError deep inside fit
    rng = np.random.default_rng(0)
    X = [[int(t) for t in rng.integers(0, 50, rng.integers(3, 9))] + ["x"] * (i % 2)
         for i in range(120)]
    y = [i % 2 for i in range(120)] if cls is TransformerClassifier else np.arange(120.0)
    model = cls(**FAST).fit(X, y)
    assert np.isfinite(model_outputs(model, X[:3])).all()


@pytest.mark.parametrize("X_val", [["", " "], [[], []]])
def test_an_encoder_refuses_empty_validation_data_before_training(monkeypatch, X_val):
    # the refusal came from the first epoch's validation score, after a whole epoch of training
    def never(*args, **kwargs):
        raise AssertionError("trained before refusing X_val")

    monkeypatch.setattr(TransformerEncoder, "_train", never)
    with pytest.raises(ValueError, match="^X_val holds no tokens"):
        TransformerEncoder(**FAST).fit(TEXTS, X_val=X_val)


@pytest.mark.parametrize("cls", [*TRAINABLE, SequenceVectorizer])
def test_bytes_documents_are_refused_saying_to_decode_them(cls):
    # scikit-learn's "Expected 2D array ... reshape" advice was given for a list of bytes
    model = cls() if cls is SequenceVectorizer else cls(**FAST)
    y = {TransformerClassifier: [0, 1] * 6, TransformerRegressor: np.arange(12.0),
         TransformerSeq2Seq: TEXTS}.get(cls)
    for X in ([t.encode() for t in TEXTS], np.array([t.encode() for t in TEXTS])):
        with pytest.raises(TypeError, match=r"^X holds bytes .*decode them first"):
            model.fit(X, y) if y is not None else model.fit(X)


def test_complex_features_and_targets_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="^Complex data not supported: X holds complex numbers"):
        TransformerClassifier(**FAST).fit(X_NUM.astype(complex), [0, 1] * 6)
    with pytest.raises(ValueError, match="^Complex data not supported: y holds complex numbers"):
        TransformerRegressor(**FAST).fit(X_NUM, np.arange(12) + 0j)


@pytest.mark.parametrize("token", [True, np.bool_(False), 1.5])
def test_a_float_or_boolean_token_is_refused_at_inference_as_at_fit(token):
    # fit refused [[1, 2, True]]; predict, score and generate read True as the token 1
    ids = [[1, 2, 3], [2, 3, 4, 5]] * 6
    words = [t.split() for t in TEXTS]
    calls = [(TransformerClassifier(**FAST).fit(ids, [0, 1] * 6), "predict_proba", [[1, 2, token]]),
             (TransformerClassifier(**FAST).fit(words, [0, 1] * 6), "predict", [["a", token]]),
             (TransformerLanguageModel(**FAST).fit(ids), "score", [[1, 2, token]]),
             (TransformerSeq2Seq(**FAST).fit(ids, ids), "predict", [[1, 2, token]])]
    match = f"holds the {type(token).__name__} token|floats are never tokens"
    for model, method, X in calls:
        with pytest.raises((TypeError, ValueError), match=match):
            getattr(model, method)(X)
    with pytest.raises(TypeError, match=f"^prompt holds the {type(token).__name__} token"):
        calls[2][0].generate([1, token], max_new_tokens=2)  # named, not "Sequence 0 of X"


@pytest.mark.parametrize("cls", [TransformerLanguageModel, TransformerSeq2Seq])
def test_text_given_to_a_model_fitted_on_an_id_matrix_says_to_pass_ids(cls):
    # a ValueError about "a 2-D array with 4 column(s)" instead of the documented TypeError
    ids = np.array([[1, 2, 3, 0], [2, 3, 4, 5]] * 6)
    model = cls(**FAST).fit(ids, ids) if cls is TransformerSeq2Seq else cls(**FAST).fit(ids)
    call = model.predict if cls is TransformerSeq2Seq else model.score
    _unchanged(model, ids, lambda: call(["a b", "c"]), error=TypeError,
               match="^X holds text, but the model was fitted on token ids")


def test_helper_functions_refuse_bad_arguments_by_name():
    # ZeroDivisionError, "list indices must be integers", an error naming spell_number, and
    # a negative threshold handed to malloc
    from sktransformer.datasets import (
        make_negation_reviews,
        make_story_corpus,
        make_translation_pairs,
        spell_number,
    )
    from sktransformer.performance import tune_allocator

    for call, error, match in [
        (lambda: spell_number(3.5), TypeError, "^n must be an int"),
        (lambda: spell_number(True), TypeError, "^n must be an int"),
        (lambda: spell_number(1000), ValueError, "^n must be from 0 to 999"),
        (lambda: make_translation_pairs(max_number=2000), ValueError, "^max_number must be"),
        (lambda: make_translation_pairs(-1), ValueError, "^n_pairs must be >= 0"),
        (lambda: make_story_corpus(-1), ValueError, "^n_sentences must be >= 0"),
        (lambda: make_negation_reviews(-1), ValueError, "^n_samples must be >= 0"),
        (lambda: tune_allocator(-5), ValueError, "^threshold must be"),
        (lambda: tune_allocator("x"), ValueError, "^threshold must be"),
    ]:
        with pytest.raises(error, match=match):
            call()
    assert spell_number(342) == "three hundred forty two"


@pytest.mark.parametrize("max_columns", [0, -1, 2.5, True])
def test_plot_attention_heads_refuses_a_grid_without_columns(max_columns):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sktransformer.plot import plot_attention_heads

    model = TransformerClassifier(**FAST).fit(TEXTS, [0, 1] * 6)
    with pytest.raises(ValueError, match="^max_columns must be an int >= 1"):
        plot_attention_heads(model, TEXTS[0], max_columns=max_columns)
    _, axes = plot_attention_heads(model, TEXTS[0], max_columns=1)
    assert len(axes) == 2  # one head per row


def test_a_refused_setting_changes_no_other_setting():
    # set_config stored pause_gc_during_fit before refusing tune_malloc="yes"; config_context
    # then never restored it, so every later fit in the thread paused the garbage collector
    import sktransformer

    before = sktransformer.get_config()
    with pytest.raises(TypeError, match="tune_malloc"):
        sktransformer.set_config(pause_gc_during_fit=True, tune_malloc="yes")
    assert sktransformer.get_config() == before
    with pytest.raises(TypeError, match="tune_malloc"):
        with sktransformer.config_context(pause_gc_during_fit=True, tune_malloc=1):
            pass
    assert sktransformer.get_config() == before


@pytest.mark.parametrize("X", [["", " "], ["\u200b"]])
def test_a_checkpoint_encoder_refuses_to_train_on_texts_without_tokens(X):
    # only [CLS] and [SEP], never hidden: loss 0.0 every epoch while weight decay moved the weights
    import pathlib

    path = pathlib.Path(__file__).parent / "fixtures" / "pretrained" / "bert_mlm"
    encoder = TransformerEncoder.from_pretrained(path, max_iter=1)
    for call in (lambda: encoder.fit(X), lambda: encoder.partial_fit(X)):
        _unchanged(encoder, TEXTS, call, match="^X holds no tokens to learn from or score")


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor, TransformerTagger])
def test_an_encoder_that_is_no_transformer_encoder_is_refused_by_name(cls):
    # encoder=PCA() or a Pipeline passed validation, then failed on a private attribute; a frozen
    # unfitted encoder failed in FrozenEstimator.fit about a missing y
    from sklearn.decomposition import PCA
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline

    X = [t.split() for t in TEXTS] if cls is TransformerTagger else TEXTS
    y = {TransformerClassifier: [0, 1] * 6, TransformerRegressor: np.arange(12.0),
         TransformerTagger: [[0, 1, 0]] * 12}[cls]
    model = cls(**FAST).fit(X, y)
    for encoder, error, match in [
        (PCA(2), TypeError, "^encoder must be a TransformerEncoder .*got PCA"),
        (make_pipeline(SequenceVectorizer(), TransformerEncoder(**FAST)), TypeError,
         "^encoder must be a TransformerEncoder .*got Pipeline"),
        (FrozenEstimator(TransformerEncoder(**FAST)), ValueError,
         "^encoder is a FrozenEstimator of an unfitted TransformerEncoder"),
    ]:
        _unchanged(model, X, lambda encoder=encoder: model.set_params(encoder=encoder).fit(X, y),
                   error=error, match=match)


def test_a_min_count_that_keeps_no_token_is_refused_at_fit():
    # the vectorizer fitted an empty vocabulary, then refused the same text as "token ids"
    with pytest.raises(ValueError, match="^min_count=5 keeps no token of X: the most frequent"):
        SequenceVectorizer(min_count=5).fit(["the cat sat", "a dog ran"])
    assert SequenceVectorizer(min_count=2).fit(["the cat", "the dog"]).vocabulary_ == {"the": 2}


@pytest.mark.parametrize("weights", [[[1, 1, 2]] * 12, [[1, 2]] * 6 + [[1, 1, 1]] * 6])
def test_a_weight_per_token_is_refused_saying_weights_go_per_sample(weights):
    # a ragged list gave numpy's "inhomogeneous shape" error naming no argument
    X, y = [t.split() for t in TEXTS], [[0, 1, 0]] * 12
    tagger = TransformerTagger(**FAST).fit(X, y)
    match = "^sample_weight holds one number per sample"
    _unchanged(tagger, X, lambda: tagger.fit(X, y, sample_weight=weights), match=match)
    with pytest.raises(ValueError, match=match):
        tagger.score(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match=match):
        TransformerClassifier(**FAST).fit(TEXTS, [0, 1] * 6, sample_weight=np.ones((12, 2)))
    # one number per sample, each a 0-d array, is one weight per sample (as scikit-learn reads it)
    assert tagger.fit(X, y, sample_weight=[np.array(1.0)] * 12).n_iter_ > 0


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerTagger])
def test_classes_given_as_a_set_are_refused_saying_what_to_pass(cls):
    # a set was read as a 0-d array: "classes must be a 1-D list of every label, got shape ()"
    X = [t.split() for t in TEXTS] if cls is TransformerTagger else TEXTS
    y = [[0, 1, 0]] * 12 if cls is TransformerTagger else [0, 1] * 6
    with pytest.raises(TypeError, match=r"^classes must be a list .*got a set: pass sorted"):
        cls(**FAST).partial_fit(X, y, classes={2, 0, 1})


def test_a_sparse_y_gets_scikit_learn_s_sparse_refusal_from_every_estimator():
    # "y has missing values" (regressor 2-D, seq2seq) or scipy's "sparse array length is ambiguous"
    from scipy.sparse import csr_matrix

    from sktransformer import TransformerTagger

    sparse = csr_matrix(np.arange(24.0).reshape(12, 2))
    words = [t.split() for t in TEXTS]
    calls = [lambda: TransformerRegressor(**FAST).fit(X_NUM, sparse),
             lambda: TransformerSeq2Seq(**FAST).fit(TEXTS, sparse),
             lambda: TransformerTagger(**FAST).fit(words, sparse)]
    for call in calls:
        with pytest.raises(TypeError, match="^Sparse data was passed for y, but dense data"):
            call()


def test_nan_under_assume_finite_is_named_as_nan_not_as_an_overflow():
    import sklearn

    X = X_NUM.copy()
    X[3, 1] = np.nan
    with sklearn.config_context(assume_finite=True):
        with pytest.raises(ValueError, match="^Input X contains NaN"):
            TransformerClassifier(**FAST).fit(X, [0, 1] * 6)
        X[3, 1] = np.inf
        for dtype in (np.float64, np.float32, np.float16):  # float32 was named an overflow
            with pytest.raises(ValueError, match="^Input X contains infinity"):
                TransformerClassifier(**FAST).fit(X.astype(dtype), [0, 1] * 6)


def test_a_tagger_given_only_empty_sentences_says_so_not_that_the_weights_are_zero():
    # review: partial_fit([[], []], [[], []]) with no weights blamed sample_weight. A classifier or
    # regressor may still learn from empty texts or series what to predict for one (documented)
    from sktransformer import TransformerTagger

    words = [t.split() for t in TEXTS]
    tagger = TransformerTagger(**FAST).fit(words, [["a", "b", "a"]] * 12)
    _unchanged(tagger, words, lambda: tagger.partial_fit([[], []], [[], []]),
               match="^X holds no tokens: every sequence is empty")


@pytest.mark.parametrize("seed", range(6))
def test_the_validation_split_never_leaves_the_training_part_without_weight(seed):
    # review: the split could send every weighted sample to validation: a training loss of 0
    from sktransformer import TransformerTagger

    X = [["a", "b"], ["b", "a"]] * 10 + [[]] * 20
    y = [["X", "Y"], ["Y", "X"]] * 10 + [[]] * 20
    w = [1.0] + [0.0] * 19 + [1.0] * 20  # one sentence with tokens weighs
    tagger = TransformerTagger(**{**FAST, "max_iter": 2, "random_state": seed,
                                  "early_stopping": True, "validation_fraction": 0.5})
    assert min(tagger.fit(X, y, sample_weight=w).loss_curve_) > 0
    clf = TransformerClassifier(**{**FAST, "max_iter": 2, "random_state": seed,
                                   "early_stopping": True, "validation_fraction": 0.5})
    assert min(clf.fit(np.arange(80.0).reshape(40, 2), [0, 1] * 20,
                       sample_weight=[1.0] + [0.0] * 39).loss_curve_) > 0
