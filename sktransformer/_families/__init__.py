"""Input families: what ``X`` may be, each read by one object that a registry picks at the first fit.

======================  ===========================================  ==============
family                  what the user passes                         the network
======================  ===========================================  ==============
:class:`Series`         3-D float array, or series of any lengths    one vector/step
:class:`TokenSequences` list of strings or of token lists (ragged)   ids + mask
:class:`IdMatrix`       2-D integer array of token ids, 0 = padding  ids + mask
:class:`NumericRows`    2-D float array (n_samples, n_features)      one token/feature
======================  ===========================================  ==============

A checkpoint's tokenizer is a family too
(:class:`~sktransformer.pretrained.TokenizerAdapter`), set by
``from_pretrained`` rather than chosen here. A new family is one module
with an :class:`InputFamily` subclass, and one line in ``REGISTRY``.
"""

from .._inputs import series_from_nan_padding, text_column
from .._sequences import _check_sequences, check_collection, numpy_integers, refuse_bytes
from ._family import InputFamily
from .ids import IdMatrix
from .numeric import NumericRows
from .sequences import TokenSequences
from .series import Series

# Asked in this order; the first that claims X reads it (NumericRows claims whatever is left).
REGISTRY = (Series, TokenSequences, IdMatrix, NumericRows)


def choose_family(estimator, X, input_type="auto", max_len=512, analyzer="word"):
    """The input family that reads training ``X`` (not yet fitted: its ``read`` learns from X)."""
    if isinstance(X, str):
        _check_sequences(X)  # raises a TypeError that says what to do
    check_collection(X, bytes_ok=True)
    X = series_from_nan_padding(text_column(estimator, numpy_integers(X), learning=True))
    family = next(f for f in REGISTRY if f.claims(X, input_type))
    if family.__module__.startswith(__name__):  # no family of ours reads bytes (one added may)
        refuse_bytes(X)
    return family(input_type, max_len, analyzer)


__all__ = ["REGISTRY", "IdMatrix", "InputFamily", "NumericRows", "Series", "TokenSequences",
           "choose_family"]
