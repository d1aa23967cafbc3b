"""The per-call speed settings (opt-in settings, allocator scope, BLAS threads) and bounded chunks.

The settings of ``set_config`` / ``config_context``: off by default, per
thread, restored on exit. The allocator scope: nesting, never overriding the
user, never entered by default, and, once opted in, wrapping every fit,
partial_fit and inference call of every estimator; the BLAS thread limit
inside each of those calls; the chunk sizes of inference.
"""

import gc
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController, threadpool_limits

import sktransformer
from sktransformer import (
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
    TransformerTagger,
    _layers,
    _runtime,
    performance,
)

TINY = dict(d_model=8, n_heads=2, n_layers=1, max_iter=2, random_state=0)
TEXTS = ["a b c d", "b c", "c a b", "d", "a a b b c"] * 3
_BLAS = ThreadpoolController()  # the test's own view of the BLAS libraries


def _blas_threads():
    """The thread counts the BLAS libraries report right now."""
    return {lib.num_threads for lib in _BLAS.select(user_api="blas").lib_controllers}


def _every_call():
    """(label, call) for fit, partial_fit and every inference method of every estimator, in order."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    ids = np.random.default_rng(1).integers(1, 9, size=(20, 6))
    series = [np.random.default_rng(2).normal(size=(3 + i % 4, 2)) for i in range(20)]
    clf, reg, enc = TransformerClassifier(**TINY), TransformerRegressor(**TINY), TransformerEncoder(**TINY)
    lm, s2s = TransformerLanguageModel(**TINY), TransformerSeq2Seq(**TINY)
    tagger, series_enc = TransformerTagger(**TINY), TransformerEncoder(**TINY)
    y, target, reversed_ = np.arange(20) % 2, [len(t) / 3 for t in TEXTS], TEXTS[::-1]
    tags = [[int(token == "a") for token in t.split()] for t in TEXTS]
    return [
        ("classifier.fit", lambda: clf.fit(X, y)),
        ("classifier.partial_fit", lambda: clf.partial_fit(X, y)),
        ("classifier.predict", lambda: clf.predict(X)),
        ("classifier.predict_proba", lambda: clf.predict_proba(X)),
        ("classifier.predict_log_proba", lambda: clf.predict_log_proba(X)),
        ("classifier.score", lambda: clf.score(X, y)),
        ("classifier.attention_weights", lambda: clf.attention_weights(X)),
        ("regressor.fit", lambda: reg.fit(TEXTS, target)),
        ("regressor.partial_fit", lambda: reg.partial_fit(TEXTS, target)),
        ("regressor.predict", lambda: reg.predict(TEXTS)),
        ("regressor.score", lambda: reg.score(TEXTS, target)),
        ("regressor.attention_weights", lambda: reg.attention_weights(TEXTS)),
        ("encoder.fit", lambda: enc.fit(ids)),
        ("encoder.partial_fit", lambda: enc.partial_fit(ids)),
        ("encoder.transform", lambda: enc.transform(ids)),
        ("encoder.transform_sequence", lambda: enc.transform_sequence(ids)),
        ("encoder.score", lambda: enc.score(ids)),
        ("encoder.attention_weights", lambda: enc.attention_weights(ids)),
        ("series_encoder.fit", lambda: series_enc.fit(series)),
        ("series_encoder.transform", lambda: series_enc.transform(series)),
        ("series_encoder.score", lambda: series_enc.score(series)),
        ("language_model.fit", lambda: lm.fit(TEXTS)),
        ("language_model.partial_fit", lambda: lm.partial_fit(TEXTS)),
        ("language_model.predict_proba", lambda: lm.predict_proba(TEXTS)),
        ("language_model.score", lambda: lm.score(TEXTS)),
        ("language_model.perplexity", lambda: lm.perplexity(TEXTS)),
        ("language_model.generate", lambda: lm.generate("a ", max_new_tokens=3, random_state=0)),
        ("language_model.generate_uncached",
         lambda: lm.generate("a ", max_new_tokens=3, random_state=0, use_cache=False)),
        ("language_model.attention_weights", lambda: lm.attention_weights(TEXTS)),
        ("seq2seq.fit", lambda: s2s.fit(TEXTS, reversed_)),
        ("seq2seq.partial_fit", lambda: s2s.partial_fit(TEXTS, reversed_)),
        ("seq2seq.predict", lambda: s2s.predict(TEXTS)),
        ("seq2seq.predict_beam", lambda: s2s.predict_log_proba_of_output(TEXTS[:3], beam_width=3)),
        ("seq2seq.predict_log_proba_of_output", lambda: s2s.predict_log_proba_of_output(TEXTS)),
        ("seq2seq.score", lambda: s2s.score(TEXTS, reversed_)),
        ("seq2seq.token_accuracy", lambda: s2s.token_accuracy(TEXTS, reversed_)),
        ("seq2seq.attention_weights", lambda: s2s.attention_weights(TEXTS)),
        ("tagger.fit", lambda: tagger.fit(TEXTS, tags)),
        ("tagger.partial_fit", lambda: tagger.partial_fit(TEXTS, tags)),
        ("tagger.predict", lambda: tagger.predict(TEXTS)),
        ("tagger.predict_proba", lambda: tagger.predict_proba(TEXTS)),
        ("tagger.score", lambda: tagger.score(TEXTS, tags)),
        ("tagger.attention_weights", lambda: tagger.attention_weights(TEXTS)),
    ]


def _run_every_call(monkeypatch, observe, before=lambda label: None, after=lambda label: None):
    """Run every call of :func:`_every_call`; ``{label: [observe() at each matrix product]}``.

    ``before(label)`` and ``after(label)`` run around each call.
    """
    seen, current = {}, [None]
    affine = _layers.affine

    def spy(*args, **kwargs):
        seen.setdefault(current[0], []).append(observe())
        return affine(*args, **kwargs)

    monkeypatch.setattr(_layers, "affine", spy)  # every linear map of every forward pass
    try:
        labels = []
        for label, call in _every_call():
            labels.append(label)
            current[0] = label
            before(label)
            call()
            after(label)
    finally:
        monkeypatch.setattr(_layers, "affine", affine)
    missing = [label for label in labels if label not in seen]
    assert not missing, f"no forward pass seen in {missing}"
    return seen


@pytest.fixture
def scoped(monkeypatch):
    """The module's state as in a fresh process (the test suite itself calls tune_allocator)."""
    monkeypatch.setattr(performance, "_state", {"users": 0, "applied": False, "process_wide": False})
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


