"""Llama-family decoders: Llama, Qwen2 and Mistral, whose checkpoints share one layout.

Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language Models":
pre-norm blocks with RMSNorm (Zhang & Sennrich 2019), the SwiGLU feed-forward
layer (Shazeer 2020), rotary positions (Su et al. 2021) in the ``rotate_half``
layout (each head's first half paired with its second, as our ``rotary``
pairs them, so the weights load unpermuted), grouped-query attention (Ainslie
et al. 2023) and no biases. Qwen2 adds biases to the query, key and value
projections. Mistral (Jiang et al. 2023) attends within a sliding window,
which changes nothing while the context is no longer than the window:
``from_pretrained`` keeps ``max_len`` within it.

What the network does not model is refused, naming the option: rotary
scaling (a ``rope_type`` other than "default") or a partial rotary factor,
``hidden_act`` other than silu, ``head_dim`` other than hidden_size /
num_attention_heads, and Llama's ``attention_bias`` and ``mlp_bias``.
"""

import json
import numbers

import numpy as np

from .._model import DTYPE
from .._vocabulary import N_RESERVED
from ._common import Family, epsilon, fused_qkv, size, sizes

_KEYS = dict(d_model="hidden_size", n_layers="num_hidden_layers", n_heads="num_attention_heads",
             d_ff="intermediate_size", n_positions="max_position_embeddings", vocab="vocab_size")
# Options of config.json that give a model_type biases our network does not read
_BIAS_OPTIONS = {"llama": ("attention_bias", "mlp_bias")}
_QKV_BIAS = ("qwen2",)  # always there, as in transformers' Qwen2Attention
_ROPE_TYPES = "linear, dynamic, yarn, longrope, llama3"


def _refuse(model_type, option, value, reason):
    raise ValueError(f"Unsupported {model_type} option {option}={json.dumps(value)} in config.json: "
                     f"{reason}.")


def rope_theta(config, model_type):
    """The rotary base of config.json: in ``rope_parameters`` (or ``rope_scaling``), else top-level.

    transformers 5 writes ``rope_parameters: {"rope_type", "rope_theta"}``;
    earlier versions a top-level ``rope_theta`` and ``rope_scaling`` (which
    wins where both are given). Only the default angles are modelled.
    """
    key = "rope_scaling" if config.get("rope_scaling") else "rope_parameters"
    rope = config.get(key) or {}
    if not isinstance(rope, dict) or any(isinstance(v, dict) for v in rope.values()):
        _refuse(model_type, key, rope, "one dict of rotary settings is read (not one per layer type)")
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind != "default":
        _refuse(model_type, f"{key}.rope_type", kind, "only the default rotary angles are modelled, "
                f"not scaled variants ({_ROPE_TYPES})")
    factor = rope.get("partial_rotary_factor", config.get("partial_rotary_factor", 1.0))
    if factor != 1:
        _refuse(model_type, "partial_rotary_factor", factor, "rotary positions turn the whole head")
    theta = rope.get("rope_theta", config.get("rope_theta", 10000.0))
    if isinstance(theta, bool) or not isinstance(theta, numbers.Real) or not (
            np.isfinite(theta) and theta > 1):
        raise ValueError(f"config.json has rope_theta={theta!r}: it must be a finite number > 1.")
    return float(theta)


def sliding_window(config, model_type):
    """The attention window of config.json, or None: Mistral's, Qwen2's where use_sliding_window."""
    if model_type == "mistral":
        window = config.get("sliding_window")
    elif model_type == "qwen2" and config.get("use_sliding_window"):
        n_layers, first = config.get("num_hidden_layers"), config.get("max_window_layers", 28)
        types = config.get("layer_types") or ["sliding_attention" if i >= first else "full_attention"
                                               for i in range(n_layers)]
        window = config.get("sliding_window", 4096) if "sliding_attention" in types else None
    else:
        window = None
    return None if window is None else size(config, "sliding_window")


