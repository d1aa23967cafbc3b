"""The "auto" training recipe: a network from scratch and a checkpoint's fine-tuning train differently.

README, "Fine-tuning a checkpoint": from scratch the defaults are a constant learning rate of
1e-3 for up to 100 epochs; when ``encoder`` is a checkpoint they are 5e-5 with a tenth of warm-up
and linear decay over 3 epochs, with the best epoch on a 10% validation split kept.
"""

import argparse
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
    texts, y = TEXTS * 3, Y * 3  # 120: "auto" holds out a validation split from 100 samples
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # 3 epochs are a schedule, not a cap
        model.fit(texts, np.array(y, float) if Estimator is TransformerRegressor else y)
    assert optimizer_settings(model) == dict(learning_rate_init=5e-5, learning_rate="linear",
                                             warmup_fraction=0.1)
    assert model.n_iter_ <= FINE_TUNING["max_iter"] == 3
    assert len(model.validation_scores_) == model.n_iter_  # a validation split, early stopping
    n_batches = -(-int(0.9 * len(texts)) // 32)
    assert model._optimizer.total_steps == 3 * n_batches  # the decay spans the 3 epochs


def test_a_head_alone_on_a_checkpoint_is_trained_as_a_linear_model(monkeypatch):
    from sktransformer import _base

    made = []

    class Spy(_base.AdamW):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(_base, "AdamW", Spy)
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=0, random_state=0).fit(TEXTS * 3,
                                                                                           Y * 3)
    assert set(made[0].m) == {"head"}  # the optimizer sees the head alone
    assert optimizer_settings(argparse.Namespace(_optimizer=made[0])) == dict(
        learning_rate_init=1e-2, learning_rate="constant", warmup_fraction=0.0)
    assert 3 < clf.n_iter_ <= 100 and clf.validation_scores_ is not None  # early stopping on
    assert clf.score(TEXTS, Y) == 1.0


def test_auto_early_stopping_from_a_checkpoint_needs_100_samples():
    small = TransformerClassifier(encoder=str(BERT), random_state=0).fit(TEXTS, Y)  # 40 samples
    assert small.validation_scores_ is None  # a few held-out samples would pick the epoch by noise
    texts, y = (TEXTS * 3)[:100], (Y * 3)[:100]
    assert len(TransformerClassifier(encoder=str(BERT), random_state=0).fit(
        texts, y).validation_scores_) >= 1
    assert TransformerClassifier(encoder=str(BERT), random_state=0).fit(
        texts[:99], y[:99]).validation_scores_ is None


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


# ------------------------------------------------------------ frozen lower layers, LP-FT

from autograd import grad  # noqa: E402

from sktransformer._freezing import FrozenLower  # noqa: E402
from sktransformer._tree import tree_leaves  # noqa: E402

FROM_SCRATCH_TRAINING = dict(learning_rate_init=3e-3, learning_rate="constant", warmup_fraction=0.0,
                             early_stopping=False, dropout=0.0, random_state=0)


def leaves_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(tree_leaves(a), tree_leaves(b), strict=True))


@pytest.mark.parametrize("k", [0, 1])
def test_trainable_layers_freeze_what_is_below(k):
    start = TransformerEncoder.from_pretrained(BERT).params_
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=k, max_iter=40, linear_probe=False,
                                **FROM_SCRATCH_TRAINING).fit(TEXTS, Y)
    params = clf.params_
    assert leaves_equal(params["embed"]["W"], start["embed"]["W"][: len(params["embed"]["W"])])
    assert leaves_equal(params["embed"]["ln"], start["embed"]["ln"])
    frozen_blocks = 2 - k
    for i in range(2):
        same = leaves_equal(params["encoder"]["blocks"][i], start["encoder"]["blocks"][i])
        assert same == (i < frozen_blocks), i
    assert clf.score(TEXTS, Y) == 1.0  # what is trained still learns the task


