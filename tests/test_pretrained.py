"""Checkpoints of other libraries give the numbers those libraries give (fixtures made with transformers).

The fixtures in tests/fixtures/pretrained/ are tiny random checkpoints with
what transformers computed for them (benchmarks/make_pretrained_fixtures.py rebuilds them).
"""

import json
import pathlib
import pickle
import shutil
import sys

import numpy as np
import pytest

pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")

from autograd.test_util import check_grads  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sktransformer import (  # noqa: E402
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
)
from sktransformer._layers import ACTIVATIONS  # noqa: E402
from sktransformer._model import decode, encode  # noqa: E402
from sktransformer._primitives import gelu_erf, log_softmax  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "pretrained"
TOLERANCE = 1e-4


def reference(name):
    return np.load(FIXTURES / name / "reference.npz"), json.loads(
        (FIXTURES / name / "reference.json").read_text())


# ------------------------------------------------------------ model options


def test_gelu_erf_gradient_and_known_values():
    from scipy.special import erf

    x = np.linspace(-4, 4, 17)
    check_grads(gelu_erf, modes=["rev"], order=1)(x)
    np.testing.assert_allclose(gelu_erf(x), 0.5 * x * (1 + erf(x / np.sqrt(2))), rtol=1e-12)
    assert ACTIVATIONS["gelu_erf"] is gelu_erf


def test_gelu_erf_in_float32_is_within_float32_rounding_of_the_exact_form(recwarn):
    """float32 takes a fitted Phi (a third of scipy's erf time): within 1.2e-7 of the exact
    distribution function on [-1000, 1000], no overflow warning far left, exact limits."""
    from scipy.special import ndtr

    from sktransformer._primitives import _normal_cdf

    x = np.linspace(-1000, 1000, 2_000_001).astype(np.float32)
    x = np.concatenate([x, np.linspace(-9, 9, 200_001, dtype=np.float32)])
    exact = ndtr(x.astype(np.float64))
    assert np.abs(_normal_cdf(x) - exact).max() < 1.5e-7
    got = gelu_erf(x)
    assert got.dtype == np.float32
    assert np.abs(got - x.astype(np.float64) * exact).max() < 7e-7
    edges = gelu_erf(np.array([-1e30, 0.0, 1e30], dtype=np.float32))
    np.testing.assert_array_equal(edges, np.array([0.0, 0.0, 1e30], dtype=np.float32))
    assert not [w for w in recwarn.list if issubclass(w.category, RuntimeWarning)]


def test_default_config_is_unchanged():
    from sktransformer._model import ModelConfig

    config = ModelConfig("tokens", 10)
    assert (config.layer_norm_eps, config.scale_embedding, config.n_token_types,
            config.embedding_norm, config.tie_embeddings) == (1e-5, True, 0, False, False)
    assert (config.norm_kind, config.n_kv_heads, config.rope_theta) == ("layer", None, 10000.0)


def test_tied_embeddings_option_equals_a_head_holding_the_table():
    from dataclasses import replace

    from sktransformer._grad import value_and_grad_tree
    from sktransformer._model import ModelConfig, init_decoder

    config = ModelConfig("tokens", 12, d_model=8, n_heads=2, n_layers=1, d_ff=16, dropout=0.0,
                         n_outputs=9, tie_embeddings=True, scale_embedding=False)
    params = init_decoder(config, np.random.default_rng(0))
    assert "head" not in params
    ids = np.array([[3, 4, 5]])
    untied = dict(params, head={"W": params["embed"]["W"][2:11].T.copy(), "b": np.zeros(9, np.float32)})
    np.testing.assert_allclose(decode(params, config, ids),
                               decode(untied, replace(config, tie_embeddings=False), ids), rtol=1e-6)
    _, grads = value_and_grad_tree(lambda p: decode(p, config, ids)[0, -1, 7])(params)
    assert np.abs(grads["embed"]["W"][9]).sum() > 0  # output 7 is id 9: its row gets the head's gradient


# ----------------------------------------------------------------- encoders


ENCODERS = ["bert", "distilbert", "roberta", "xlm_roberta"]


@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_matches_transformers(name):
    ref, meta = reference(name)
    enc = TransformerEncoder.from_pretrained(FIXTURES / name)
    texts = meta["texts"]
    H, mask = enc.transform_sequence(texts)
    np.testing.assert_array_equal(mask, ref["mask"].astype(bool))
    assert np.abs(H - ref["hidden"]).max() <= TOLERANCE
    assert np.abs(enc.transform(texts) - ref["mean"]).max() <= TOLERANCE
    cls = TransformerEncoder.from_pretrained(FIXTURES / name, pooling="cls")
    assert np.abs(cls.transform(texts) - ref["cls"]).max() <= TOLERANCE


def test_encoder_tokenizes_like_the_checkpoint():
    ref, meta = reference("bert")
    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert")
    inputs = enc._codec.transform(enc, meta["texts"])
    np.testing.assert_array_equal(np.where(inputs.mask, inputs.X, 0), ref["ids"])
    weights, tokens = enc.attention_weights(meta["texts"][:1])
    assert tokens[0][0] == "[CLS]" and tokens[0][-1] == "[SEP]"
    assert len(weights) == 2


def test_tokenizer_file_settings_for_padding_are_ignored(tmp_path):
    ref, meta = reference("bert")
    for name in ("config.json", "model.safetensors"):
        shutil.copy(FIXTURES / "bert" / name, tmp_path / name)
    settings = json.loads((FIXTURES / "bert" / "tokenizer.json").read_text())
    settings["padding"] = {"strategy": {"Fixed": 20}, "direction": "Right", "pad_to_multiple_of": None,
                           "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
    settings["truncation"] = {"direction": "Right", "max_length": 4, "strategy": "LongestFirst",
                              "stride": 0}
    (tmp_path / "tokenizer.json").write_text(json.dumps(settings))
    enc = TransformerEncoder.from_pretrained(tmp_path)
    assert np.abs(enc.transform(meta["texts"]) - ref["mean"]).max() <= TOLERANCE


def test_encoder_truncates_to_max_len_keeping_sep():
    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert", max_len=5, long_documents="truncate")
    with pytest.warns(UserWarning, match="1 of 1 texts in X have more than max_len=5 tokens"):
        inputs = enc._codec.transform(enc, ["the quick brown fox jumps over the lazy dog"])
    assert inputs.X.shape == (1, 5)
    assert enc._codec.tokenizer.backend.id_to_token(int(inputs.X[0, -1])) == "[SEP]"


def test_loaded_encoder_fine_tunes_a_classifier():
    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert")
    texts = ["the cat sat on the mat", "a cat on a mat", "the cat sat", "cats on mats"] * 3 + \
            ["a dog ran in the park", "the dog ran", "dogs in the park", "a dog in a park"] * 3
    y = [0] * 12 + [1] * 12
    clf = TransformerClassifier(encoder=enc, max_iter=15, learning_rate_init=3e-3, dropout=0.0,
                                random_state=0).fit(texts, y)
    assert clf.score(texts, y) == 1.0
    np.testing.assert_array_equal(  # the encoder itself is left as it was
        enc.params_["encoder"]["blocks"][0]["attn"]["qkv"]["W"],
        TransformerEncoder.from_pretrained(FIXTURES / "bert").params_["encoder"]["blocks"][0]["attn"][
            "qkv"]["W"])
    scores = cross_val_score(TransformerClassifier(encoder=FrozenEstimator(enc), max_iter=3,
                                                   random_state=0), texts, y, cv=2)
    assert scores.shape == (2,)


def test_loaded_encoder_continues_masked_training():
    enc = TransformerEncoder.from_pretrained(FIXTURES / "distilbert", max_iter=2, random_state=0)
    before = enc.transform(["the cat sat"])
    enc.fit(["the cat sat on the mat", "a dog ran in the park"] * 4)
    assert enc.n_iter_ == 2
    assert not np.allclose(before, enc.transform(["the cat sat"]))
    enc.partial_fit(["the bird sang"])
    assert enc.n_iter_ == 3
    assert np.isfinite(enc.score(["the cat sat on the mat"]))


def test_loaded_estimators_pickle():
    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert")
    again = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(again.transform(["a dog"]), enc.transform(["a dog"]))
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")
    assert pickle.loads(pickle.dumps(lm)).generate("the", 5, temperature=0) == lm.generate(
        "the", 5, temperature=0)
    assert clone(lm).get_params()["d_model"] == 32  # clone loads the checkpoint again


# ------------------------------------------------------------ language model


def test_gpt2_matches_transformers():
    ref, meta = reference("gpt2")
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")
    tokenizer = lm.analyzer.backend
    for i, (prompt, expected) in enumerate(zip(meta["prompts"], meta["generated_ids"], strict=True)):
        # logits of <|endoftext|> + prompt, position by position (model ids are tokenizer ids + 2)
        ids = np.array([[meta["eos_id"]] + tokenizer.encode(prompt).ids]) + 2
        logits = decode(lm.params_, lm.config_, ids)[0]
        assert np.abs(logits - ref[f"logits_{i}"]).max() <= TOLERANCE
        # predict_proba row j: the next token after the prompt's tokens 0..j
        proba = np.exp(log_softmax(ref[f"logits_{i}"].astype(np.float64)))[1:]
        assert np.abs(lm.predict_proba([prompt])[0] - proba).max() <= TOLERANCE
        # greedy from <|endoftext|> + prompt: bos=True, or the end-of-text token written first
        stop = expected.index(meta["eos_id"]) if meta["eos_id"] in expected else len(expected)
        for use_cache in (True, False):
            generated = lm.generate(tokenizer.encode(prompt).tokens, max_new_tokens=12,
                                    temperature=0, use_cache=use_cache, bos=True)
            generated_ids = [tokenizer.token_to_id(t) for t in generated]
            assert generated_ids == expected[:stop]
        text = lm.generate(prompt, max_new_tokens=12, temperature=0, bos=True)
        assert text == tokenizer.decode(expected[:stop])
        assert lm.generate("<|endoftext|>" + prompt, max_new_tokens=12, temperature=0) == text


def reference_generations():
    """transformers' greedy ``model.generate(**tokenizer(prompt))`` of the gpt2 fixture, per prompt."""
    path = FIXTURES / "gpt2" / "reference_generate.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("record", reference_generations()["records"],
                         ids=lambda record: repr(record["prompt"]))
