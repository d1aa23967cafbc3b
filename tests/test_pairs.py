"""Sentence pairs read by a checkpoint: the numbers transformers gives, in every estimator that reads one.

References (tests/fixtures/pretrained/*/reference_pairs.json) are
``model(**tokenizer([text_a], [text_b]))`` of transformers, recorded by
benchmarks/make_pretrained_fixtures.py --pairs-only; ``bert_pooler`` is the
bert checkpoint saved with a (random) pooler layer.
"""

import importlib.util
import json
import pathlib
import pickle
import shutil
import warnings

import numpy as np
import pytest

pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")

from sktransformer import (  # noqa: E402
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
    TransformerTagger,
)
from sktransformer._inputs import Inputs  # noqa: E402
from sktransformer._model import batch_invariant, encode, new_cache  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "pretrained"
BERT, DISTILBERT, POOLER = (str(FIXTURES / name) for name in ("bert", "distilbert", "bert_pooler"))
ROBERTA, XLM_ROBERTA = (str(FIXTURES / name) for name in ("roberta", "xlm_roberta"))
TOLERANCE = 1e-4
PAIRS = [("the cat sat on the mat", "a dog ran in the park"), ("Hello world", "Hello world"),
         ("a dog ran", ""), ("", "the bird sang a song"), ("x", "numbers like 42 and 7 appear too!")]
CATS = ["the cat sat on the mat", "a cat on a mat", "the cat sat", "cats on mats"]
DOGS = ["a dog ran in the park", "the dog ran", "dogs in the park", "a dog in a park"]


def records(name, pairs=True):
    """The reference records of ``name``: its pairs (``pairs=False``: its single texts)."""
    found = json.loads((FIXTURES / name / "reference_pairs.json").read_text(encoding="utf-8"))["records"]
    return [r for r in found if (r["text_b"] is not None) == pairs]


def encoder(path=BERT, **params):
    return TransformerEncoder.from_pretrained(path, **params)