def test_the_cached_lower_layers_give_the_whole_network_s_loss_and_gradient():
    clf = TransformerClassifier(encoder=str(BERT), max_iter=1, linear_probe=False,
                                **FROM_SCRATCH_TRAINING)
    with pytest.warns(ConvergenceWarning):
        clf.fit(TEXTS, Y)
    data = clf._read(TEXTS, Y, None, fitting=False, classes=None, what="X")
    batch = data.take(np.arange(10))
    frozen = FrozenLower(clf, clf.params_, 1)
    cached = frozen.cache(data).take(np.arange(10))
    whole = clf._loss(clf.params_, batch, None)
    assert cached["inputs"].states is not None and cached["inputs"].first_layer == 1
    np.testing.assert_allclose(frozen.loss(frozen.trainable(), cached, None), whole, rtol=1e-5)
    top = grad(lambda p: clf._loss(p, batch, None))(clf.params_)["encoder"]["blocks"][1]
    top_cached = grad(lambda s: frozen.loss(s, cached, None))(frozen.trainable())["encoder"]["blocks"][0]
    for a, b in zip(tree_leaves(top), tree_leaves(top_cached), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_head_alone_equals_a_head_on_the_encoder_s_features():
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=0, max_iter=20,
                                **FROM_SCRATCH_TRAINING).fit(TEXTS, Y)
    features = TransformerEncoder.from_pretrained(BERT).transform(TEXTS)
    logits = features @ clf.params_["head"]["W"] + clf.params_["head"]["b"]
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(TEXTS), expected / expected.sum(axis=1, keepdims=True),
                               atol=1e-5)


def test_the_head_alone_trains_on_the_vectors_transform_gives_sentence_pairs():
    pairs = [(a, b) for a in TEXTS[:6] for b in TEXTS[-6:]]
    y = [int(i % 2) for i in range(len(pairs))]
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=0, max_iter=3,
                                **FROM_SCRATCH_TRAINING).fit(pairs, y)
    data = clf._read(pairs, y, None, fitting=False, classes=None, what="X")
    cached = FrozenLower(clf, clf.params_, 0).cache(data).inputs.X
    expected = TransformerEncoder.from_pretrained(BERT).transform(pairs)  # segments 0 and 1
    np.testing.assert_allclose(cached, expected, atol=1e-5)


def test_head_first_then_everything_with_warm_start():
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=0, max_iter=20,
                                **FROM_SCRATCH_TRAINING).fit(TEXTS, Y)
    head = clf.params_["head"]["W"].copy()
    with pytest.warns(ConvergenceWarning):
        clf.set_params(trainable_layers="all", warm_start=True, max_iter=2).fit(TEXTS, Y)
    assert clf.n_iter_ > 2 and not np.array_equal(clf.params_["head"]["W"], head)
    start = TransformerEncoder.from_pretrained(BERT).params_["encoder"]["blocks"][0]
    assert not leaves_equal(clf.params_["encoder"]["blocks"][0], start)


def test_frozen_layers_read_pairs_and_long_documents():
    pairs = [(a, b) for a in TEXTS[:6] for b in TEXTS[-6:]]
    y = [int(i % 2) for i in range(len(pairs))]
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=1, max_iter=2,
                                linear_probe=False, **FROM_SCRATCH_TRAINING)
    with pytest.warns(ConvergenceWarning):
        clf.fit(pairs, y)
    assert clf.predict_proba(pairs).shape == (len(pairs), 2)
    long_texts = [" ".join([t] * 6) for t in TEXTS]  # longer than max_len=16: windows
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=1, max_iter=30, max_len=16,
                                linear_probe=False, **FROM_SCRATCH_TRAINING).fit(long_texts, Y)
    assert clf.score(long_texts, Y) == 1.0


def test_linear_probe_trains_the_head_before_fine_tuning():
    # a fine-tuning stage that cannot move anything: what the model knows, the probe taught it
    still = dict(learning_rate_init=1e-12, max_iter=1, early_stopping=False, random_state=0)
    with pytest.warns(ConvergenceWarning):
        probed = TransformerClassifier(encoder=str(BERT), **still).fit(TEXTS, Y)
    with pytest.warns(ConvergenceWarning):
        unprobed = TransformerClassifier(encoder=str(BERT), linear_probe=False, **still).fit(TEXTS, Y)
    assert probed.score(TEXTS, Y) == 1.0 and unprobed.score(TEXTS, Y) < 0.9
    with pytest.warns(ConvergenceWarning):
        scratch = TransformerClassifier(**SMALL, max_iter=1, linear_probe="auto").fit(TEXTS, Y)
    assert scratch.n_iter_ == 1  # "auto" probes checkpoints only; nothing ran before the epoch


