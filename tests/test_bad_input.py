"""Malformed input at every public method: a clear ValueError/TypeError or a documented result.

Every combination is tried, none is sampled: each estimator configuration
(``CONFIGS``: every estimator, on each kind of input it reads) x each
argument of each public method (``METHODS``, checked against the classes) x
each malformed value of that kind of argument (``X_CASES``, ``Y_CASES``,
``WEIGHT_CASES``, ``NUMBER_CASES``, ``PATH_CASES``, built without randomness
or from fixed seeds). A call either raises ``ValueError`` or ``TypeError``
with a message (not one raised inside numpy), or is an outcome listed in
``DOCUMENTED_OK`` with its reason; any other exception fails. Afterwards
the fitted model gives exactly the outputs it gave before: a failed ``fit``
or ``partial_fit`` on a fitted model leaves it as it was. Package bugs not
fixed yet are ``KNOWN_BUGS``: strict xfails, so a fix shows up as XPASS.

The models are tiny (d_model=8, one epoch), fitted once per module: the
~4,100 tests of this file take about 30 s on one core.
"""

import copy
import functools
import inspect
import re
import traceback
import warnings
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from configs import SMALL
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from tasks import model_outputs

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
)

FAST = {**SMALL, "d_model": 8, "max_iter": 1}
rng0 = np.random.default_rng(0)
X_NUM = rng0.normal(size=(30, 4))
Y_NUM = (X_NUM[:, 0] > 0).astype(int)
Y_REAL = X_NUM @ np.array([1.0, -2.0, 0.5, 0.0])
DF_NUM = pd.DataFrame(X_NUM, columns=["age", "height", "weight", "income"])
X_IDS = rng0.integers(1, 12, size=(30, 6))
X_SERIES = X_NUM.reshape(30, 2, 2)
TEXTS = ["the cat sat", "a dog ran off", "the end", "cats and dogs", ""] * 3
Y_TEXT = np.array(["x", "y", "x", "y", "x"] * 3)
Y_TEXT_REAL = np.arange(15.0) % 4

# ------------------------------------------------------------ estimator configurations


@dataclass
class Config:
    estimator: object  # unfitted; fitted once per module by _fitted
    X: object  # what it is fitted on
    y: object = None  # its targets (None: unsupervised)

    @property
    def is_text(self):
        return isinstance(self.X, list)


CONFIGS = {
    "clf_numeric": Config(TransformerClassifier(**FAST), X_NUM, Y_NUM),
    "clf_tokens": Config(TransformerClassifier(**FAST), X_IDS, Y_NUM),
    "clf_text": Config(TransformerClassifier(**FAST), TEXTS, Y_TEXT),
    "reg_numeric": Config(TransformerRegressor(**FAST), DF_NUM, Y_REAL),  # a DataFrame: named columns
    "reg_text": Config(TransformerRegressor(**FAST), TEXTS, Y_TEXT_REAL),
    "enc_numeric": Config(TransformerEncoder(**FAST), X_NUM),
    "enc_series": Config(TransformerEncoder(**FAST), X_SERIES),
    "enc_text": Config(TransformerEncoder(**FAST), TEXTS),
    "lm": Config(TransformerLanguageModel(**FAST), TEXTS),
    "s2s": Config(TransformerSeq2Seq(**FAST), TEXTS, TEXTS[::-1]),
    "vec": Config(SequenceVectorizer(), TEXTS),
}

