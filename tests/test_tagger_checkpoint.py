"""TransformerTagger fine-tuning a checkpoint on per-word labels (Hugging Face's token classification).

Sentences are given as words; each word is tokenized on its own, as
``tokenizer(words, is_split_into_words=True)`` of transformers tokenizes it
(``reference_words.json`` of the fixtures, recorded with transformers), and
labelled and predicted at its first sub-word token.
"""

import json
import pathlib
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from sktransformer import TransformerEncoder, TransformerTagger  # noqa: E402
from sktransformer._inputs import Inputs  # noqa: E402
from sktransformer._primitives import log_softmax  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "pretrained"
BERT = str(FIXTURES / "bert")
# explicit training settings (the "auto" recipe of a checkpoint is for real models and data)
TRAIN = dict(learning_rate_init=3e-3, learning_rate="constant", warmup_fraction=0.0,
             early_stopping=False, batch_size=16, random_state=0)
NOUNS = ["cat", "dog", "mat", "park", "bird", "day", "friend", "model"]


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def records(name):
    return json.loads((FIXTURES / name / "reference_words.json").read_text(encoding="utf-8"))["records"]


def first_positions(word_ids):
    """The position of each word's first token, from transformers' word_ids()."""
    n_words = max((w for w in word_ids if w is not None), default=-1) + 1
    return [word_ids.index(w) for w in range(n_words)]


def parity_labels(sentences):
    return [["even" if j % 2 == 0 else "odd" for j in range(len(words))] for words in sentences]


def plural(n, seed):
    """Sentences of nouns, each singular or plural: "cat" and "cats" share their first sub-word."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        k = rng.integers(2, 5)
        nouns, plurals = rng.integers(0, len(NOUNS), k), rng.random(k) < 0.5
        X.append([NOUNS[i] + ("s" if p else "") for i, p in zip(nouns, plurals, strict=True)])
        y.append(["PL" if p else "SG" for p in plurals])
    return X, y


@pytest.fixture(scope="module")
def fitted():
    """A tagger fitted briefly on bert's reference sentences (word parity labels)."""
    X = [r["words"] for r in records("bert")]
    return quietly(TransformerTagger(encoder=BERT, max_iter=2, **TRAIN).fit, X, parity_labels(X))


# ------------------------------------------------------------ words -> sub-word tokens


@pytest.mark.parametrize("name", ["bert", "roberta", "xlm_roberta"])
def test_ids_and_word_ids_are_transformers_is_split_into_words(name):
    codec = TransformerEncoder.from_pretrained(FIXTURES / name)._codec
    refs = records(name)
    for r in refs:
        encoding = codec.tokenizer.encode_words(r["words"])
        assert encoding.ids == r["ids"] and encoding.word_ids == r["word_ids"]
    inputs = codec.read_words(TransformerTagger(), [r["words"] for r in refs])
    assert inputs.n_sentences == len(refs)
    for s, r in enumerate(refs):
        rows, cols = inputs.word_row[s, : len(r["words"])], inputs.word_col[s, : len(r["words"])]
        positions = first_positions(r["word_ids"])
        assert inputs.X[rows, cols].tolist() == [r["ids"][p] for p in positions]
        if len(r["ids"]) <= codec.max_len:  # one window: the row is the sentence's tokens
            assert inputs.X[rows[0], : len(r["ids"])].tolist() == r["ids"]
            assert set(rows.tolist()) == {rows[0]} and cols.tolist() == positions
    if name == "roberta":  # byte-level BPE: a space before each word (add_prefix_space=True)
        assert all(r["ids"] != r["ids_as_stored"] for r in refs)


def test_each_word_is_labelled_at_its_first_sub_word_only(fitted):
    refs = records("bert")
    X = [r["words"] for r in refs]
    data = fitted._read(X, parity_labels(X), None, fitting=False, classes=None, what="X")
    target = data.arrays["target"]
    for s, r in enumerate(refs):
        positions = first_positions(r["word_ids"])
        assert np.flatnonzero(target[s] >= 0).tolist() == positions
        assert fitted.classes_[target[s, positions]].tolist() == parity_labels(X)[s]
    assert any(len(r["word_ids"]) - 2 > len(r["words"]) for r in refs)  # words of several tokens


