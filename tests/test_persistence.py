"""Saving and loading pipelines: scikit-learn's and sktransformer's types only."""


import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from configs import SMALL
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import make_column_transformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    load,
    persistence,
    save,
)

pytest.importorskip("skops")

FAST = {**SMALL, "d_model": 8, "max_iter": 2}
TEXTS = ["a good film", "bad film", "great fun", "awful and bad", "good fun", "bad bad"]
LABELS = [1, 0, 1, 0, 1, 0]
CONSTRUCTED = []


class Doubler(TransformerMixin, BaseEstimator):
    """A custom class: the kind of type a model file must never name."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2

    def __setstate__(self, state):
        CONSTRUCTED.append(type(self).__name__)
        self.__dict__.update(state)


def _add_header(source, target, cls):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.namelist():
            dst.writestr(item, src.read(item))
        dst.writestr(persistence.HEADER, json.dumps(
            {"format": "sktransformer", "format_version": persistence.FORMAT_VERSION, "class": cls}))


def test_text_pipeline_round_trip(tmp_path):
    pipe = make_pipeline(SequenceVectorizer(analyzer="char"), TransformerClassifier(**FAST))
    pipe.fit(TEXTS, LABELS)
    save(pipe, tmp_path / "pipe.skops")
    loaded = load(tmp_path / "pipe.skops")
    assert type(loaded) is type(pipe) and [n for n, _ in loaded.steps] == [n for n, _ in pipe.steps]
    np.testing.assert_array_equal(loaded.predict(TEXTS), pipe.predict(TEXTS))
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), pipe.predict_proba(TEXTS))


def test_column_transformer_with_scikit_learn_steps_round_trip(tmp_path):
    frame = pd.DataFrame({"review": TEXTS, "stars": [4.0, 1, 5, 1, 4, 2]})
    features = make_column_transformer(
        (make_pipeline(SequenceVectorizer(), TransformerEncoder(**FAST)), ["review"]),
        (StandardScaler(), ["stars"]),
        (TfidfVectorizer(), "review"),
    )
    pipe = make_pipeline(features, LogisticRegression()).fit(frame, LABELS)
    save(pipe, tmp_path / "ct.skops")
    loaded = load(tmp_path / "ct.skops")
    np.testing.assert_array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))


def test_plain_scikit_learn_estimator_round_trip(tmp_path):
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    save(model, tmp_path / "lr.skops")
    assert load(tmp_path / "lr.skops").coef_.tolist() == model.coef_.tolist()


def test_save_refuses_custom_classes_and_function_transformers(tmp_path):
    custom = make_pipeline(Doubler(), LogisticRegression()).fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="Doubler.*Nothing was written"):
        save(custom, tmp_path / "custom.skops")
    function = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression())
    function.fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="FunctionTransformer \\(it calls arbitrary functions\\)"):
        save(function, tmp_path / "function.skops")
    assert not list(tmp_path.iterdir())
    with pytest.raises(TypeError, match="not Doubler"):
        save(Doubler(), tmp_path / "x.skops")


def test_load_refuses_a_file_with_a_custom_class_before_constructing_it(tmp_path):
    import skops.io

    custom = make_pipeline(SequenceVectorizer(), Doubler()).fit(TEXTS)
    skops.io.dump(custom, tmp_path / "plain.skops")
    _add_header(tmp_path / "plain.skops", tmp_path / "custom.skops", "sklearn.pipeline.Pipeline")
    CONSTRUCTED.clear()
    with pytest.raises(ValueError, match="test_persistence.Doubler. It was not loaded"):
        load(tmp_path / "custom.skops")
    assert CONSTRUCTED == []


def test_load_refuses_a_function_transformer(tmp_path):
    import skops.io

    pipe = make_pipeline(FunctionTransformer(np.log1p), StandardScaler()).fit([[0.0], [1.0]])
    skops.io.dump(pipe, tmp_path / "plain.skops")
    _add_header(tmp_path / "plain.skops", tmp_path / "function.skops", "sklearn.pipeline.Pipeline")
    with pytest.raises(ValueError, match="FunctionTransformer"):
        load(tmp_path / "function.skops")


def test_names_that_only_look_like_sktransformer_types_are_not_trusted():
    assert persistence._is_own_type("sktransformer.vectorizer.SequenceVectorizer")
    for name in ["sktransformer.vectorizer.Counter", "sktransformer.vectorizer.BaseEstimator",
                 "sktransformer.nothing.Here", "sktransformer..X", "sktransformerx.A", "os.system",
                 "sktransformer.vectorizer.np"]:
        assert not persistence._is_own_type(name), name


@pytest.mark.parametrize("old_format", [1, 2])
def test_model_files_of_older_formats_are_refused_clearly(tmp_path, monkeypatch, old_format):
    from sktransformer import load, persistence, save

    clf = TransformerClassifier(**FAST).fit(np.random.default_rng(0).normal(size=(10, 2)),
                                           np.arange(10) % 2)
    monkeypatch.setattr(persistence, "FORMAT_VERSION", old_format)
    save(clf, tmp_path / "old.skops")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="Fit the model again"):
        load(tmp_path / "old.skops")
