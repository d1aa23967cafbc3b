"""Batch-invariant inference: a sample's outputs are bitwise the same whatever else is in the batch.

Every output is compared with ``np.array_equal`` (no tolerance) across row
permutations, subsets, inference chunk sizes and concurrent threads, for
every estimator (the regressor with ALiBi positions, the sequence
classifier with learned positions and [CLS] pooling) and a loaded
Llama-family checkpoint (RMSNorm, SwiGLU, grouped-query attention).
"""

import inspect
import json
import pathlib
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from configs import SMALL as _SMALL
from test_performance import _every_call

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
    _base,
    _layers,
    _model,
    _primitives,
    _runtime,
)
from sktransformer._inputs import Inputs

SMALL = {**_SMALL, "n_layers": 2, "max_iter": 2}
# The language model is wider: measured with OpenBLAS's SkylakeX kernels, at d_model=128 one
# document alone and a whole batch in one product give different bits when the batch-invariance
# mechanism is off; at d_model=16 they happened to agree, so a broken mechanism went unnoticed.
LM = {**SMALL, "d_model": 128}
WORDS = ["abba", "cab", "a", "bccbaab", "cc", "abcabcabcabc", "b", "aacb", "cabbac", "bb"] * 3
LABELS = [len(w) % 2 for w in WORDS]


def _rows(n=30):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 6))
    return X, (X[:, 0] > 0).astype(int)


LLAMA_TOKENIZER = pathlib.Path(__file__).parent / "fixtures" / "pretrained" / "llama" / "tokenizer.json"
LLAMA_TEXTS = ["the cat sat on the mat", "a dog", "Hello world, this is a tiny model.", "x", "",
               "the quick brown fox jumps over the lazy dog", "numbers like 42", "cats and dogs"] * 2


def _random_llama(directory, d_model=128, n_heads=4, n_kv_heads=2, d_ff=256, n_layers=2):
    """A Llama checkpoint with random weights, as wide as the language model above (see ``LM``)."""
    from safetensors.numpy import save_file

    vocab = len(json.loads(LLAMA_TOKENIZER.read_text())["model"]["vocab"])
    rng = np.random.default_rng(5)
    kv = n_kv_heads * d_model // n_heads
    shapes = {"model.embed_tokens.weight": (vocab, d_model), "model.norm.weight": (d_model,),
              "lm_head.weight": (vocab, d_model)}
    for i in range(n_layers):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (d_model,),
                       p + "post_attention_layernorm.weight": (d_model,),
                       p + "self_attn.q_proj.weight": (d_model, d_model),
                       p + "self_attn.k_proj.weight": (kv, d_model),
                       p + "self_attn.v_proj.weight": (kv, d_model),
                       p + "self_attn.o_proj.weight": (d_model, d_model),
                       p + "mlp.gate_proj.weight": (d_ff, d_model), p + "mlp.up_proj.weight": (d_ff, d_model),
                       p + "mlp.down_proj.weight": (d_model, d_ff)})
    save_file({name: (1 + 0.1 * rng.normal(size=shape) if name.endswith("norm.weight") else
                      rng.normal(size=shape) / np.sqrt(shape[-1])).astype(np.float32)
               for name, shape in shapes.items()}, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps({
        "model_type": "llama", "hidden_size": d_model, "intermediate_size": d_ff,
        "num_hidden_layers": n_layers, "num_attention_heads": n_heads,
        "num_key_value_heads": n_kv_heads, "max_position_embeddings": 64, "vocab_size": vocab,
        "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": False}))
    shutil.copy(LLAMA_TOKENIZER, directory / "tokenizer.json")
    return directory


