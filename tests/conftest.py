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


def pytest_configure(config):
    # glibc keeps freed memory for reuse: training steps ~2x faster, so the suite runs in
    # half the time. Process-wide and opt-in by design (see sktransformer.performance).
    from sktransformer.performance import tune_allocator

    tune_allocator()
