"""attention_weights: a probability distribution per query, over the keys it may see."""

import numpy as np
import pytest
from configs import SMALL

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
)

FAST = {**SMALL, "n_layers": 2, "max_iter": 2}
TEXTS = ["a b c d", "b c", "c a b", "d", "a a b b c"] * 3


@pytest.mark.parametrize("make", [
    lambda: TransformerClassifier(**FAST).fit(TEXTS, [0, 1, 0, 1, 0] * 3),
    lambda: TransformerClassifier(pooling="cls", **FAST).fit(TEXTS, [0, 1, 0, 1, 0] * 3),
    lambda: TransformerEncoder(**FAST).fit(TEXTS),
    lambda: TransformerSeq2Seq(**FAST).fit(TEXTS, TEXTS[::-1]),
    lambda: TransformerLanguageModel(**FAST).fit(TEXTS),
    lambda: TransformerRegressor(**FAST).fit(TEXTS, [len(t) / 3 for t in TEXTS]),
    lambda: TransformerRegressor(pooling="cls", positional_encoding="alibi", max_ngram=2,
                                 **FAST).fit(TEXTS, [len(t) / 3 for t in TEXTS]),
], ids=["classifier", "classifier-cls", "encoder", "seq2seq", "language-model", "regressor",
        "regressor-cls-alibi-ngrams"])
def test_rows_sum_to_one_over_real_keys_and_padding_gets_nothing(make):
    model = make()
    weights, tokens = model.attention_weights(TEXTS[:5])
    assert len(weights) == 2  # one array per layer
    for layer in weights:
        assert layer.shape[:2] == (5, 2) and layer.shape[2] == layer.shape[3]
        for i, labels in enumerate(tokens):
            n = len(labels)
            real = layer[i, :, :n, :n]
            np.testing.assert_allclose(real.sum(axis=-1), 1, rtol=1e-5)
            assert (layer[i, :, :, n:] == 0).all() and (layer[i, :, n:, :] == 0).all()
            if isinstance(model, TransformerLanguageModel):  # causal: nothing above the diagonal
                assert (np.triu(real[0], k=1) == 0).all()
    if isinstance(model, TransformerLanguageModel):
        assert tokens[0] == ["<bos>", "a", " ", "b", " ", "c", " ", "d"]
    elif isinstance(model, TransformerSeq2Seq):
        assert tokens[1] == ["b", "c", "<eos>"]  # the source's end marker is a position too
    elif model.config_.pooling == "cls":
        assert tokens[0] == ["[CLS]", "a", "b", "c", "d"]
    else:
        assert tokens[1] == ["b", "c"]


def test_numeric_features_are_labelled_by_feature_name():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 3)), columns=["age", "height", "weight"])
    clf = TransformerClassifier(**FAST).fit(X, np.arange(20) % 2)
    weights, tokens = clf.attention_weights(X.iloc[:2])
    assert tokens == [["age", "height", "weight"]] * 2 and weights[0].shape == (2, 2, 3, 3)


def test_attention_weights_do_not_change_the_model():
    import pickle

    clf = TransformerClassifier(**FAST).fit(TEXTS, [0, 1, 0, 1, 0] * 3)
    before = pickle.dumps(clf)
    clf.attention_weights(TEXTS)
    assert pickle.dumps(clf) == before


def test_the_vectorizer_has_no_attention_weights():
    vectorizer = SequenceVectorizer().fit(TEXTS)
    assert not hasattr(vectorizer, "attention_weights")  # it is no model: nothing attends
