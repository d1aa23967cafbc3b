"""GPT-2 decoders (pre-norm blocks, learned absolute positions, output tied to the token embedding).

Radford et al. 2019, "Language Models are Unsupervised Multitask Learners".
GPT-2 stores its projections as ``Conv1D``, whose weight is (in, out) as ours.
"""

import numpy as np

from .._model import DTYPE
from .._vocabulary import N_RESERVED
from ._common import Family, activation, epsilon, size, sizes


def gpt2_architecture(config):
    """Sizes of a GPT-2 config.json, with what our model cannot do refused."""
    for flag in ("scale_attn_by_inverse_layer_idx", "add_cross_attention"):
        if config.get(flag):
            raise ValueError(f"Unsupported GPT-2 option {flag}=true in config.json.")
    if config.get("tie_word_embeddings", True) is False:  # an own output layer would be ignored
        raise ValueError("Unsupported GPT-2 option tie_word_embeddings=false in config.json: the "
                         "output layer is read as the token embedding.")
    if config.get("scale_attn_weights", True) is False:
        raise ValueError("Unsupported GPT-2 option scale_attn_weights=false in config.json.")
    found = sizes(config, dict(d_model="n_embd", n_layers="n_layer", n_heads="n_head",
                               n_positions="n_positions", vocab="vocab_size"))
    d_ff = 4 * found["d_model"] if config.get("n_inner") is None else size(config, "n_inner")
    return dict(found, d_ff=d_ff, eps=epsilon(config, "layer_norm_epsilon", 1e-5),
                activation=activation(config.get("activation_function", "gelu_new")))


def gpt2_params(arch, tensors):
    """Our {"embed", "decoder"} tree from a GPT-2 state dict; the output layer is the tied embedding.

    Only the first ``arch["tokens"]`` rows of the token embedding (all if absent) are kept.
    """
    w = GPT2.weights(tensors)
    d, f, n_vocab = arch["d_model"], arch["d_ff"], arch["vocab"]
    table = w("wte.weight", (n_vocab, d))[: arch.get("tokens")]
    embed = {"W": np.concatenate([np.zeros((N_RESERVED, d), DTYPE), table]),  # + padding, unknown
             "positions": w("wpe.weight", (arch["n_positions"], d))}
    blocks = []
    for i in range(arch["n_layers"]):
        p = GPT2.layer.format(i)
        blocks.append({
            "ln_attn": w.norm(p + "ln_1", d),
            "attn": {"qkv": w.conv1d(p + "attn.c_attn", d, 3 * d), "out": w.conv1d(p + "attn.c_proj", d, d)},
            "ln_ff": w.norm(p + "ln_2", d),
            "ff": {"hidden": w.conv1d(p + "mlp.c_fc", d, f), "out": w.conv1d(p + "mlp.c_proj", f, d)},
        })
    return {"embed": embed, "decoder": {"blocks": blocks, "ln_final": w.norm("ln_f", d)}}


GPT2 = Family(kind="decoder", prefixes=("transformer.",), layer="h.{}.", token_table="wte.weight",
              architecture=gpt2_architecture, params=gpt2_params,
              options=lambda arch: dict(norm_first=True, tie_embeddings=True))
