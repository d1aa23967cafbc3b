"""Process-wide runtime concerns of training and inference, in one place.

- the BLAS thread limit (one thread is fastest for these matrix sizes;
  ``blas_threads``, restored after each call),
- the opt-in settings of :mod:`sktransformer._config`: the cyclic garbage
  collector off while training (``pause_gc_during_fit``: autograd's tape
  makes many short-lived objects but no reference cycles) and glibc's malloc
  thresholds raised during each call (``tune_malloc``),
- Ctrl-C (SIGINT) turned into a flag checked between training steps,
- the one chunked-inference helper, :func:`map_samples`, that every
  prediction, transform and scoring path goes through.

Batch-invariant inference
-------------------------
A sample's outputs are bitwise identical whatever else is in the batch, in
whatever order the rows come, at any chunk size and from any thread. Two
things make that hold:

1. Per-sample matrix products. A float32 BLAS matrix product gives a row
   results whose last bits depend on where the row sits in the matrix: the
   kernel for the edge rows of a block differs from the one for full blocks,
   and which kernels run depends on the CPU. :func:`map_samples` hands the
   function it maps the model's config with ``batch_invariant`` on
   (:func:`sktransformer._model.batch_invariant`); the layers pass it on to
   :func:`sktransformer._primitives.affine`, which then multiplies each
   sample's ``(T, D)`` slice on its own (a stacked matrix product: one BLAS
   call per sample, always of the same shape), as attention already does
   per sample and head, and to the row sums of softmax and layer norm.
2. A width that depends on the sample alone. Padded sequences are run at
   the sample's own length rounded up to a multiple of ``LENGTH_STEP``
   (summation order over keys depends on the row length), never at the
   longest length of the batch.

Measured on two cores (AMD EPYC, and the OpenBLAS kernels for Haswell,
Zen, Sandy Bridge, Nehalem and Prescott forced on the same CPU): products
of a sample's rows inside one large 2-D product changed bits with the row
order for every kernel but Sandy Bridge's and Nehalem's; stacked per-sample
products never did. Raising ``blas_threads`` lets BLAS split a product
between threads and can change the last bits again: the estimators document
this.
"""

import functools
import gc
import signal
import threading
from contextlib import contextmanager, nullcontext
from numbers import Integral

import numpy as np
from threadpoolctl import ThreadpoolController

from ._config import _settings
from ._model import batch_invariant
from ._primitives import release_kept
from .performance import allocator_scope, prime_allocator

MAX_ROWS = 256  # sequences per forward pass at inference: bounds memory
# The largest temporary of an inference chunk (one layer's attention weights or feed-forward hidden
# units) plus its per-sample outputs: 2 MiB of float32, so that a chunk's temporaries stay near the
# CPU's caches. benchmarks/kernels.py: at 64 MiB, d_model 128 and 128 positions gave 195
# sequences/s, at 2 MiB 244 (d_model 64, 64 positions: 2,186 and 2,846); budgets of 0.5-4 MiB were
# within the noise of each other (development runs at the speed benchmark's sizes).
FLOAT_BUDGET = 2**19
LENGTH_STEP = 8  # padded sequences run at their own length rounded up to a multiple of this ...
EXACT_LENGTH_WIDTH = 256  # ... or, in models at least this wide, at their own length (see length_step)


def make_rng(random_state):
    """A numpy Generator from ``random_state`` without touching numpy's global state."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is not None and not (isinstance(random_state, Integral) and random_state >= 0):
        raise ValueError("random_state must be None, an int >= 0, a numpy Generator or a "
                         f"RandomState, got {random_state!r}.")
    return np.random.default_rng(random_state)  # int, or None for fresh OS entropy


# ------------------------------------------------------------------ BLAS threads


@functools.cache
def _blas_libraries():
    """The BLAS libraries' threadpoolctl controllers, found once per process (~3 ms a search)."""
    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


_BLAS_LOCK = threading.Lock()
_blas_users = {"count": 0, "saved": None}


def _limit_blas(n_threads):
    """Limit BLAS threads while any call needs it; the first call in limits, the last out restores.

    The BLAS thread count is process-wide: with calls overlapping in several
    threads, a plain save-and-restore per call would let one call restore
    the limited value another call saved, leaving the process at 1 thread.
    The libraries' own get/set calls are used directly (a few microseconds;
    threadpoolctl's ``limit`` re-reads every library's info, ~60 us a call,
    which showed in single-sequence predict latency). Pair with
    :func:`_release_blas`.
    """
    with _BLAS_LOCK:
        if _blas_users["count"] == 0:
            saved = [(lib, lib.num_threads) for lib in _blas_libraries()]
            for lib, current in saved:
                if current != n_threads:
                    lib.set_num_threads(n_threads)
            _blas_users["saved"] = saved
        _blas_users["count"] += 1


