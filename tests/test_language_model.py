"""TransformerLanguageModel: the decoder-only Transformer (next-token probabilities, scoring, generation)."""

import tracemalloc
import warnings

import numpy as np
import pytest
from configs import SMALL
from ngram import CharNGram
from sklearn.model_selection import GridSearchCV

from sktransformer import TransformerLanguageModel, _runtime
from sktransformer._model import decode
from sktransformer._primitives import log_softmax
from sktransformer.datasets import make_story_corpus

TEXT = ["the cat sat on the mat.", "the dog sat on the log.", "a cat and a dog."] * 4


@pytest.fixture(scope="module")
def small_lm():
    return TransformerLanguageModel(**{**SMALL, "max_iter": 10, "max_len": 16}).fit(TEXT)


# ------------------------------------------------------------- language model


def test_predict_proba_rows_are_next_token_distributions(small_lm):
    proba = small_lm.predict_proba(["the cat", "a"])
    assert [p.shape for p in proba] == [(7, len(small_lm.tokens_)), (1, len(small_lm.tokens_))]
    np.testing.assert_allclose([p.sum(axis=1) for p in proba][0], 1, rtol=1e-6)
    assert small_lm.tokens_[-1] == "<eos>"
    assert small_lm.tokens_[:-1] == sorted(small_lm.vocabulary_, key=small_lm.vocabulary_.get)


def test_causal_mask_later_tokens_do_not_change_earlier_predictions(small_lm):
    a = small_lm.predict_proba(["the cat sat"])[0]
    b = small_lm.predict_proba(["the dog ran"])[0]
    np.testing.assert_allclose(a[:4], b[:4], rtol=1e-5, atol=1e-7)  # same prefix "the "
    assert not np.allclose(a[4:], b[4:])


def test_score_and_perplexity(small_lm):
    score = small_lm.score(TEXT)
    assert small_lm.perplexity(TEXT) == pytest.approx(np.exp(-score))
    # the mean log-probability of every character and of each end, rebuilt from predict_proba;
    # the first character's (after the start alone) from the one-character document c:
    # score([c]) = (log p(c | start) + log p(<eos> | c)) / 2
    column = {t: i for i, t in enumerate(small_lm.tokens_)}
    eos = column["<eos>"]
    logs = []
    for doc in TEXT:
        proba = small_lm.predict_proba([doc])[0]
        end_after_first = small_lm.predict_proba([doc[0]])[0][0, eos]
        logs.append(2 * small_lm.score([doc[0]]) - np.log(end_after_first))
        logs += [np.log(proba[i, column[doc[i + 1]]]) for i in range(len(doc) - 1)]
        logs.append(np.log(proba[-1, eos]))
    assert score == pytest.approx(np.mean(logs), rel=1e-6)
    # it learned more than how often each character occurs (uniform: -log 15 = -2.71)
    counts = np.array([sum(doc.count(t) for doc in TEXT) for t in small_lm.tokens_[:-1]] + [len(TEXT)])
    unigram = (counts * np.log(counts / counts.sum())).sum() / counts.sum()  # -2.46
    assert score > unigram + 0.3, (score, unigram)
    assert small_lm.score(TEXT) > small_lm.score(["zzzz qqqq xxxx"])


def _brute_force_log_likelihood(lm, document):
    """(sum of log p, number) over the known tokens and <eos> of one document scored alone.

    The first token's distribution is the decoder's output after <bos> alone;
    every later one (and <eos>) is a row of ``predict_proba`` of this document.
    """
    column = {t: j for j, t in enumerate(lm.tokens_)}
    first = decode(lm.params_, lm.config_, np.array([[lm._codec.bos]]))[0, 0]
    rows = np.vstack([np.exp(log_softmax(first.astype(np.float64))),
                      lm.predict_proba([document])[0]])
    targets = [column.get(t, -1) for t in document] + [column["<eos>"]]
    known = [(i, j) for i, j in enumerate(targets) if j >= 0]
    return sum(np.log(rows[i, j]) for i, j in known), len(known)