def _fitted(llama_directory):
    """(name, fitted estimator, X, {method name: callable(X) -> array}) for every estimator kind."""
    X, y = _rows()
    ids = np.random.default_rng(1).integers(1, 9, size=(30, 12))
    ids[::3, 7:] = 0  # padded rows of different lengths
    clf = TransformerClassifier(**SMALL).fit(X, y)
    seq_clf = TransformerClassifier(pooling="cls", positional_encoding="learned", max_ngram=3,
                                    **SMALL).fit(
        [list(w) for w in WORDS], LABELS)
    enc = TransformerEncoder(**SMALL).fit(ids)
    series = np.random.default_rng(4).normal(size=(30, 9, 2))
    series_enc = TransformerEncoder(**SMALL).fit([s[: 3 + i % 7] for i, s in enumerate(series)])
    reg = TransformerRegressor(positional_encoding="alibi", max_ngram=2, **SMALL).fit(
        ids, ids.sum(axis=1) * 1.0)
    lm = TransformerLanguageModel(**LM).fit(WORDS)
    s2s = TransformerSeq2Seq(analyzer="char", **SMALL).fit(WORDS, [w[::-1] for w in WORDS])
    llama = TransformerLanguageModel.from_pretrained(llama_directory)
    first_layer = lambda est: lambda X: est.attention_weights(X)[0][0]  # noqa: E731
    return [
        ("classifier", X, {"predict_proba": clf.predict_proba, "attention": first_layer(clf)}),
        ("regressor", ids, {"predict": reg.predict, "attention": first_layer(reg)}),
        ("sequence classifier", [list(w) for w in WORDS],
         {"predict_proba": seq_clf.predict_proba, "attention": first_layer(seq_clf)}),
        ("encoder", ids, {"transform": enc.transform,
                          "transform_sequence": lambda X: enc.transform_sequence(X)[0],
                          "score": _encoder_score_terms(enc), "attention": first_layer(enc)}),
        ("series encoder", [s[: 3 + i % 7] for i, s in enumerate(series)],
         {"transform": series_enc.transform, "score": _encoder_score_terms(series_enc),
          "attention": first_layer(series_enc)}),
        ("language model", WORDS, {
            "predict_proba": lambda X: np.concatenate([p.ravel() for p in lm.predict_proba(X)]),
            # each document's log-likelihood from one call over all of X (a document scored in a
            # call of its own, as score([x]) per document did, has no batch to depend on)
            "log_likelihood": lambda X: lm._log_likelihoods(X)[0], "attention": first_layer(lm)}),
        ("seq2seq", WORDS, {"log_proba": s2s.predict_log_proba_of_output,
                            "predict": lambda X: np.array(s2s.predict(X), dtype=str),
                            "attention": first_layer(s2s)}),
        ("llama language model", LLAMA_TEXTS, {
            "predict_proba": lambda X: np.concatenate([p.ravel() for p in llama.predict_proba(X)]),
            "log_likelihood": lambda X: llama._log_likelihoods(X)[0],
            "attention": first_layer(llama)}),
    ]


_captured = threading.local()  # per thread: what each inference call's map_samples returned


def _capturing_map_samples(*args, **kwargs):
    out = _runtime.map_samples(*args, **kwargs)
    if getattr(_captured, "outputs", None) is not None:
        _captured.outputs.append(out)
    return out


def _encoder_score_terms(enc):
    """Each sample's (summed score, number of hidden values) inside one ``score(X)`` call.

    ``score(X)`` is the ratio of their sums; a sample's terms are its per-document score.
    """
    def terms(X):
        _captured.outputs = []
        try:
            score = enc.score(X)
            (rows,) = _captured.outputs
        finally:
            _captured.outputs = None
        assert rows.shape == (len(X), 2) and score == rows[:, 0].sum() / rows[:, 1].sum()
        return rows

    return terms


def _take(X, index):
    return X[index] if isinstance(X, np.ndarray) else [X[i] for i in index]


def _per_sample(method, X, index):
    """method(X[index]) split per sample (lists of ragged outputs are compared one by one)."""
    return method(_take(X, index))


@pytest.fixture(scope="module")
def llama_directory(tmp_path_factory):
    return _random_llama(tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="module")
def fitted(llama_directory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_base, "map_samples", _capturing_map_samples)
        yield _fitted(llama_directory)


@pytest.mark.parametrize("case", range(8))
def test_outputs_do_not_depend_on_the_rest_of_the_batch(fitted, case, monkeypatch):
    name, X, methods = fitted[case]
    n = len(X)
    perm = np.random.default_rng(2).permutation(n)
    for method_name, method in methods.items():
        if method_name == "predict_proba" and name.endswith("language model"):
            continue  # ragged per-sequence arrays: compared sample by sample below
        full = method(X)
        assert np.array_equal(_per_sample(method, X, perm), full[perm]), (name, method_name)
        subset = np.arange(0, n, 3)
        sub = method(_take(X, subset))
        if sub.ndim == full.ndim and sub.shape[1:] == full.shape[1:]:
            assert np.array_equal(sub, full[subset]), (name, method_name)
        monkeypatch.setattr(_runtime, "MAX_ROWS", 4)
        assert np.array_equal(method(X), full), (name, method_name, "chunk size")
        monkeypatch.undo()
        one = [method(_take(X, [i])) for i in (0, 5, n - 1)]
        for i, out in zip((0, 5, n - 1), one, strict=True):
            if out.shape[1:] == full.shape[1:]:
                assert np.array_equal(out[0], full[i]), (name, method_name, "alone")


def test_language_model_probabilities_alone_and_in_a_batch(fitted):
    (X,) = [X for name, X, _ in fitted if name == "language model"]
    est = TransformerLanguageModel(**LM).fit(WORDS)
    batch = est.predict_proba(X[::-1])[::-1]
    for i in range(len(X)):
        assert np.array_equal(est.predict_proba([X[i]])[0], batch[i]), i