def test_gpt2_greedy_generation_equals_transformers_generate_of_tokenizer_text(record):
    meta = reference_generations()
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")
    tokenizer = lm.analyzer.backend
    prompt, new_ids, n = record["prompt"], record["generated_ids"], meta["max_new_tokens"]
    # the prompt is read as tokenizer(text) reads it: no <|endoftext|> first, special tokens
    # written in it read as such, no Unicode normalisation (an empty prompt: generate() from bos)
    assert lm._codec.encode_text(prompt) == [i + 2 for i in record["tokenizer_ids"]]
    expected = new_ids[: new_ids.index(meta["eos_id"])] if meta["eos_id"] in new_ids else new_ids
    for use_cache in (True, False):
        assert lm.generate(prompt, n, temperature=0, use_cache=use_cache) == record["text"]
        # token for token: the same start as tokens (a token list is read as it is)
        tokens = [tokenizer.id_to_token(i) for i in record["tokenizer_ids"]]
        generated = lm.generate(tokens, n, temperature=0, use_cache=use_cache)
        assert [tokenizer.token_to_id(t) for t in generated] == expected
    assert record["text"] == tokenizer.decode(expected)


def test_generate_bos_option_is_validated_and_an_empty_prompt_needs_a_start():
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")
    for bad in ("yes", None, 1, "True"):
        with pytest.raises(ValueError, match="bos must be 'auto', True or False"):
            lm.generate("the cat", 3, bos=bad)
    for empty in ("", []):
        with pytest.raises(ValueError, match="prompt is empty and bos=False"):
            lm.generate(empty, 3, temperature=0, bos=False)
        # "auto" and True start an empty prompt from <|endoftext|>
        assert lm.generate(empty, 5, temperature=0) == lm.generate(empty, 5, temperature=0, bos=True)
    assert lm.generate("the cat", 12, temperature=0, bos=False) == lm.generate(
        "the cat", 12, temperature=0)
    assert lm.generate("the cat", 12, temperature=0, bos=np.True_) == lm.generate(
        "the cat", 12, temperature=0, bos=True) != lm.generate("the cat", 12, temperature=0)


def test_a_model_fitted_here_still_reads_its_bos_first_by_default():
    lm = TransformerLanguageModel(d_model=8, n_heads=2, n_layers=1, max_iter=3, random_state=0)
    lm.fit(["abcabc", "cabcab", "bcabca"] * 3)
    for prompt in ("ab", "", ["c"]):
        assert lm.generate(prompt, 6, temperature=0) == lm.generate(prompt, 6, temperature=0, bos=True)
        assert lm.generate(prompt, 6, temperature=1.0, random_state=0) == lm.generate(
            prompt, 6, temperature=1.0, random_state=0, bos=True)
    assert isinstance(lm.generate("ab", 3, temperature=0, bos=False), str)
    with pytest.raises(ValueError, match="prompt is empty and bos=False"):
        lm.generate("", 3, bos=False)


def test_gpt2_score_perplexity_and_fine_tuning():
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2", max_iter=5,
                                                  learning_rate_init=1e-2, random_state=0)
    text = ["the cat sat on the mat"] * 4
    before = lm.score(text)
    assert np.isclose(lm.perplexity(text), np.exp(-before))
    lm.fit(text)
    assert lm.score(text) > before + 0.5
    assert isinstance(lm.generate("the cat", max_new_tokens=3, temperature=0.8, random_state=0), str)


# ------------------------------------------------------------ refused inputs


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint directory"):
        TransformerEncoder.from_pretrained(tmp_path / "nowhere")
    shutil.copy(FIXTURES / "bert" / "config.json", tmp_path / "config.json")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"lacks model.safetensors, tokenizer.json.*pytorch_model"):
        TransformerEncoder.from_pretrained(tmp_path)


def test_unsupported_model_type_is_refused(tmp_path):
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(FIXTURES / "bert" / name, tmp_path / name)
    with pytest.raises(ValueError, match="Load it with TransformerEncoder.from_pretrained"):
        TransformerLanguageModel.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="Load it with TransformerLanguageModel"):
        TransformerEncoder.from_pretrained(FIXTURES / "gpt2")
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(config, model_type="t5")))
    with pytest.raises(ValueError, match="model_type='t5'.*'bert', 'distilbert'"):
        TransformerEncoder.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(config, position_embedding_type="relative_key")))
    with pytest.raises(ValueError, match="position_embedding_type"):
        TransformerEncoder.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(config, hidden_act="swish")))
    with pytest.raises(ValueError, match="Unsupported activation 'swish'"):
        TransformerEncoder.from_pretrained(tmp_path)


def test_architecture_parameters_come_from_the_checkpoint():
    with pytest.raises(ValueError, match="d_model come"):
        TransformerEncoder.from_pretrained(FIXTURES / "bert", d_model=16)
    with pytest.raises(ValueError, match="max_len=1000"):
        TransformerEncoder.from_pretrained(FIXTURES / "bert", max_len=1000)
    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert")
    with pytest.raises(TypeError, match="reads text"):
        enc.transform([[1, 2, 3]])


# ------------------------------------------------- checkpoints that disagree


def variant(name, tmp_path, config=None, tensors=None, added_tokens=()):
    """A copy of fixture ``name`` in tmp_path with config.json keys, tensors or tokenizer tokens changed."""
    from safetensors.numpy import load_file, save_file

    tmp_path.mkdir(parents=True, exist_ok=True)
    for file in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(FIXTURES / name / file, tmp_path / file)
    settings = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(settings, **(config or {}))))
    if tensors is not None:
        weights = str(tmp_path / "model.safetensors")
        save_file(tensors(load_file(weights)), weights)
    tokenizer = json.loads((tmp_path / "tokenizer.json").read_text())
    first = len(json.loads((FIXTURES / name / "tokenizer.json").read_text())["model"]["vocab"])
    first = max(first, max(t["id"] for t in tokenizer["added_tokens"]) + 1)
    for i, token in enumerate(added_tokens):
        tokenizer["added_tokens"].append({"id": first + i, "content": token, "single_word": False,
                                          "lstrip": False, "rstrip": False, "normalized": False,
                                          "special": False})
    (tmp_path / "tokenizer.json").write_text(json.dumps(tokenizer))
    return tmp_path


def write_safetensors(path, tensors):
    """A safetensors file written by hand: {name: (dtype string, shape, raw little-endian bytes)}."""
    header, data = {}, b""
    for key, (dtype, shape, raw) in tensors.items():
        header[key] = {"dtype": dtype, "shape": list(shape),
                       "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


def to_bfloat16(array):
    """float32 -> the raw bfloat16 words (rounded to nearest, ties to even) and their float32 values."""
    bits = np.ascontiguousarray(array, np.float32).view(np.uint32).astype(np.uint64)
    words = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return words, (words.astype(np.uint32) << 16).view(np.float32)


LOADERS = {"gpt2": TransformerLanguageModel, **dict.fromkeys(ENCODERS, TransformerEncoder)}
TABLES = {"gpt2": "transformer.wte.weight", **dict.fromkeys(ENCODERS, "embeddings.word_embeddings.weight")}


@pytest.mark.parametrize("name", ENCODERS + ["gpt2"])
def test_tokenizer_with_more_ids_than_embedding_rows_is_refused(name, tmp_path):
    rows = json.loads((FIXTURES / name / "config.json").read_text())["vocab_size"]
    path = variant(name, tmp_path, added_tokens=["<new1>", "<new2>"])
    with pytest.raises(ValueError, match=rf"tokenizer.json has {rows + 2} token ids.* {rows} rows"
                                         r".*resize_token_embeddings"):
        LOADERS[name].from_pretrained(path)


@pytest.mark.parametrize("name", ENCODERS + ["gpt2"])
def test_config_vocab_size_disagreeing_with_the_embedding_is_refused(name, tmp_path):
    rows = json.loads((FIXTURES / name / "config.json").read_text())["vocab_size"]
    path = variant(name, tmp_path, config={"vocab_size": rows + 10})
    with pytest.raises(ValueError, match=rf"vocab_size={rows + 10}.*{TABLES[name]} has {rows} rows"):
        LOADERS[name].from_pretrained(path)


def pad_table(name, n_pad):
    """Tensors -> the same with n_pad rows after the vocabulary, two of them huge (+1000, -1000)."""
    def pad(tensors):
        table = tensors[TABLES[name]]
        extra = np.random.default_rng(0).normal(size=(n_pad, table.shape[1])).astype(np.float32)
        extra[:2] = [[1000.0], [-1000.0]]
        return dict(tensors, **{TABLES[name]: np.concatenate([table, extra])})
    return pad


@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_embedding_padded_past_the_tokenizer_loads(name, tmp_path):
    rows = json.loads((FIXTURES / name / "config.json").read_text())["vocab_size"]
    path = variant(name, tmp_path, config={"vocab_size": rows + 4}, tensors=pad_table(name, 4))
    enc, plain = TransformerEncoder.from_pretrained(path), TransformerEncoder.from_pretrained(FIXTURES / name)
    texts = reference(name)[1]["texts"]
    np.testing.assert_array_equal(enc.transform(texts), plain.transform(texts))
    assert enc._codec.mask_id == plain._codec.mask_id == rows  # [MASK] follows the tokens, not the padding
    np.testing.assert_array_equal(enc.params_["embed"]["W"], plain.params_["embed"]["W"])
    assert enc.params_["mlm"]["W"].shape == (32, rows)
    enc.set_params(max_iter=1).fit(texts)
    assert np.isfinite(enc.score(texts))


def test_language_model_embedding_padded_past_the_tokenizer_never_emits_padding(tmp_path):
    path = variant("gpt2", tmp_path, config={"vocab_size": 304}, tensors=pad_table("gpt2", 4))
    lm, plain = (TransformerLanguageModel.from_pretrained(p) for p in (path, FIXTURES / "gpt2"))
    prompts = reference("gpt2")[1]["prompts"]
    proba = lm.predict_proba(prompts[:1])[0]
    assert proba.shape[1] == len(lm.tokens_) == 300
    np.testing.assert_allclose(proba, plain.predict_proba(prompts[:1])[0], atol=1e-6)
    assert np.isclose(lm.score(prompts), plain.score(prompts))
    for prompt in prompts:
        assert lm.generate(prompt, 12, temperature=0) == plain.generate(prompt, 12, temperature=0)
        assert lm.generate(prompt, 12, temperature=1.5, random_state=0) == plain.generate(
            prompt, 12, temperature=1.5, random_state=0)
        assert None not in lm.generate(lm.analyzer(prompt), 12, temperature=2.0, random_state=1)


def outputs(model, name):
    meta = reference(name)[1]
    if name == "gpt2":
        return np.concatenate([p.ravel() for p in model.predict_proba(meta["prompts"])])
    return model.transform_sequence(meta["texts"])[0]


@pytest.mark.parametrize("name", ENCODERS + ["gpt2"])
def test_bfloat16_checkpoint_loads_as_float32(name, tmp_path):
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(FIXTURES / name / "model.safetensors"))
    rounded = {key: to_bfloat16(value) for key, value in tensors.items()}
    bf16, f32 = variant(name, tmp_path / "bf16"), variant(name, tmp_path / "f32")
    write_safetensors(bf16 / "model.safetensors",
                      {key: ("BF16", words.shape, words.astype("<u2").tobytes())
                       for key, (words, _) in rounded.items()})
    save_file({key: values for key, (_, values) in rounded.items()}, str(f32 / "model.safetensors"))
    model, expected = (LOADERS[name].from_pretrained(p) for p in (bf16, f32))
    assert model.params_["embed"]["W"].dtype == np.float32
    assert np.abs(outputs(model, name) - outputs(expected, name)).max() <= 1e-5
    original = LOADERS[name].from_pretrained(FIXTURES / name)
    assert np.abs(outputs(model, name) - outputs(original, name)).max() < 0.1  # bf16 is close