# Every public method of every estimator, with the arguments that get malformed values. The count
# test checks this against dir() and the signatures of the classes.
FITTING = ("fit", "partial_fit", "fit_transform")
METHODS = {
    TransformerClassifier: {
        "fit": ("X", "y", "sample_weight", "X_val", "y_val"),
        "partial_fit": ("X", "y", "sample_weight", "classes"),
        "predict": ("X",), "predict_proba": ("X",), "predict_log_proba": ("X",),
        "score": ("X", "y", "sample_weight"), "attention_weights": ("X",),
    },
    TransformerRegressor: {
        "fit": ("X", "y", "sample_weight", "X_val", "y_val"),
        "partial_fit": ("X", "y", "sample_weight"),
        "predict": ("X",), "score": ("X", "y", "sample_weight"), "attention_weights": ("X",),
    },
    TransformerEncoder: {
        "fit": ("X", "X_val"), "partial_fit": ("X",), "fit_transform": ("X",),
        "transform": ("X",), "transform_sequence": ("X",), "score": ("X",),
        "attention_weights": ("X",), "get_feature_names_out": ("input_features",),
        "from_pretrained": ("path",),
    },
    TransformerLanguageModel: {
        "fit": ("X", "X_val"), "partial_fit": ("X",), "predict_proba": ("X",), "score": ("X",),
        "perplexity": ("X",), "attention_weights": ("X",),
        "generate": ("prompt", "max_new_tokens", "temperature", "top_k", "random_state",
                     "use_cache", "bos"),
        "from_pretrained": ("path",),
    },
    TransformerSeq2Seq: {
        "fit": ("X", "y", "X_val", "y_val"), "partial_fit": ("X", "y"), "predict": ("X",),
        "predict_log_proba_of_output": ("X", "beam_width"), "score": ("X", "y"),
        "token_accuracy": ("X", "y"), "attention_weights": ("X",),
    },
    SequenceVectorizer: {
        "fit": ("X",), "fit_transform": ("X",), "transform": ("X",), "inverse_transform": ("X",),
        "get_feature_names_out": (),
    },
}
NOT_FUZZED = {  # public methods, and arguments of the methods above, without malformed values
    "get_params": "takes no input",
    "set_params": "test_absurd_hyperparameters_are_clear_errors",
    "set_output": "scikit-learn's own (TransformerMixin)",
    "get_metadata_routing": "scikit-learn's own", "set_fit_request": "scikit-learn's own",
    "set_partial_fit_request": "scikit-learn's own", "set_score_request": "scikit-learn's own",
    "y": "ignored by the unsupervised estimators (their docstrings say so)",
    "input_features": "ignored by SequenceVectorizer (its docstring says so)",
    "fit_params": "passed on to fit",
    "params": "hyperparameters: test_absurd_hyperparameters_are_clear_errors",
}

# ------------------------------------------------------------ malformed values


@dataclass
class Ctx:
    """What a case is built from: the configuration's good input, and a scratch directory."""

    cfg: Config
    tmp: Path

    @property
    def array(self):
        """A few good rows as a float array (for text models: an id-like 2-D array)."""
        if self.cfg.is_text:
            return np.arange(1.0, 16.0).reshape(5, 3)
        return np.asarray(self.cfg.X)[:5]  # token ids stay integers

    @property
    def rows(self):
        return self.array.reshape(len(self.array), -1)

    @property
    def id_shape(self):
        return (3, np.shape(self.cfg.X)[1] if not self.cfg.is_text else 3)


def _with(array, value, where=1):
    """A copy of ``array`` holding ``value`` at ``where`` (float if both are, else object)."""
    numeric = isinstance(value, float) and np.asarray(array).dtype.kind in "iuf"
    out = np.array(array, dtype=float if numeric else object)
    out[where] = value
    return out


def _series_nan_padded(c):
    series = (X_SERIES[:5] if np.ndim(c.cfg.X) == 3 else np.ones((5, 3, 2))).copy()
    series[1:, -1, :] = np.nan  # shorter series padded with NaN
    return series


def _numbers_and_text(c):
    """The good numbers as a DataFrame (named as at fit where they can be), and a text column."""
    names = DF_NUM.columns if c.rows.shape[1] == DF_NUM.shape[1] else None
    frame = pd.DataFrame(c.rows, columns=names).add_prefix("" if names is not None else "x")
    return frame.assign(note=["good", "bad value", "ok", "fine", "n/a"])


