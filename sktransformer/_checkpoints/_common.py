"""What every checkpoint family shares: the Family record, named tensors, sizes read from config.json.

A family (``bert.py``, ``gpt2.py``, ...) is a :class:`Family`: where its
tensors are, how config.json gives its sizes, and how its state dict maps
onto the package's parameter tree. Names are torch's; a torch ``Linear``
stores its weight as (out, in), ours as (in, out).
"""

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._model import DTYPE
from .files import Unreadable

# Hugging Face activation names -> ours ("gelu" there is the exact form, ours the tanh one)
ACTIVATIONS = {"gelu": "gelu_erf", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "relu": "relu"}


@dataclass(frozen=True)
class Family:
    """One ``model_type`` of config.json: how its checkpoint becomes our network."""

    kind: str  # "encoder" (TransformerEncoder) or "decoder" (TransformerLanguageModel)
    prefixes: tuple  # model prefixes a tensor name may carry ("bert.", "transformer.")
    layer: str  # prefix of layer i's tensors, "{}" standing for i
    token_table: str  # name of the token embedding
    architecture: Callable  # config dict -> arch dict (our sizes, "keys" of config.json, eps, ...)
    params: Callable  # (arch, tensors) -> our parameter tree
    options: Callable  # arch -> the ModelConfig options of this family (norms, embeddings, ...)
    pooler: Callable | None = None  # (arch, tensors) -> BERT's pooler layer, where there is one
    pooler_absent: str = "this model_type has none"  # why pooling="pooler" is refused
    mask_token: str = "[MASK]"  # the tokenizer's mask token, whose vector starts ours
    mlm_head: Callable | None = None  # (arch, tensors) -> the stored masked-token head, or None

    def weights(self, tensors):
        return Weights(tensors, self.prefixes)


def epsilon(config, key, default):
    """A layer-norm epsilon from config.json: a positive finite number (NaN or <= 0 gives NaN outputs)."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            np.isfinite(value) and value > 0):
        raise ValueError(f"config.json has {key}={value!r}: it must be a positive finite number.")
    return float(value)


class Weights:
    """Named tensors of a checkpoint, found with or without a model prefix ("bert.", "transformer.")."""

    def __init__(self, tensors, prefixes):
        self.tensors = tensors
        self.prefixes = ("",) + prefixes

    def __call__(self, name, shape=None):
        candidates = [p + name for p in self.prefixes]
        if name.endswith("LayerNorm.weight"):  # early BERT checkpoints say gamma/beta
            candidates += [c[: -len("weight")] + "gamma" for c in candidates]
        if name.endswith("LayerNorm.bias"):
            candidates += [c[: -len("bias")] + "beta" for c in candidates]
        for key in candidates:
            if key in self.tensors:
                array = as_float(key, self.tensors[key])
                if shape is not None and array.shape != tuple(shape):
                    raise ValueError(f"Checkpoint tensor {key} has shape {array.shape}, but "
                                     f"config.json gives {tuple(shape)}; use the config.json saved "
                                     "with these weights.")
                return array
        raise ValueError(f"Checkpoint has no tensor {name!r} (looked for {', '.join(candidates)}).")

    def key(self, name):
        """The stored name of tensor ``name`` (or None)."""
        return next((p + name for p in self.prefixes if p + name in self.tensors), None)

    def has_prefix(self, prefix):
        """Whether some tensor's name starts with ``prefix`` (after a model prefix)."""
        return any(key.startswith(p + prefix) for key in self.tensors for p in self.prefixes)

    def linear(self, name, n_in, n_out, bias=True):
        """A torch ``Linear`` (weight (out, in)) as our {"W": (in, out), "b"}; ``bias=False``: no "b"."""
        layer = {"W": self(name + ".weight", (n_out, n_in)).T.copy()}
        if bias:
            layer["b"] = self(name + ".bias", (n_out,))
        return layer

    def conv1d(self, name, n_in, n_out):
        """GPT-2's ``Conv1D``, whose weight is (in, out) already."""
        return {"W": self(name + ".weight", (n_in, n_out)), "b": self(name + ".bias", (n_out,))}

    def norm(self, name, d):
        return {"gamma": self(name + ".weight", (d,)), "beta": self(name + ".bias", (d,))}

    def rms_norm(self, name, d):
        """An RMSNorm: its scale only."""
        return {"gamma": self(name + ".weight", (d,))}