def test_weights_of_other_dtypes_are_refused_or_cast(tmp_path):
    from safetensors.numpy import load_file

    tensors = load_file(str(FIXTURES / "bert" / "model.safetensors"))
    stored = {key: ("F64", v.shape, v.astype("<f8").tobytes()) for key, v in tensors.items()}
    stored["embeddings.position_ids"] = ("I64", (1, 64), np.arange(64, dtype="<i8").tobytes())  # unread
    write_safetensors(variant("bert", tmp_path / "f64") / "model.safetensors", stored)
    texts = reference("bert")[1]["texts"]
    np.testing.assert_allclose(TransformerEncoder.from_pretrained(tmp_path / "f64").transform(texts),
                               TransformerEncoder.from_pretrained(FIXTURES / "bert").transform(texts),
                               atol=1e-6)
    key = "encoder.layer.0.attention.self.query.weight"
    for dtype, label in (("F8_E4M3", "F8_E4M3"), ("I8", "int8")):
        path = variant("bert", tmp_path / dtype)
        write_safetensors(path / "model.safetensors", dict(stored, **{key: (dtype, (32, 32), bytes(1024))}))
        with pytest.raises(TypeError, match=rf"{key} is stored as {label}.*float32"):
            TransformerEncoder.from_pretrained(path)


@pytest.mark.parametrize("name, config, message", [
    ("bert", {"max_position_embeddings": 128},
     r"position_embeddings.weight has shape \(64, 32\).*\(128, 32\)"),
    ("gpt2", {"n_positions": 32}, r"wpe.weight has shape \(64, 32\).*\(32, 32\)"),
    ("bert", {"hidden_size": 48}, r"word_embeddings.weight has shape \(120, 32\).*\(120, 48\)"),
    ("distilbert", {"hidden_dim": 80}, r"ffn.lin1.weight has shape \(64, 32\).*\(80, 32\)"),
    ("bert", {"num_hidden_layers": 1}, r"num_hidden_layers=1.*encoder.layer.1"),
    ("distilbert", {"n_layers": 1}, r"n_layers=1.*transformer.layer.1"),
    ("gpt2", {"n_layer": 1}, r"n_layer=1.*h.1"),
    ("bert", {"num_attention_heads": 5}, r"hidden_size=32.*num_attention_heads=5"),
    ("gpt2", {"n_head": 3}, r"n_embd=32.*n_head=3"),
    ("bert", {"hidden_size": None}, r"config.json has no hidden_size"),
    ("gpt2", {"n_embd": "32"}, r"n_embd='32'.*positive integer"),
    ("gpt2", {"eos_token_id": 400}, r"eos_token_id=400.*0\.\.299"),
    ("gpt2", {"tie_word_embeddings": False}, r"tie_word_embeddings=false"),
])
def test_config_disagreeing_with_the_weights_is_refused(name, config, message, tmp_path):
    path = variant(name, tmp_path, config=config)
    if None in config.values():
        settings = json.loads((path / "config.json").read_text())
        (path / "config.json").write_text(json.dumps({k: v for k, v in settings.items() if v is not None
                                                      or k not in config}))
    with pytest.raises(ValueError, match=message):
        LOADERS[name].from_pretrained(path)


# ------------------------------------------------------------------ vectorizer


@pytest.mark.parametrize("analyzer", ["bpe", "wordpiece"])
def test_vectorizer_trains_subword_vocabulary(analyzer):
    texts = ["the cat sat on the mat", "the dog sat on the log", "cats and dogs"] * 5
    vec = SequenceVectorizer(analyzer=analyzer, vocab_size=60)
    X = vec.fit_transform(texts)
    assert X.dtype == np.int32 and X.shape[0] == len(texts)
    # every piece of the learned tokenizer has an id (byte-level BPE starts from 256 bytes)
    assert set(vec.vocabulary_) == set(vec.tokenizer_.vocabulary)
    assert len(vec.tokenizer_.vocabulary) <= (60 if analyzer == "wordpiece" else 256 + 60)
    assert (vec.transform(["an unseen catalogue"]) > 1).any()
    pipe = make_pipeline(SequenceVectorizer(analyzer=analyzer, vocab_size=60),
                         TransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_iter=2,
                                               random_state=0))
    pipe.fit(texts, [0, 1, 0] * 5)
    assert pipe.predict(texts).shape == (len(texts),)


def test_vectorizer_uses_a_checkpoint_tokenizer():
    vec = SequenceVectorizer(tokenizer=str(FIXTURES / "bert" / "tokenizer.json")).fit(["the cat sat"])
    assert vec.inverse_transform(vec.transform(["the cat sat"])) == [
        vec.tokenizer_("the cat sat")]
    pickle.loads(pickle.dumps(vec)).transform(["the cat"])


def test_vectorizer_subword_needs_vocab_size_sense():
    with pytest.raises(ValueError, match="vocab_size"):
        SequenceVectorizer(analyzer="word", vocab_size=50).fit(["a b"])


def test_loaded_models_save_and_load_safely(tmp_path):
    pytest.importorskip("skops")
    import sktransformer

    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert")
    clf = TransformerClassifier(encoder=enc, max_iter=1, random_state=0).fit(["a cat", "a dog"], [0, 1])
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")
    llama = TransformerLanguageModel.from_pretrained(FIXTURES / "llama")
    for model, check in ((enc, lambda m: m.transform(["a dog"])),
                         (clf, lambda m: m.predict_proba(["a dog"])),
                         (lm, lambda m: m.generate("a dog ran in", 5, temperature=0)),
                         (llama, lambda m: m.predict_proba(["a dog ran in"])[0])):
        sktransformer.save(model, tmp_path / "model.skops")
        again = sktransformer.load(tmp_path / "model.skops")
        np.testing.assert_array_equal(np.asarray(check(again)), np.asarray(check(model)))


# ------------------------------------------------- a local directory, nothing downloaded


@pytest.fixture
def no_network(monkeypatch):
    """Sockets and name lookups that fail, recording every attempt (a download would show)."""
    import socket

    attempts = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append((what, args))
            raise OSError(f"network access attempted ({what})")
        return blocked

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, refuse(name))
    return attempts


@pytest.mark.parametrize("loader, name", [
    (TransformerEncoder, "bert-base-uncased"),
    (TransformerEncoder, "sentence-transformers/all-MiniLM-L6-v2"),
    (TransformerLanguageModel, "gpt2"),
    (TransformerLanguageModel, "openai-community/gpt2"),
])
def test_a_hub_name_is_a_missing_directory_not_a_download(loader, name, no_network, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)  # no directory of that name here
    with pytest.raises(FileNotFoundError, match=rf"No checkpoint directory {name} \(a local directory "
                                                r".*nothing is downloaded\)"):
        loader.from_pretrained(name)
    with pytest.raises(FileNotFoundError, match="No tokenizer file"):
        SequenceVectorizer(tokenizer=name).fit(["the cat sat"])
    assert no_network == []


def test_a_local_checkpoint_loads_without_the_network(no_network):
    texts = reference("bert")[1]["texts"]
    assert TransformerEncoder.from_pretrained(FIXTURES / "bert").transform(texts).shape == (4, 32)
    assert isinstance(TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2").generate(
        "the cat", 3, temperature=0), str)
    assert no_network == []