def _release_blas():
    """The end of a :func:`_limit_blas`: the last call out restores the thread counts it found."""
    with _BLAS_LOCK:
        _blas_users["count"] -= 1
        if _blas_users["count"] == 0:
            for lib, previous in _blas_users["saved"]:
                if lib.num_threads != previous:
                    lib.set_num_threads(previous)
            _blas_users["saved"] = None


class blas_limit:
    """The per-call speed settings of every fit and inference call, as a context manager.

    glibc's malloc in its adapted state
    (:func:`sktransformer.performance.prime_allocator`, once per process),
    BLAS limited to ``n_threads`` threads (``None``: left alone), and, if this
    thread opted in with ``tune_malloc``, glibc's malloc keeping freed memory
    while the call runs (:func:`sktransformer.performance.allocator_scope`).
    A class rather than a generator: entering and leaving cost ~1 us instead
    of ~5 us, counted in every one-sequence prediction.
    """

    __slots__ = ("n_threads", "_malloc")

    def __init__(self, n_threads):
        self.n_threads = n_threads
        self._malloc = None

    def __enter__(self):
        prime_allocator()
        if _settings()["tune_malloc"]:
            self._malloc = allocator_scope()
            self._malloc.__enter__()
        if self.n_threads is not None:
            _limit_blas(self.n_threads)
        return self

    def __exit__(self, *exc_info):
        try:
            if self.n_threads is not None:
                _release_blas()
        finally:
            if self._malloc is not None:
                malloc, self._malloc = self._malloc, None
                malloc.__exit__(*exc_info)
        return False


# ------------------------------------------------------------------ training


@contextmanager
def _stop_on_interrupt():
    """Turn SIGINT into a flag checked between steps (main thread only; elsewhere a no-op)."""
    flag = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: flag.append(signum))
    except ValueError:  # not allowed here (e.g. an embedded interpreter)
        yield lambda: False
        return
    try:
        yield lambda: bool(flag)
    finally:
        signal.signal(signal.SIGINT, previous)


_GC_LOCK = threading.Lock()
_gc_pauses = {"count": 0, "was_enabled": False}


