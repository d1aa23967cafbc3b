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

_lock = threading.Lock()
_state = {"users": 0, "applied": False, "process_wide": False}


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
        above this much is returned to the OS.

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