# ---------------------------------------------- fit continues from the checkpoint


@pytest.mark.parametrize("name", ENCODERS + ["gpt2"])
def test_warm_start_defaults_to_true_so_fit_continues_from_the_checkpoint(name):
    model = LOADERS[name].from_pretrained(FIXTURES / name, max_iter=1, learning_rate_init=1e-12,
                                          random_state=0)
    assert model.get_params()["warm_start"] is True
    before = outputs(model, name)
    meta = reference(name)[1]
    model.fit(meta["prompts"] if name == "gpt2" else meta["texts"])
    assert model.n_iter_ == 1
    # one step at a negligible rate: still the checkpoint's network (a new one differs by ~1)
    assert np.abs(outputs(model, name) - before).max() <= 1e-6
    if name != "gpt2":
        assert np.abs(outputs(model, name) - reference(name)[0]["hidden"]).max() <= TOLERANCE
    assert LOADERS[name].from_pretrained(FIXTURES / name, warm_start=False).warm_start is False


# ----------------------------------------------------------------- float16


@pytest.mark.parametrize("name", ENCODERS + ["gpt2"])
def test_float16_checkpoint_loads_as_float32(name, tmp_path):
    from safetensors.numpy import load_file, save_file

    from sktransformer._tree import tree_leaves

    tensors = load_file(str(FIXTURES / name / "model.safetensors"))
    f16, rounded = variant(name, tmp_path / "f16"), variant(name, tmp_path / "rounded")
    save_file({key: value.astype(np.float16) for key, value in tensors.items()},
              str(f16 / "model.safetensors"))
    save_file({key: value.astype(np.float16).astype(np.float32) for key, value in tensors.items()},
              str(rounded / "model.safetensors"))
    with open(f16 / "model.safetensors", "rb") as stored:  # the file really holds F16 tensors
        header = json.loads(stored.read(int.from_bytes(stored.read(8), "little")))
    assert {spec["dtype"] for key, spec in header.items() if key != "__metadata__"} == {"F16"}
    model = LOADERS[name].from_pretrained(f16)
    assert {leaf.dtype for leaf in tree_leaves(model.params_)} == {np.dtype(np.float32)}
    same = LOADERS[name].from_pretrained(rounded)
    assert np.abs(outputs(model, name) - outputs(same, name)).max() <= 1e-6
    original = outputs(LOADERS[name].from_pretrained(FIXTURES / name), name)
    assert np.abs(outputs(model, name) - original).max() < 1e-2  # float16's rounding, no more


# ------------------------------------------------------- advice on missing files


ADVICE_WEIGHTS = ("only single-file safetensors weights are read (not pytorch_model.bin, sharded or "
                  "TensorFlow weights); re-save with save_pretrained(..., safe_serialization=True)")
ADVICE_TOKENIZER = ("a fast tokenizer's tokenizer.json is needed (vocab.txt alone is not read); save it "
                    "with a fast tokenizer's save_pretrained")


@pytest.mark.parametrize("present, missing, advice", [
    (("model.safetensors.index.json", "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors"), "model.safetensors", ADVICE_WEIGHTS),
    (("tf_model.h5",), "model.safetensors", ADVICE_WEIGHTS),
    (("pytorch_model.bin",), "model.safetensors", ADVICE_WEIGHTS),
    (("vocab.txt",), "tokenizer.json", ADVICE_TOKENIZER),
    ((), "model.safetensors", None),
    ((), "tokenizer.json", None),
], ids=["sharded", "tensorflow", "pytorch", "vocab.txt", "no-weights", "no-tokenizer"])
def test_missing_files_get_advice_for_what_is_there_instead(present, missing, advice, tmp_path):
    for file in ("config.json", "model.safetensors", "tokenizer.json"):
        if file != missing:
            shutil.copy(FIXTURES / "bert" / file, tmp_path / file)
    for file in present:
        (tmp_path / file).write_bytes(b"{}")
    with pytest.raises(FileNotFoundError) as error:
        TransformerEncoder.from_pretrained(tmp_path)
    expected = f"Checkpoint {tmp_path} lacks {missing}" + (f"; {advice}" if advice else "") + "."
    assert str(error.value) == expected


def test_pickled_weights_are_never_loaded(tmp_path):
    """A pytorch_model.bin that would create a file if unpickled: refused, and nothing ran."""
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return open, (str(marker), "w")

    for file in ("config.json", "tokenizer.json"):
        shutil.copy(FIXTURES / "bert" / file, tmp_path / file)
    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(FileNotFoundError, match="lacks model.safetensors; only single-file"):
        TransformerEncoder.from_pretrained(tmp_path)
    assert not marker.exists()


# ------------------------------------------------------- options and parameters


@pytest.mark.parametrize("option", ["scale_attn_by_inverse_layer_idx", "add_cross_attention"])
def test_unsupported_gpt2_options_are_refused_by_name(option, tmp_path):
    with pytest.raises(ValueError, match=rf"^Unsupported GPT-2 option {option}=true in config.json"):
        TransformerLanguageModel.from_pretrained(variant("gpt2", tmp_path / "on", config={option: True}))
    # false (transformers' default) is what the network computes: it loads, with the same numbers
    off = TransformerLanguageModel.from_pretrained(variant("gpt2", tmp_path / "off", config={option: False}))
    np.testing.assert_array_equal(outputs(off, "gpt2"),
                                  outputs(TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2"),
                                          "gpt2"))


ARCHITECTURE = {"d_model": 64, "n_heads": 4, "n_layers": 1, "d_ff": 128, "norm_first": True,
                "activation": "relu", "positional_encoding": "sinusoidal", "input_type": "numeric"}


@pytest.mark.parametrize("name", ["bert", "gpt2"])
@pytest.mark.parametrize("parameter", list(ARCHITECTURE))
def test_architecture_parameters_cannot_be_set(name, parameter):
    loader = LOADERS[name]
    with pytest.raises(ValueError, match=rf"^{loader.__name__}\.from_pretrained: {parameter} come\(s\) "
                                         r"from the checkpoint and cannot be set\.$"):
        loader.from_pretrained(FIXTURES / name, **{parameter: ARCHITECTURE[parameter]})


def test_several_architecture_parameters_are_named_together():
    with pytest.raises(ValueError, match=r"n_heads, n_layers come\(s\) from the checkpoint"):
        TransformerEncoder.from_pretrained(FIXTURES / "distilbert", n_layers=1, n_heads=4)


# ----------------------------------------------- without the [pretrained] extra


INSTALL = r'pip install "sktransformer\[pretrained\]"'


def _block(monkeypatch, package):
    """Make ``package`` unimportable in this process, as if it were not installed."""
    for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(ImportError):
        __import__(package)


@pytest.mark.parametrize("package", ["safetensors", "tokenizers"])
@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_from_pretrained_without_the_extra_says_how_to_install_it(package, name, monkeypatch):
    _block(monkeypatch, package)
    with pytest.raises(ImportError, match=rf"needs the '{package}' package: {INSTALL}$"):
        LOADERS[name].from_pretrained(FIXTURES / name)


@pytest.mark.parametrize("options", [{"analyzer": "bpe"}, {"analyzer": "wordpiece", "vocab_size": 50},
                                     {"tokenizer": str(FIXTURES / "bert" / "tokenizer.json")}],
                         ids=["bpe", "wordpiece", "tokenizer"])
def test_subword_vectorizer_without_tokenizers_says_how_to_install_it(options, monkeypatch):
    _block(monkeypatch, "tokenizers")
    with pytest.raises(ImportError, match=rf"needs the 'tokenizers' package: {INSTALL}$"):
        SequenceVectorizer(**options).fit(["the cat sat", "a dog ran"])


# ------------------------------------------------------------------ clone


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_clone_of_a_loaded_estimator_is_the_checkpoint_loaded_again(name):
    loaded = LOADERS[name].from_pretrained(FIXTURES / name)
    copy = clone(loaded)
    for parameter in ("d_model", "n_heads", "n_layers", "d_ff", "max_len", "warm_start", "norm_first"):
        assert copy.get_params()[parameter] == loaded.get_params()[parameter], parameter
    assert copy.params_ is not loaded.params_
    np.testing.assert_array_equal(outputs(copy, name), outputs(loaded, name))


# ----------------------------------------------------- subword vectorizers


@pytest.mark.parametrize("analyzer", ["bpe", "wordpiece"])
def test_a_word_unseen_in_fit_gets_subword_ids_not_unknown(analyzer):
    from sktransformer.datasets import make_story_corpus

    texts = make_story_corpus(200, random_state=0)
    vec = SequenceVectorizer(analyzer=analyzer).fit(texts)  # vocab_size=1000, the default
    seen = {w for w in SequenceVectorizer().fit(texts).vocabulary_}
    for word in ["tomcats", "dogsled", "catwalks", "sunflower"]:
        assert word not in seen and set(word) <= set("".join(seen))  # unseen, of seen letters
        pieces = vec.tokenizer_(word)
        assert "[UNK]" not in pieces and len(pieces) > 1
        ids = vec.transform([word])[0]
        ids = ids[ids > 0]
        assert len(ids) == len(pieces)
        assert (ids >= 2).all(), (word, pieces, ids)


@pytest.mark.parametrize("analyzer", ["bpe", "wordpiece"])
def test_a_word_seen_in_fit_keeps_its_subword_ids(analyzer):
    texts = ["the cat sat on the mat", "the dog sat on the log", "cats and dogs"] * 5
    vec = SequenceVectorizer(analyzer=analyzer, vocab_size=60).fit(texts)
    ids = vec.transform(["the cats sat"])[0]
    assert (ids[ids > 0] >= 2).all() and (ids > 0).sum() == len(vec.tokenizer_("the cats sat"))


# ---------------------------------------- FrozenEstimator inside cross-validation