def test_llama_probabilities_and_scores_alone_and_in_a_batch(llama_directory):
    llama = TransformerLanguageModel.from_pretrained(llama_directory)
    batch = llama.predict_proba(LLAMA_TEXTS[::-1])[::-1]
    for i, text in enumerate(LLAMA_TEXTS):
        assert np.array_equal(llama.predict_proba([text])[0], batch[i]), i
    scores = llama._log_likelihoods(LLAMA_TEXTS)[0]
    alone = [llama._log_likelihoods([text])[0][0] for text in LLAMA_TEXTS]
    assert np.array_equal(scores, alone)


def test_threads_agree_with_the_serial_call_bitwise(fitted):
    for name, X, methods in fitted:
        for method_name, method in methods.items():
            expected = method(X)
            with ThreadPoolExecutor(max_workers=4) as pool:
                results = list(pool.map(method, [X] * 8))
            for result in results:
                assert np.array_equal(result, expected), (name, method_name)


def test_vectorizer_pipeline_classifier_is_batch_invariant():
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(SequenceVectorizer(analyzer="char"),
                          TransformerClassifier(**SMALL)).fit(WORDS, LABELS)
    full = model.predict_proba(WORDS)
    perm = np.random.default_rng(3).permutation(len(WORDS))
    assert np.array_equal(model.predict_proba([WORDS[i] for i in perm]), full[perm])


# ----------------------------------------- seq2seq scores, and the widths samples run at


@pytest.fixture(scope="module")
def trained_seq2seq():
    """Trained part-way: some outputs right, some wrong, so both scores are between 0 and 1."""
    targets = [w[::-1] for w in WORDS]
    model = TransformerSeq2Seq(analyzer="char", **{**SMALL, "max_iter": 20,
                                                   "learning_rate_init": 1e-2}).fit(WORDS, targets)
    return model, WORDS, targets


def test_seq2seq_score_and_token_accuracy_add_up_the_samples_scored_alone(trained_seq2seq,
                                                                         monkeypatch):
    model, X, y = trained_seq2seq
    exact = np.array([model.score([a], [b]) for a, b in zip(X, y, strict=True)])
    total = np.array([max(len(model.predict([a])[0]), len(b)) for a, b in zip(X, y, strict=True)])
    right = np.array([model.token_accuracy([a], [b]) for a, b in zip(X, y, strict=True)]) * total
    np.testing.assert_array_equal(right, np.round(right))
    assert 0 < exact.mean() < 1 and 0 < right.sum() / total.sum() < 1

    def check(index):
        Xs, ys = [X[i] for i in index], [y[i] for i in index]
        assert model.score(Xs, ys) == exact[index].mean(), index
        assert model.token_accuracy(Xs, ys) == right[index].sum() / total[index].sum(), index

    perm = np.random.default_rng(5).permutation(len(X))
    check(np.arange(len(X)))
    check(perm)
    check(perm[:7])
    monkeypatch.setattr(_runtime, "MAX_ROWS", 4)
    check(perm)


def test_lengths_are_rounded_up_to_a_multiple_of_eight():
    assert _runtime.LENGTH_STEP == 8
    lengths = [0, 1, 7, 8, 9, 16, 17, 23, 30]
    mask = np.arange(30)[None, :] < np.array(lengths)[:, None]
    mask[4, :9] = [True, False, True, False, False, False, False, False, True]  # gaps: last real + 1
    widths = _runtime.sample_widths(Inputs(np.where(mask, 5, 0), mask), max_width=24)
    np.testing.assert_array_equal(widths, [8, 8, 8, 8, 16, 16, 24, 24, 24])
    np.testing.assert_array_equal(_runtime.sample_widths(Inputs(np.where(mask, 5, 0), mask), 0),
                                  [1] * 9)
    np.testing.assert_array_equal(_runtime.sample_widths(Inputs(np.ones((3, 5))), 24), [5, 5, 5])
    exact = _runtime.sample_widths(Inputs(np.where(mask, 5, 0), mask), max_width=24, step=1)
    np.testing.assert_array_equal(exact, [1, 1, 7, 8, 9, 16, 17, 23, 24])


def test_checkpoint_wide_models_run_each_sequence_at_its_own_length():
    from sktransformer._model import ModelConfig

    assert _runtime.length_step(ModelConfig("tokens", 10, d_model=64)) == 8
    assert _runtime.length_step(ModelConfig("tokens", 10, d_model=384, n_heads=12)) == 1


