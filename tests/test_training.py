"""The training loop's pieces: minibatches, optimizer, gradients of a parameter tree."""


import warnings

import numpy as np
from autograd import value_and_grad

from sktransformer import (
    TransformerClassifier,
)
from sktransformer._base import TrainingData
from sktransformer._grad import value_and_grad_tree
from sktransformer._inputs import Inputs
from sktransformer._loop import minibatches
from sktransformer._optim import AdamW
from sktransformer._tree import tree_leaves


def test_minibatches_cover_every_row_once_and_bucket_by_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=1000)
    mask = np.arange(60)[None, :] < lengths[:, None]
    data = TrainingData(Inputs(mask.astype(np.int32), mask))
    batches = minibatches(data, 32, np.random.default_rng(1), bucket_batches=32)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padding = sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches)
    shuffled = np.random.default_rng(2).permutation(1000)
    random_padding = sum(lengths[b].max() * len(b) - lengths[b].sum()
                         for b in np.array_split(shuffled, len(batches)))
    assert padding < 0.2 * random_padding  # batches of similar lengths: little padding to compute
    assert minibatches(data, 32, np.random.default_rng(1), 32)[0].tolist() == batches[0].tolist()
    unbucketed = minibatches(data, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(unbucketed).tolist()) == list(range(1000))


def test_gradients_of_a_parameter_tree_match_autograd():
    rng = np.random.default_rng(0)
    params = {"a": rng.normal(size=(3, 2)), "layers": [{"w": rng.normal(size=2)}, {"w": rng.normal(size=2)}],
              "unused": rng.normal(size=4)}

    def loss(p, x):
        h = np.tanh(x @ p["a"])
        for layer in p["layers"]:
            h = h * layer["w"]
        return (h**2).sum()

    x = rng.normal(size=(5, 3))
    expected_value, expected = value_and_grad(loss)(params, x)
    value, grads = value_and_grad_tree(loss)(params, x)
    assert value == expected_value
    for g, e in zip(tree_leaves(grads), tree_leaves(expected), strict=True):
        np.testing.assert_allclose(g, e)
    assert (grads["unused"] == 0).all()


def test_adamw_first_step_moves_each_weight_by_the_learning_rate_and_decays_matrices():
    params = {"W": np.ones((2, 2), np.float32), "b": np.ones(2, np.float32)}
    grads = {"W": np.full((2, 2), 0.5, np.float32), "b": np.full(2, -0.5, np.float32)}
    optimizer = AdamW(params, learning_rate=0.1, weight_decay=0.1, max_grad_norm=None)
    assert optimizer.update(params, grads)
    np.testing.assert_allclose(params["W"], 1 * (1 - 0.01) - 0.1, rtol=1e-5)  # decay, then Adam step
    np.testing.assert_allclose(params["b"], 1 + 0.1, rtol=1e-5)  # no decay on biases
    assert params["W"].dtype == np.float32
    assert not optimizer.update(params, {"W": grads["W"] * np.nan, "b": grads["b"]})
    np.testing.assert_allclose(params["b"], 1.1, rtol=1e-5)  # a non-finite step changes nothing


def test_gradient_clipping_bounds_the_global_norm():
    params = {"w": np.zeros(4, np.float32)}
    optimizer = AdamW(params, learning_rate=1.0, weight_decay=0.0, max_grad_norm=1.0)
    optimizer.update(params, {"w": np.full(4, 100.0, np.float32)})
    np.testing.assert_allclose(optimizer.m["w"], 0.1 * 100 / (200 + 1e-12), rtol=1e-5)


def test_warm_start_with_early_stopping_never_publishes_worse_parameters():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    params = dict(d_model=16, n_heads=2, n_layers=1, max_iter=30, early_stopping=True,
                  n_iter_no_change=3, random_state=0, learning_rate_init=0.01)
    clf = TransformerClassifier(**params).fit(X, y, X_val=X, y_val=y)
    first = clf.score(X, y)
    clf.set_params(warm_start=True, learning_rate_init=0.5, max_grad_norm=None, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, X_val=X, y_val=y)
    assert clf.score(X, y) >= first
