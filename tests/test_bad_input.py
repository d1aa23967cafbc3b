"""Malformed input at every public method: a clear ValueError/TypeError or a documented result.

Hypothesis draws a malformation, an estimator and a method; each case
checks the error type and that the message says something, and afterwards
that the fitted models still give exactly the predictions they gave before.
"""



import numpy as np
import pytest
from configs import SMALL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from tasks import model_outputs

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerSeq2Seq,
)

FAST = {**SMALL, "d_model": 8, "max_iter": 1}
rng0 = np.random.default_rng(0)
X_NUM = rng0.normal(size=(30, 4))
Y_NUM = (X_NUM[:, 0] > 0).astype(int)
X_IDS = rng0.integers(1, 12, size=(30, 6))
TEXTS = ["the cat sat", "a dog ran off", "the end", "cats and dogs", ""] * 3
Y_TEXT = ["x", "y", "x", "y", "x"] * 3

FITTED = {
    "clf_numeric": (TransformerClassifier(**FAST).fit(X_NUM, Y_NUM), X_NUM),
    "clf_tokens": (TransformerClassifier(**FAST).fit(X_IDS, Y_NUM), X_IDS),
    "clf_text": (TransformerClassifier(**FAST).fit(TEXTS, Y_TEXT), TEXTS),
    "enc_numeric": (TransformerEncoder(**FAST).fit(X_NUM), X_NUM),
    "enc_series": (TransformerEncoder(**FAST).fit(X_NUM.reshape(30, 2, 2)), X_NUM.reshape(30, 2, 2)),
    "lm": (TransformerLanguageModel(**FAST).fit(TEXTS), TEXTS),
    "s2s": (TransformerSeq2Seq(**FAST).fit(TEXTS, TEXTS[::-1]), TEXTS),
    "vec": (SequenceVectorizer().fit(TEXTS), TEXTS),
}


REFERENCE = {name: model_outputs(model, X) for name, (model, X) in FITTED.items()}
TRIED = set()  # distinct malformed inputs tried (reported by the last test)

# ----------------------------------------------------------- malformed X


def _bad_arrays(rng, n_features):
    X = rng.normal(size=(5, n_features))
    nan = X.copy()
    nan[rng.integers(5), rng.integers(n_features)] = np.nan
    inf = X.copy()
    inf[rng.integers(5), rng.integers(n_features)] = -np.inf
    mixed = X.astype(object)
    mixed[0, 0] = "seven"
    return {
        "nan": nan,
        "inf": inf,
        "empty rows": np.empty((0, n_features)),
        "no columns": np.empty((5, 0)),
        "wrong width": rng.normal(size=(5, n_features + 1 + int(rng.integers(3)))),
        "1-D": rng.normal(size=n_features),
        "4-D": rng.normal(size=(2, 2, 2, 2)),
        "mixed types": mixed,
        "scalar": 3.0,
        "None": None,
        "huge": np.full((2, n_features), 1e300),
        "dict": {"a": 1},
    }


def _bad_sequences(rng):
    return {
        "None token": [["a", None, "b"]],
        "NaN token": [["a", float("nan")]],
        "unhashable token": [[["nested"], "a"]],
        "lone string": "just a string",
        "empty list": [],
        "not a sequence": [3.5, "abc"],
        "dict": {"a": 1},
        "None": None,
    }


ARRAY_MODELS = ["clf_numeric", "clf_tokens", "enc_numeric", "enc_series"]
SEQUENCE_MODELS = ["clf_text", "lm", "s2s", "vec"]
METHODS = {
    "clf_numeric": ["predict", "predict_proba", "score", "partial_fit", "attention_weights"],
    "clf_tokens": ["predict", "predict_proba", "partial_fit"],
    "clf_text": ["predict", "predict_proba", "score", "attention_weights"],
    "enc_numeric": ["transform", "score", "transform_sequence", "partial_fit"],
    "enc_series": ["transform", "score"],
    "lm": ["predict_proba", "score", "perplexity", "attention_weights"],
    "s2s": ["predict", "score", "token_accuracy"],
    "vec": ["transform"],
}


