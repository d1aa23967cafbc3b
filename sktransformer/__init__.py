"""sktransformer: the Transformer as a scikit-learn estimator, trained with autograd.

Files, leaf to root: ``_primitives`` (fused ops with hand-written gradients),
``_layers`` (attention, feed-forward, blocks), ``_model`` (config, parameters,
forward pass), ``_optim`` (AdamW), ``_grad`` (gradients of a parameter
tree), ``_inputs`` and ``vectorizer`` (what the model reads), ``_base`` (the
training loop), then one module per estimator; ``pretrained`` (BERT and
GPT-2 checkpoints from a local directory), ``persistence`` (safe model
files), ``performance`` (opt-in speed settings), ``datasets``, ``plot``.
"""

__version__ = "0.1.0"

from .classifier import TransformerClassifier  # noqa: E402
from .encoder import TransformerEncoder  # noqa: E402
from .language_model import TransformerLanguageModel  # noqa: E402
from .persistence import load, save  # noqa: E402
from .seq2seq import TransformerSeq2Seq  # noqa: E402
from .vectorizer import SequenceVectorizer  # noqa: E402

__all__ = [
    "SequenceVectorizer",
    "TransformerClassifier",
    "TransformerEncoder",
    "TransformerLanguageModel",
    "TransformerSeq2Seq",
    "load",
    "save",
]
