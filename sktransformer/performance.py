"""Process-wide speed settings, all opt-in (nothing here runs on import)."""

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator(threshold=1 << 30):
    """Let glibc's malloc keep freed memory for reuse instead of returning it to the OS.

    numpy allocates each large temporary with ``mmap`` and unmaps it when it
    is freed, so every training step pays page faults to get fresh, zeroed
    memory for arrays of the same sizes as the step before. Raising glibc's
    mmap and trim thresholds makes those blocks come from (and return to)
    the heap. Measured here: training steps about 2x faster at the
    benchmark's standard configuration (see ``benchmarks/bench.py``).

    This changes the whole process (every library's allocations) for the
    rest of its life, and the process keeps its peak memory reserved
    instead of returning it, so it is never done implicitly. The same
    effect without code: start Python with
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
    >>> tune_allocator() in (True, False)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, int(threshold))) and bool(
        mallopt(_M_TRIM_THRESHOLD, int(threshold)))
