"""All-or-nothing fitting: a failed fit or partial_fit leaves the estimator as it was."""

import copy
import functools

import numpy as np


def atomic(method):
    """Make a fitting method all-or-nothing: on any exception the estimator is restored as it was.

    Fitted state is replaced, never modified in place, during fitting (the
    loop trains on copies), so a shallow snapshot of the attributes suffices;
    the random generator, which is advanced in place, is copied.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        snapshot = {k: copy.deepcopy(v) if isinstance(v, np.random.Generator) else v
                    for k, v in vars(self).items()}
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(snapshot)
            raise

    return wrapper