X_CASES = {
    "NaN": lambda c: _with(c.array, np.nan, (1, 0)),
    "inf": lambda c: _with(c.array, -np.inf, (1, 0)),
    "huge 1e300": lambda c: np.full(c.array.shape, 1e300),
    "complex numbers": lambda c: c.array + 1j,
    "boolean array": lambda c: c.array > 0,
    "empty rows": lambda c: c.array[:0],
    "no columns": lambda c: np.empty((5, 0)),
    "wrong width": lambda c: np.concatenate([c.array, c.array[..., :1]], axis=-1),
    "1-D": lambda c: c.array.ravel()[:4],
    "4-D": lambda c: np.random.default_rng(0).normal(size=(2, 2, 2, 2)),
    "2-D float array": lambda c: np.random.default_rng(0).normal(size=(3, 3)),
    "very long sequences": lambda c: ([" ".join(["the"] * 3000), "the cat"] if c.cfg.is_text else
                                      np.concatenate([c.array] * 300, axis=1)),
    "NaN-padded series": _series_nan_padded,
    "mixed types object array": lambda c: _with(c.array, "seven", (0, 0)),
    "sparse matrix": lambda c: scipy.sparse.csr_matrix(c.rows),
    "DataFrame, wrong columns": lambda c: pd.DataFrame(
        c.rows, columns=[f"wrong_{j}" for j in range(c.rows.shape[1])]),
    "DataFrame, numbers and a text column": _numbers_and_text,
    "negative ids": lambda c: -np.random.default_rng(0).integers(1, 5, size=c.id_shape),
    "fractional ids": lambda c: np.random.default_rng(0).integers(1, 5, size=c.id_shape) + 0.5,
    "ragged lists of numbers": lambda c: [[0.5, 1.5, 2.5], [1.0]],
    "scalar": lambda c: 3.0,
    "None": lambda c: None,
    "dict": lambda c: {"a": 1},
    "set": lambda c: {"the cat", "a dog"} if c.cfg.is_text else {tuple(r) for r in c.rows},
    "generator": lambda c: (x for x in (TEXTS[:3] if c.cfg.is_text else c.rows[:3])),
    "bytes strings": lambda c: [b"the cat", b"a dog ran"],
    "lone string": lambda c: "just a string",
    "empty list": lambda c: [],
    "empty strings": lambda c: ["", " ", ""],
    "missing text": lambda c: ["the cat", None],
    "not a sequence": lambda c: [3.5, "abc"],
    "None token": lambda c: [["a", None, "b"]],
    "NaN token": lambda c: [["a", float("nan")]],
    "unhashable token": lambda c: [[["nested"], "a"]],
}


def _numeric(y):
    return np.asarray(y).dtype.kind in "iuf"


Y_CASES = {
    "y NaN": lambda c: _with(c.cfg.y, np.nan),
    "y None label": lambda c: _with(c.cfg.y, None),
    "y pd.NA": lambda c: _with(c.cfg.y, pd.NA),
    "y inf": lambda c: _with(np.asarray(c.cfg.y, float) if _numeric(c.cfg.y) else c.cfg.y, np.inf),
    "y complex": lambda c: np.arange(len(c.cfg.y)) + 1j,
    "y mixed types": lambda c: _with(c.cfg.y, "b" if _numeric(c.cfg.y) else 1),
    "y labels of another type": lambda c: (np.where(np.arange(len(c.cfg.y)) % 2, "b", "a")
                                           if _numeric(c.cfg.y) else np.arange(len(c.cfg.y)) % 2),
    "y one value": lambda c: np.asarray(c.cfg.y)[[3] * len(c.cfg.y)],  # a non-empty one
    "y continuous": lambda c: np.linspace(0.05, 0.95, len(c.cfg.y)),
    "y wrong length": lambda c: np.asarray(c.cfg.y)[:-3],
    "y empty": lambda c: np.asarray(c.cfg.y)[:0],
    "y 2-D": lambda c: np.c_[c.cfg.y, c.cfg.y],
    "y None": lambda c: None,
    "y scalar": lambda c: 1,
    "y dict": lambda c: {"a": 1},
    "y set": lambda c: set(np.asarray(c.cfg.y).tolist()),
    "y generator": lambda c: (v for v in c.cfg.y),
}

WEIGHT_CASES = {
    "weight negative": lambda c: -np.ones(len(c.cfg.y)),
    "weight wrong length": lambda c: np.ones(len(c.cfg.y) - 3),
    "weight NaN": lambda c: _with(np.ones(len(c.cfg.y)), np.nan),
    "weight inf": lambda c: _with(np.ones(len(c.cfg.y)), np.inf),
    "weight all zero": lambda c: np.zeros(len(c.cfg.y)),
    "weight 2-D": lambda c: np.ones((len(c.cfg.y), 2)),
    "weight strings": lambda c: ["heavy"] * len(c.cfg.y),
    "weight complex": lambda c: np.ones(len(c.cfg.y)) + 1j,
    "weight dict": lambda c: {"a": 1},
}

