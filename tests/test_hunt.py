"""Faults found by probing today's features as a new user would, each held by a test."""

import pathlib
import warnings

import numpy as np
import pytest

from sktransformer import TransformerClassifier
from sktransformer._optim import AdamW

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "pretrained"
BERT = FIXTURES / "bert"
TEXTS = ["the cat sat on the mat", "a cat on a mat", "the cat sat", "cats on mats"] * 3 + \
        ["a dog ran in the park", "the dog ran", "dogs in the park", "a dog in a park"] * 3
Y = [0] * 12 + [1] * 12


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def rates_of_partial_fits(monkeypatch, trainable_layers, n_calls):
    """The learning rate of each optimizer step over ``n_calls`` partial_fit calls."""
    rates = []
    update = AdamW.update

    def spy(self, params, grads):
        rates.append(self.current_learning_rate())
        return update(self, params, grads)

    monkeypatch.setattr(AdamW, "update", spy)
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=trainable_layers,
                                linear_probe=False, learning_rate_init=1e-3, learning_rate="linear",
                                warmup_fraction=0.5,
                                max_iter=4, batch_size=len(TEXTS), random_state=0)
    t = []
    for _ in range(n_calls):
        quietly(clf.partial_fit, TEXTS, Y, classes=[0, 1])
        t.append(clf.t_)
    return rates, t


@pytest.mark.parametrize("trainable_layers", [0, 1])
def test_partial_fit_with_frozen_layers_continues_the_schedule_and_counts_steps(
        monkeypatch, trainable_layers):
    # Each partial_fit call is one epoch of a schedule counted from the first call, and t_
    # counts every optimizer step: with frozen layers each call used to start the warm-up
    # again (the first step's rate at every call) and t_ went back to 1.
    frozen, t_frozen = rates_of_partial_fits(monkeypatch, trainable_layers, 4)
    assert t_frozen == [1, 2, 3, 4]
    monkeypatch.undo()
    every, _ = rates_of_partial_fits(monkeypatch, "all", 4)
    assert np.allclose(frozen, every)
    assert np.allclose(frozen, [5e-4, 1e-3, 1e-3, 1e-4])  # warm-up over 2 steps, then decay


def test_warm_start_after_the_head_alone_counts_every_step():
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=0, max_iter=2, warm_start=True,
                                batch_size=len(TEXTS), random_state=0)
    quietly(clf.fit, TEXTS, Y)
    assert clf.t_ == 2
    clf.set_params(trainable_layers="all")
    quietly(clf.fit, TEXTS, Y)
    assert (clf.n_iter_, clf.t_) == (4, 4)


WORDS = [["the", "cat", "sat"], ["a", "dog", "ran", "far"], ["cats"], ["dogs", "run"]] * 3
TAGS = [["D", "N", "V"], ["D", "N", "V", "A"], ["N"], ["N", "V"]] * 3


@pytest.mark.parametrize("encoder", [str(BERT), None], ids=["checkpoint", "scratch"])
def test_tagger_validation_split_of_rows_shorter_than_the_longest(encoder):
    # The validation split cuts its rows' trailing padding, the targets kept their width:
    # the token accuracy raised an IndexError (a checkpoint's tagger holds out a split by default).
    from sktransformer import TransformerTagger

    settings = dict(max_iter=1) if encoder else dict(d_model=8, n_heads=2, n_layers=1, max_iter=2)
    for seed in range(3):
        tagger = TransformerTagger(encoder=encoder, early_stopping=True, random_state=seed,
                                   **settings)
        quietly(tagger.fit, WORDS, TAGS)
        assert len(tagger.validation_scores_) == tagger.n_iter_
        assert all(0 <= s <= 1 for s in tagger.validation_scores_)