@pytest.mark.parametrize("how", ["env", "tunables", "process_wide"])
def test_user_choice_wins(scoped, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    elif how == "tunables":
        monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072")
    else:
        performance.tune_allocator()
        scoped.clear()
    with performance.allocator_scope():
        pass
    assert scoped == []


def test_fit_and_predict_leave_malloc_alone_by_default(scoped, fast_params, small_numeric):
    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "max_iter": 1}).fit(X, y)
    clf.predict_proba(X)
    assert scoped == []  # mallopt never called


@pytest.fixture
def priming(scoped, monkeypatch):
    """prime_allocator as in a fresh process, with glibc's malloc and free recorded, not called."""
    monkeypatch.setattr(performance, "_primed", {"done": False})
    calls = []
    monkeypatch.setattr(performance, "_libc_malloc_free", lambda: (
        lambda size: calls.append(("malloc", size)) or 4096,
        lambda pointer: calls.append(("free", pointer))))
    return calls


def test_the_first_fit_or_predict_of_a_process_frees_one_block_at_glibcs_ceiling(
        priming, fast_params, small_numeric):
    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "max_iter": 1}).fit(X, y)
    assert priming == [("malloc", performance.PRIME_BYTES), ("free", 4096)]
    assert 31 * 2**20 < performance.PRIME_BYTES <= 32 * 2**20 - 4096  # at most glibc's ceiling
    clf.predict_proba(X)
    TransformerRegressor(**{**fast_params, "max_iter": 1}).fit(X, y.astype(float)).predict(X)
    assert len(priming) == 2  # once per process