NUMBER_CASES = {  # a malformed value for a scalar argument (beam_width, temperature, ...)
    "number None": lambda c: None,
    "number NaN": lambda c: float("nan"),
    "number inf": lambda c: float("inf"),
    "number negative": lambda c: -2,
    "number zero": lambda c: 0,
    "number fractional": lambda c: 1.5,
    "number tiny 1e-310": lambda c: 1e-310,
    "number string": lambda c: "3",
    "number True": lambda c: True,
    "number list": lambda c: [3],
}

PATH_CASES = {
    "path None": lambda c: None,
    "path number": lambda c: 3,
    "path dict": lambda c: {"a": 1},
    "path missing": lambda c: c.tmp / "no such checkpoint",
    "path a file": lambda c: Path(__file__),
    "path empty directory": lambda c: c.tmp,
}

CASES_OF = {  # argument -> its malformed values
    "X": X_CASES, "X_val": X_CASES, "prompt": X_CASES, "input_features": X_CASES,
    "y": Y_CASES, "y_val": Y_CASES, "classes": Y_CASES,
    "sample_weight": WEIGHT_CASES, "path": PATH_CASES,
    "beam_width": NUMBER_CASES, "max_new_tokens": NUMBER_CASES, "temperature": NUMBER_CASES,
    "top_k": NUMBER_CASES, "random_state": NUMBER_CASES, "use_cache": NUMBER_CASES,
    "bos": NUMBER_CASES,
}
ALL_CASES = {**X_CASES, **Y_CASES, **WEIGHT_CASES, **NUMBER_CASES, **PATH_CASES}

# ------------------------------------------------------------ what is not an error

FIT_X = ("fit(X)", "fit_transform(X)")  # a fresh fit: width, columns, kind and vocabulary are learned
MORE_X = ("partial_fit(X)", "fit(X_val)")  # read like inference input, against what fit learned
READ_X = ("predict*(X)", "score(X)", "transform*(X)", "attention_weights(X)", "perplexity(X)",
          "token_accuracy(X)")
NUMERIC = ("clf_numeric", "reg_numeric", "enc_numeric")
UNNAMED = ("clf_numeric", "clf_tokens", "enc_numeric")  # fitted on arrays without column names
ENCODERS = ("clf_*", "reg_*", "enc_*")  # the input adapter: arrays, series or sequences
TEXT = ("clf_text", "reg_text", "enc_text", "lm", "s2s", "vec")
TOKEN_TABLES = ("lm", "s2s", "vec")  # read a 2-D array's cells as tokens

