"""TransformerLanguageModel: the decoder-only Transformer (next-token probabilities, scoring, generation)."""

import numpy as np
import pytest
from configs import SMALL
from ngram import CharNGram
from sklearn.model_selection import GridSearchCV

from sktransformer import TransformerLanguageModel
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
    assert score < 0 and small_lm.perplexity(TEXT) == pytest.approx(np.exp(-score))
    assert small_lm.score(TEXT) > small_lm.score(["zzzz qqqq xxxx"])


def test_long_documents_are_scored_with_a_sliding_context(small_lm):
    long = " ".join(TEXT)  # ~300 characters, context of 16
    proba = small_lm.predict_proba([long])[0]
    assert proba.shape[0] == len(long) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    # a document that fits in the context gets the same predictions alone or inside a batch
    np.testing.assert_allclose(small_lm.predict_proba(["the cat"])[0],
                               small_lm.predict_proba([long, "the cat"])[1], rtol=1e-5)


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


