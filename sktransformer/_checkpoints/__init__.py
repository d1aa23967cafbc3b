"""Checkpoint families: one module each, one entry each in ``FAMILIES`` (config.json's ``model_type``).

A new family is a module defining a :class:`~._common.Family` (where its
tensors are, its sizes, its state dict -> our parameter tree, its network
options) and one line here; :mod:`sktransformer.pretrained` asks this table
and never compares model types itself.
"""

from ._common import Family, check_weights, n_token_ids
from .bert import BERT, DISTILBERT
from .files import read_checkpoint, read_safetensors
from .gpt2 import GPT2
from .llama import LLAMA, MISTRAL, QWEN2
from .roberta import ROBERTA

FAMILIES = {"bert": BERT, "distilbert": DISTILBERT, "roberta": ROBERTA, "xlm-roberta": ROBERTA,
            "gpt2": GPT2, "llama": LLAMA, "qwen2": QWEN2, "mistral": MISTRAL}
_LOADER = {"encoder": "TransformerEncoder", "decoder": "TransformerLanguageModel"}


def supported(kind):
    """The model types of one kind ("encoder" or "decoder")."""
    return tuple(name for name, family in FAMILIES.items() if family.kind == kind)


def family_of(config, kind, estimator):
    """(model_type, Family) of a config.json, refused unless it is of ``kind``."""
    model_type = config.get("model_type")
    family = FAMILIES.get(model_type) if isinstance(model_type, str) else None
    if family is not None and family.kind == kind:
        return model_type, family
    advice = f" Load it with {_LOADER[family.kind]}.from_pretrained." if family else ""
    raise ValueError(f"{estimator} cannot load a checkpoint of model_type={model_type!r}: supported "
                     f"are {', '.join(map(repr, supported(kind)))}.{advice}")


__all__ = ["FAMILIES", "Family", "check_weights", "family_of", "n_token_ids", "read_checkpoint",
           "read_safetensors", "supported"]