TEXTS = [f"{a} {b} {c}" for a, b, c in [
    ("the", "cat", "sat"), ("a", "cat", "ran"), ("the", "dog", "sat"), ("a", "dog", "ran"),
    ("one", "bird", "sang"), ("two", "bird", "flew"), ("one", "fish", "sang"), ("two", "fish", "flew"),
    ("red", "fox", "hid"), ("blue", "fox", "ate"), ("red", "owl", "hid"), ("blue", "owl", "ate")]]
GROUPS = [set(" ".join(TEXTS[i : i + 4]).split()) for i in (0, 4, 8)]  # each fold's words are its own
Y = [0, 0, 1, 1] * 3
START = dict(max_iter=1, learning_rate_init=1e-12, random_state=0)  # a step that changes nothing


def _same_weights(model, encoder):
    from sktransformer._tree import tree_leaves

    for part in ("embed", "encoder"):
        ours, theirs = tree_leaves(model.params_[part]), tree_leaves(encoder.params_[part])
        if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours, theirs, strict=True)):
            return False
        if not all(np.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(ours, theirs, strict=True)):
            return False
    return True


@pytest.mark.parametrize("kind", ["checkpoint", "fitted"])
def test_frozen_encoder_starts_every_fold_from_its_weights(kind):
    from sklearn.model_selection import KFold, cross_validate

    def make():
        if kind == "checkpoint":
            return TransformerEncoder.from_pretrained(FIXTURES / "bert")
        return TransformerEncoder(d_model=16, n_heads=2, n_layers=1, max_iter=2, random_state=0).fit(TEXTS)

    encoder = make()
    cv = KFold(3)
    frozen = cross_validate(TransformerClassifier(encoder=FrozenEstimator(encoder), **START), TEXTS, Y,
                            cv=cv, return_estimator=True)["estimator"]
    assert len(frozen) == 3
    for model in frozen:
        assert _same_weights(model, encoder)
        assert model.vocabulary_ == encoder.vocabulary_
    assert _same_weights(encoder, make())  # the encoder itself is untouched
    # the reason for FrozenEstimator: a plain encoder is cloned, and a clone has no weights,
    # except for a loaded checkpoint, whose clone loads it again
    plain = cross_validate(TransformerClassifier(encoder=encoder, **START), TEXTS, Y, cv=cv,
                           return_estimator=True)["estimator"]
    started_from_weights = [_same_weights(model, encoder) for model in plain]
    assert all(started_from_weights) if kind == "checkpoint" else not any(started_from_weights)


def test_unfitted_encoder_is_pretrained_on_each_training_fold_only():
    from sklearn.model_selection import KFold, cross_validate

    params = dict(d_model=16, n_heads=2, n_layers=1, max_iter=2, random_state=0)
    encoder = TransformerEncoder(**params)
    folds = list(KFold(3).split(TEXTS))
    models = cross_validate(TransformerClassifier(encoder=encoder, **START), TEXTS, Y, cv=KFold(3),
                            return_estimator=True)["estimator"]
    assert not hasattr(encoder, "params_")  # the estimator given is left unfitted
    for model, (train, _), held_out in zip(models, folds, GROUPS, strict=True):
        assert not hasattr(model.encoder, "params_")
        # the words of the two training groups, nothing of the test fold
        assert set(model.vocabulary_) == set().union(*(g for g in GROUPS if g is not held_out))
        on_fold = TransformerEncoder(**params).fit([TEXTS[i] for i in train])
        assert model.vocabulary_ == on_fold.vocabulary_
        assert _same_weights(model, on_fold)


# ------------------------------------------ a checkpoint's path as the encoder parameter

from sktransformer import TransformerRegressor, TransformerTagger  # noqa: E402


def _path_estimator(Estimator=TransformerClassifier, encoder=None, **params):
    return Estimator(encoder=str(FIXTURES / "bert") if encoder is None else encoder, **params)


def test_grid_search_over_the_learning_rate_from_a_checkpoint_path():
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(_path_estimator(max_iter=1, random_state=0),
                          {"learning_rate_init": [1e-4, 1e-3]}, cv=2).fit(TEXTS, Y)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.encoder == str(FIXTURES / "bert")
    assert search.best_estimator_.predict(TEXTS).shape == (len(TEXTS),)


@pytest.mark.parametrize("as_path", [str, pathlib.Path])
@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_every_fold_starts_from_the_checkpoint_at_the_path(Estimator, as_path):
    from sklearn.model_selection import KFold, cross_validate

    checkpoint = TransformerEncoder.from_pretrained(FIXTURES / "bert")
    models = cross_validate(_path_estimator(Estimator, as_path(FIXTURES / "bert"), **START), TEXTS,
                            np.array(Y, float) if Estimator is TransformerRegressor else Y,
                            cv=KFold(3), return_estimator=True)["estimator"]
    assert len(models) == 3
    for model in models:
        assert model.encoder == as_path(FIXTURES / "bert")  # the parameter, as given
        assert _same_weights(model, checkpoint)
        assert model._codec.max_len == 64  # the checkpoint's positions (max_len=512 is more)
        assert model.config_.pooling == "mean"


def test_the_path_is_loaded_with_the_estimator_s_max_len_and_pooling():
    model = _path_estimator(max_len=8, pooling="cls", **START).fit(TEXTS, Y)
    assert model._codec.max_len == 8 and model.config_.pooling == "first"  # the checkpoint's [CLS]
    assert model.config_.max_len == 64  # the network keeps every learned position
    assert _same_weights(model, TransformerEncoder.from_pretrained(FIXTURES / "bert"))


def test_clone_keeps_the_path_and_a_missing_directory_is_the_loader_s_error(tmp_path):
    from sklearn.exceptions import NotFittedError

    model = _path_estimator(max_iter=1)
    copy = clone(model)
    assert copy.encoder is model.encoder and copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(TEXTS)
    missing = tmp_path / "no-such-checkpoint"
    for Estimator in (TransformerClassifier, TransformerRegressor, TransformerTagger):
        with pytest.raises(FileNotFoundError, match=r"No checkpoint directory .*no-such-checkpoint"):
            Estimator(encoder=str(missing), max_iter=1).fit(TEXTS, Y)


def test_a_fitted_model_keeps_the_weights_not_the_directory(tmp_path):
    pytest.importorskip("skops")
    import sktransformer

    directory = tmp_path / "checkpoint"
    shutil.copytree(FIXTURES / "bert", directory)
    model = _path_estimator(encoder=str(directory), max_iter=2, random_state=0).fit(TEXTS, Y)
    expected = model.predict_proba(TEXTS)
    pickled = pickle.dumps(model)
    sktransformer.save(model, tmp_path / "model.skops")
    shutil.rmtree(directory)
    for again in (pickle.loads(pickled), sktransformer.load(tmp_path / "model.skops")):
        np.testing.assert_array_equal(again.predict_proba(TEXTS), expected)
        assert again.encoder == str(directory)
    with pytest.raises(FileNotFoundError):  # a new fit loads the path again
        clone(model).fit(TEXTS, Y)


def test_another_path_after_fit_is_refused_by_warm_start_and_partial_fit(tmp_path):
    other = tmp_path / "other"
    shutil.copytree(FIXTURES / "bert", other)
    model = _path_estimator(**START).fit(TEXTS, Y)
    fitted = model.get_params()
    model.set_params(warm_start=True).fit(TEXTS, Y)  # the same path: training continues
    assert model.n_iter_ == 2
    model.set_params(encoder=str(other))
    for how in (lambda: model.fit(TEXTS, Y), lambda: model.partial_fit(TEXTS, Y)):
        with pytest.raises(ValueError, match=r"was given encoder='.*other' \(the model was fitted "):
            how()
    assert model.n_iter_ == 2
    model.set_params(**fitted)
    assert model.n_iter_ == 2 and model.predict(TEXTS).shape == (len(TEXTS),)


# ------------------------------------------------------------ edited config.json and tokenizer.json


def _edited_copy(tmp_path, name, edit_config=None, tokenizer_text=None):
    import shutil

    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    if edit_config is not None:
        config = json.loads((target / "config.json").read_text())
        (target / "config.json").write_text(json.dumps(edit_config(config)))
    if tokenizer_text is not None:
        (target / "tokenizer.json").write_text(tokenizer_text)
    return target


@pytest.mark.parametrize("name, key, value", [
    ("bert", "layer_norm_eps", -1.0), ("bert", "layer_norm_eps", None), ("bert", "layer_norm_eps", True),
    ("gpt2", "layer_norm_epsilon", float("nan")), ("gpt2", "layer_norm_epsilon", 0),
    ("bert", "type_vocab_size", 0), ("bert", "type_vocab_size", None), ("bert", "hidden_act", ["gelu"]),
])
def test_config_values_that_would_give_nan_or_drop_weights_are_refused_by_key(tmp_path, name, key,
                                                                                 value):
    directory = _edited_copy(tmp_path, name, lambda c: {**c, key: value})
    cls = TransformerEncoder if name == "bert" else TransformerLanguageModel
    with pytest.raises(ValueError, match=key if key != "hidden_act" else "activation"):
        cls.from_pretrained(directory)


@pytest.mark.parametrize("config_text, tokenizer_text, match", [
    ("[1, 2]", None, "JSON object"), ("{not json", None, "not valid JSON"),
    (None, '{"model": {"type": "Nonsense"}}', "cannot be read as a tokenizer"),
])
def test_unreadable_config_or_tokenizer_files_are_named(tmp_path, config_text, tokenizer_text, match):
    directory = _edited_copy(tmp_path, "bert", tokenizer_text=tokenizer_text)
    if config_text is not None:
        (directory / "config.json").write_text(config_text)
    with pytest.raises(ValueError, match=match):
        TransformerEncoder.from_pretrained(directory)