def quietly(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def same_topic_pairs():
    """Pairs labelled 1 when both texts are about cats or both about dogs (a relation of the two)."""
    pairs, y = [], []
    for i in range(4):
        for j in range(4):
            if i != j:
                pairs += [(CATS[i], CATS[j]), (DOGS[i], DOGS[j]), (CATS[i], DOGS[j]), (DOGS[i], CATS[j])]
                y += [1, 1, 0, 0]
    return pairs, y


# ------------------------------------------------------------ transformers' numbers


@pytest.mark.parametrize("name", ["bert", "distilbert", "roberta", "xlm_roberta"])
def test_pairs_are_encoded_and_read_as_transformers_does(name):
    """Ids, token types, every hidden state and the mean of each pair, truncated pairs included."""
    for record in records(name):
        pair = (record["text_a"], record["text_b"])
        enc = encoder(str(FIXTURES / name), max_len=record.get("max_length", 64))
        inputs = quietly(enc._codec.transform, enc, [pair])
        np.testing.assert_array_equal(inputs.X[0], record["ids"])
        np.testing.assert_array_equal(inputs.token_types[0], record["token_type_ids"])
        H, mask = quietly(enc.transform_sequence, [pair])
        hidden = np.array(record["hidden"])
        assert H.shape[1] == len(record["ids"]) and mask.all()
        assert np.abs(H[0] - hidden).max() <= TOLERANCE, pair
        assert np.abs(quietly(enc.transform, [pair])[0] - record["mean"]).max() <= TOLERANCE
        cls = encoder(str(FIXTURES / name), pooling="cls", max_len=record.get("max_length", 64))
        assert np.abs(quietly(cls.transform, [pair])[0] - hidden[0]).max() <= TOLERANCE


def test_the_second_text_s_token_type_changes_bert_not_distilbert():
    pair = [PAIRS[0]]
    for path, changes in ((BERT, True), (DISTILBERT, False)):
        enc = encoder(path)
        inputs = enc._codec.transform(enc, pair)
        assert inputs.token_types.max() == 1  # both tokenizers mark the second text
        all_segment_0 = enc._map_batches(lambda params, config, chunk: encode(
            params, config, chunk.X, chunk.mask)[0], Inputs(inputs.X, inputs.mask), width_axes=(1,))
        H, _ = enc.transform_sequence(pair)
        assert bool(np.abs(H - all_segment_0).max() > 1e-3) == changes


def test_all_zero_token_types_are_the_single_text_path_bitwise():
    enc = encoder()
    inputs = enc._codec.transform(enc, ["the cat sat on the mat", "a dog"])
    config = batch_invariant(enc.config_)
    plain, _ = encode(enc.params_, config, inputs.X, inputs.mask)
    zeros, _ = encode(enc.params_, config, inputs.X, inputs.mask,
                      token_types=np.zeros_like(inputs.X))
    np.testing.assert_array_equal(plain, zeros)


def test_pooler_output_of_pairs_and_texts_equals_transformers():
    for record in records("bert_pooler") + records("bert_pooler", pairs=False):
        x = record["text_a"] if record["text_b"] is None else (record["text_a"], record["text_b"])
        enc = encoder(POOLER, pooling="pooler", max_len=record.get("max_length", 64))
        np.testing.assert_array_equal(quietly(enc._codec.transform, enc, [x]).X[0], record["ids"])
        got = quietly(enc.transform, [x])[0]
        assert np.abs(got - record["pooler_output"]).max() <= TOLERANCE, x
    assert "pooler" not in encoder(POOLER).params_  # read only when asked for


def test_pooler_is_refused_where_the_checkpoint_has_none_and_for_new_encoders():
    for path, why in ((BERT, "saved without it"), (DISTILBERT, "DistilBERT has none"),
                      (XLM_ROBERTA, "saved without it")):
        with pytest.raises(ValueError, match=rf"pooling='pooler' reads BERT's pooler .*{why}"):
            encoder(path, pooling="pooler")
    with pytest.raises(ValueError, match="pooling='max' is not one of 'mean', 'cls'"):
        encoder(BERT, pooling="max")  # was read as "mean"
    with pytest.raises(ValueError, match=r"from_pretrained\(path, pooling='pooler'\)"):
        TransformerEncoder(pooling="pooler", max_iter=1).fit(["a b c"])


# ------------------------------------------------------------ input forms and errors


def test_every_form_of_pairs_gives_the_same_vectors():
    import pandas as pd

    enc = encoder()
    expected = enc.transform(PAIRS)
    forms = [[list(p) for p in PAIRS], tuple(PAIRS), pd.DataFrame(PAIRS, columns=["query", "passage"]),
             np.array(PAIRS, dtype=object), np.array(PAIRS), pd.Series(PAIRS),
             np.array([np.array(p, dtype=object) for p in PAIRS] + [None], dtype=object)[:-1]]
    for X in forms:
        np.testing.assert_array_equal(enc.transform(X), expected)


def test_a_one_column_dataframe_is_its_texts():
    import pandas as pd

    enc = encoder()
    texts = ["the cat sat", "a dog ran in the park", "x"]
    frame = pd.DataFrame({"review": texts})  # its column name was read as the one text
    np.testing.assert_array_equal(enc.transform(frame), enc.transform(texts))
    np.testing.assert_array_equal(enc.transform(frame.to_numpy()), enc.transform(texts))


@pytest.mark.parametrize("X, error, match", [
    ([("a", "b"), "c"], ValueError, r"mixes single texts \(e.g. sample 1\) and sentence pairs \(e.g. "
                                    r"sample 0\)"),
    (["a", ["b", "c"]], ValueError, "mixes single texts"),
    ([("a", "b", "c")], TypeError, "sample 0 of X is a tuple of 3 items"),
    ([("a", 1)], TypeError, "reads text"),
    ([["the", "cat", "sat"]], TypeError, "reads text"),
    ([("a", None)], ValueError, "Sentence pair 0 of X has a missing text"),
    ([("a", float("nan"))], ValueError, "missing text"),
    (np.array([["a", "b", "c"]], dtype=object), ValueError, "X has 3 columns"),
    (np.array([[1, 2]]), TypeError, "reads text"),
])
def test_what_is_neither_texts_nor_pairs_is_refused(X, error, match):
    with pytest.raises(error, match=match):
        encoder().transform(X)


def test_a_pair_dataframe_with_a_missing_text_is_refused():
    import pandas as pd

    frame = pd.DataFrame({"a": ["x", "y"], "b": ["z", pd.NA]})
    with pytest.raises(ValueError, match="Sentence pair 1 of X has a missing text"):
        encoder().transform(frame)


@pytest.mark.parametrize("long_documents", ["mean", "max", "truncate"])
def test_long_pairs_are_cut_longest_first_with_a_warning_in_every_mode(long_documents):
    enc = encoder(max_len=10, long_documents=long_documents)
    pairs = [("the cat sat on the mat with a dog", "a dog ran in the park"), ("a", "b")]
    with pytest.warns(UserWarning, match=r"1 of 2 sentence pairs in X have more than max_len=10 "
                                         r"tokens .*longer text.* not read in windows"):
        inputs = enc._codec.transform(enc, pairs)
    assert type(inputs).__name__ == "Inputs" and inputs.X.shape == (2, 10)
    # transformers' tokenizer(a, b, truncation=True, max_length=10): 4 + 3 tokens, the longer cut first
    np.testing.assert_array_equal(inputs.X[0], [2, 62, 69, 101, 95, 3, 11, 67, 98, 3])
    np.testing.assert_array_equal(inputs.token_types[0], [0] * 6 + [1] * 4)


def test_a_max_len_with_no_room_for_both_texts_is_refused():
    enc = encoder(max_len=4)
    with pytest.raises(ValueError, match="max_len=4 leaves no room for both texts .* at least 5"):
        enc.transform([("the cat sat", "a dog ran")])
    assert enc.transform([("", "b")]).shape == (1, 32)  # [CLS] [SEP] b [SEP] fits
    assert encoder(max_len=5).transform([("the cat sat", "a dog ran")]).shape == (1, 32)


def test_a_checkpoint_with_one_token_type_refuses_pairs_its_tokenizer_types_1(tmp_path):
    from safetensors.numpy import load_file, save_file

    shutil.copytree(FIXTURES / "bert", tmp_path / "one_type")
    directory = tmp_path / "one_type"
    tensors = load_file(directory / "model.safetensors")
    tensors["embeddings.token_type_embeddings.weight"] = tensors[
        "embeddings.token_type_embeddings.weight"][:1].copy()
    save_file(tensors, directory / "model.safetensors")
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps(dict(config, type_vocab_size=1)))
    enc = encoder(str(directory))
    assert enc.transform(["the cat"]).shape == (1, 32)
    with pytest.raises(ValueError, match=r"1 token type\(s\) \(type_vocab_size in config.json\), but "
                                         "its tokenizer gives the texts of a pair type 1"):
        enc.transform([("the cat", "a dog")])