def test_one_output_per_word_read_at_its_first_sub_word(fitted):
    refs = records("bert")
    X = [r["words"] for r in refs]
    proba, predicted = fitted.predict_proba(X), fitted.predict(X)
    assert [p.shape for p in proba] == [(len(words), 2) for words in X]
    assert [len(p) for p in predicted] == [len(words) for words in X]
    for r, p, labels in zip(refs, proba, predicted, strict=True):
        ids = np.array([r["ids"]], np.int32)
        logits = fitted._logits(Inputs(ids, np.ones(ids.shape, bool)))[0, first_positions(r["word_ids"])]
        np.testing.assert_allclose(p, np.exp(log_softmax(logits.astype(np.float64))), rtol=1e-6)
        assert labels.tolist() == fitted.classes_[p.argmax(axis=1)].tolist()
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert fitted.score(X, parity_labels(X)) == np.mean(
        np.concatenate(predicted) == np.concatenate(parity_labels(X)))


def test_texts_are_split_into_words_and_symbols_not_lowercased(fitted):
    text = "John lives in Paris."
    words = ["John", "lives", "in", "Paris", "."]
    np.testing.assert_array_equal(fitted.predict_proba([text])[0], fitted.predict_proba([words])[0])
    cased = TransformerEncoder.from_pretrained(FIXTURES / "roberta")._codec  # the tokenizer's case

    def ids(X):
        return cased.read_words(TransformerTagger(), X).X.tolist()

    assert ids(["Paris."]) == ids([["Paris", "."]]) != ids(["paris."])
    with pytest.raises(ValueError, match=r"y\[0\] has 4 labels, but sample 0 of X has 5 words"):
        fitted.score([text], [["P", "O", "O", "L"]])


# ------------------------------------------------------------ learning


def test_learns_a_word_task_that_only_the_later_sub_words_tell():
    X, y = plural(80, 0)
    codec = TransformerEncoder.from_pretrained(BERT)._codec
    assert codec.tokenizer.encode_words(["cats"]).tokens[1] == codec.tokenizer.encode_words(
        ["cat"]).tokens[1]  # the first sub-word is the same: "##s" tells the plural
    tagger = quietly(TransformerTagger(encoder=BERT, max_iter=20, **TRAIN).fit, X, y)
    X_test, y_test = plural(40, 1)
    assert tagger.score(X, y) > 0.95
    assert tagger.score(X_test, y_test) > 0.7  # chance: about 0.5
    assert [len(p) for p in tagger.predict(X_test)] == [len(labels) for labels in y_test]


# ------------------------------------------------------------ long sentences


def test_a_long_sentence_is_read_in_windows_each_word_once_with_context(fitted):
    long = records("bert")[-1]
    assert len(long["ids"]) > 24
    tagger = quietly(TransformerTagger(encoder=BERT, max_len=12, max_iter=1, **TRAIN).fit,
                     [long["words"], ["a", "dog"]], [parity_labels([long["words"]])[0], ["even", "odd"]])
    inputs = tagger._codec.read_words(tagger, [long["words"]])
    assert len(inputs.X) > 2 and inputs.X.shape[1] == 12  # windows of max_len tokens
    data = tagger._read([long["words"]], parity_labels([long["words"]]), None, fitting=False,
                        classes=None, what="X")
    assert (data.arrays["target"] >= 0).sum() == len(long["words"])  # every word, once
    positions, n_content = first_positions(long["word_ids"]), len(long["ids"]) - 2
    for w, p in enumerate(positions):
        row, col = inputs.word_row[0, w], inputs.word_col[0, w]
        assert inputs.X[row, col] == long["ids"][p]  # the word's own first sub-word
        if 2 <= p - 1 <= n_content - 3:  # windows of 10 tokens, 5 apart: 2 on either side at least
            assert 3 <= col <= int(inputs.mask[row].sum()) - 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is cut, nothing to warn about
        proba = tagger.predict_proba([long["words"], ["a", "dog"]])
    assert [p.shape for p in proba] == [(len(long["words"]), 2), (2, 2)]
    np.testing.assert_allclose(tagger.predict_proba([long["words"]])[0], proba[0], rtol=0, atol=0)