def as_float(key, tensor):
    """A stored weight as float32: float16, bfloat16 and float64 are cast, other types refused."""
    if isinstance(tensor, Unreadable) or not np.issubdtype(tensor.dtype, np.floating):
        raise TypeError(f"Checkpoint tensor {key} is stored as {tensor.dtype}: only float weights "
                        "(float32, float16, bfloat16, float64) are read, not integer or 8-bit "
                        "(quantized) ones; save the model in float32 (in transformers: "
                        "model.float().save_pretrained(...)) or load the unquantized checkpoint.")
    return np.asarray(tensor, DTYPE)


def activation(name):
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"Unsupported activation {name!r} in config.json: supported are "
                         f"{', '.join(map(repr, ACTIVATIONS))}.")
    return ACTIVATIONS[name]


def fused_qkv(q, k, v):
    """Three projections -> one ``W_qkv`` = [W_Q | W_K | W_V] (our head split matches theirs).

    Without biases (Llama) the fused layer has none either.
    """
    fused = {"W": np.concatenate([q["W"], k["W"], v["W"]], axis=1)}
    if "b" in q:
        fused["b"] = np.concatenate([q["b"], k["b"], v["b"]])
    return fused


def size(config, key):
    """A positive integer of config.json."""
    if config.get(key) is None:
        raise ValueError(f"config.json has no {key}, which this model_type needs.")
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"config.json has {key}={value!r}: a positive integer is expected.")
    return int(value)


def sizes(config, keys):
    """Our sizes from config.json ({our name: its key}), with the keys kept for messages."""
    found = {ours: size(config, theirs) for ours, theirs in keys.items()}
    if found["d_model"] % found["n_heads"]:
        raise ValueError(f"config.json has {keys['d_model']}={found['d_model']} and "
                         f"{keys['n_heads']}={found['n_heads']}: the heads must split "
                         f"{keys['d_model']} evenly (is config.json the one saved with the weights?).")
    return dict(found, keys=keys)


def n_token_ids(tokenizer):
    """The number of ids of a tokenizer (its largest id + 1, special and added tokens included)."""
    return max(tokenizer.vocabulary.values(), default=-1) + 1


def check_weights(family, arch, tensors, tokenizer):
    """Refuse a config.json or tokenizer.json that disagrees with the weights; the ids with a token.

    Rows of the token embedding past the tokenizer's last id (checkpoints pad
    it, e.g. to a multiple of 64) have no token: the caller drops them.
    """
    w, table = family.weights(tensors), family.token_table
    keys, key, n_layers = arch["keys"], w.key(table), arch["n_layers"]
    if w.has_prefix(family.layer.format(n_layers)):
        raise ValueError(f"config.json has {keys['n_layers']}={n_layers} but the checkpoint stores "
                         f"a layer {n_layers} ({family.layer.format(n_layers)}*); use the "
                         "config.json saved with these weights.")
    if key is None:
        w(table)  # raises, naming the names looked for
    rows, n_ids = w.tensors[key].shape[0], n_token_ids(tokenizer)
    if rows != arch["vocab"]:
        raise ValueError(f"config.json has {keys['vocab']}={arch['vocab']} but the token embedding "
                         f"{key} has {rows} rows; use the config.json saved with these weights.")
    if n_ids > rows:
        raise ValueError(f"tokenizer.json has {n_ids} token ids but the token embedding {key} has "
                         f"only {rows} rows, so ids {rows}..{n_ids - 1} have no vector (tokens added "
                         "to the tokenizer without resizing the model). Use the tokenizer saved with "
                         "the model, or in transformers call model.resize_token_embeddings("
                         "len(tokenizer)) and save both again.")
    return n_ids


