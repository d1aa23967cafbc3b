"""TransformerRegressor: standardised targets, multi-output, and a regression task that needs order."""

import numpy as np
import pytest
from configs import SMALL as _SMALL
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor

from sktransformer import TransformerEncoder, TransformerRegressor
from sktransformer._tree import tree_leaves

SMALL = {**_SMALL, "max_iter": 30}


def _distance_task(n, length=10, seed=0):
    """Token-id rows with markers 1 and 2 at random places; y = position(2) - position(1)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(3, 9, size=(n, length))
    first, second = (rng.permuted(np.tile(np.arange(length), (n, 1)), axis=1)[:, :2].T)
    X[np.arange(n), first], X[np.arange(n), second] = 1, 2
    return X, (second - first).astype(float)


def test_predictions_are_in_the_units_of_y_and_multi_output_works():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    Y = np.c_[1000 + 50 * X[:, 0], -3 * X[:, 1]]
    reg = TransformerRegressor(**SMALL).fit(X, Y)
    assert reg.predict(X).shape == (150, 2) and reg.n_outputs_ == 2
    assert abs(reg.predict(X)[:, 0].mean() - 1000) < 10  # standardised inside, user units outside
    assert reg.score(X, Y) > 0.8
    one = TransformerRegressor(**SMALL).fit(X, Y[:, 0])
    assert one.predict(X).shape == (150,)


def test_validation_score_is_r2_and_mismatched_targets_are_refused():
    X, y = _distance_task(120)
    reg = TransformerRegressor(**{**SMALL, "max_iter": 3}, linear_blend=False).fit(
        X, y, X_val=X[:30], y_val=y[:30])
    # the score of the kept (best) epoch is the R² that score() computes in y's units
    assert len(reg.validation_scores_) == 3
    assert max(reg.validation_scores_) == pytest.approx(reg.score(X[:30], y[:30]), rel=1e-5)
    with pytest.raises(ValueError, match="targets"):
        reg.partial_fit(X, np.c_[y, y])


def test_encoder_transfer_starts_the_regressor_from_the_encoders_weights():
    X, y = _distance_task(80)
    encoder = TransformerEncoder(**{**SMALL, "max_iter": 2}).fit(X)
    # one step at a negligible learning rate: the weights are the ones training started from
    start = {**SMALL, "max_iter": 1, "learning_rate_init": 1e-12}
    reg = TransformerRegressor(**start, encoder=encoder).fit(X, y)
    scratch = TransformerRegressor(**start).fit(X, y)
    for part in ("embed", "encoder"):
        ours, pretrained = tree_leaves(reg.params_[part]), tree_leaves(encoder.params_[part])
        assert len(ours) == len(pretrained)
        for a, b in zip(ours, pretrained, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    fresh = tree_leaves(scratch.params_["encoder"])
    assert not any(np.allclose(a, b) for a, b in zip(fresh, tree_leaves(encoder.params_["encoder"]),
                                                      strict=True))  # not what any fit starts from
    # so its predictions are a linear head on the encoder's own features
    features = encoder.transform(X)
    for model, linear in ((reg, True), (scratch, False)):
        predicted = model.predict(X)
        residual = predicted - LinearRegression().fit(features, predicted).predict(features)
        assert (np.abs(residual).max() < 1e-4 * np.ptp(predicted)) == linear


@pytest.mark.slow
def test_distance_between_two_marked_tokens_needs_order_and_is_learned():
    X, y = _distance_task(1500)
    X_test, y_test = _distance_task(400, seed=1)
    reg = TransformerRegressor(d_model=32, n_heads=4, n_layers=2, max_iter=40, dropout=0.0,
                               learning_rate_init=3e-3, random_state=0).fit(X, y)
    counts = lambda A: np.stack([(A == t).sum(axis=1) for t in range(9)], axis=1)  # noqa: E731
    bag = MLPRegressor(max_iter=500, random_state=0).fit(counts(X), y)
    ours, baseline = reg.score(X_test, y_test), bag.score(counts(X_test), y_test)
    assert baseline < 0.1  # each marker appears once: counts carry nothing
    assert ours > 0.8, (ours, baseline)


def test_score_is_r2_score_of_predict_multi_output_and_weighted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = np.c_[X[:, 0] + 0.1 * rng.normal(size=40), 5 * X[:, 1] ** 2]
    weight = rng.uniform(0.1, 3.0, size=40)
    reg = TransformerRegressor(**{**SMALL, "max_iter": 5}).fit(X, Y)
    predicted = reg.predict(X)
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, predicted), rel=1e-12, abs=1e-12)
    weighted = reg.score(X, Y, sample_weight=weight)
    assert weighted == pytest.approx(r2_score(Y, predicted, sample_weight=weight), rel=1e-12,
                                     abs=1e-12)
    assert weighted != pytest.approx(reg.score(X, Y), rel=1e-3)  # the weights count
    one = TransformerRegressor(**{**SMALL, "max_iter": 5}).fit(X, Y[:, 0])
    assert one.score(X, Y[:, 0], weight) == pytest.approx(
        r2_score(Y[:, 0], one.predict(X), sample_weight=weight), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("value", [1e-6, 0.0, -3e6])
def test_a_constant_target_is_predicted_exactly_whatever_its_units(value):
    """Its scale was 1 in y's units, so the network's leftover output (about +-0.1) was added to
    the constant: 1e-6 predicted as -0.15 to 0.01. Ridge predicts the constant."""
    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    model = TransformerRegressor(**{**SMALL, "max_iter": 3}).fit(X, np.full(40, value))
    np.testing.assert_array_equal(model.predict(X), np.full(40, value))
    Y = np.c_[X @ [1.0, 2.0, 3.0], np.full(40, value)]  # one column constant (a fold's target)
    predicted = TransformerRegressor(**{**SMALL, "max_iter": 3}).fit(X, Y).predict(X)
    np.testing.assert_array_equal(predicted[:, 1], np.full(40, value))
    assert np.ptp(predicted[:, 0]) > 0


@pytest.mark.parametrize("first", [0.5, 1e-3, 1e-6])
def test_a_constant_first_partial_fit_block_still_lets_later_blocks_be_learned(first):
    # a scale of the constant's own size froze a tiny scale: a first block of 1e-3 learned nothing
    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    model = TransformerRegressor(**{**SMALL, "learning_rate_init": 1e-2})
    model.partial_fit(X, np.full(60, first))
    np.testing.assert_array_equal(model.predict(X), np.full(60, first))
    for _ in range(20):
        model.partial_fit(X, 0.5 + 0.5 * (X[:, 0] > 0.5))
    high = model.predict(X[X[:, 0] > 0.5]).mean() - model.predict(X[X[:, 0] <= 0.5]).mean()
    assert high > 0.25  # half of the step learned