@pytest.mark.parametrize("name", ["bert", "gpt2"])
@pytest.mark.parametrize("cut", ["half", "empty", "garbage"])
def test_a_truncated_or_corrupt_weights_file_is_refused_naming_it(tmp_path, name, cut):
    # safetensors' own SafetensorError (no ValueError, no file name) escaped every loader
    directory = _edited_copy(tmp_path, name)
    weights = directory / "model.safetensors"
    raw = weights.read_bytes()
    weights.write_bytes({"half": raw[: len(raw) // 2], "empty": b"", "garbage": b"x" * 100}[cut])
    with pytest.raises(ValueError, match="model.safetensors is not a readable safetensors file"):
        LOADERS[name].from_pretrained(directory)
    if name == "bert":  # a path given as encoder= is read at fit
        with pytest.raises(ValueError, match="not a readable safetensors"):
            TransformerClassifier(encoder=str(directory), max_iter=1).fit(["a b", "c"], [0, 1])


def test_a_checkpoint_language_model_refuses_token_ids_as_prompt_or_x():
    # transformers' habit generate(tokenizer(text)["input_ids"]) read every id as a zero vector
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")
    input_ids = lm.analyzer.backend.encode("hello world").ids
    with pytest.raises(TypeError, match="^prompt holds integers .token ids"):
        lm.generate(input_ids, max_new_tokens=2)
    with pytest.raises(TypeError, match="^X holds integers .token ids"):
        lm.score([input_ids])
    assert isinstance(lm.generate("hello world", max_new_tokens=2), str)  # text still works


@pytest.mark.parametrize("name", ["bert", "distilbert", "roberta"])
def test_a_checkpoints_own_masked_token_head_matches_transformers(name):
    # the stored head (cls.predictions, vocab_transform, lm_head) was ignored for a random one
    from sktransformer.encoder import masked_token_logits

    ref = np.load(FIXTURES / f"{name}_mlm" / "reference_mlm.npz")
    enc = TransformerEncoder.from_pretrained(FIXTURES / f"{name}_mlm")
    mask = ref["mask"].astype(bool)
    hidden, _ = encode(enc.params_, enc.config_, ref["ids"], mask)
    log_p = log_softmax(masked_token_logits(enc.params_, hidden, enc.config_))
    assert np.abs(log_p - ref["log_p"])[mask].max() <= TOLERANCE


@pytest.mark.parametrize("name", ["bert", "bert_mlm", "roberta"])
def test_the_score_of_a_loaded_checkpoint_is_the_same_on_every_load(name):
    # a head drawn from an unseeded generator gave another score on every load
    texts = ["the cat sat on the mat", "a dog ran in the park"]
    scores = {TransformerEncoder.from_pretrained(FIXTURES / name).score(texts) for _ in range(3)}
    assert len(scores) == 1 and np.isfinite(scores.pop())


@pytest.mark.parametrize("name", ["bert", "roberta"])
def test_masked_token_training_and_scoring_never_hide_special_tokens(monkeypatch, name):
    # [CLS] and [SEP] (<s>, </s>) were hidden and predicted like words; score([""]) scored them
    import sktransformer.encoder as encoder_module

    seen, corrupt = [], encoder_module.corrupt_tokens

    def spy(X, hidden, *args, **kwargs):
        seen.append(X[hidden])
        return corrupt(X, hidden, *args, **kwargs)

    monkeypatch.setattr(encoder_module, "corrupt_tokens", spy)
    enc = TransformerEncoder.from_pretrained(FIXTURES / name, max_iter=3, random_state=0)
    special = enc._codec.tokenizer.special_ids
    texts = ["the cat sat", "a dog", "hello world"] * 4
    enc.score(texts)
    enc.fit(texts)
    hidden = np.concatenate(seen)
    assert len(hidden) and not np.isin(hidden, special).any()
    with pytest.raises(ValueError, match="no tokens to score"):
        enc.score([""])


def test_clone_of_a_loaded_checkpoint_loads_it_again_with_its_hyperparameters():
    # clone (GridSearchCV, cross_val_score) made a from-scratch network of the checkpoint's sizes
    texts = ["the cat sat", "a dog ran", "the cat ran", "a dog sat"] * 3
    y = [0, 1, 0, 1] * 3
    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert", max_iter=1, random_state=0)
    loaded = enc.transform(texts)
    enc.fit(texts)  # continued training: the clone is the checkpoint as stored
    copy = clone(enc.set_params(max_iter=2))
    assert copy is not enc and copy.max_iter == 2 and copy.d_model == enc.d_model
    np.testing.assert_array_equal(copy.transform(texts), loaded)
    tuned = clone(TransformerClassifier(encoder=copy, max_iter=2, random_state=0)).fit(texts, y)
    by_path = TransformerClassifier(encoder=str(FIXTURES / "bert"), max_iter=2, random_state=0)
    np.testing.assert_allclose(tuned.predict_proba(texts), by_path.fit(texts, y).predict_proba(texts))
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")
    assert clone(lm).generate("the cat", max_new_tokens=4, temperature=0) == lm.generate(
        "the cat", max_new_tokens=4, temperature=0)
    assert clone(TransformerEncoder(d_model=8)).d_model == 8  # any other model: as scikit-learn's


def test_clone_of_a_loaded_checkpoint_is_unfitted_where_it_cannot_be_the_checkpoint(tmp_path):
    from sklearn.exceptions import NotFittedError

    texts = ["the cat sat", "a dog ran"] * 3
    enc = TransformerEncoder.from_pretrained(FIXTURES / "bert").set_output(transform="pandas")
    assert hasattr(clone(enc).transform(texts), "columns")  # output settings kept, as scikit-learn's
    changed = clone(TransformerEncoder.from_pretrained(FIXTURES / "bert").set_params(n_layers=1))
    assert changed.n_layers == 1 and not hasattr(changed, "params_")  # a new architecture
    refit = TransformerEncoder.from_pretrained(FIXTURES / "bert", warm_start=False, max_iter=1)
    assert not hasattr(clone(refit.fit(texts)), "params_")  # a scratch model now
    shutil.copytree(FIXTURES / "bert", tmp_path / "bert")
    moved = TransformerEncoder.from_pretrained(tmp_path / "bert")
    shutil.rmtree(tmp_path / "bert")
    with pytest.warns(UserWarning, match="is gone or changed since it was loaded"):
        copy = clone(moved)
    with pytest.raises(NotFittedError):
        copy.transform(texts)


def test_the_readme_quotes_the_message_for_another_architecture(tmp_path):
    directory = _edited_copy(tmp_path, "bert", lambda c: {**c, "model_type": "t5"})
    with pytest.raises(ValueError) as error:
        TransformerEncoder.from_pretrained(directory)
    readme = " ".join((pathlib.Path(__file__).parents[1] / "README.md").read_text().split())
    assert f"`ValueError: {error.value}`" in readme


# ------------------------------------------------------------ Llama-family decoders

LLAMA_FAMILY = ["llama", "qwen2", "mistral"]


def llama_generations(name):
    """transformers' greedy ``model.generate(**tokenizer(prompt))`` of a Llama-family fixture."""
    return json.loads((FIXTURES / name / "reference_generate.json").read_text(encoding="utf-8"))


def start_and_tokens(lm, meta, text):
    """Model ids of [bos] + the text's tokens, as score and predict_proba read a text."""
    return np.array([[meta["bos_id"]] + lm.analyzer.backend.encode(
        text, add_special_tokens=False).ids]) + 2


@pytest.mark.parametrize("name", LLAMA_FAMILY)
def test_llama_family_logits_match_transformers(name):
    ref, meta = reference(name)
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / name)
    for i, prompt in enumerate(meta["prompts"]):
        logits = decode(lm.params_, lm.config_, start_and_tokens(lm, meta, prompt))[0]
        assert np.abs(logits - ref[f"logits_{i}"]).max() <= TOLERANCE, prompt
        # predict_proba row j: the next token after the prompt's tokens 0..j
        proba = np.exp(log_softmax(ref[f"logits_{i}"].astype(np.float64)))[1:]
        assert lm.predict_proba([prompt])[0].shape == proba.shape
        assert np.abs(lm.predict_proba([prompt])[0] - proba).max(initial=0) <= TOLERANCE, prompt
    # a right-padded batch, as tokenizer(texts) gives it (Llama's <s> first): the real positions
    mask = ref["mask"].astype(bool)
    logits = decode(lm.params_, lm.config_, ref["ids"] + 2, mask) * mask[:, :, None]
    assert np.abs(logits - ref["batch_logits"]).max() <= TOLERANCE


@pytest.mark.parametrize("name, record", [
    (name, record) for name in LLAMA_FAMILY for record in llama_generations(name)["records"]],
    ids=lambda value: value if isinstance(value, str) else repr(value["prompt"]))
def test_llama_family_greedy_generation_equals_transformers_generate(name, record):
    meta = llama_generations(name)
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / name)
    tokenizer = lm.analyzer.backend
    prompt, new_ids, n = record["prompt"], record["generated_ids"], meta["max_new_tokens"]
    eos = meta["eos_id"]
    # the prompt is read as tokenizer(text) reads it: Llama's and Mistral's tokenizers put <s> first
    assert lm._codec.encode_text(prompt) == [i + 2 for i in record["tokenizer_ids"]]
    expected = new_ids[: new_ids.index(eos)] if eos in new_ids else new_ids
    for use_cache in (True, False):
        assert lm.generate(prompt, n, temperature=0, use_cache=use_cache) == record["text"]
        tokens = [tokenizer.id_to_token(i) for i in record["tokenizer_ids"]]
        generated = lm.generate(tokens, n, temperature=0, use_cache=use_cache)
        assert [tokenizer.token_to_id(t) for t in generated] == expected


@pytest.mark.parametrize("name", LLAMA_FAMILY)
def test_llama_family_cache_keeps_the_key_value_heads_only(name):
    from sktransformer._model import new_cache

    lm = TransformerLanguageModel.from_pretrained(FIXTURES / name)
    config, n_kv_heads = lm.config_, json.loads((FIXTURES / name / "config.json").read_text())[
        "num_key_value_heads"]
    assert config.n_kv_heads == n_kv_heads < config.n_heads
    ids = np.array([[3, 4, 5, 6, 7]])
    cache = new_cache(config)
    full = decode(lm.params_, config, ids)
    first = decode(lm.params_, config, ids[:, :3], cache=cache)
    assert cache[0]["self"]["K"].shape == (1, n_kv_heads, 3, config.d_model // config.n_heads)
    step = decode(lm.params_, config, ids[:, 3:4], cache=cache, offset=3)
    last = decode(lm.params_, config, ids[:, 4:], cache=cache, offset=4)
    assert cache[1]["self"]["V"].shape == (1, n_kv_heads, 5, config.d_model // config.n_heads)
    np.testing.assert_allclose(np.concatenate([first, step, last], axis=1), full, atol=1e-5)


@pytest.mark.parametrize("name", LLAMA_FAMILY)
def test_llama_family_score_and_perplexity_match_transformers(name):
    ref, meta = reference(name)
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / name)
    for i, prompt in enumerate(meta["prompts"]):
        # [bos] + tokens predicts tokens + [eos], each from the logits of the position before
        targets = list(start_and_tokens(lm, meta, prompt)[0, 1:] - 2) + [meta["eos_id"]]
        log_p = log_softmax(ref[f"logits_{i}"].astype(np.float64))
        expected = log_p[np.arange(len(targets)), targets].mean()
        assert abs(lm.score([prompt]) - expected) <= TOLERANCE, prompt
        assert np.isclose(lm.perplexity([prompt]), np.exp(-lm.score([prompt])))


@pytest.mark.parametrize("name", LLAMA_FAMILY)
def test_llama_family_fine_tunes_through_the_estimator(name):
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / name, max_iter=5, learning_rate_init=1e-2,
                                                  random_state=0)
    text = ["the cat sat on the mat in the park"] * 4
    before, table = lm.score(text), lm.params_["embed"]["W"].copy()
    lm.fit(text)
    assert lm.n_iter_ == 5 and lm.score(text) > before + 0.5
    assert not np.array_equal(lm.params_["embed"]["W"], table)
    # the architecture is kept: no biases where the checkpoint has none, key/value heads as loaded
    attn = lm.params_["decoder"]["blocks"][0]["attn"]
    assert ("b" in attn["qkv"]) == (name == "qwen2") and "b" not in attn["out"]
    assert set(lm.params_["decoder"]["blocks"][0]["ff"]) == {"gate", "up", "down"}
    assert ("head" in lm.params_) == (name != "qwen2")  # qwen2's output is tied
    assert isinstance(lm.generate("the cat", max_new_tokens=3, temperature=0.8, random_state=0), str)
    again = pickle.loads(pickle.dumps(lm))
    assert again.generate("the cat", 6, temperature=0) == lm.generate("the cat", 6, temperature=0)


def test_llama_estimator_parameters_describe_the_checkpoint():
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "llama")
    assert (lm.positional_encoding, lm.activation, lm.max_len, lm.norm_first) == (
        "rotary", "swiglu", 64, True)
    copy = clone(lm)  # a fresh fit of the clone trains a network of the same sizes from scratch
    copy.set_params(max_iter=1, warm_start=False).fit(["the cat sat", "a dog ran"])
    assert set(copy.params_["decoder"]["blocks"][0]["ff"]) == {"gate", "up", "down"}