def test_roberta_reads_a_pair_as_s_a_end_end_b_end_of_one_type_with_its_pooler():
    enc = encoder(ROBERTA, pooling="pooler")
    pair = ("the cat", "a dog")
    inputs = enc._codec.transform(enc, [pair])
    assert not inputs.token_types.any()  # RoBERTa has one token type
    tokens = enc.attention_weights([pair])[1][0]
    words = enc._codec.tokenizer  # a text's tokens, without special tokens
    assert tokens == ["<s>", *words("the cat"), "</s>", "</s>", *words("a dog"), "</s>"]
    for record in records("roberta"):
        pair = (record["text_a"], record["text_b"])
        enc = encoder(ROBERTA, pooling="pooler", max_len=record.get("max_length", 64))
        got = quietly(enc.transform, [pair])[0]
        assert np.abs(got - record["pooler_output"]).max() <= TOLERANCE, pair


def test_a_roberta_tokenizer_that_types_the_second_text_1_is_refused_at_the_pair(tmp_path):
    directory = tmp_path / "typed"
    shutil.copytree(ROBERTA, directory)
    tokenizer = json.loads((directory / "tokenizer.json").read_text())
    tokenizer["post_processor"] = {  # BERT's template: the second text of type 1
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "</s>", "type_id": 1}}],
        "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]} for t, i in (("<s>", 0), ("</s>", 2))}}
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer))
    enc = encoder(str(directory))
    np.testing.assert_array_equal(enc.transform(["the cat"]), encoder(ROBERTA).transform(["the cat"]))
    with pytest.raises(ValueError, match=r"1 token type\(s\) \(type_vocab_size in config.json\), but "
                                         "its tokenizer gives the texts of a pair type 1"):
        enc.transform([("the cat", "a dog")])


# ------------------------------------------------------------ batch invariance