# ------------------------------------------------------------ the encoder parameter


def test_a_path_and_the_loaded_encoder_give_the_same_tagger():
    X = [r["words"] for r in records("bert")]  # a long sentence among them
    y = parity_labels(X)
    encoder = TransformerEncoder.from_pretrained(BERT)
    embeddings = encoder.params_["embed"]["W"].copy()
    by_path = quietly(TransformerTagger(encoder=BERT, max_iter=2, **TRAIN).fit, X, y)
    by_object = quietly(TransformerTagger(encoder=encoder, max_iter=2, **TRAIN).fit, X, y)
    for a, b in zip(by_path.predict_proba(X), by_object.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(encoder.params_["embed"]["W"], embeddings)  # left as loaded
    assert by_path.encoder == BERT


def test_clone_and_grid_search_from_a_checkpoint_path():
    X, y = plural(24, 0)
    model = TransformerTagger(encoder=BERT, max_iter=1, **TRAIN)
    assert clone(model).get_params() == model.get_params()
    search = quietly(GridSearchCV(model, {"learning_rate_init": [1e-3, 3e-3]}, cv=KFold(2)).fit, X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.encoder == BERT and model.encoder == BERT
    assert [len(p) for p in search.predict(X)] == [len(labels) for labels in y]


@pytest.mark.parametrize("name", ["bert", "roberta"])
def test_save_and_load_give_the_same_predictions(name, tmp_path):
    pytest.importorskip("skops")
    import sktransformer

    X = [r["words"] for r in records(name)]
    model = quietly(TransformerTagger(encoder=str(FIXTURES / name), max_iter=2, **TRAIN).fit,
                    X, parity_labels(X))
    expected = model.predict_proba(X)
    sktransformer.save(model, tmp_path / "tagger.skops")
    for again in (pickle.loads(pickle.dumps(model)), sktransformer.load(tmp_path / "tagger.skops")):
        for a, b in zip(again.predict_proba(X), expected, strict=True):
            np.testing.assert_array_equal(a, b)
        assert [p.tolist() for p in again.predict(X)] == [p.tolist() for p in model.predict(X)]


# ------------------------------------------------------------ bad input


def test_bad_input_names_the_sample(fitted):
    X = [["John", "lives"], ["in", "Paris", "today", "."]]
    tagger = TransformerTagger(encoder=BERT, max_iter=1, **TRAIN)
    with pytest.raises(ValueError, match=r"y\[1\] has 3 labels, but sample 1 of X has 4 words"):
        tagger.fit(X, [["a", "b"], ["a", "b", "a"]])
    with pytest.raises(ValueError, match=r"y_val\[0\] has 1 labels, but sample 0 of X has 2 words"):
        quietly(tagger.fit, X, [["a", "b"], ["a", "b", "a", "b"]], X_val=X[:1], y_val=[["a"]])
    with pytest.raises(ValueError, match="Word 1 of sample 0 of X gives the checkpoint's tokenizer no"):
        fitted.predict([["John", "", "Paris"]])
    with pytest.raises(ValueError, match="Word 1 of sample 1 of X is missing"):
        fitted.predict([["a"], ["John", None]])
    with pytest.raises(TypeError, match="word 0 of sample 0 of X is a int"):
        fitted.predict([[3, "John"]])
    with pytest.raises(TypeError, match="a tuple of two strings is a pair"):
        fitted.predict([("John", "Paris")])
    with pytest.raises(ValueError, match=r"X has 2 sequences, y 1 label sequences"):
        fitted.score(X, [["a", "b"]])


def test_a_checkpoint_tagger_refuses_weights_given_only_to_empty_sentences():
    X, y, w = [["a", "b"], [], ["b", "a"]], [["X", "Y"], [], ["Y", "X"]], [0, 1, 0]
    with pytest.raises(ValueError, match="sample_weight is 0 for every sequence that has tokens"):
        quietly(TransformerTagger(encoder=BERT, max_iter=1, **TRAIN).fit, X, y, sample_weight=w)
