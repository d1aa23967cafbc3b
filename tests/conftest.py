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
    # glibc keeps freed memory for reuse, process-wide and permanent (opt-in by design, see
    # sktransformer.performance). Measured on tests/test_classifier.py, test_training.py and
    # test_encoder.py: 37-39 s against 41-42 s without. Pausing the garbage collector during fit
    # as well (set_config(pause_gc_during_fit=True)) made no measurable difference: not done.
    # Tests of the default settings spy on mallopt (see test_performance.py's ``scoped``).
    from sktransformer.performance import tune_allocator

    tune_allocator()