def llama_architecture(config, model_type):
    """Sizes of a Llama-family config.json, with what our model cannot do refused."""
    found = sizes(config, _KEYS)
    d, n_heads = found["d_model"], found["n_heads"]
    n_kv_heads = n_heads if config.get("num_key_value_heads") is None else size(
        config, "num_key_value_heads")
    if n_heads % n_kv_heads:
        raise ValueError(f"config.json has num_attention_heads={n_heads} and num_key_value_heads="
                         f"{n_kv_heads}: each key/value head serves the same number of query heads, "
                         "so num_key_value_heads must divide num_attention_heads.")
    if config.get("head_dim") not in (None, d // n_heads):
        _refuse(model_type, "head_dim", config["head_dim"], "heads are hidden_size / "
                f"num_attention_heads = {d // n_heads} wide in our network")
    activation = config.get("hidden_act", "silu")
    if activation not in ("silu", "swish"):
        _refuse(model_type, "hidden_act", activation, "the feed-forward layer is SwiGLU, whose gate "
                "is silu")
    for option in _BIAS_OPTIONS.get(model_type, ()):
        if config.get(option):
            _refuse(model_type, option, config[option], "its biases are not modelled")
    tied = config.get("tie_word_embeddings", False)
    if not isinstance(tied, bool):
        raise ValueError(f"config.json has tie_word_embeddings={tied!r}: true or false is expected.")
    return dict(found, n_kv_heads=n_kv_heads, eps=epsilon(config, "rms_norm_eps", 1e-6),
                activation="swiglu", rope_theta=rope_theta(config, model_type), tied=tied,
                qkv_bias=model_type in _QKV_BIAS, window=sliding_window(config, model_type),
                bos_id=config.get("bos_token_id"))


def _block(w, arch, p):
    """Layer ``p`` ("layers.{i}."): RMSNorm, grouped-query attention, RMSNorm, SwiGLU."""
    d, f, bias = arch["d_model"], arch["d_ff"], arch["qkv_bias"]
    kv = arch["n_kv_heads"] * (d // arch["n_heads"])  # G K
    q, k, v = (w.linear(p + f"self_attn.{name}_proj", d, n, bias)
               for name, n in (("q", d), ("k", kv), ("v", kv)))
    return {"ln_attn": w.rms_norm(p + "input_layernorm", d),
            "attn": {"qkv": fused_qkv(q, k, v), "out": w.linear(p + "self_attn.o_proj", d, d, False)},
            "ln_ff": w.rms_norm(p + "post_attention_layernorm", d),
            "ff": {"gate": w.linear(p + "mlp.gate_proj", d, f, False),
                   "up": w.linear(p + "mlp.up_proj", d, f, False),
                   "down": w.linear(p + "mlp.down_proj", f, d, False)}}


def llama_params(arch, tensors):
    """Our {"embed", "decoder"[, "head"]} tree from a Llama-family state dict.

    Only the first ``arch["tokens"]`` rows of the token embedding and of the
    output layer (all if absent) are kept; a tied model has no "head".
    """
    w = LLAMA.weights(tensors)
    d, n_vocab, n_ids = arch["d_model"], arch["vocab"], arch.get("tokens")
    table = w("embed_tokens.weight", (n_vocab, d))[:n_ids]
    tree = {"embed": {"W": np.concatenate([np.zeros((N_RESERVED, d), DTYPE), table])},
            "decoder": {"blocks": [_block(w, arch, LLAMA.layer.format(i))
                                   for i in range(arch["n_layers"])],
                        "ln_final": w.rms_norm("norm", d)}}
    if not arch["tied"]:  # a Linear without bias: (V, D) -> our (D, V)
        tree["head"] = {"W": w("lm_head.weight", (n_vocab, d))[:n_ids].T.copy()}
    return tree


def _options(arch):
    return dict(norm_first=True, norm_kind="rms", tie_embeddings=arch["tied"],
                n_kv_heads=arch["n_kv_heads"], rope_theta=arch["rope_theta"],
                positional_encoding="rotary")


def _family(model_type):
    return Family(kind="decoder", prefixes=("model.",), layer="layers.{}.",
                  token_table="embed_tokens.weight",
                  architecture=lambda config: llama_architecture(config, model_type),
                  params=llama_params, options=_options)


LLAMA, QWEN2, MISTRAL = _family("llama"), _family("qwen2"), _family("mistral")