@contextmanager
def _gc_paused():
    """The cyclic collector off while any opted-in training runs: the first in turns it off,
    the last out turns it back on if it was on (trainings overlap across threads)."""
    with _GC_LOCK:
        if _gc_pauses["count"] == 0:
            _gc_pauses["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_pauses["count"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_pauses["count"] -= 1
            if _gc_pauses["count"] == 0 and _gc_pauses["was_enabled"]:
                gc.enable()


@contextmanager
def training(blas_threads):
    """BLAS limit, SIGINT as a flag, and the opted-in settings; yields ``interrupted()``.

    With ``pause_gc_during_fit`` the cyclic collector is off while training
    runs: it finds nothing there (the tape has no reference cycles).
    """
    pause_gc = _gc_paused() if _settings()["pause_gc_during_fit"] else nullcontext()
    try:
        with pause_gc, blas_limit(blas_threads), _stop_on_interrupt() as interrupted:
            yield interrupted
    finally:
        release_kept()


# ------------------------------------------------------------------ inference


def length_step(config):
    """What a sample's length is rounded up to at inference: 1 (its own length) in wide models.

    Rounding to ``LENGTH_STEP`` keeps the distinct widths, and so the chunks
    and their per-call costs, few; in a model of ``d_model >=
    EXACT_LENGTH_WIDTH`` (a checkpoint) the padding costs more than the
    chunks: for texts of 24.6 tokens on average rounding adds about 3.5
    positions, some 15%.
    Either way a sample's width depends on the sample alone.
    """
    return 1 if config.d_model >= EXACT_LENGTH_WIDTH else LENGTH_STEP


def sample_widths(inputs, max_width, step=LENGTH_STEP):
    """The width each sample runs at: its own length rounded up to ``step``, at most ``max_width``.

    Inputs without a padding mask (numeric rows, series) run at their full width.
    """
    n, width = inputs.X.shape[0], inputs.X.shape[1] if inputs.X.ndim > 1 else 1
    if inputs.mask is None:
        return np.full(n, width)
    real = inputs.mask
    if real.shape[1] and real[:, -1].all():  # no trailing padding: every sample at full width
        return np.full(n, min(-(-width // step) * step, max(max_width, 1)))
    lengths = np.where(real.any(axis=1), real.shape[1] - np.argmax(real[:, ::-1], axis=1), 1)
    return np.minimum(-(-lengths // step) * step, max(max_width, 1))


def _at_width(inputs, index, width):
    """Rows ``index`` of ``inputs`` cut or zero-padded (padding, masked) to ``width`` positions."""
    Inputs = type(inputs)
    # ``index`` ascends (map_samples' groups and chunks): as long as the input, it is every sample
    if len(index) == len(inputs.X) and inputs.X.ndim > 1 and width == inputs.X.shape[1]:
        return inputs
    X = inputs.X[index]
    if inputs.mask is None:
        return Inputs(X)
    mask = inputs.mask[index]
    extra = width - X.shape[1]
    if extra > 0:
        X = np.pad(X, [(0, 0), (0, extra)] + [(0, 0)] * (X.ndim - 2))
        mask = np.pad(mask, [(0, 0), (0, extra)])
    types = states = None
    if getattr(inputs, "token_types", None) is not None:  # sentence pairs: segment ids, 0 at padding
        types = np.pad(inputs.token_types[index], [(0, 0), (0, max(extra, 0))])[:, :width]
    if getattr(inputs, "states", None) is not None:  # hidden states of frozen lower layers
        states = np.pad(inputs.states[index], [(0, 0), (0, max(extra, 0)), (0, 0)])[:, :width]
    if types is None and states is None:
        return Inputs(X[:, :width], mask[:, :width])
    return Inputs(X[:, :width], mask[:, :width], types, states, inputs.first_layer)


def _to_width(out, axes, change):
    """``out`` with each of ``axes`` grown (zero-padded) or cut by ``change`` positions."""
    for axis in axes:
        size = out.shape[axis] + change
        if change > 0:
            pad = [(0, 0)] * out.ndim
            pad[axis] = (0, change)
            out = np.pad(out, pad)
        else:
            out = np.take(out, np.arange(size), axis=axis)
    return out


def chunk_rows(width, n_heads=1, floats_per_sample=None, d_ff=0):
    """Samples per inference chunk at ``width``: at most ``MAX_ROWS``, about ``FLOAT_BUDGET`` floats.

    A sample counts its largest temporary, one layer's attention weights or
    its feed-forward layer's hidden units (``width * d_ff``), plus
    ``floats_per_sample(width)`` when given.
    """
    per_row = max(n_heads * (int(width) + 1) ** 2, int(width) * d_ff)
    if floats_per_sample is not None:
        per_row += int(floats_per_sample(int(width)))
    return max(1, min(MAX_ROWS, FLOAT_BUDGET // per_row))


def map_samples(fn, inputs, params, config, *, max_width, width_axes=(), blas_threads=1,
                pass_index=False, floats_per_sample=None):
    """``fn(params, config, chunk)`` over the samples of ``inputs``, batch-invariantly, in input order.

    ``fn`` gets ``config`` (a :class:`~sktransformer._model.ModelConfig`)
    with ``batch_invariant`` on, and must run the network with it: products
    are then per sample (see the module docstring), so neither the chunk
    size nor the other samples of a chunk ever change a result. Samples are
    grouped by their width (:func:`sample_widths`) and run in chunks of at
    most ``MAX_ROWS`` rows and about ``FLOAT_BUDGET`` floats
    (:func:`chunk_rows`): one layer's attention weights, plus
    ``floats_per_sample(width)`` per sample when given, the size of what
    ``fn`` returns or holds beyond that (vocabulary-wide logits ``width *
    n_outputs``, every layer's attention weights, ...). ``fn`` returns one
    array with a first axis over the chunk's samples; its ``width_axes``
    follow the chunk width (plus any positions ``fn`` adds, such as [CLS])
    and are zero-padded or cut to the width of ``inputs``. With
    ``pass_index``, ``fn(params, config, chunk, index)`` also gets the
    chunk's row numbers (to read arrays aligned with ``inputs``). Nothing is
    traced by autograd.
    """
    config = batch_invariant(config)
    widths = sample_widths(inputs, max_width, length_step(config))
    target = inputs.X.shape[1] if inputs.X.ndim > 1 else 1
    order, parts = [], []
    same = bool((widths == widths[0]).all()) if len(widths) else False
    with blas_limit(blas_threads):
        for width in widths[:1] if same else np.unique(widths):
            group = np.arange(len(widths)) if same else np.flatnonzero(widths == width)
            size = chunk_rows(width, config.n_heads, floats_per_sample, config.d_ff)
            for start in range(0, len(group), size):
                index = group[start : start + size]
                chunk = _at_width(inputs, index, int(width))
                out = np.asarray(fn(params, config, chunk, index) if pass_index
                                 else fn(params, config, chunk))
                parts.append(_to_width(out, width_axes, target - int(width)))
                order.append(index)
    release_kept()
    if same:  # one width: the chunks came in input order
        if len(parts) > 1:
            return np.concatenate(parts, axis=0)
        return parts[0] if parts[0].base is None else parts[0].copy()  # not a view of fn's arrays
    result = np.concatenate(parts, axis=0)
    return result[np.argsort(np.concatenate(order), kind="stable")]
