"""Shared fixtures."""

import numpy as np
import pytest


@pytest.fixture
def small_numeric():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture
def fast_params():
    return dict(d_model=16, n_heads=2, n_layers=1, max_iter=5, random_state=0)
