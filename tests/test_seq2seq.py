"""TransformerSeq2Seq: the encoder-decoder Transformer of the paper."""

import numpy as np
import pytest
from configs import SMALL

from sktransformer import TransformerSeq2Seq
from sktransformer.datasets import spell_number


def test_seq2seq_outputs_and_scores():
    X = ["a b c", "b c", "c a b", "a a"] * 4
    y = ["c b a", "c b", "b a c", "a a"] * 4
    model = TransformerSeq2Seq(**{**SMALL, "max_iter": 5}).fit(X, y)
    predicted = model.predict(X[:4])
    assert predicted.dtype == object and all(isinstance(p, str) for p in predicted)
    assert 0 <= model.score(X, y) <= model.token_accuracy(X, y) <= 1
    tokens = TransformerSeq2Seq(**SMALL).fit([[1, 2], [2, 3, 1]], [[9], [8, 8]])
    assert all(isinstance(p, list) for p in tokens.predict([[1, 2]]))
    with pytest.raises(ValueError, match="X_val and y_val"):
        TransformerSeq2Seq(**SMALL).fit(X, y, X_val=X)


def test_max_output_len_bounds_the_output():
    X, y = ["a b"] * 6, ["x y z w"] * 6
    model = TransformerSeq2Seq(**{**SMALL, "max_output_len": 2}).fit(X, y)
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



def test_seq2seq_learned_positions_handle_targets_and_outputs_of_max_len():
    X, y = ["a b", "c d"] * 4, ["1 2 3 4", "4 3 2 1"] * 4
    model = TransformerSeq2Seq(max_len=4, positional_encoding="learned", **SMALL).fit(X, y)
    assert all(len(p.split()) <= 4 for p in model.predict(X))
    with pytest.raises(ValueError, match="max_output_len"):
        model.set_params(max_output_len=9).predict(X)


def test_seq2seq_score_compares_whole_targets_and_warns_about_truncation():
    X = ["a", "b"] * 6
    y = ["1 2 3 4 5 6 7", "7 6 5 4 3 2 1"] * 6
    with pytest.warns(UserWarning, match="longer than max_len"):
        model = TransformerSeq2Seq(max_len=4, **SMALL).fit(X, y)
    assert model.score(X, y) == 0.0  # at most 4 tokens can never equal a 7-token target
    assert model.token_accuracy(X, y) <= 4 / 7


def test_seq2seq_output_for_an_empty_source_does_not_depend_on_its_batch():
    X, y = ["a b", "b a", ""] * 4, ["1", "2", "3"] * 4
    model = TransformerSeq2Seq(**SMALL).fit(X, y)
    alone = model.predict_log_proba_of_output([""])
    together = model.predict_log_proba_of_output(["", "a b a b a b a b a b a"])[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-5)