@pytest.mark.parametrize("name", ["bert", "roberta", "llama", "mistral"])
@pytest.mark.parametrize("given", [dict(max_len=0), dict(max_len=-1), dict(max_len=None),
                                   dict(max_len="8"), dict(max_len=1.5), dict(max_len=True),
                                   dict(batch_size=0), dict(dropout=-1.0)])
def test_from_pretrained_refuses_bad_values_by_name(name, given):
    # A loaded model is fitted: max_len=0 or -1 used to load, generate, then crash in score
    # (IndexError); None or "8" to crash comparing with the checkpoint's positions (TypeError).
    from sktransformer import TransformerEncoder, TransformerLanguageModel

    cls = TransformerLanguageModel if name in ("llama", "mistral") else TransformerEncoder
    (key,) = given
    with pytest.raises(ValueError, match=key):
        cls.from_pretrained(FIXTURES / name, **given)


def test_from_pretrained_still_takes_good_values():
    from sktransformer import TransformerEncoder, TransformerLanguageModel

    assert TransformerEncoder.from_pretrained(BERT, max_len=np.int64(8)).max_len == 8
    assert TransformerLanguageModel.from_pretrained(FIXTURES / "llama", max_len=4).max_len == 4


@pytest.mark.parametrize("encoder", [str(BERT), None], ids=["checkpoint", "scratch"])
def test_tagger_refuses_validation_data_without_a_word(encoder):
    # X_val of empty sentences has no token to score: validation_scores_ used to be [nan, ...],
    # which early stopping compared silently.
    from sktransformer import TransformerTagger

    settings = dict(max_iter=1) if encoder else dict(d_model=8, n_heads=2, n_layers=1, max_iter=2)
    tagger = TransformerTagger(encoder=encoder, random_state=0, **settings)
    with pytest.raises(ValueError, match="X_val holds no word"):
        quietly(tagger.fit, WORDS, TAGS, X_val=[[], []], y_val=[[], []])
    scores = quietly(tagger.fit, WORDS, TAGS, X_val=[[], ["cats"]], y_val=[[], ["N"]]
                     ).validation_scores_
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("encoder", [str(BERT), None], ids=["checkpoint", "scratch"])
def test_tagger_score_of_sentences_without_a_word_says_so(encoder):
    # It used to say "y holds numbers, but the classes are [...]" of y=[[]].
    from sktransformer import TransformerTagger

    settings = dict(max_iter=1) if encoder else dict(d_model=8, n_heads=2, n_layers=1, max_iter=2)
    tagger = quietly(TransformerTagger(encoder=encoder, random_state=0, **settings).fit, WORDS, TAGS)
    with pytest.raises(ValueError, match="X holds no word or token"):
        tagger.score([[], []], [[], []])
    assert 0 <= tagger.score([[], ["cats"]], [[], ["N"]]) <= 1


def test_early_stopping_on_a_single_sample_is_refused_by_name():
    # Fitting one sentence from a checkpoint (early stopping holds out a split by default)
    # failed in train_test_split, naming its test_size and train_size, not our parameters.
    from sktransformer import TransformerRegressor, TransformerTagger

    with pytest.raises(ValueError, match="early_stopping=True.*X_val"):
        quietly(TransformerTagger(encoder=str(BERT), max_iter=1, early_stopping=True).fit,
                [["a", "cat"]], [["D", "N"]])
    # "auto" from a checkpoint holds out nothing below 100 samples: one sentence fits
    assert quietly(TransformerTagger(encoder=str(BERT), max_iter=1).fit, [["a", "cat"]],
                   [["D", "N"]]).validation_scores_ is None
    with pytest.raises(ValueError, match="early_stopping=True.*early_stopping=False"):
        quietly(TransformerRegressor(d_model=8, n_heads=2, n_layers=1, early_stopping=True).fit,
                ["a cat"], [1.0])
    tagger = quietly(TransformerTagger(encoder=str(BERT), max_iter=1, early_stopping=False).fit,
                     [["a", "cat"]], [["D", "N"]])
    assert tagger.n_iter_ == 1