# (configurations, "method(argument)", cases) -> why accepting it is right. Each part is an fnmatch
# pattern or a tuple of them; the first matching entry decides. A listed call must be accepted (one
# that raises fails too); an entry with reason None is an exception to the entries below it.
DOCUMENTED_OK = {
    # refused: nothing to score, or to learn from (a step on it would only decay the weights)
    ("enc_text", ("score(X)", "fit(X_val)", "partial_fit(X)"), "empty strings"): None,
    ("*", FIT_X, ("wrong width", "2-D float array", "DataFrame, wrong columns", "boolean array",
                  "fractional ids")): "fit learns anew: any well-formed table is new training data",
    (ENCODERS, FIT_X, ("ragged lists of numbers", "NaN-padded series")):
        "series of different lengths: a list of float series, or NaN-padded steps (tslearn's)",
    (NUMERIC, FIT_X, "very long sequences"): "numeric features have no positions: no max_len",
    (TOKEN_TABLES, FIT_X, ("negative ids", "huge 1e300")): "each cell of a 2-D array is a token",
    (TEXT, FIT_X + MORE_X + READ_X + ("generate(prompt)",), "very long sequences"):
        "cut to max_len (or the fitted width), with a warning",
    ("lm", FIT_X, "empty strings"):
        "characters are its default tokens, and a space is one: a document of spaces is text",
    (TEXT, MORE_X + READ_X + ("generate(prompt)",), "empty strings"):
        "an empty text is a text (the training data holds one)",
    (NUMERIC, MORE_X + READ_X, ("fractional ids", "negative ids")): "any finite numbers are features",
    (NUMERIC + ("enc_series",), MORE_X + READ_X, "boolean array"):
        "booleans are the numbers 0 and 1, as everywhere in scikit-learn",
    (UNNAMED, MORE_X + READ_X, "DataFrame, wrong columns"):
        "fitted without column names: a DataFrame is read by position (scikit-learn warns)",
    (("enc_*", "lm"), "fit(X_val)", "None"): "X_val=None is the default: no validation data",
    ("lm", "generate(prompt)", ("lone string", "empty list", "bytes strings")):
        "a string or a list of tokens (not floats or booleans, as in fit); may be empty",
    ("lm", "generate(max_new_tokens)", "number zero"): "nothing to generate",
    ("lm", "generate(temperature)", ("number zero", "number fractional", "number tiny 1e-310")):
        "any finite temperature >= 0; 0 is greedy, a tiny one as good as greedy",
    ("lm", "generate(random_state)", ("number None", "number zero", "number True")):
        "None or an int >= 0 (True is one, as in scikit-learn's random_state validation)",
    ("lm", "generate(use_cache)", "number True"): "a bool",
    ("lm", "generate(bos)", "number True"): "True: the prompt read as a document, <bos> first",
    ("s2s", "predict_log_proba_of_output(beam_width)", "number True"):
        "checked as the beam_width hyperparameter: scikit-learn's Interval(Integral) takes True",
    ("lm", "generate(top_k)", "number None"): "the default: no cut",
    ("s2s", "predict_log_proba_of_output(beam_width)", "number None"): "the default: beam_width",
    ("clf_*", ("partial_fit(y)", "score(y)", "fit(y_val)"), "y one value"):
        "labels of one known class are a valid batch",
    ("clf_*", "fit(y)", "y labels of another type"): "fit learns the classes anew",
    ("clf_*", "partial_fit(classes)", "y None"): "the default: the classes seen so far",
    ("clf_*", "partial_fit(classes)", "y wrong length"):
        "after the first call, classes is compared as a set of labels (np.unique)",
    ("reg_*", ("fit(y)", "fit(y_val)", "partial_fit(y)", "score(y)"), "y continuous"):
        "real-valued targets",
    ("reg_*", ("fit(y)", "partial_fit(y)", "score(y)"), "y one value"): "real-valued targets",
    ("reg_*", "fit(y)", "y 2-D"): "several targets: multi-output regression",
    ("s2s", ("fit(y)", "fit(y_val)", "partial_fit(y)", "score(y)", "token_accuracy(y)"),
     ("y 2-D", "y complex", "y continuous", "y one value")):
        "targets are token lists (a 2-D array's rows) or one-token labels of any hashable kind",
    ("s2s", "fit(y)", "y labels of another type"): "fit learns the target vocabulary anew",
    ("enc_*", "get_feature_names_out(input_features)", "None"): "the default",
    ("enc_text", "get_feature_names_out(input_features)", "*"):
        "fitted on text: no input features to check names against (scikit-learn's mixin)",
    ("enc_numeric", "get_feature_names_out(input_features)", "1-D"):
        "four names for four features: scikit-learn checks only their number",
    ("enc_series", "get_feature_names_out(input_features)",
     ("4-D", "bytes strings", "missing text", "not a sequence", "ragged lists of numbers")):
        "two names for two steps: scikit-learn checks only their number",
}

# The same keys -> a package bug: strict xfail, so a fix makes the test fail until removed here.
KNOWN_BUGS = {}

ERRORS = (ValueError, TypeError)  # NotFittedError is a ValueError
INTERNALS = {"numpy", "scipy", "autograd"}  # an error raised in there was not checked for
EXTRA_ERRORS = {"path": (FileNotFoundError,)}  # from_pretrained: no such checkpoint directory