def test_a_pair_s_outputs_alone_and_in_a_batch_are_bitwise_equal():
    enc = encoder()
    batch = PAIRS + [("the quick brown fox jumps over the lazy dog " * 2, "it was a sunny day")]
    together, (H, mask) = enc.transform(batch), enc.transform_sequence(batch)
    reversed_order = enc.transform(batch[::-1])[::-1]
    np.testing.assert_array_equal(reversed_order, together)
    for i, pair in enumerate(batch):
        np.testing.assert_array_equal(enc.transform([pair])[0], together[i])
        alone, _ = enc.transform_sequence([pair])
        np.testing.assert_array_equal(alone[0], H[i, : alone.shape[1]])
        assert not H[i, alone.shape[1]:].any() and mask[i].sum() == alone.shape[1]
    pooler = encoder(POOLER, pooling="pooler")
    together = pooler.transform(batch)
    for i, pair in enumerate(batch):
        np.testing.assert_array_equal(pooler.transform([pair])[0], together[i])


def test_the_pooler_layer_is_computed_per_sample(monkeypatch):
    """Inference runs the pooler's product one sample at a time (whatever the BLAS kernel does)."""
    import sktransformer._model as model

    flags, linear = [], model.linear

    def spy(params, x, batch_invariant=False):
        if params is pooler.params_["pooler"]:
            flags.append(batch_invariant)
        return linear(params, x, batch_invariant)

    pooler = encoder(POOLER, pooling="pooler")
    monkeypatch.setattr(model, "linear", spy)
    pooler.transform(PAIRS)
    assert flags and all(flags)


# ------------------------------------------------------------ estimators


@pytest.mark.parametrize("as_object", [False, True])
def test_a_classifier_learns_a_relation_of_the_two_texts(as_object):
    pairs, y = same_topic_pairs()
    clf = TransformerClassifier(encoder=encoder() if as_object else BERT, max_iter=15, alpha=0.0,
                                learning_rate_init=3e-3, learning_rate="constant",
                                warmup_fraction=0.0, early_stopping=False, dropout=0.0,
                                random_state=0).fit(pairs, y)
    assert clf.score(pairs, y) == 1.0
    assert clf._fitted_on_pairs is True
    start = encoder().params_["embed"]["token_types"]
    moved = np.abs(clf.params_["embed"]["token_types"] - start).max(axis=1)
    assert moved[1] > 0  # no weight decay: only a gradient moves it, so the second text read it
    proba = clf.predict_proba(pairs)
    for i in (0, 5, 17):  # each pair's probabilities do not depend on the batch
        np.testing.assert_array_equal(clf.predict_proba([pairs[i]])[0], proba[i])


def test_a_regressor_fits_and_predicts_pairs_from_a_dataframe():
    import pandas as pd

    pairs, y = same_topic_pairs()
    frame = pd.DataFrame(pairs, columns=["query", "passage"])
    reg = TransformerRegressor(encoder=BERT, max_iter=2, random_state=0).fit(frame, np.array(y, float))
    predicted = reg.predict(frame)
    assert predicted.shape == (len(pairs),) and np.isfinite(predicted).all()
    np.testing.assert_array_equal(reg.predict(pairs), predicted)
    with pytest.raises(ValueError, match="fitted on sentence pairs"):
        reg.predict(CATS)


def test_the_pooler_starts_a_classifier_and_is_fine_tuned():
    pairs, y = same_topic_pairs()
    enc = encoder(POOLER, pooling="pooler")
    clf = TransformerClassifier(encoder=enc, max_iter=3, learning_rate_init=3e-3,
                                random_state=0).fit(pairs, y)
    assert clf.config_.pooling == "pooler"
    assert np.abs(clf.params_["pooler"]["W"] - enc.params_["pooler"]["W"]).max() > 0
    assert clf.predict_proba(pairs[:3]).shape == (3, 2)


