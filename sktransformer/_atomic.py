"""All-or-nothing fitting: a failed fit or partial_fit leaves the estimator as it was."""

import functools

import numpy as np


def _random_state(value):
    """The state of a numpy random generator (Generator or RandomState), else None."""
    if isinstance(value, np.random.Generator):
        return value.bit_generator.state
    if isinstance(value, np.random.RandomState):
        return value.get_state()
    return None


def _set_random_state(generator, state):
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = state
    else:
        generator.set_state(state)


def atomic(method):
    """Make a fitting method all-or-nothing: on any exception the estimator is restored as it was.

    Fitted state is replaced, never modified in place, during fitting (the
    loop trains on copies), so a shallow snapshot of the attributes suffices;
    random generators, which advance in place (the estimator's own, and a
    ``random_state`` given as a Generator or RandomState, which is the
    caller's object), are set back to their states in place.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        snapshot = dict(vars(self))
        states = {k: s for k, v in snapshot.items() if (s := _random_state(v)) is not None}
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(snapshot)
            for name, state in states.items():
                _set_random_state(snapshot[name], state)
            raise

    return wrapper