def test_inference_alone_primes_too(priming, fast_params, small_numeric):
    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "max_iter": 1}).fit(X, y)
    performance._primed["done"] = False
    priming.clear()
    clf.predict(X)
    assert [call for call, _ in priming] == ["malloc", "free"]


@pytest.mark.parametrize("how", ["env", "process_wide"])
def test_priming_leaves_malloc_settings_of_the_user_alone(priming, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    else:
        performance.tune_allocator()
    assert performance.prime_allocator() is False
    assert priming == []


_FAULTS_SCRIPT = """
import resource, numpy as np
from sktransformer import performance

def faults_per_loop():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        arrays = [np.ones(1 << 18, dtype=np.float32) for _ in range(8)]  # 8 x 1 MiB, touched
        del arrays
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20

faults_per_loop()
cold = faults_per_loop()
primed = performance.prime_allocator()
faults_per_loop()  # the heap grows back once
print(cold, faults_per_loop(), primed)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or performance._mallopt() is None,
                    reason="glibc's malloc only")
def test_after_priming_a_1_mib_temporary_is_no_longer_page_faulted_in_at_every_use():
    """In a fresh process, glibc's defaults: eight 1 MiB arrays (a loop's temporaries) come from
    the heap once glibc saw a 1 MiB block freed, but when all are freed the top of the heap (8 MiB)
    exceeds the trim threshold (2 MiB) and goes back to the OS: 2,048 page faults per loop. Once
    primed (trim threshold 64 MiB) the memory stays for the next loop: no fault."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    cold, primed_faults, primed = float(out[0]), float(out[1]), out[2]
    assert primed == "True"
    assert cold >= 1000, out
    assert primed_faults < 5, out


def test_fit_and_predict_run_inside_the_scope_when_opted_in(scoped, fast_params, small_numeric):
    X, y = small_numeric
    with sktransformer.config_context(tune_malloc=True):
        clf = TransformerClassifier(**{**fast_params, "max_iter": 1}).fit(X, y)
        assert len(scoped) == 4
        clf.predict_proba(X)
        assert len(scoped) == 8
    clf.predict_proba(X)
    assert len(scoped) == 8  # the context ended: no more


def test_tune_malloc_applies_to_the_thread_that_opted_in_only(scoped, fast_params, small_numeric):
    X, y = small_numeric
    clf = TransformerClassifier(**{**fast_params, "max_iter": 1}).fit(X, y)
    other = threading.Thread(target=clf.predict_proba, args=(X,))
    with sktransformer.config_context(tune_malloc=True):
        other.start()
        other.join()
        assert scoped == []
        clf.predict_proba(X)
        assert len(scoped) == 4


def test_restored_thresholds_are_glibcs_ceiling_32_and_64_mib(scoped):
    assert performance.RESTORED_MMAP_THRESHOLD == 32 * 2**20
    assert performance.RESTORED_TRIM_THRESHOLD == 64 * 2**20
    assert (performance._M_MMAP_THRESHOLD, performance._M_TRIM_THRESHOLD) == (-3, -1)  # glibc's
    with performance.allocator_scope():
        pass
    assert scoped[2:] == [(-3, 32 * 2**20), (-1, 64 * 2**20)]


