"""sktransformer: the Transformer as a scikit-learn estimator, trained with autograd.

Files, leaf to root: ``_primitives`` (fused ops with hand-written gradients),
``_layers`` (attention, feed-forward, blocks), ``_model`` (config, parameters,
forward pass), ``_optim`` (AdamW), ``_inputs`` and ``vectorizer`` (what the
model reads), ``_base`` (the training loop), then one module per estimator.
"""

from .classifier import TransformerClassifier
from .encoder import TransformerEncoder
from .language_model import TransformerLanguageModel
from .seq2seq import TransformerSeq2Seq
from .vectorizer import SequenceVectorizer

__all__ = ["SequenceVectorizer", "TransformerClassifier", "TransformerEncoder", "TransformerLanguageModel",
           "TransformerSeq2Seq"]
__version__ = "0.1.0"