def test_trainable_layers_refuses_a_bool_and_leaves_the_model_as_it_was():
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=0, random_state=0).fit(TEXTS, Y)
    before = clf.predict_proba(TEXTS)
    with pytest.raises(ValueError, match="trainable_layers must be an int >= 0 or 'all', not True"):
        clf.set_params(trainable_layers=True, warm_start=True).fit(TEXTS, Y)
    np.testing.assert_array_equal(clf.predict_proba(TEXTS), before)


def test_frozen_layers_refuse_a_learned_cls_vector():
    encoder = TransformerEncoder(**SMALL, pooling="cls", max_iter=1)
    with pytest.warns(ConvergenceWarning):
        encoder.fit(TEXTS)
    clf = TransformerClassifier(encoder=encoder, trainable_layers=0, max_iter=1, random_state=0)
    with pytest.raises(ValueError, match="trainable_layers=0 needs pooling='mean'"):
        clf.fit(TEXTS, Y)
    assert not hasattr(clf, "params_")  # a failed fit leaves nothing half-made


def test_the_readme_recipe_table_is_the_code_s():
    from sktransformer._recipe import HEAD_ALONE

    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    def number(v):  # as the README writes them: 1e-3, 5e-5, 0, 0.1
        return f"{v:.0e}".replace("e-0", "e-") if 0 < v < 0.05 else f"{v:g}"

    for name in ("learning_rate_init", "warmup_fraction"):
        row = (f"| `{name}` | {number(FROM_SCRATCH[name])} | {number(FINE_TUNING[name])} | "
               f"{number(HEAD_ALONE[name])} |")
        assert row in readme, row
    assert (f"| `max_iter` | {FROM_SCRATCH['max_iter']} | {FINE_TUNING['max_iter']} (reaching it"
            in readme) and FINE_TUNING["learning_rate"] == "linear"


def test_every_layer_after_the_head_alone_runs_its_planned_epochs():
    """The head-alone stage's convergence count (past n_iter_no_change) and best loss (another
    objective: cached features, no dropout) carried over: every layer's fine-tuning stopped after
    one of its 3 epochs, without a word. Another recipe or part trains: convergence is watched
    afresh."""
    clf = TransformerClassifier(encoder=str(BERT), trainable_layers=0, random_state=0,
                                n_iter_no_change=2).fit(TEXTS, Y)
    head_epochs = clf.n_iter_
    assert clf._no_improvement_count > 2 or head_epochs == FROM_SCRATCH["max_iter"]
    clf.set_params(trainable_layers="all", warm_start=True).fit(TEXTS, Y)
    assert clf.n_iter_ - head_epochs == FINE_TUNING["max_iter"]


@pytest.mark.parametrize("load", [lambda: TransformerEncoder.from_pretrained(FIXTURES / "bert_mlm"),
                                  lambda: TransformerLanguageModel.from_pretrained(FIXTURES / "gpt2")],
                         ids=["encoder", "language-model"])
def test_a_loaded_model_fits_by_the_checkpoint_recipe(load):
    """README: early_stopping="auto" from 100 samples from a checkpoint, and the recipe's 3
    epochs are the plan (no ConvergenceWarning); a loaded encoder or language model held out
    nothing below 1,000 samples and warned at every fit."""
    texts = [f"{a} {b} {c}" for a in ("the", "a", "my", "one", "this") for b in ("cat", "dog", "bird")
             for c in ("sat", "ran", "slept", "sang", "ate", "hid", "won")][:100]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = load().set_params(random_state=0).fit(texts)
    assert model.validation_scores_ is not None and len(model.validation_scores_) == model.n_iter_
    with pytest.warns(ConvergenceWarning):  # another plan than the recipe's: sklearn's warning
        load().set_params(random_state=0, max_iter=1, early_stopping=False).fit(texts)
