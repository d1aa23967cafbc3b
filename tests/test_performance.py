"""The allocator scope around fit/predict: nesting, opt-out, and never overriding the user."""

import threading

import pytest

from sktransformer import performance


@pytest.fixture
def scoped(monkeypatch):
    """The module's state as in a fresh process (the test suite itself calls tune_allocator)."""
    monkeypatch.setattr(performance, "_state", {"users": 0, "applied": False,
                                                "process_wide": False, "scoped": True})
    calls = []
    monkeypatch.setattr(performance, "_mallopt",
                        lambda: lambda param, value: calls.append((param, value)) or 1)
    performance._env_managed.cache_clear()
    monkeypatch.setattr(performance, "_env_managed", performance._env_managed.__wrapped__)
    for name in performance._ENV_SETTINGS + ("GLIBC_TUNABLES",):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_nested_scopes_set_once_and_restore_once(scoped):
    with performance.allocator_scope():
        with performance.allocator_scope():
            assert len(scoped) == 2
        assert len(scoped) == 2  # the inner exit keeps the setting
    assert scoped == [
        (performance._M_MMAP_THRESHOLD, performance.SCOPE_THRESHOLD),
        (performance._M_TRIM_THRESHOLD, performance.SCOPE_THRESHOLD),
        (performance._M_MMAP_THRESHOLD, performance.RESTORED_MMAP_THRESHOLD),
        (performance._M_TRIM_THRESHOLD, performance.RESTORED_TRIM_THRESHOLD),
    ]
    assert performance._state["users"] == 0


def test_overlapping_threads_restore_after_the_last(scoped):
    inside, release = threading.Event(), threading.Event()

    def worker():
        with performance.allocator_scope():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    with performance.allocator_scope():
        thread.start()
        inside.wait(5)
    assert len(scoped) == 2  # the worker is still inside
    release.set()
    thread.join()
    assert len(scoped) == 4


def test_exception_still_restores(scoped):
    with pytest.raises(RuntimeError), performance.allocator_scope():
        raise RuntimeError
    assert len(scoped) == 4 and performance._state["users"] == 0


@pytest.mark.parametrize("how", ["opt_out", "env", "tunables", "process_wide"])
def test_user_choice_wins(scoped, monkeypatch, how):
    if how == "opt_out":
        assert performance.set_scoped_allocator(False) is True
    elif how == "env":
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    elif how == "tunables":
        monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072")
    else:
        performance.tune_allocator()
        scoped.clear()
    with performance.allocator_scope():
        pass
    assert scoped == []


def test_fit_and_predict_run_inside_the_scope(scoped, fast_params, small_numeric):
    from sktransformer import TransformerClassifier

    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "max_iter": 1}).fit(X, y)
    assert len(scoped) == 4
    clf.predict_proba(X)
    assert len(scoped) == 8


@pytest.mark.parametrize("schedule", [{}, {"schedule": "cosine", "total_steps": 6, "warmup_fraction": 0.3}])
def test_flat_adamw_matches_the_per_array_update_bitwise(schedule):
    import pickle

    import numpy as np

    from sktransformer._optim import AdamW
    from sktransformer._tree import tree_copy, tree_leaves

    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 3)).astype(np.float32),
              "blocks": [{"b": rng.standard_normal(3).astype(np.float32)}]}
    flat_params, leaf_params = tree_copy(params), tree_copy(params)
    flat = AdamW(flat_params, max_grad_norm=0.5, **schedule)
    per_leaf = AdamW(leaf_params, max_grad_norm=0.5, **schedule)
    for step in range(6):
        grads = {"W": rng.standard_normal((4, 3)).astype(np.float32),
                 "blocks": [{"b": rng.standard_normal(3).astype(np.float32)}]}
        assert flat.update(flat_params, grads) and per_leaf._update_leaves(leaf_params, grads)
        if step == 2:  # a pickled copy and load_state rebuild the buffers from the arrays
            flat = pickle.loads(pickle.dumps(flat))
            assert "_flat" not in vars(flat)
            copy = AdamW(flat_params, max_grad_norm=0.5, **schedule)
            copy.load_state(flat)
            flat = copy
    for a, b in zip(tree_leaves(flat_params), tree_leaves(leaf_params), strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(tree_leaves(flat.m) + tree_leaves(flat.v),
                    tree_leaves(per_leaf.m) + tree_leaves(per_leaf.v), strict=True):
        assert np.array_equal(a, b)
