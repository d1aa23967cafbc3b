"""glibc's allocator settings for speed, opt-in: per call (``tune_malloc``), or process-wide.

Why: numpy gets every array from ``malloc``. With glibc's defaults a block
of 128 KiB or more is ``mmap``-ed and unmapped when freed, and free memory
at the top of the heap is given back to the OS as soon as it exceeds the
trim threshold (128 KiB at start; glibc raises both as it sees larger
blocks freed, up to 32 / 64 MiB). A training step frees its whole working
set (tens of MB) at its end, so every step page-faults it back: measured
about 13,800 minor faults per step at the benchmark's standard size and
52,000 at its big size, against 4 with the thresholds raised.

The thresholds belong to the whole process and cannot be read back, so
nothing here happens unless asked for (and nothing on import):

- ``sktransformer.set_config(tune_malloc=True)`` or
  ``sktransformer.config_context(tune_malloc=True)``: every ``fit``,
  ``partial_fit`` and inference call of the calling thread runs inside
  :func:`allocator_scope`, which raises both thresholds on entry and lowers
  them on exit;
- :func:`tune_allocator`: the same setting, process-wide and permanent.
"""

import ctypes
import ctypes.util
import functools
import os
import sys
import threading
from contextlib import contextmanager
from numbers import Integral

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Within a scope: blocks below this come from the heap, and free heap is kept up to it.
SCOPE_THRESHOLD = 1 << 30
# On leaving a scope: glibc's own ceiling for its dynamic thresholds (DEFAULT_MMAP_THRESHOLD_MAX
# on 64-bit; the trim threshold follows at twice the mmap threshold). See allocator_scope.
RESTORED_MMAP_THRESHOLD = 32 << 20
RESTORED_TRIM_THRESHOLD = 64 << 20

_ENV_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                 "MALLOC_MMAP_MAX_")

# The largest block whose release raises glibc's dynamic mmap threshold: its ceiling on 64-bit
# (DEFAULT_MMAP_THRESHOLD_MAX, 32 MiB) less a margin for the chunk header and page rounding.
PRIME_BYTES = (32 << 20) - (64 << 10)

_lock = threading.Lock()
_state = {"users": 0, "applied": False, "process_wide": False}
_primed = {"done": False}


@functools.cache
def _mallopt():
    """glibc's ``mallopt`` as a Python callable, or None (not Linux, or not glibc); looked up once."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.mallopt
    except (OSError, AttributeError):
        return None


@functools.cache
def _libc_malloc_free():
    """glibc's ``malloc`` and ``free`` with pointer types, or None (not glibc)."""
    if _mallopt() is None:
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    malloc, free = libc.malloc, libc.free
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    free.restype, free.argtypes = None, [ctypes.c_void_p]
    return malloc, free


def prime_allocator():
    """Bring glibc's malloc, once per process, to the state it adapts to after a 32 MiB array.

    Every ``fit``, ``partial_fit`` and inference call does this first (it is
    not a setting: after the first call it costs a dictionary lookup). glibc
    starts with an mmap threshold of 128 KiB: each larger block is ``mmap``-ed
    when allocated and unmapped when freed, so a loop whose temporaries are
    a few hundred KiB (inference in chunks, a small model's training step)
    page-faults all of them in again at every iteration. glibc raises the
    threshold itself, to the size of any ``mmap``-ed block that is freed, up
    to 32 MiB (and the trim threshold to twice that); any program that frees
    a 32 MiB array is in that state from then on. Here one block of
    ``PRIME_BYTES`` is allocated and freed, never touched, so it costs no
    memory: from then on blocks below 32 MiB come from the heap and up to
    64 MiB of freed memory stays with the process for reuse. Unlike
    :func:`tune_allocator` and :func:`allocator_scope` no threshold is set:
    glibc's own adjustment stays on.

    Measured by ``benchmarks/kernels.py`` (fresh processes, one thread,
    medians of 3): at the standard size (d_model 64, 2 layers, 64 positions,
    batch 32) a training step's minor page faults fell from 12,694 to 41 and
    the step from 73.6 to 36.9 ms; a ``predict_proba`` of 1,024 sequences at
    the tiny size from 7,499 faults to 2,034 (``tests/test_performance.py``
    shows the mechanism in a fresh process).

    Nothing happens outside glibc, or when the user chose malloc settings
    (``MALLOC_*_`` or ``GLIBC_TUNABLES`` environment variables, or
    :func:`tune_allocator`).

    Returns
    -------
    primed : bool
        True if this call freed the block (the first call in a process
        where it applies), False otherwise.
    """
    if _primed["done"]:
        return False
    with _lock:
        if _primed["done"]:
            return False
        _primed["done"] = True
        functions = None if _user_managed() else _libc_malloc_free()
        if functions is None:
            return False
        malloc, free = functions
        pointer = malloc(PRIME_BYTES)
        if not pointer:
            return False
        free(pointer)
        return True