def test_score_equals_the_brute_force_log_likelihood_of_each_document(small_lm):
    long = " ".join(TEXT[:3])  # 72 characters: sliding windows of 16
    documents = ["the cat sat on the mat.", "a", "", long, "a zebra", "the dog"]
    brute = [_brute_force_log_likelihood(small_lm, d) for d in documents]
    for d, (total, count) in zip(documents, brute, strict=True):
        if d != "a zebra":
            assert small_lm.score([d]) == pytest.approx(total / count, rel=1e-6, abs=1e-6), d
    with pytest.warns(UserWarning, match="3 of"):  # z, b, r were never seen
        score = small_lm.score(documents)
    expected = sum(t for t, _ in brute) / sum(c for _, c in brute)
    assert score == pytest.approx(expected, rel=1e-6)


@pytest.fixture(scope="module")
def wide_lm():
    """A one-epoch model over a 2,000-word vocabulary (each word seen once), and the words."""
    words = [f"w{i}" for i in range(2000)]
    train = [words[s : s + 20] for s in range(0, len(words), 20)]
    return TransformerLanguageModel(**{**SMALL, "max_iter": 1, "max_len": 32}).fit(train), words


def _peak_bytes(call, *args):
    """Peak of memory allocated (numpy arrays included) while ``call(*args)`` runs."""
    tracemalloc.start()
    try:
        call(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_score_memory_does_not_grow_with_documents_times_vocabulary(wide_lm, monkeypatch):
    lm, words = wide_lm
    rng = np.random.default_rng(0)
    documents = [[words[i] for i in rng.integers(0, len(words), 30)] for _ in range(300)]
    monkeypatch.setattr(_runtime, "FLOAT_BUDGET", 2**18)  # chunks of ~1 MB of logits
    every_log_proba = 300 * 31 * len(lm.tokens_) * 8  # 149 MB: kept whole before
    peak = _peak_bytes(lm.score, documents)
    assert peak < every_log_proba / 20, (peak, every_log_proba)


def test_predict_proba_memory_is_its_output_and_one_chunk(wide_lm, monkeypatch):
    lm, words = wide_lm
    rng = np.random.default_rng(1)
    documents = [[words[i] for i in rng.integers(0, len(words), 30)] for _ in range(100)]
    monkeypatch.setattr(_runtime, "FLOAT_BUDGET", 2**18)
    output = 100 * 30 * len(lm.tokens_) * 8  # float64 rows: the result itself
    peak = _peak_bytes(lm.predict_proba, documents)
    assert peak < 1.1 * output, (peak, output)  # no second copy of every distribution


def test_long_documents_are_scored_with_a_sliding_context(small_lm):
    long = " ".join(TEXT)  # ~300 characters, context of 16
    proba = small_lm.predict_proba([long])[0]
    assert proba.shape[0] == len(long) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    # a document that fits in the context gets the same predictions alone or inside a batch
    np.testing.assert_allclose(small_lm.predict_proba(["the cat"])[0],
                               small_lm.predict_proba([long, "the cat"])[1], rtol=1e-5)


def _next_token_log_proba(lm, context_ids):
    """log p(next | context) from one forward pass of the decoder over exactly ``context_ids``."""
    logits = decode(lm.params_, lm.config_, np.array([context_ids]))[0, -1]
    return log_softmax(logits.astype(np.float64))


def test_long_document_rows_read_the_documented_sliding_context(small_lm):
    """Each token of a long document is predicted from up to max_len earlier tokens, at least max_len // 2.

    The reference is the decoder run on the context alone: windows of max_len
    tokens every max_len // 2, a token predicted by the first window that holds
    it, so its context is the window's start up to the token.
    """
    max_len = small_lm.config_.max_len
    assert max_len == 16
    document = " ".join(TEXT[:3])  # 72 characters
    ids = small_lm._codec.encode(list(document))  # <bos>, the characters, <eos>
    proba = small_lm.predict_proba([document])[0]
    assert proba.shape[0] == len(document)
    lengths = []
    for row in range(len(document)):  # row i: the token after characters 0..i, at ids[i + 2]
        target = row + 2
        start = 0 if target <= max_len else -(-(target - max_len) // (max_len // 2)) * (max_len // 2)
        context = ids[start:target]
        lengths.append(len(context))
        expected = np.exp(_next_token_log_proba(small_lm, context))
        np.testing.assert_allclose(proba[row], expected, rtol=1e-4, atol=1e-6, err_msg=str(row))
    assert max(lengths) == max_len and lengths[:max_len - 1] == list(range(2, max_len + 1))
    assert all(max_len // 2 <= n <= max_len for n in lengths[max_len - 1:])
    # the context matters: the last row read from a whole window of max_len tokens differs
    tail = np.exp(_next_token_log_proba(small_lm, ids[len(ids) - 1 - max_len: len(ids) - 1]))
    assert lengths[-1] != max_len and not np.allclose(proba[-1], tail, atol=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_top_k_sampling_emits_only_each_steps_k_most_probable_tokens(small_lm, seed):
    prompt = "the "
    out = small_lm.generate(prompt, max_new_tokens=10, temperature=5.0, top_k=3, random_state=seed)
    column = {t: i for i, t in enumerate(small_lm.tokens_)}
    ranks = []
    for step, token in enumerate(out):
        context = small_lm._codec.encode(list(prompt + out[:step]), eos=False)  # <bos> + prefix
        assert len(context) <= small_lm.config_.max_len
        log_p = _next_token_log_proba(small_lm, context)
        third = np.sort(log_p)[-3]
        assert log_p[column[token]] >= third - 1e-5, (seed, step, token)
        ranks.append(int((log_p > log_p[column[token]]).sum()))
    # a temperature of 5 flattens the distribution: draws outside the top 1 happen, so a
    # sampler that ignored top_k would have been caught among the ~15 other tokens
    assert len(out) >= 5 and max(ranks) >= 1, (out, ranks)


def test_generate_is_reproducible_and_respects_max_new_tokens(small_lm):
    a = small_lm.generate("the ", max_new_tokens=12, random_state=3)
    b = small_lm.generate("the ", max_new_tokens=12, random_state=3)
    assert a == b and isinstance(a, str) and len(a) <= 12
    assert len(small_lm.generate("", max_new_tokens=5, temperature=2.0, random_state=0)) <= 5
    assert small_lm.generate("the ", max_new_tokens=0) == ""
    greedy = small_lm.generate("the c", max_new_tokens=20, temperature=0)
    assert greedy == small_lm.generate("the c", max_new_tokens=20, temperature=0, random_state=9)
    top1 = small_lm.generate("the c", max_new_tokens=20, top_k=1, random_state=5)
    assert top1 == greedy


def test_generation_with_cache_equals_recomputing(small_lm):
    cached = small_lm.generate("the d", 40, random_state=1)
    recomputed = small_lm.generate("the d", 40, random_state=1, use_cache=False)
    assert cached == recomputed


@pytest.mark.parametrize("threads", [0, -1, 1.5])
def test_blas_threads_set_invalid_after_fit_is_refused_by_generate_and_scoring(small_lm, threads):
    before = small_lm.predict_proba(["the cat"])[0]
    small_lm.set_params(blas_threads=threads)
    try:
        for call in (lambda: small_lm.generate("the ", max_new_tokens=3, random_state=0),
                     lambda: small_lm.generate("the ", max_new_tokens=3, use_cache=False),
                     lambda: small_lm.predict_proba(["the cat"]), lambda: small_lm.score(TEXT[:2]),
                     lambda: small_lm.perplexity(TEXT[:2]),
                     lambda: small_lm.attention_weights(["the cat"])):
            with pytest.raises(ValueError, match="blas_threads"):
                call()
    finally:
        small_lm.set_params(blas_threads=1)
    np.testing.assert_array_equal(small_lm.predict_proba(["the cat"])[0], before)


def test_generate_token_lists_and_bad_arguments():
    lm = TransformerLanguageModel(**SMALL).fit([[1, 2, 3, 1, 2, 3], [2, 3, 1]])
    out = lm.generate([1, 2], max_new_tokens=4, random_state=0)
    assert isinstance(out, list) and set(out) <= {1, 2, 3}
    with pytest.raises(ValueError, match="max_new_tokens"):
        lm.generate([1], max_new_tokens=-1)
    with pytest.raises(ValueError, match="temperature"):
        lm.generate([1], temperature=-1.0)
    with pytest.raises(TypeError, match="prompt"):
        lm.generate(5)


def test_text_is_refused_by_a_model_fitted_on_token_ids():
    ids = np.array([[1, 2, 3, 4], [1, 2, 3, 0], [5, 6, 7, 0], [5, 6, 0, 0]] * 3)
    lm = TransformerLanguageModel(**SMALL).fit(ids)
    greedy = lm.generate([1], max_new_tokens=3, temperature=0)
    assert isinstance(greedy, list) and set(greedy) <= set(range(1, 8))
    for prompt in ("1", "abc", "", ["a"]):  # a string prompt's ids would come back joined into one string
        with pytest.raises(TypeError, match=r"^prompt holds text, .* Pass prompt as token ids"):
            lm.generate(prompt, max_new_tokens=3)
    with pytest.raises(TypeError, match="^X holds text"):
        lm.predict_proba(np.array([["a", "b", "c", "d"]]))
    lists = TransformerLanguageModel(**SMALL).fit([[1, 2, 3, 1, 2, 3], [2, 3, 1]])
    before = lists.score([[1, 2, 3]])
    for call in (lambda: lists.score(["1 2 3"]), lambda: lists.perplexity(["1 2 3"]),
                 lambda: lists.predict_proba(["1 2"]), lambda: lists.partial_fit(["1 2 3"]),
                 lambda: lists.attention_weights(["1 2"])):
        with pytest.raises(TypeError, match="^X holds text, but the model was fitted on token ids"):
            call()
    assert lists.score([[1, 2, 3]]) == before  # the failed partial_fit changed nothing
    with pytest.raises(TypeError, match="^X_val holds text"):
        TransformerLanguageModel(**SMALL).fit([[1, 2, 3, 1, 2, 3], [2, 3, 1]], X_val=["1 2 3"])


def test_generate_warns_once_about_prompt_tokens_not_in_the_vocabulary(small_lm):
    def messages(prompt):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            small_lm.generate(prompt, max_new_tokens=3, random_state=0)
        assert all(w.filename == __file__ for w in record)  # the caller's line, as score's warning
        return [str(w.message) for w in record]

    assert messages("the c") == messages(["t", "h"]) == []
    # several prompts in a list are one prompt of tokens "the" and "a" to a character model
    assert [m.split(" are")[0] for m in messages(["the", "a"])] == ["1 of 2 tokens (50%) of prompt"]
    assert len(messages("the xyz")) == 1


def test_language_model_grid_search_without_labels():
    search = GridSearchCV(TransformerLanguageModel(**SMALL), {"n_heads": [1, 2], "n_layers": [1, 2]},
                          cv=2).fit(TEXT)
    assert search.best_index_ == int(np.argmax(search.cv_results_["mean_test_score"]))


@pytest.mark.slow
def test_language_model_beats_smoothed_character_ngrams():
    train = make_story_corpus(800, random_state=0)
    held_out = make_story_corpus(200, random_state=1)
    lm = TransformerLanguageModel(d_model=64, n_heads=4, max_len=64, max_iter=16, dropout=0.0,
                                  learning_rate_init=3e-3, random_state=0).fit(train)
    ours = lm.perplexity(held_out)
    for order in range(2, 7):  # Witten-Bell n-grams conditioning on up to 5 characters
        baseline = np.exp(-CharNGram(order).fit(train).score(held_out))
        assert ours < baseline, (order, ours, baseline)
    assert ours < 1.55


# ------------------------------------------------------------------- seq2seq