def test_by_default_no_call_enters_the_allocator_scope_or_pauses_the_collector(scoped, monkeypatch):
    """Each call of each estimator with the defaults: mallopt never called, gc on at every product."""

    def after(label):
        assert scoped == [], label
        assert gc.isenabled(), label

    enabled = gc.isenabled()
    gc.enable()
    try:
        inside = _run_every_call(monkeypatch, lambda: (performance._state["users"], gc.isenabled()),
                                 after=after)
    finally:
        (gc.enable if enabled else gc.disable)()
    for label, states in inside.items():
        assert set(states) == {(0, True)}, label


def test_every_fit_partial_fit_and_inference_call_runs_inside_one_allocator_scope_when_opted_in(
        scoped, monkeypatch):
    """With ``tune_malloc``, each call of each estimator: the thresholds raised once on entry,
    lowered once on exit.

    Every matrix product of the network (training and inference) runs with the
    scope entered and the thresholds raised.
    """
    raised = [(-3, performance.SCOPE_THRESHOLD), (-1, performance.SCOPE_THRESHOLD)]
    lowered = [(-3, 32 * 2**20), (-1, 64 * 2**20)]

    def after(label):
        assert scoped == raised + lowered, label
        assert performance._state["users"] == 0, label

    with sktransformer.config_context(tune_malloc=True):
        inside = _run_every_call(
            monkeypatch, lambda: (performance._state["users"] > 0, performance._state["applied"]),
            before=lambda label: scoped.clear(), after=after)
    for label, states in inside.items():
        assert set(states) == {(True, True)}, label


# ---------------------------------------------------------- set_config / config_context


def test_settings_are_off_by_default():
    assert sktransformer.get_config() == {"pause_gc_during_fit": False, "tune_malloc": False}


def test_config_context_sets_and_restores_even_on_error():
    with sktransformer.config_context(tune_malloc=True):
        assert sktransformer.get_config() == {"pause_gc_during_fit": False, "tune_malloc": True}
        with pytest.raises(RuntimeError), sktransformer.config_context(pause_gc_during_fit=True,
                                                                        tune_malloc=False):
            assert sktransformer.get_config() == {"pause_gc_during_fit": True, "tune_malloc": False}
            raise RuntimeError
        assert sktransformer.get_config() == {"pause_gc_during_fit": False, "tune_malloc": True}
    assert sktransformer.get_config() == {"pause_gc_during_fit": False, "tune_malloc": False}


def test_set_config_changes_the_calling_thread_only():
    seen = []
    try:
        sktransformer.set_config(pause_gc_during_fit=True)
        sktransformer.set_config(tune_malloc=None)  # None: unchanged
        assert sktransformer.get_config() == {"pause_gc_during_fit": True, "tune_malloc": False}
        thread = threading.Thread(target=lambda: seen.append(sktransformer.get_config()))
        thread.start()
        thread.join()
    finally:
        sktransformer.set_config(pause_gc_during_fit=False)
    assert seen == [{"pause_gc_during_fit": False, "tune_malloc": False}]