@pytest.mark.parametrize("layout", [
    {"rope_theta": 500.0},  # transformers 4: top level
    {"rope_theta": 500.0, "rope_scaling": None},
    {"rope_scaling": {"type": "default", "rope_theta": 500.0}},
    {"rope_parameters": {"rope_type": "default", "rope_theta": 500.0}},  # transformers 5
])
def test_rope_theta_is_read_from_either_config_layout(layout, tmp_path):
    def edit(config):
        config = {k: v for k, v in config.items() if k not in ("rope_parameters", "rope_theta")}
        return {**config, **layout}

    original = outputs_of(TransformerLanguageModel.from_pretrained(FIXTURES / "llama"))
    loaded = TransformerLanguageModel.from_pretrained(_edited_copy(tmp_path, "llama", edit))
    assert loaded.config_.rope_theta == 500.0
    np.testing.assert_array_equal(outputs_of(loaded), original)
    # the default base (10000) is another network: the fixture's 500 is read, not assumed
    other = TransformerLanguageModel.from_pretrained(_edited_copy(
        tmp_path / "default", "llama",
        lambda c: {**edit(c), "rope_parameters": None, "rope_scaling": None, "rope_theta": 10000.0}))
    assert np.abs(outputs_of(other) - original).max() > 1e-3


def outputs_of(lm):
    return np.concatenate([p.ravel() for p in lm.predict_proba(["the cat sat on the mat", "a dog"])])


