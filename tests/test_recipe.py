"""The "auto" training recipe: a network from scratch and a checkpoint's fine-tuning train differently.

README, "Fine-tuning a checkpoint": from scratch the defaults are a constant learning rate of
1e-3 for up to 100 epochs; when ``encoder`` is a checkpoint they are 5e-5 with a tenth of warm-up
and linear decay over 3 epochs, with the best epoch on a 10% validation split kept.
"""

import pathlib
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sktransformer import (
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerTagger,
)
from sktransformer._recipe import FINE_TUNING, FROM_SCRATCH

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "pretrained"
BERT = FIXTURES / "bert"
TEXTS = ["the cat sat on the mat", "a cat on a mat", "the cat sat", "cats on mats"] * 5 + \
        ["a dog ran in the park", "the dog ran", "dogs in the park", "a dog in a park"] * 5
Y = [0] * 20 + [1] * 20
SMALL = dict(d_model=16, n_heads=2, n_layers=1, random_state=0)


def optimizer_settings(model):
    opt = model._optimizer
    return dict(learning_rate_init=opt.learning_rate, learning_rate=opt.schedule,
                warmup_fraction=opt.warmup_fraction)


def test_from_scratch_auto_is_the_scratch_recipe():
    clf = TransformerClassifier(**SMALL, max_iter=2).fit(TEXTS, Y)
    expected = {k: v for k, v in FROM_SCRATCH.items() if k != "max_iter"}
    assert optimizer_settings(clf) == expected == dict(learning_rate_init=1e-3,
                                                       learning_rate="constant", warmup_fraction=0.0)
    assert clf.validation_scores_ is None  # 40 samples: early_stopping="auto" holds out nothing
    clf = TransformerClassifier(**SMALL, learning_rate_init=0.01).fit(TEXTS, Y)
    assert clf.n_iter_ > 3  # up to max_iter="auto" = 100 epochs, not the checkpoint's 3


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
@pytest.mark.parametrize("as_object", [False, True])
def test_a_checkpoint_is_fine_tuned_with_the_checkpoint_recipe(Estimator, as_object):
    encoder = TransformerEncoder.from_pretrained(BERT) if as_object else str(BERT)
    model = Estimator(encoder=encoder, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # 3 epochs are a schedule, not a cap
        model.fit(TEXTS, np.array(Y, float) if Estimator is TransformerRegressor else Y)
    assert optimizer_settings(model) == dict(learning_rate_init=5e-5, learning_rate="linear",
                                             warmup_fraction=0.1)
    assert model.n_iter_ <= FINE_TUNING["max_iter"] == 3
    assert len(model.validation_scores_) == model.n_iter_  # a validation split, early stopping
    n_batches = -(-int(0.9 * len(TEXTS)) // 32)
    assert model._optimizer.total_steps == 3 * n_batches  # the decay spans the 3 epochs


def test_set_values_win_over_the_checkpoint_recipe():
    clf = TransformerClassifier(encoder=str(BERT), learning_rate_init=1e-4, learning_rate="cosine",
                                warmup_fraction=0.0, max_iter=2, early_stopping=False,
                                random_state=0)
    with pytest.warns(ConvergenceWarning):  # a max_iter the user set is a cap: reaching it warns
        clf.fit(TEXTS, Y)
    assert optimizer_settings(clf) == dict(learning_rate_init=1e-4, learning_rate="cosine",
                                           warmup_fraction=0.0)
    assert clf.n_iter_ == 2 and clf.validation_scores_ is None
    assert clf.get_params()["learning_rate_init"] == 1e-4  # nothing resolved into the parameters
    assert TransformerClassifier(encoder=str(BERT)).fit(TEXTS, Y).get_params()[
        "learning_rate_init"] == "auto"


def test_an_encoder_trained_here_is_not_a_checkpoint():
    encoder = TransformerEncoder(**SMALL, max_iter=2).fit(TEXTS)
    clf = TransformerClassifier(encoder=encoder, **{k: v for k, v in SMALL.items()
                                                    if k == "random_state"}, max_iter=2)
    with pytest.warns(ConvergenceWarning):
        clf.fit(TEXTS, Y)
    assert optimizer_settings(clf)["learning_rate_init"] == 1e-3


def test_the_tagger_follows_the_recipe_too():
    tokens = [t.split() for t in TEXTS]
    tags = [["A" if w in ("cat", "dog") else "O" for w in s] for s in tokens]
    tagger = TransformerTagger(**SMALL, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        tagger.fit(tokens, tags)
    assert optimizer_settings(tagger)["learning_rate_init"] == 1e-3
    assert not tagger._fine_tunes_checkpoint()
    assert TransformerTagger(encoder=str(BERT))._fine_tunes_checkpoint()


@pytest.mark.parametrize("Estimator, name", [(TransformerEncoder, "bert"),
                                             (TransformerLanguageModel, "gpt2")])
def test_from_pretrained_sets_the_checkpoint_recipe(Estimator, name):
    model = Estimator.from_pretrained(FIXTURES / name)
    assert {k: model.get_params()[k] for k in FINE_TUNING} == FINE_TUNING
    assert Estimator.from_pretrained(FIXTURES / name, max_iter=7).max_iter == 7


def test_auto_is_validated_and_other_strings_refused():
    with pytest.raises(ValueError, match="learning_rate_init"):
        TransformerClassifier(learning_rate_init="fast").fit(TEXTS, Y)
    with pytest.raises(ValueError, match="max_iter"):
        TransformerRegressor(max_iter="many").fit(TEXTS, np.array(Y, float))
    with pytest.raises(ValueError, match="learning_rate_init"):  # "auto" is for the classifier family
        TransformerEncoder(learning_rate_init="auto").fit(TEXTS)


def test_a_clone_resolves_auto_again():
    clf = TransformerClassifier(encoder=str(BERT), random_state=0)
    assert clone(clf).get_params()["max_iter"] == "auto"
    assert clone(clf)._recipe()["max_iter"] == 3
    assert clone(clf).set_params(encoder=None)._recipe()["max_iter"] == 100