def _match(table, name, slot, case):
    """The reason of the first entry of ``table`` matching; a key part is a pattern or a tuple of them."""

    def fits(value, patterns):
        patterns = (patterns,) if isinstance(patterns, str) else patterns
        return any(fnmatchcase(value, pattern) for pattern in patterns)

    for (names, slots, cases), reason in table.items():
        if fits(name, names) and fits(slot, slots) and fits(case, cases):
            return reason
    return None


def _table():
    """Every (configuration, method, argument, case), in a fixed order."""
    rows = []
    for name, cfg in CONFIGS.items():
        for method, arguments in METHODS[type(cfg.estimator)].items():
            for argument in arguments:
                for case in CASES_OF[argument]:
                    rows.append((name, method, argument, case))
    return rows


TABLE = _table()


def _params(fitting):
    out = []
    for name, method, argument, case in TABLE:
        if (method in FITTING) != fitting:
            continue
        bug = _match(KNOWN_BUGS, name, f"{method}({argument})", case)
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        out.append(pytest.param(name, method, argument, case, marks=marks,
                                id=f"{name}-{method}({argument})-{case}"))
    return out


# ------------------------------------------------------------ calling


def _n_rows(X):
    shape = getattr(X, "shape", None)
    if shape is not None:
        return shape[0] if len(shape) else None
    return len(X) if hasattr(X, "__len__") else None


def _aligned(y, X):
    """``y`` cut to the rows of ``X`` where it can be, so only ``X`` is malformed."""
    n = _n_rows(X)
    if n is None or n > len(y) or isinstance(X, dict | set | str):
        return y
    return y[:n]


def _call(model, cfg, method, argument, bad):
    fn = getattr(model, method)
    supervised = cfg.y is not None and method in ("fit", "partial_fit", "score", "token_accuracy")
    kwargs = {"max_new_tokens": 3} if method == "generate" else {}
    if argument in ("X", "prompt", "path", "input_features"):
        args = [bad] + ([_aligned(cfg.y, bad)] if supervised else [])
    elif argument == "y":
        args = [cfg.X, bad]
    else:
        args = (["the"] if method == "generate" else
                [cfg.X[:3] if method == "predict_log_proba_of_output" else cfg.X])
        args += [cfg.y] if supervised else []
        kwargs[argument] = bad
        if argument == "X_val" and cfg.y is not None:
            kwargs["y_val"] = _aligned(cfg.y, bad)
        if argument == "y_val":
            kwargs["X_val"] = cfg.X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _outputs(model, cfg):
    X = cfg.X[:6]
    if isinstance(model, TransformerRegressor):
        return model.predict(X).tolist()
    return model_outputs(model, X)


@functools.cache
def _fitted(name):
    """The configuration's fitted model and its outputs (fitted on first use, once per module)."""
    cfg = CONFIGS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = copy.deepcopy(cfg.estimator)
        model.fit(cfg.X) if cfg.y is None else model.fit(cfg.X, cfg.y)
    return model, _outputs(model, cfg)


def _try(model, name, method, argument, case, tmp_path):
    """Call with the malformed value; return the outcome's documented reason, or None if it raised."""
    cfg = CONFIGS[name]
    slot = f"{method}({argument})"
    bad = ALL_CASES[case](Ctx(cfg, tmp_path))
    ok = _match(DOCUMENTED_OK, name, slot, case)
    where = f"{name}.{slot} with {case}"
    try:
        _call(model, cfg, method, argument, bad)
    except ERRORS + EXTRA_ERRORS.get(argument, ()) as error:
        assert str(error).strip(), f"{where} raised {type(error).__name__} with an empty message"
        origin = Path(traceback.extract_tb(error.__traceback__)[-1].filename).parts
        assert not set(origin) & INTERNALS, f"{where}: an error of numpy's internals: {error!r}"
        assert ok is None, f"{where} is documented OK ({ok}) but raised {error!r}"
        if case == "4-D" and argument in ("X", "X_val") and not cfg.is_text:
            assert "dimensions" in str(error), str(error)  # not a misleading width complaint
        return None
    except Exception as error:  # numpy internals, KeyError, IndexError, AttributeError, ...
        pytest.fail(f"{where} raised {type(error).__name__}: {error}")
    assert ok is not None, f"{where} was accepted"
    return ok