@pytest.mark.parametrize("name, change, message", [
    ("llama", {"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 500.0}},
     'rope_parameters.rope_type="linear".*scaled variants'),
    ("llama", {"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, 'rope_scaling.rope_type="llama3"'),
    ("mistral", {"rope_scaling": {"type": "dynamic", "factor": 2.0}}, 'rope_scaling.rope_type="dynamic"'),
    ("qwen2", {"rope_parameters": {"rope_type": "yarn", "factor": 4.0}}, 'rope_type="yarn"'),
    ("llama", {"rope_parameters": {"full_attention": {"rope_type": "default"}}},
     "rope_parameters=.*one per layer type"),
    ("llama", {"partial_rotary_factor": 0.5}, "partial_rotary_factor=0.5"),
    ("llama", {"attention_bias": True}, "llama option attention_bias=true.*biases"),
    ("llama", {"mlp_bias": True}, "llama option mlp_bias=true.*biases"),
    ("llama", {"head_dim": 16}, "head_dim=16.*= 8"),
    ("mistral", {"head_dim": 4}, "mistral option head_dim=4"),
    ("mistral", {"hidden_act": "gelu"}, 'mistral option hidden_act="gelu".*silu'),
    ("qwen2", {"hidden_act": "relu"}, 'hidden_act="relu"'),
    ("qwen2", {"num_key_value_heads": 3}, "num_key_value_heads=3.*divide"),
    ("llama", {"rms_norm_eps": 0}, "rms_norm_eps=0"),
    ("llama", {"rope_theta": -1.0, "rope_parameters": None}, "rope_theta=-1.0"),
    ("llama", {"tie_word_embeddings": "yes"}, "tie_word_embeddings='yes'"),
    ("llama", {"bos_token_id": 500}, r"bos_token_id=500.*0\.\.152"),
])
def test_llama_family_options_the_network_lacks_are_refused_by_name(name, change, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        TransformerLanguageModel.from_pretrained(_edited_copy(tmp_path, name, lambda c: {**c, **change}))


def test_llama_family_options_switched_off_load_the_same_network(tmp_path):
    off = {"attention_bias": False, "mlp_bias": False, "head_dim": 8, "partial_rotary_factor": 1.0,
           "hidden_act": "silu", "pretraining_tp": 1}
    loaded = TransformerLanguageModel.from_pretrained(_edited_copy(tmp_path, "llama",
                                                                   lambda c: {**c, **off}))
    np.testing.assert_array_equal(outputs_of(loaded), outputs_of(
        TransformerLanguageModel.from_pretrained(FIXTURES / "llama")))


def test_sliding_window_bounds_max_len():
    lm = TransformerLanguageModel.from_pretrained(FIXTURES / "mistral")
    assert lm.max_len == lm.config_.max_len == 32  # sliding_window, shorter than the 64 positions
    assert TransformerLanguageModel.from_pretrained(FIXTURES / "mistral", max_len=16).config_.max_len == 16
    with pytest.raises(ValueError, match=r"max_len=33 .*sliding_window=32.*max_len <= 32"):
        TransformerLanguageModel.from_pretrained(FIXTURES / "mistral", max_len=33)
    with pytest.raises(ValueError, match=r"max_len=65 .*64 positions \(max_position_embeddings"):
        TransformerLanguageModel.from_pretrained(FIXTURES / "llama", max_len=65)


@pytest.mark.parametrize("change, max_len", [
    ({"use_sliding_window": True, "sliding_window": 16, "max_window_layers": 1, "layer_types": None}, 16),
    ({"use_sliding_window": True, "sliding_window": 16, "max_window_layers": 28, "layer_types": None}, 64),
    ({"use_sliding_window": True, "sliding_window": 16,
      "layer_types": ["full_attention", "sliding_attention"]}, 16),
    ({"use_sliding_window": False, "sliding_window": 16}, 64),
    ({"sliding_window": None}, 64),
])
def test_qwen2_sliding_window_counts_where_a_layer_uses_it(change, max_len, tmp_path):
    path = _edited_copy(tmp_path, "qwen2", lambda c: {**c, **change})
    assert TransformerLanguageModel.from_pretrained(path).max_len == max_len
    if max_len == 16:
        with pytest.raises(ValueError, match="sliding_window=16"):
            TransformerLanguageModel.from_pretrained(path, max_len=17)


def test_mistral_without_a_sliding_window_reads_all_its_positions(tmp_path):
    path = _edited_copy(tmp_path, "mistral", lambda c: {**c, "sliding_window": None})
    assert TransformerLanguageModel.from_pretrained(path).max_len == 64


@pytest.mark.parametrize("name", LLAMA_FAMILY)
def test_llama_family_checkpoints_that_disagree_are_refused(name, tmp_path):
    rows = json.loads((FIXTURES / name / "config.json").read_text())["vocab_size"]
    with pytest.raises(ValueError, match=rf"vocab_size={rows + 10}.*embed_tokens.weight has {rows} rows"):
        TransformerLanguageModel.from_pretrained(variant(name, tmp_path / "vocab",
                                                         config={"vocab_size": rows + 10}))
    stored = json.loads((FIXTURES / name / "config.json").read_text())["num_key_value_heads"]
    other = 3 - stored  # 1 or 2 key/value heads of width 8
    with pytest.raises(ValueError, match=rf"k_proj.weight has shape \({8 * stored}, 32\).*"
                                         rf"\({8 * other}, 32\)"):
        TransformerLanguageModel.from_pretrained(variant(name, tmp_path / "kv",
                                                         config={"num_key_value_heads": other}))


def test_rms_norm_eps_is_read_from_the_config(tmp_path):
    lm = TransformerLanguageModel.from_pretrained(_edited_copy(tmp_path, "llama",
                                                               lambda c: {**c, "rms_norm_eps": 10.0}))
    assert lm.config_.layer_norm_eps == 10.0 and lm.config_.norm_kind == "rms"
    original = TransformerLanguageModel.from_pretrained(FIXTURES / "llama")
    assert original.config_.layer_norm_eps == 1e-5  # the fixture's, not Llama's default 1e-6
    assert np.abs(outputs_of(lm) - outputs_of(original)).max() > 1e-3
# ------------------------------------------------------------ RoBERTa and XLM-RoBERTa

ROBERTAS = ["roberta", "xlm_roberta"]


@pytest.mark.parametrize("name", ROBERTAS)
def test_roberta_reads_its_tokenizer_s_ids_and_starts_mask_from_its_mask_token(name):
    from safetensors.numpy import load_file

    ref, meta = reference(name)
    enc = TransformerEncoder.from_pretrained(FIXTURES / name)
    inputs = enc._codec.transform(enc, meta["texts"])
    np.testing.assert_array_equal(np.where(inputs.mask, inputs.X, 1), ref["ids"])  # batch padded with <pad>
    assert enc.max_len == 64 and inputs.mask.sum(axis=1).max() == 64  # 66 rows, the first 2 unread
    _, tokens = enc.attention_weights(meta["texts"][:2])
    assert [(t[0], t[-1]) for t in tokens] == [("<s>", "</s>")] * 2
    table = load_file(str(FIXTURES / name / "model.safetensors"))["embeddings.word_embeddings.weight"]
    mask_id = enc._codec.tokenizer.vocabulary["<mask>"]
    np.testing.assert_array_equal(enc.params_["embed"]["W"][enc._codec.mask_id], table[mask_id])


@pytest.mark.parametrize("config, message", [
    ({"pad_token_id": None}, r"^config.json has pad_token_id=None: RoBERTa and XLM-RoBERTa number "
                             r"positions from pad_token_id \+ 1"),
    ({"pad_token_id": -1}, r"^config.json has pad_token_id=-1:"),
    ({"pad_token_id": 1.0}, r"^config.json has pad_token_id=1.0:"),
    ({"pad_token_id": 500}, r"^config.json has pad_token_id=500, which is not a row of the token "
                            r"embedding \(vocab_size=300\)"),
    ({"pad_token_id": 65}, r"^config.json has max_position_embeddings=66 and pad_token_id=65: positions "
                           r"start at pad_token_id \+ 1, which leaves none"),
    ({"is_decoder": True}, r"^Unsupported option is_decoder=true in config.json"),
    ({"position_embedding_type": "relative_key"}, r"^Unsupported position_embedding_type='relative_key'"),
    ({"max_position_embeddings": 130}, r"position_embeddings.weight has shape \(66, 32\).*\(130, 32\)"),
    ({"type_vocab_size": 2}, r"token_type_embeddings.weight has shape \(1, 32\).*\(2, 32\)"),
], ids=["pad-null", "pad-negative", "pad-float", "pad-past-vocabulary", "pad-no-positions",
        "is_decoder", "relative-positions", "positions", "token-types"])
def test_roberta_options_the_network_lacks_are_refused_by_name(config, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        TransformerEncoder.from_pretrained(variant("roberta", tmp_path, config=config))


def test_roberta_without_pad_token_id_numbers_positions_as_transformers_does(tmp_path):
    path = variant("roberta", tmp_path)
    settings = json.loads((path / "config.json").read_text())
    del settings["pad_token_id"]  # RobertaConfig's default is 1
    (path / "config.json").write_text(json.dumps(settings))
    enc = TransformerEncoder.from_pretrained(path)
    assert np.abs(outputs(enc, "roberta") - reference("roberta")[0]["hidden"]).max() <= TOLERANCE
    # is_decoder=false, transformers' default, is what the network computes
    off = TransformerEncoder.from_pretrained(variant("roberta", tmp_path / "off",
                                                     config={"is_decoder": False}))
    np.testing.assert_array_equal(outputs(off, "roberta"), outputs(enc, "roberta"))


def test_xlm_roberta_weights_under_the_roberta_prefix_load_as_a_task_model_saves_them(tmp_path):
    path = variant("xlm_roberta", tmp_path, tensors=lambda tensors: {
        **{"roberta." + key: value for key, value in tensors.items()},
        "lm_head.dense.weight": np.zeros((32, 32), np.float32)})  # a head the encoder does not read
    enc = TransformerEncoder.from_pretrained(path)
    assert np.abs(outputs(enc, "xlm_roberta") - reference("xlm_roberta")[0]["hidden"]).max() <= TOLERANCE


@pytest.mark.parametrize("name", ROBERTAS)
def test_roberta_from_a_path_fine_tunes_a_classifier_and_regressor_that_save_and_load(name, tmp_path):
    pytest.importorskip("skops")
    import sktransformer

    path = str(FIXTURES / name)
    start = _path_estimator(encoder=path, **START).fit(TEXTS, Y)
    assert _same_weights(start, TransformerEncoder.from_pretrained(path))
    texts = ["the cat sat on the mat", "a cat on a mat", "the cat sat", "cats on mats"] * 3 + \
            ["a dog ran in the park", "the dog ran", "dogs in the park", "a dog in a park"] * 3
    y = np.array([0] * 12 + [1] * 12)
    settings = dict(encoder=path, max_iter=15, learning_rate_init=3e-3, dropout=0.0, random_state=0)
    clf = TransformerClassifier(**settings).fit(texts, y)
    reg = TransformerRegressor(**settings).fit(texts, y.astype(float))
    assert clf.score(texts, y) == 1.0 and reg.score(texts, y.astype(float)) > 0.5
    for model, predict in ((clf, "predict_proba"), (reg, "predict")):
        sktransformer.save(model, tmp_path / "model.skops")
        for again in (sktransformer.load(tmp_path / "model.skops"), pickle.loads(pickle.dumps(model))):
            np.testing.assert_array_equal(getattr(again, predict)(texts), getattr(model, predict)(texts))


LONE, PAIR = "page \ud835 3 of the report", "nice \ud83d\udc4d movie"  # half a character; a pair


def test_text_with_utf16_surrogates_reaches_every_tokenizer_as_valid_unicode():
    """The tokenizers library refused a str holding a lone surrogate ("TextInputSequence must be
    str"); a pair of surrogates is the character it encodes, a lone one U+FFFD (transformers
    #43459, tiktoken #82 are the kind)."""
    fixed = {LONE: LONE.replace("\ud835", "\ufffd"), PAIR: PAIR.replace("\ud83d\udc4d", "\U0001f44d")}
    encoder = TransformerEncoder.from_pretrained(str(FIXTURES / "bert"))
    lm = TransformerLanguageModel.from_pretrained(str(FIXTURES / "gpt2"))
    bpe = SequenceVectorizer(analyzer="bpe", vocab_size=60).fit([LONE, PAIR, "the cat sat"])
    vec = SequenceVectorizer(tokenizer=str(FIXTURES / "bert" / "tokenizer.json")).fit([LONE])
    for raw, clean in fixed.items():
        np.testing.assert_array_equal(encoder.transform([raw]), encoder.transform([clean]))
        assert lm.score([raw]) == lm.score([clean])
        assert isinstance(lm.generate(raw, max_new_tokens=2, temperature=0), str)
        for model in (bpe, vec):
            np.testing.assert_array_equal(model.transform([raw]), model.transform([clean]))


@pytest.mark.parametrize("name", ["bert", "roberta"])
def test_a_bert_family_decoder_config_is_refused_by_name(name, tmp_path):
    """BERT's loader did not check is_decoder (RoBERTa's did): a BertLMHeadModel's checkpoint
    loaded as a bidirectional encoder, its every output off (transformers attends causally)."""
    with pytest.raises(ValueError, match=r"^Unsupported option is_decoder=true in config.json"):
        TransformerEncoder.from_pretrained(variant(name, tmp_path, config={"is_decoder": True}))
    TransformerEncoder.from_pretrained(variant(name, tmp_path / "off", config={"is_decoder": False}))


def test_a_tokenizer_file_in_another_encoding_is_named(tmp_path):
    # a bare UnicodeDecodeError naming no file (config.json in UTF-16 was already named)
    directory = _edited_copy(tmp_path, "bert")
    tokenizer = directory / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_text(encoding="utf-8").encode("utf-16"))
    for load in (lambda: TransformerEncoder.from_pretrained(directory),
                 lambda: SequenceVectorizer(tokenizer=str(tokenizer)).fit(["a b"])):
        with pytest.raises(ValueError, match=r"tokenizer.json cannot be read as a tokenizer: it is "
                                             r"not UTF-8 text"):
            load()


def test_a_list_of_end_tokens_is_refused_saying_to_choose_one(tmp_path):
    directory = _edited_copy(tmp_path, "gpt2", lambda c: {**c, "eos_token_id": [c["eos_token_id"], 1]})
    with pytest.raises(ValueError, match=r"eos_token_id=\[.*\], a list of ids; this model reads one "
                                         r"end-of-text token"):
        TransformerLanguageModel.from_pretrained(directory)
