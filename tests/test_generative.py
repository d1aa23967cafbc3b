"""TransformerLanguageModel and TransformerSeq2Seq: the decoder side of the Transformer."""

import numpy as np
import pytest
from ngram import CharNGram
from sklearn.model_selection import GridSearchCV

from sktransformer import TransformerLanguageModel, TransformerSeq2Seq
from sktransformer.datasets import make_story_corpus, spell_number

TINY = dict(d_model=16, n_heads=2, n_layers=1, max_iter=3, random_state=0)
TEXT = ["the cat sat on the mat.", "the dog sat on the log.", "a cat and a dog."] * 4


@pytest.fixture(scope="module")
def small_lm():
    return TransformerLanguageModel(**{**TINY, "max_iter": 10, "max_len": 16}).fit(TEXT)


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
    lm = TransformerLanguageModel(**TINY).fit([[1, 2, 3, 1, 2, 3], [2, 3, 1]])
    out = lm.generate([1, 2], max_new_tokens=4, random_state=0)
    assert isinstance(out, list) and set(out) <= {1, 2, 3}
    with pytest.raises(ValueError, match="max_new_tokens"):
        lm.generate([1], max_new_tokens=-1)
    with pytest.raises(ValueError, match="temperature"):
        lm.generate([1], temperature=-1.0)
    with pytest.raises(TypeError, match="prompt"):
        lm.generate(5)


def test_language_model_grid_search_without_labels():
    search = GridSearchCV(TransformerLanguageModel(**TINY), {"n_heads": [1, 2], "n_layers": [1, 2]},
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


def test_seq2seq_outputs_and_scores():
    X = ["a b c", "b c", "c a b", "a a"] * 4
    y = ["c b a", "c b", "b a c", "a a"] * 4
    model = TransformerSeq2Seq(**{**TINY, "max_iter": 5}).fit(X, y)
    predicted = model.predict(X[:4])
    assert predicted.dtype == object and all(isinstance(p, str) for p in predicted)
    assert 0 <= model.score(X, y) <= model.token_accuracy(X, y) <= 1
    tokens = TransformerSeq2Seq(**TINY).fit([[1, 2], [2, 3, 1]], [[9], [8, 8]])
    assert all(isinstance(p, list) for p in tokens.predict([[1, 2]]))
    with pytest.raises(ValueError, match="X_val and y_val"):
        TransformerSeq2Seq(**TINY).fit(X, y, X_val=X)


def test_max_output_len_bounds_the_output():
    X, y = ["a b"] * 6, ["x y z w"] * 6
    model = TransformerSeq2Seq(**{**TINY, "max_output_len": 2}).fit(X, y)
    assert all(len(p.split()) <= 2 for p in model.predict(X))


@pytest.mark.slow
def test_seq2seq_learns_numbers_in_words_to_digits_on_unseen_numbers():
    numbers = np.random.default_rng(0).permutation(1000)
    train, held_out = numbers[:700], numbers[700:]
    words = [spell_number(int(n)) for n in train]
    model = TransformerSeq2Seq(d_model=64, n_heads=4, n_layers=2, target_analyzer="char",
                               max_iter=40, learning_rate_init=3e-3, random_state=0)
    model.fit(words, [str(n) for n in train])
    test_words = [spell_number(int(n)) for n in held_out]
    test_digits = [str(n) for n in held_out]
    assert model.score(test_words, test_digits) >= 0.95
    # beam search keeps the most probable hypothesis: never less probable than greedy
    greedy = model.predict_log_proba_of_output(test_words[:60], beam_width=1)
    beam = model.predict_log_proba_of_output(test_words[:60], beam_width=4)
    assert np.all(beam >= greedy - 1e-5)
    model.set_params(beam_width=4)
    assert model.score(test_words, test_digits) >= 0.95
