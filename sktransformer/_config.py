"""Settings that change process-wide state, opt-in and per thread, as scikit-learn's ``config_context``.

Two settings make training faster by changing state that the whole process
shares. Neither can be scoped to one estimator, so both are off unless asked
for, and a fit or predict with the defaults changes nothing outside the
estimator (the BLAS thread limit, ``blas_threads``, is the estimator's own
parameter and is restored after each call) but one thing glibc's malloc
would reach by itself: the first call of a process frees one 32 MiB block,
so that glibc adapts its thresholds as it does after any array that large
(:func:`sktransformer.performance.prime_allocator`; no setting is made):

- ``pause_gc_during_fit``: Python's cyclic garbage collector is off while
  ``fit`` and ``partial_fit`` train, in every thread of the process.
- ``tune_malloc``: glibc's malloc keeps freed memory during every ``fit``,
  ``partial_fit`` and inference call (its mmap and trim thresholds raised
  on entry, lowered on exit; see :func:`sktransformer.performance.allocator_scope`).

As in scikit-learn, the settings belong to the thread that makes them:
:func:`set_config` and :func:`config_context` change the calling thread's
settings only, and every other thread (a new thread, joblib's workers)
starts from the defaults.
"""

import threading
from contextlib import contextmanager

import numpy as np

_DEFAULTS = {"pause_gc_during_fit": False, "tune_malloc": False}
_local = threading.local()


def _settings():
    """The calling thread's settings (a mutable dict, made from the defaults on first use)."""
    settings = getattr(_local, "settings", None)
    if settings is None:
        settings = _local.settings = dict(_DEFAULTS)
    return settings


def get_config():
    """The calling thread's sktransformer settings.

    Returns
    -------
    config : dict
        Keys are the parameters of :func:`set_config`.

    See Also
    --------
    set_config : Change the settings of the calling thread.
    config_context : Change them for a block of code.

    Examples
    --------
    >>> import sktransformer
    >>> sktransformer.get_config()
    {'pause_gc_during_fit': False, 'tune_malloc': False}
    """
    return dict(_settings())


def set_config(*, pause_gc_during_fit=None, tune_malloc=None):
    """Opt in to (or out of) the speed settings that change process-wide state, in this thread.

    ``None`` leaves a setting as it is. Only the calling thread is affected:
    other threads, joblib's workers included, keep the defaults. Use
    :func:`config_context` to change them for one block of code only.

    Parameters
    ----------
    pause_gc_during_fit : bool, default=None
        Turn Python's cyclic garbage collector off while ``fit`` and
        ``partial_fit`` train, and back to its previous state when they
        return. The collector belongs to the whole process: while it is off,
        reference cycles made by any thread are not collected. Training makes
        many short-lived objects but no cycles, so the collector's passes find
        nothing; what they cost depends on the machine (see the README's
        Performance section). Default: False.
    tune_malloc : bool, default=None
        Let glibc's malloc keep freed memory while each ``fit``,
        ``partial_fit`` and inference call runs: its mmap and trim thresholds
        are raised on entry and lowered on exit (see
        :func:`sktransformer.performance.allocator_scope`). Without it a
        training step gives its working set back to the OS when it ends and
        page-faults it in again at the next step. The thresholds belong to the
        whole process, and glibc cannot report them nor return to its own
        adaptive setting once they were set: after the call they are set to
        the ceiling of that adaptation (mmap 32 MiB, trim 64 MiB), so up to
        64 MiB of freed memory may stay with the process. Nothing happens
        outside glibc (macOS, Windows, musl), or when malloc settings came from
        the environment or :func:`sktransformer.performance.tune_allocator`.
        Default: False.

    See Also
    --------
    get_config : The current settings.
    config_context : The same settings for a block of code.

    Examples
    --------
    >>> import sktransformer
    >>> sktransformer.set_config(tune_malloc=True)
    >>> sktransformer.get_config()["tune_malloc"]
    True
    >>> sktransformer.set_config(tune_malloc=False)
    """
    given = {name: value for name, value in (("pause_gc_during_fit", pause_gc_during_fit),
                                             ("tune_malloc", tune_malloc)) if value is not None}
    for name, value in given.items():  # every value checked before any is stored
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True, False or None, got {value!r}.")
    _settings().update({name: bool(value) for name, value in given.items()})


@contextmanager
def config_context(*, pause_gc_during_fit=None, tune_malloc=None):
    """The settings of :func:`set_config` for the block it runs, in this thread; restored on exit.

    Parameters
    ----------
    pause_gc_during_fit : bool, default=None
        See :func:`set_config`.
    tune_malloc : bool, default=None
        See :func:`set_config`.

    Yields
    ------
    None

    See Also
    --------
    set_config : Change the settings of the calling thread.
    get_config : The current settings.

    Examples
    --------
    >>> import numpy as np
    >>> import sktransformer
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> model = sktransformer.TransformerRegressor(d_model=8, n_heads=2, n_layers=1, max_iter=1)
    >>> with sktransformer.config_context(pause_gc_during_fit=True, tune_malloc=True):
    ...     model = model.fit(X, X[:, 0])
    >>> sktransformer.get_config()
    {'pause_gc_during_fit': False, 'tune_malloc': False}
    """
    previous = get_config()
    try:
        set_config(pause_gc_during_fit=pause_gc_during_fit, tune_malloc=tune_malloc)
        yield
    finally:
        _settings().update(previous)