# ------------------------------------------------------------ the tests


@pytest.mark.parametrize("name, method, argument, case", _params(fitting=False))
def test_malformed_input_to_a_fitted_model(name, method, argument, case, tmp_path):
    model, reference = _fitted(name)
    _try(model, name, method, argument, case, tmp_path)
    assert _outputs(model, CONFIGS[name]) == reference, "the call changed the fitted model"


@pytest.mark.parametrize("name, method, argument, case", _params(fitting=True))
def test_malformed_input_to_fit_leaves_a_fitted_model_as_it_was(name, method, argument, case,
                                                                 tmp_path):
    fitted, reference = _fitted(name)
    model = copy.deepcopy(fitted)
    if _try(model, name, method, argument, case, tmp_path) is None:  # it raised
        assert _outputs(model, CONFIGS[name]) == reference, "the failed call changed the model"


@pytest.mark.parametrize("name, method", [
    (name, method) for name, cfg in CONFIGS.items()
    for method, arguments in METHODS[type(cfg.estimator)].items()
    if method not in FITTING and arguments[:1] in (("X",), ("prompt",))])
def test_an_unfitted_model_raises_not_fitted(name, method):
    cfg = CONFIGS[name]
    with pytest.raises(NotFittedError):
        _call(clone(cfg.estimator), cfg, method, "prompt" if method == "generate" else "X",
              "the" if method == "generate" else cfg.X)


# ------------------------------------------------------------ hyperparameters

ABSURD = [
    dict(d_model=0), dict(n_heads=0), dict(d_model=10, n_heads=3), dict(n_layers=-1),
    dict(dropout=1.5), dict(dropout=-0.1), dict(max_len=0), dict(learning_rate_init=-1.0),
    dict(learning_rate_init=0.0), dict(batch_size=0), dict(alpha=-1.0), dict(pooling="max"),
    dict(positional_encoding="rope"), dict(activation="tanh"), dict(max_iter=0),
    dict(validation_fraction=1.0), dict(tol=-1.0), dict(n_iter_no_change=0), dict(d_ff=0),
    dict(input_type="images"), dict(blas_threads=0), dict(max_grad_norm=0.0),
    dict(d_model=2.5), dict(n_heads="4"), dict(verbose=-1), dict(max_ngram=0), dict(max_ngram=True),
    dict(encoder=3), dict(mask_fraction=0.0), dict(beam_width=0),
    dict(max_output_len=0), dict(analyzer="sentences"), dict(label_smoothing=1.0),
    dict(min_count=0), dict(max_features=0), dict(vocab_size=-1), dict(normalize="NFX"),
    dict(strip_accents="all"), dict(lowercase="yes"),
]
ARCHITECTURE = [dict(d_model=16), dict(n_heads=4), dict(n_layers=2), dict(max_len=64),
                dict(positional_encoding="learned"), dict(activation="relu")]
ONE_PER_ESTIMATOR = ["clf_text", "reg_text", "enc_text", "lm", "s2s", "vec"]


