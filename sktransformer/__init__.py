"""sktransformer: the Transformer as a scikit-learn estimator, trained with autograd.

Files, leaf to root: ``_primitives`` (fused ops with hand-written gradients),
``_layers`` (attention, feed-forward, blocks), ``_model`` (config, parameters,
forward pass), ``_tree`` (parameter trees), ``_optim`` (AdamW), ``_grad``
(gradients of a parameter tree), ``_inputs`` and ``vectorizer`` (what the
model reads), ``_runtime`` (BLAS threads, batch-invariant inference),
``_loop`` (the training loop), ``_base`` (the one fit template),
``_supervised`` (encoder + head), then one module per estimator; ``pretrained`` (BERT and
GPT-2 checkpoints from a local directory), ``persistence`` (safe model
files), ``_config`` (``set_config`` / ``config_context``: the opt-in speed
settings that change process-wide state) and ``performance`` (glibc's
allocator), ``datasets``, ``plot``.
"""

from ._config import config_context, get_config, set_config
from ._version import __version__
from .classifier import TransformerClassifier
from .encoder import TransformerEncoder
from .language_model import TransformerLanguageModel
from .persistence import load, save
from .regressor import TransformerRegressor
from .seq2seq import TransformerSeq2Seq
from .tagger import TransformerTagger
from .vectorizer import SequenceVectorizer

__all__ = [
    "SequenceVectorizer",
    "TransformerClassifier",
    "TransformerEncoder",
    "TransformerLanguageModel",
    "TransformerRegressor",
    "TransformerSeq2Seq",
    "TransformerTagger",
    "__version__",
    "config_context",
    "get_config",
    "load",
    "save",
    "set_config",
]