def test_a_model_reads_the_kind_it_was_fitted_on():
    pairs, y = same_topic_pairs()
    on_pairs = TransformerClassifier(encoder=BERT, max_iter=1, random_state=0).fit(pairs, y)
    on_texts = TransformerClassifier(encoder=BERT, max_iter=1, random_state=0).fit(
        CATS + DOGS, [0] * 4 + [1] * 4)
    with pytest.raises(ValueError, match=r"fitted on sentence pairs \(text_a, text_b\), but X holds "
                                         "single texts"):
        on_pairs.predict(CATS)
    with pytest.raises(ValueError, match="fitted on single texts, but X holds sentence pairs"):
        on_texts.predict_proba(pairs)
    with pytest.raises(ValueError, match="fitted on sentence pairs"):
        on_pairs.partial_fit(CATS, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="fitted on sentence pairs"):
        on_pairs.set_params(warm_start=True).fit(CATS, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="fitted on sentence pairs"):
        TransformerClassifier(encoder=BERT, max_iter=1).fit(pairs, y, X_val=CATS, y_val=[0, 1, 0, 1])
    with pytest.raises(ValueError, match="fitted on sentence pairs"):
        on_pairs.attention_weights(CATS[:1])
    on_pairs.set_params(warm_start=False).fit(CATS + DOGS, [0] * 4 + [1] * 4)  # a new fit: texts
    assert on_pairs._fitted_on_pairs is False and on_pairs.predict(CATS).shape == (4,)
    encoder_only = encoder()  # fitted on nothing: reads both
    assert encoder_only.transform(CATS).shape == encoder_only.transform(pairs[:4]).shape


def test_a_model_fitted_on_pairs_keeps_them_through_pickle_and_skops(tmp_path):
    pairs, y = same_topic_pairs()
    clf = TransformerClassifier(encoder=BERT, max_iter=1, random_state=0).fit(pairs, y)
    expected = clf.predict_proba(pairs)
    copies = [pickle.loads(pickle.dumps(clf))]
    if importlib.util.find_spec("skops") is not None:
        import sktransformer

        sktransformer.save(clf, tmp_path / "model.skops")
        copies.append(sktransformer.load(tmp_path / "model.skops"))
    for copy in copies:
        np.testing.assert_array_equal(copy.predict_proba(pairs), expected)
        with pytest.raises(ValueError, match="fitted on sentence pairs"):
            copy.predict(CATS)


def test_the_encoder_trains_and_scores_on_pairs():
    enc = encoder(max_iter=1, random_state=0)
    pairs, _ = same_topic_pairs()
    score, inputs = enc.score(pairs), enc._codec.transform(enc, pairs)
    assert np.isfinite(score)  # masked tokens of pairs are predicted with the second text's types:
    assert abs(enc._mean_score(enc.params_, Inputs(inputs.X, inputs.mask)) - score) > 1e-3
    before = enc.params_["embed"]["token_types"].copy()
    quietly(enc.set_params(alpha=0.0).fit, pairs)
    assert np.abs(enc.params_["embed"]["token_types"][1] - before[1]).max() > 0  # a gradient moved it
    weights, tokens = enc.attention_weights(pairs[:1])
    assert tokens[0] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]", "a", "cat",
                         "on", "a", "mat", "[SEP]"]
    assert weights[0].shape == (1, 4, 14, 14)
    inputs = enc._codec.transform(enc, pairs[:1])
    cache = new_cache(enc.config_, record=True)
    encode(enc.params_, batch_invariant(enc.config_), inputs.X, inputs.mask, cache=cache,
           token_types=inputs.token_types)
    for layer, recorded in zip(weights, cache, strict=True):  # with the second text's token types
        np.testing.assert_allclose(layer, recorded["self"]["weights"], rtol=0, atol=1e-6)


def test_the_tagger_refuses_pairs():
    with pytest.raises(TypeError, match="TransformerTagger labels the tokens of one text"):
        TransformerTagger(encoder=BERT, max_iter=1).fit([("a", "b")], [[0, 1]])


def test_models_without_a_checkpoint_read_tuples_as_token_lists():
    """Token lists are their input: a tuple of strings is tokens, never a pair."""
    X = [("the cat", "a dog"), ("x", "y"), ("a dog", "x")]
    enc = TransformerEncoder(d_model=8, n_heads=2, n_layers=1, max_iter=1, random_state=0)
    quietly(enc.fit, X)
    assert set(enc.vocabulary_) == {"the cat", "a dog", "x", "y"}
    assert enc.transform(X).shape == (3, 8)
    clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_iter=1, random_state=0)
    quietly(clf.fit, X, [0, 1, 0])
    assert set(clf.vocabulary_) == {"the cat", "a dog", "x", "y"}
    assert not hasattr(clf, "_fitted_on_pairs")
    on_encoder = TransformerClassifier(encoder=enc, max_iter=1, random_state=0)
    quietly(on_encoder.fit, X, [0, 1, 0])
    assert on_encoder.predict(X).shape == (3,) and not hasattr(on_encoder, "_fitted_on_pairs")