def _fit(model, cfg, method="fit"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(model, method)(*(cfg.X,) if cfg.y is None else (cfg.X, cfg.y))


@pytest.mark.parametrize("how", ["constructor", "set_params on a fitted model"])
@pytest.mark.parametrize("params", ABSURD, ids=str)
@pytest.mark.parametrize("name", ONE_PER_ESTIMATOR)
def test_absurd_hyperparameters_are_clear_errors(name, params, how):
    cfg = CONFIGS[name]
    cls = type(cfg.estimator)
    if not set(params) <= set(cls().get_params()):  # not a parameter of this estimator at all
        with pytest.raises(TypeError if how == "constructor" else ValueError, match=list(params)[0]):
            cls(**params) if how == "constructor" else copy.deepcopy(_fitted(name)[0]).set_params(**params)
        return
    if how == "constructor":
        model = cls(**{**cfg.estimator.get_params(), **params})
    else:
        model = copy.deepcopy(_fitted(name)[0])
        fitted_params = model.get_params()
        model.set_params(**params)
    with pytest.raises((ValueError, TypeError)) as error:
        _fit(model, cfg)
    assert any(key in str(error.value) for key in params), str(error.value)  # names the parameter
    if how != "constructor":  # the failed fit left the model as it was
        model.set_params(**fitted_params)
        assert _outputs(model, cfg) == _fitted(name)[1]


@pytest.mark.parametrize("how", ["partial_fit", "warm_start fit"])
@pytest.mark.parametrize("params", ARCHITECTURE, ids=str)
@pytest.mark.parametrize("name", [n for n in ONE_PER_ESTIMATOR if n != "vec"])
def test_architecture_set_after_fit_cannot_continue_training(name, params, how):
    cfg = CONFIGS[name]
    model = copy.deepcopy(_fitted(name)[0])
    fitted_params = model.get_params()
    model.set_params(**params, warm_start=how == "warm_start fit")
    with pytest.raises(ValueError, match=list(params)[0]):
        _fit(model, cfg, how.split()[-1] if how == "partial_fit" else "fit")
    model.set_params(**fitted_params)
    assert _outputs(model, cfg) == _fitted(name)[1]


# ------------------------------------------------------------ the count

README = Path(__file__).resolve().parents[1] / "README.md"


def test_count_malformed_inputs_and_check_every_public_method_is_covered():
    for cls, methods in METHODS.items():  # the table lists every public method and argument
        public = {m for m in dir(cls) if not m.startswith("_") and callable(getattr(cls, m))}
        assert public - set(NOT_FUZZED) == set(methods), cls.__name__
        for method, arguments in methods.items():
            signature = inspect.signature(getattr(cls, method))
            left_out = {p for p in signature.parameters if p != "self"} - set(arguments)
            assert left_out <= set(NOT_FUZZED), (cls.__name__, method, left_out)
            for name in left_out & {"y", "input_features"}:  # only where the docstring says ignored
                doc = inspect.getdoc(getattr(cls, method))
                assert f"{name} : ignored" in doc or method == "fit_transform", (cls, method, name)
    combinations = {(name, f"{method}({argument})", case) for name, method, argument, case in TABLE}
    kinds = {case for *_, case in TABLE}
    print(f"\n{len(combinations)} distinct (estimator, method, malformed input) combinations, "
          f"{len(kinds)} kinds of malformed input")
    quoted = re.search(r"(\d+) distinct \(estimator, method, malformed input\) combinations, "
                       r"(\d+) kinds of malformed input", " ".join(README.read_text().split()))
    assert quoted, "README.md no longer quotes the figures of this test"
    assert len(combinations) >= int(quoted[1]) and len(kinds) >= int(quoted[2])


# ------------------------------------------------------------ numbers among tokens

NUMBER_TOKENS = [([["a", "b"], [True]], "Sequence 1 of X holds the bool token True"),
                 ([["a", "b"], [1.5]], "Sequence 1 of X holds the float token 1.5"),
                 ([["a", 2.5], ["b", "c"]], "Sequence 0 of X holds the float token 2.5"),
                 ([[1, 2], [False]], "Sequence 1 of X holds the bool token False")]


@pytest.mark.parametrize("X, message", NUMBER_TOKENS, ids=str)
@pytest.mark.parametrize("name", ["clf_text", "reg_text", "enc_text", "tagger", "lm", "s2s", "vec"])
def test_token_lists_holding_a_float_or_bool_token_name_it(name, X, message):
    from sktransformer import TransformerTagger

    model = (TransformerTagger(**FAST) if name == "tagger" else clone(CONFIGS[name].estimator))
    y = {"tagger": [[0] * len(x) for x in X], "lm": None, "enc_text": None, "vec": None,
         "reg_text": [0.0, 1.0]}.get(name, [0, 1])
    with pytest.raises(TypeError, match=re.escape(message) + ": floats and booleans are never"):
        _fit(model, Config(model, X, y))


def test_ragged_float_lists_are_not_token_lists_for_the_token_readers():
    for model in (SequenceVectorizer(), TransformerLanguageModel(**FAST)):
        with pytest.raises(TypeError, match="Sequence 0 of X holds the float token 1.0"):
            model.fit([[1.0, 2.0], [3.0]])
    assert TransformerClassifier(**FAST).fit([[1.0, 2.0], [3.0]], [0, 1])._codec.ragged  # series