def test_the_readme_block_opts_in_for_its_fit_only(scoped, monkeypatch):
    """The README's opt-in example: gc off and malloc tuned while its fit trains, and not after."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What the defaults cost, and how to opt in")[1].split("\n## ")[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    seen = []
    loss = TransformerClassifier._loss

    def spy(self, params, batch, rng):
        seen.append((gc.isenabled(), performance._state["applied"]))
        return loss(self, params, batch, rng)

    monkeypatch.setattr(TransformerClassifier, "_loss", spy)
    X = np.random.default_rng(0).normal(size=(20, 3))
    enabled = gc.isenabled()
    gc.enable()
    try:
        exec(code, {"model": TransformerClassifier(**TINY), "X": X, "y": np.arange(20) % 2})
        assert gc.isenabled()
    finally:
        (gc.enable if enabled else gc.disable)()
    assert seen and set(seen) == {(False, True)}
    assert scoped[-2:] == [(-3, 32 * 2**20), (-1, 64 * 2**20)] and not performance._state["applied"]
    assert sktransformer.get_config() == {"pause_gc_during_fit": False, "tune_malloc": False}


def test_get_config_is_a_copy_and_set_config_refuses_non_booleans():
    sktransformer.get_config()["tune_malloc"] = True
    assert sktransformer.get_config()["tune_malloc"] is False
    for bad in (1, "yes", 0.0):
        with pytest.raises(TypeError, match="tune_malloc must be True, False or None"):
            sktransformer.set_config(tune_malloc=bad)
    with pytest.raises(TypeError):
        sktransformer.set_config(False)  # keyword-only, as the names say what is changed
    assert sktransformer.get_config()["tune_malloc"] is False


def test_blas_is_limited_to_blas_threads_in_every_fit_and_inference_call(monkeypatch):
    with threadpool_limits(limits=2, user_api="blas"):
        outside = _blas_threads()
        if outside == {1}:
            pytest.skip("BLAS runs one thread at most here: a limit to one is not visible")

        def after(label):  # the process's setting is back after the call
            assert _blas_threads() == outside, label

        inside = _run_every_call(monkeypatch, _blas_threads, after=after)
        for label, counts in inside.items():
            assert set().union(*counts) == {1}, (label, counts)
        # the spy sees the limit when there is none: blas_threads=None leaves BLAS alone
        seen = []
        affine = _layers.affine
        monkeypatch.setattr(_layers, "affine",
                            lambda *a, **k: seen.append(_blas_threads()) or affine(*a, **k))
        X = np.random.default_rng(0).normal(size=(12, 3))
        TransformerClassifier(**TINY, blas_threads=None).fit(X, np.arange(12) % 2).predict(X)
        assert seen and set().union(*seen) == outside


# ---------------------------------------------------------- inference chunks


def _chunk_sizes(monkeypatch):
    """Record (rows, width) of every inference chunk."""
    sizes = []
    at_width = _runtime._at_width

    def spy(inputs, index, width):
        sizes.append((len(index), width))
        return at_width(inputs, index, width)

    monkeypatch.setattr(_runtime, "_at_width", spy)
    return sizes


def test_inference_chunks_hold_at_most_256_sequences_and_about_2_to_the_19_floats():
    assert _runtime.MAX_ROWS == 256
    assert _runtime.FLOAT_BUDGET == 2**19  # 2 MiB of float32


def test_a_chunk_counts_the_feed_forward_layers_hidden_units_when_they_are_the_larger():
    assert _runtime.chunk_rows(64, n_heads=1, d_ff=0) == 2**19 // 65**2
    assert _runtime.chunk_rows(64, n_heads=1, d_ff=1024) == 2**19 // (64 * 1024)
    assert _runtime.chunk_rows(8, n_heads=2, d_ff=32, floats_per_sample=lambda w: 100 * w) == 256


def test_chunks_stop_at_max_rows(monkeypatch):
    ids = np.random.default_rng(0).integers(1, 9, size=(300, 8))
    enc = TransformerEncoder(**TINY).fit(ids[:40])
    expected = enc.transform(ids)
    sizes = _chunk_sizes(monkeypatch)
    np.testing.assert_array_equal(enc.transform(ids), expected)
    assert sorted(sizes) == [(44, 8), (256, 8)]


def test_attention_weights_chunks_count_every_layers_weights(monkeypatch):
    ids = np.random.default_rng(0).integers(1, 9, size=(60, 8))
    enc = TransformerEncoder(**{**TINY, "n_layers": 3}).fit(ids)
    expected = enc.attention_weights(ids)[0]
    layers, heads, width = 3, 2, 8
    budget = 6000
    monkeypatch.setattr(_runtime, "FLOAT_BUDGET", budget)
    sizes = _chunk_sizes(monkeypatch)
    weights, _ = enc.attention_weights(ids)
    assert len(weights) == layers and weights[0].shape == (60, heads, width, width)
    for layer in range(layers):
        np.testing.assert_array_equal(weights[layer], expected[layer])
    rows = [n for n, _ in sizes]
    assert sum(rows) == 60 and len(rows) > 1
    # one layer's weights in flight plus every layer's weights kept: within the budget ...
    per_row = (1 + layers) * heads * width * width
    assert max(rows) * per_row <= budget, (rows, per_row, budget)
    # ... and not far below it (more than one sequence a chunk where a few fit)
    assert max(rows) >= budget // (4 * per_row) > 1, rows


@pytest.mark.parametrize("make", [
    lambda: TransformerClassifier(**TINY).fit(TEXTS, np.arange(15) % 2),
    lambda: TransformerLanguageModel(**TINY).fit(TEXTS),
], ids=["classifier", "language-model"])
def test_a_sequence_larger_than_the_budget_still_runs_alone(make, monkeypatch):
    model = make()
    documents = [" ".join(TEXTS)] + TEXTS[:3]
    if isinstance(model, TransformerLanguageModel):
        expected = model.predict_proba(documents)
        call = model.predict_proba
    else:
        expected = [model.predict_proba(documents)]
        call = lambda X: [model.predict_proba(X)]  # noqa: E731
    monkeypatch.setattr(_runtime, "FLOAT_BUDGET", 10)  # less than one sequence's attention weights
    sizes = _chunk_sizes(monkeypatch)
    for got, want in zip(call(documents), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert sizes and {n for n, _ in sizes} == {1}
    assert sum(n for n, _ in sizes) >= len(documents)


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


def test_an_array_validate_data_would_pass_as_is_skips_it_with_the_same_result(monkeypatch):
    """Inference on a plain integer or finite float array of the fitted width does not call
    validate_data (a fifth of a one-sequence prediction); anything else still goes through it."""
    from sktransformer._families import _family

    ids = np.random.default_rng(0).integers(1, 9, size=(30, 6))
    X = np.random.default_rng(1).normal(size=(30, 3))
    clf = TransformerClassifier(**TINY).fit(ids, np.arange(30) % 2)
    reg = TransformerRegressor(**TINY).fit(X, X[:, 0])
    expected = clf.predict_proba(ids), reg.predict(X)
    calls = []
    validate = _family.validate_data
    monkeypatch.setattr(_family, "validate_data", lambda *a, **k: calls.append(1) or validate(*a, **k))
    np.testing.assert_array_equal(clf.predict_proba(ids), expected[0])
    np.testing.assert_array_equal(reg.predict(X), expected[1])
    np.testing.assert_array_equal(reg.predict(X.astype(np.float32)), reg.predict(X.astype(np.float32)))
    assert calls == []
    np.testing.assert_array_equal(clf.predict_proba(ids.astype(np.int8)), expected[0])
    np.testing.assert_array_equal(reg.predict(X.tolist()), expected[1])  # a list: checked
    assert len(calls) == 1
    for bad, message in ((ids[:, :5], "6 features"), (np.where(X > 1, np.nan, X), "NaN")):
        model = clf if bad.dtype.kind == "i" else reg
        with pytest.raises(ValueError, match=message):
            model.predict(bad)
    assert len(calls) == 3


def test_inference_returns_a_fresh_array_not_a_view_of_the_networks_arrays():
    """One chunk of one width: what map_samples returns must not keep fn's (N, T, D) array alive."""
    from sktransformer._inputs import Inputs
    from sktransformer._model import ModelConfig

    hidden = np.random.default_rng(0).normal(size=(5, 8, 4)).astype(np.float32)
    ids = np.ones((5, 8), dtype=np.int32)
    out = _runtime.map_samples(lambda params, config, chunk: hidden[: len(chunk.X), 0, :],
                               Inputs(ids, ids > 0), {}, ModelConfig("tokens", 10), max_width=8)
    np.testing.assert_array_equal(out, hidden[:, 0, :])
    assert not np.shares_memory(out, hidden)