def _call(model, method, X):
    fn = getattr(model, method)
    unsupervised = isinstance(model, TransformerLanguageModel | TransformerEncoder)
    if method in ("score", "token_accuracy") and not unsupervised:
        return fn(X, np.zeros(len(X)) if hasattr(X, "__len__") else [0])
    if method == "partial_fit":
        return fn(X, np.zeros(len(X) if hasattr(X, "__len__") else 1, int)) if hasattr(
            model, "classes_") else fn(X)
    return fn(X)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_inputs_to_fitted_models(data):
    name = data.draw(st.sampled_from(ARRAY_MODELS + SEQUENCE_MODELS))
    model, X_ok = FITTED[name]
    method = data.draw(st.sampled_from(METHODS[name]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    if name in ARRAY_MODELS:
        width = X_ok.shape[1] if X_ok.ndim == 2 else 2
        cases = _bad_arrays(rng, width)
        if name == "clf_tokens":
            cases["negative id"] = -np.abs(rng.integers(1, 5, size=(3, 6)))
            cases["fractional id"] = rng.integers(1, 5, size=(3, 6)) + 0.5
            cases["sequences"] = ["a b", "c"]
    else:
        cases = _bad_sequences(rng)
        cases["2-D array"] = rng.normal(size=(3, 3))
    case = data.draw(st.sampled_from(sorted(cases)))
    TRIED.add((name, method, case))
    try:
        _call(model, method, cases[case])
    except (ValueError, TypeError) as error:
        assert str(error).strip(), f"{name}.{method}({case}) raised an empty message"
        if case == "4-D":
            assert "dimensions" in str(error), str(error)  # not a misleading width complaint
    except Exception as error:  # anything else is a defect: numpy internals, KeyError, ...
        pytest.fail(f"{name}.{method}({case}) raised {type(error).__name__}: {error}")
    else:
        # A documented result, not an error: only these cases may pass.
        assert (name, case) in DOCUMENTED_OK, f"{name}.{method}({case}) accepted"
    for other, (fitted, X) in FITTED.items():
        assert model_outputs(fitted, X) == REFERENCE[other], f"{name}.{method}({case}) changed {other}"


DOCUMENTED_OK = {
    # sequence models read any 2-D array row by row as tokens (documented)
    ("lm", "2-D array"), ("s2s", "2-D array"),
    # a float array at a numeric-feature model of the same width is valid input
}


ABSURD = [
    dict(d_model=0), dict(n_heads=0), dict(d_model=10, n_heads=3), dict(n_layers=-1),
    dict(dropout=1.5), dict(dropout=-0.1), dict(max_len=0), dict(learning_rate_init=-1.0),
    dict(learning_rate_init=0.0), dict(batch_size=0), dict(alpha=-1.0), dict(pooling="max"),
    dict(positional_encoding="rope"), dict(activation="tanh"), dict(max_iter=0),
    dict(validation_fraction=1.0), dict(tol=-1.0), dict(n_iter_no_change=0), dict(d_ff=0),
    dict(input_type="images"), dict(blas_threads=0), dict(max_grad_norm=0.0),
    dict(d_model=2.5), dict(n_heads="4"), dict(verbose=-1),
]


@settings(max_examples=60, deadline=None)
@given(params=st.sampled_from(ABSURD), which=st.sampled_from(["clf", "enc", "lm", "s2s"]))
def test_absurd_hyperparameters_are_clear_errors_at_fit(params, which):
    TRIED.add((which, "fit", str(params)))
    cls = {"clf": TransformerClassifier, "enc": TransformerEncoder,
           "lm": TransformerLanguageModel, "s2s": TransformerSeq2Seq}[which]
    if which in ("lm", "s2s") and set(params) & {"pooling", "input_type"}:
        with pytest.raises(TypeError):  # not a parameter of these estimators at all
            cls(**params)
        return
    model = cls(**{**FAST, **params})
    with pytest.raises((ValueError, TypeError)) as error:
        if which in ("clf", "s2s"):
            model.fit(TEXTS, Y_TEXT)
        else:
            model.fit(TEXTS)
    message = str(error.value)
    assert any(key in message for key in params), message  # names the parameter


@pytest.mark.parametrize("bad", [
    ("one class", Y_NUM * 0), ("wrong length", Y_NUM[:-3]), ("NaN label", np.r_[Y_NUM[:-1], np.nan]),
    ("None", None), ("2-D", np.c_[Y_NUM, Y_NUM]), ("continuous", np.linspace(0, 1, 30)),
])
def test_bad_targets_are_clear_errors(bad):
    name, y = bad
    TRIED.add(("clf", "fit y", name))
    with pytest.raises(ValueError) as error:
        TransformerClassifier(**FAST).fit(X_NUM, y)
    assert str(error.value).strip()


def test_unfitted_models_raise_not_fitted():
    for cls, method in [(TransformerClassifier, "predict"), (TransformerEncoder, "transform"),
                        (TransformerLanguageModel, "generate"), (TransformerSeq2Seq, "predict"),
                        (TransformerClassifier, "attention_weights")]:
        with pytest.raises(NotFittedError):
            getattr(cls(), method)(X_NUM if method != "generate" else "abc")


def test_report_how_many_malformed_inputs_were_tried():
    print(f"\n{len(TRIED)} distinct malformed inputs tried")
    assert len(TRIED) >= 50


def test_generate_and_seq2seq_reject_malformed_arguments_clearly():
    lm = TransformerLanguageModel(**FAST).fit(["abc", "cab"])
    for temperature in (None, float("nan"), -1.0):
        with pytest.raises(ValueError, match="temperature"):
            lm.generate("a", temperature=temperature)
    with pytest.raises(TypeError, match="target sequences"):
        TransformerSeq2Seq(**FAST).fit(["a", "b"], {"a": 1, "b": 2})