def test_each_sequence_runs_at_its_own_rounded_length_whatever_its_batch(monkeypatch):
    texts = [list("a" * n) for n in (3, 9, 12, 17, 30, 1)]  # in a batch 30 wide
    model = TransformerClassifier(**SMALL).fit(texts + [list("bbbbb")] * 6, [0] * 6 + [1] * 6)
    widths = []
    outputs = model._outputs

    def spy(params, config, inputs, rng=None):
        widths.extend([inputs.X.shape[1]] * len(inputs.X))
        return outputs(params, config, inputs, rng)

    monkeypatch.setattr(model, "_outputs", spy)
    model.predict_proba(texts)
    assert sorted(widths) == [8, 8, 16, 16, 24, 32]


# ----------------------------------------- the flag is passed, not read from thread state

# every primitive whose result depends on batch_invariant, as the modules that call it see it
_FLAGGED = [(_layers, "affine"), (_layers, "layer_norm"), (_layers, "scaled_dot_product_attention"),
            (_layers, "attention_weights"), (_model, "affine"), (_layers, "rms_norm")]


def _llama_calls(directory):
    """(label, call) for fit and the inference methods of a loaded Llama-family checkpoint."""
    lm = TransformerLanguageModel.from_pretrained(directory, max_iter=1)
    texts = LLAMA_TEXTS[:4]
    return [("llama.fit", lambda: lm.fit(texts)),
            ("llama.predict_proba", lambda: lm.predict_proba(texts)),
            ("llama.score", lambda: lm.score(texts)),
            ("llama.generate", lambda: lm.generate("the cat", max_new_tokens=3, temperature=0)),
            ("llama.attention_weights", lambda: lm.attention_weights(texts))]


def test_inference_passes_batch_invariant_to_every_product_and_training_does_not(monkeypatch,
                                                                                  llama_directory):
    """Every product inside ``map_samples`` (every inference call, validation scores) gets
    ``batch_invariant=True`` as an argument; training steps and generation get False."""
    inside = [False]
    seen, spied = {}, set()
    map_samples = _base.map_samples

    def mapping(*args, **kwargs):
        inside[0] = True
        try:
            return map_samples(*args, **kwargs)
        finally:
            inside[0] = False

    def spy_on(module, name):
        original = getattr(module, name)
        signature = inspect.signature(getattr(original, "fun", original))  # autograd's raw function

        def spy(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            seen.setdefault((label[0], inside[0]), set()).add(bound.arguments["batch_invariant"])
            spied.add((label[0], name))
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)

    monkeypatch.setattr(_base, "map_samples", mapping)
    for module, name in _FLAGGED:
        spy_on(module, name)
    label = [None]
    every_call = _every_call() + _llama_calls(llama_directory)
    for label[0], call in every_call:
        call()
    assert not hasattr(_primitives, "per_sample_products")  # no thread-local switch left
    for (call, in_map_samples), flags in seen.items():
        assert flags == {in_map_samples}, (call, in_map_samples, flags)
    assert {call for call, in_map in seen if in_map} >= {
        call for call, _ in every_call if not call.endswith(("fit", "generate", "generate_uncached"))}
    assert ("llama.predict_proba", "rms_norm") in spied
    assert any(call.startswith("language_model.generate") for call, _ in seen)


def test_a_checkpoint_wide_model_is_batch_invariant_on_its_blocked_products():
    """d_model 256: every sequence at its own length, and the projections in column blocks
    (_primitives._per_sample_product); a sequence's vector is the same alone, in a batch, in
    any order."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(list("abcdefgh"), size=n)) for n in rng.integers(1, 40, size=24)]
    enc = TransformerEncoder(d_model=256, n_heads=4, n_layers=1, d_ff=512, max_iter=1,
                             random_state=0).fit(texts)
    together = enc.transform(texts)
    order = rng.permutation(len(texts))
    np.testing.assert_array_equal(enc.transform([texts[i] for i in order]), together[order])
    for i in (0, 5, 17):
        np.testing.assert_array_equal(enc.transform([texts[i]]), together[i : i + 1])


def test_the_inference_config_is_remembered_by_identity_not_equality():
    """batch_invariant() keeps its result per config object: configs equal in every compared
    field but with other n-gram tables (compare=False) each get their own."""
    from sktransformer._model import ModelConfig, batch_invariant

    a = ModelConfig("tokens", 10, ngrams=("table a",))
    b = ModelConfig("tokens", 10, ngrams=("table b",))
    assert a == b and a is not b
    first = batch_invariant(a)
    assert first.batch_invariant and first.ngrams == ("table a",)
    assert batch_invariant(a) is first
    assert batch_invariant(b).ngrams == ("table b",)
    for i in range(40):  # more configs than it keeps: the oldest are computed again, still right
        batch_invariant(ModelConfig("tokens", 10 + i))
    assert batch_invariant(a).ngrams == ("table a",) and batch_invariant(a).batch_invariant