@functools.cache
def _env_managed():
    """True if the environment chose malloc settings (glibc reads it once, at start-up)."""
    if any(name in os.environ for name in _ENV_SETTINGS):
        return True
    return "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")


def _user_managed():
    """True if the user chose malloc settings (environment, or :func:`tune_allocator`)."""
    return _state["process_wide"] or _env_managed()


def tune_allocator(threshold=1 << 30):
    """Let glibc's malloc keep freed memory for reuse, for the rest of the process.

    ``config_context(tune_malloc=True)`` does this for the duration of each
    call (see :func:`allocator_scope`); this makes it permanent and
    process-wide, for programs that run other numpy work between calls, and
    makes the per-call setting redundant (it then does nothing). The process
    keeps its peak memory reserved instead of returning it. The same effect
    without code: start Python with
    ``MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824``.

    Parameters
    ----------
    threshold : int, default=2**30
        Allocations below this many bytes come from the heap; free memory
        above this much is returned to the OS. From 1 to 2**31 - 1 (a C int).

    Returns
    -------
    applied : bool
        False where the C library is not glibc (macOS, Windows, musl), where
        nothing is changed.

    Examples
    --------
    >>> from sktransformer.performance import tune_allocator
    >>> tune_allocator()  # doctest: +SKIP
    True
    """
    if isinstance(threshold, bool) or not isinstance(threshold, Integral) or not (
            1 <= threshold < 2**31):
        raise ValueError(f"threshold must be an int from 1 to 2**31 - 1 (bytes), got {threshold!r}.")
    mallopt = _mallopt()
    if mallopt is None:
        return False
    applied = bool(mallopt(_M_MMAP_THRESHOLD, int(threshold))) and bool(
        mallopt(_M_TRIM_THRESHOLD, int(threshold)))
    with _lock:
        _state["process_wide"] = _state["process_wide"] or applied
    return applied


@contextmanager
def allocator_scope():
    """Raise glibc's mmap and trim thresholds while the block runs; lower them after.

    With ``sktransformer.config_context(tune_malloc=True)`` (or
    ``set_config``), every estimator's ``fit``, ``partial_fit`` and inference
    methods run inside this; by default none does. Calls may nest and
    overlap across threads: the first one in raises the thresholds, the last
    one out lowers them. It does nothing outside glibc, or when the user set
    malloc parameters (``MALLOC_*_`` or ``GLIBC_TUNABLES`` environment
    variables, or :func:`tune_allocator`).

    Leaving the process as found is only approximate: glibc can set its
    thresholds but neither report them nor turn its dynamic adjustment back
    on once ``mallopt`` was called. On exit the thresholds are set to the
    ceiling of that adjustment (mmap 32 MiB, trim 64 MiB): the state glibc
    itself reaches once any array of 32 MiB or more has been freed, as
    inference at large sizes does. Measured consequences: numpy code run
    after a fit with 2 MiB temporaries keeps glibc's adapted speed (setting
    back the initial 128 KiB instead, fixed, made it 30% slower, 1,000 page
    faults per iteration); up to 64 MiB of freed memory may stay with the
    process instead of the few MiB glibc would keep after a small model's fit.
    """
    with _lock:
        first = _state["users"] == 0
        _state["users"] += 1
        if first and not _user_managed():
            mallopt = _mallopt()
            if mallopt is not None:
                _state["applied"] = bool(mallopt(_M_MMAP_THRESHOLD, SCOPE_THRESHOLD)) and bool(
                    mallopt(_M_TRIM_THRESHOLD, SCOPE_THRESHOLD))
    try:
        yield
    finally:
        with _lock:
            _state["users"] -= 1
            if _state["users"] == 0 and _state["applied"]:
                _state["applied"] = False
                if not _state["process_wide"]:  # tune_allocator() was called meanwhile: keep it
                    mallopt = _mallopt()
                    mallopt(_M_MMAP_THRESHOLD, RESTORED_MMAP_THRESHOLD)
                    mallopt(_M_TRIM_THRESHOLD, RESTORED_TRIM_THRESHOLD)
