"""BERT and DistilBERT encoders (post-norm blocks, learned absolute positions, an embedding norm).

BERT: Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding"; DistilBERT: Sanh et al. 2019. MiniLM
and other BERT-shaped models load as ``"bert"``.
"""

import numbers

from ._common import Family, activation, epsilon, fused_qkv, sizes

_BLOCK = {  # names of layer i's parts, in our order: q, k, v, attention out, LN, FFN in, out, LN
    "bert": ("attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
             "output.dense", "output.LayerNorm"),
    "distilbert": ("attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                   "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"),
}


# the masked-token head (BertForMaskedLM, ...): transform, its layer norm, output bias, decoder
_MLM_HEAD = {
    "bert": ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm",
             "cls.predictions.bias", "cls.predictions.decoder.weight"),
    "distilbert": ("vocab_transform", "vocab_layer_norm", "vocab_projector.bias",
                   "vocab_projector.weight"),
    "roberta": ("lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder.weight"),
}


def bert_architecture(config):
    """Sizes of a BERT config.json, with what our model cannot do refused."""
    if config.get("is_decoder"):  # transformers' BertModel then attends causally
        raise ValueError("Unsupported option is_decoder=true in config.json: the model would attend "
                         "causally (each token to those before it); TransformerEncoder attends "
                         "both ways.")
    kind = config.get("position_embedding_type", "absolute")
    if kind != "absolute":
        raise ValueError(f"Unsupported position_embedding_type={kind!r}: only absolute learned "
                         "positions are supported.")
    keys = dict(d_model="hidden_size", n_layers="num_hidden_layers", n_heads="num_attention_heads",
                d_ff="intermediate_size", n_positions="max_position_embeddings", vocab="vocab_size")
    return dict(sizes(config, keys), activation=activation(config.get("hidden_act", "gelu")),
                eps=epsilon(config, "layer_norm_eps", 1e-12),
                n_token_types=config.get("type_vocab_size", 2) or 0)


def distilbert_architecture(config):
    """Sizes of a DistilBERT config.json (no token types; layer-norm epsilon 1e-12)."""
    keys = dict(d_model="dim", n_layers="n_layers", n_heads="n_heads", d_ff="hidden_dim",
                n_positions="max_position_embeddings", vocab="vocab_size")
    return dict(sizes(config, keys), activation=activation(config.get("activation", "gelu")),
                eps=1e-12, n_token_types=0)


def _embedding(w, arch, model_type):
    """Token, position and (BERT) token-type embeddings and their layer norm.

    Only the first ``arch["tokens"]`` rows of the token embedding (all if absent) are kept.
    """
    d = arch["d_model"]
    embed = {"W": w("embeddings.word_embeddings.weight", (arch["vocab"], d))[: arch.get("tokens")],
             "positions": w("embeddings.position_embeddings.weight", (arch["n_positions"], d)),
             "ln": w.norm("embeddings.LayerNorm", d)}
    n_types = arch["n_token_types"]
    if isinstance(n_types, bool) or not isinstance(n_types, numbers.Integral) or n_types < 0:
        raise ValueError(f"config.json has type_vocab_size={n_types!r}: it must be an int >= 0.")
    if n_types:
        embed["token_types"] = w("embeddings.token_type_embeddings.weight", (n_types, d))
    elif w.key("embeddings.token_type_embeddings.weight") is not None and model_type == "bert":
        raise ValueError("config.json has type_vocab_size=0, but the checkpoint stores token type "
                         "embeddings, which every position adds: use the config.json saved with "
                         "these weights.")
    return embed


def _block(w, arch, names):
    """One post-norm encoder layer from its checkpoint names (see ``_BLOCK``)."""
    d, f = arch["d_model"], arch["d_ff"]
    q, k, v, attn_out, ln_attn, hidden, out, ln_ff = names
    return {"ln_attn": w.norm(ln_attn, d),
            "attn": {"qkv": fused_qkv(w.linear(q, d, d), w.linear(k, d, d), w.linear(v, d, d)),
                     "out": w.linear(attn_out, d, d)},
            "ln_ff": w.norm(ln_ff, d),
            "ff": {"hidden": w.linear(hidden, d, f), "out": w.linear(out, f, d)}}


def _encoder_params(family, model_type, arch, tensors):
    """Our {"embed", "encoder"} parameter tree from the state dict (post-LN blocks)."""
    w = family.weights(tensors)
    embed = _embedding(w, arch, model_type)
    blocks = [_block(w, arch, [family.layer.format(i) + n for n in _BLOCK[model_type]])
              for i in range(arch["n_layers"])]
    return {"embed": embed, "encoder": {"blocks": blocks}}


def bert_params(arch, tensors):
    """Our parameter tree from a BERT state dict."""
    return _encoder_params(BERT, "bert", arch, tensors)


def distilbert_params(arch, tensors):
    """Our parameter tree from a DistilBERT state dict."""
    return _encoder_params(DISTILBERT, "distilbert", arch, tensors)


def masked_token_head(w, arch, model_type, activation=None):
    """The stored masked-token head as ``{"transform": {"dense", "ln"}, "mlm": {"W", "b"}}``, or None.

    BERT's head (Devlin et al. 2019, and DistilBERT's and RoBERTa's alike)
    is ``LayerNorm(act(h W_t + b_t)) E^T + b``: the decoder is tied to the
    word embedding ``E`` unless the checkpoint stores its own. Our ``"mlm"``
    is a copy of that decoder (fine-tuning may move it apart from ``E``),
    over every row of ``E``, rows past the tokenizer's ids too (a padded
    vocabulary), so the softmax is transformers'. ``activation`` is the
    head's where it is not the model's (None: the model's). None where the
    checkpoint stores no head (a base model: ``BertModel.save_pretrained``),
    or only part of one.
    """
    dense, ln, bias, decoder = _MLM_HEAD[model_type]
    parts = (dense + ".weight", dense + ".bias", ln + ".weight", ln + ".bias", bias)
    if any(w.key(part) is None and w.key(part.replace("LayerNorm.weight", "LayerNorm.gamma")
                                         .replace("LayerNorm.bias", "LayerNorm.beta")) is None
           for part in parts):
        return None  # none, or not all of it (a task model's leftovers): the tied start
    d, vocab = arch["d_model"], arch["vocab"]
    table = w(decoder if w.key(decoder) is not None else "embeddings.word_embeddings.weight",
              (vocab, d))
    return {"transform": {"dense": w.linear(dense, d, d), "ln": w.norm(ln, d)},
            "mlm": {"W": table.T.copy(), "b": w(bias, (vocab,)).copy()},
            "activation": activation}


def bert_mlm_head(arch, tensors):
    """BERT's masked-token head (``cls.predictions``), or None."""
    return masked_token_head(BERT.weights(tensors), arch, "bert")


def distilbert_mlm_head(arch, tensors):
    """DistilBERT's masked-token head (``vocab_transform``, ...), or None."""
    return masked_token_head(DISTILBERT.weights(tensors), arch, "distilbert")


def pooler_layer(w, arch):
    """BERT's pooler layer (``pooler.dense``: tanh of it over [CLS] is ``pooler_output``), or None."""
    if w.key("pooler.dense.weight") is None:
        return None
    return w.linear("pooler.dense", arch["d_model"], arch["d_model"])


def bert_pooler(arch, tensors):
    """BERT's pooler layer, or None."""
    return pooler_layer(BERT.weights(tensors), arch)


def _options(arch):
    return dict(norm_first=False, embedding_norm=True, n_token_types=arch["n_token_types"])


_PREFIXES = ("bert.", "distilbert.")
BERT = Family(kind="encoder", prefixes=_PREFIXES, layer="encoder.layer.{}.",
              token_table="embeddings.word_embeddings.weight", architecture=bert_architecture,
              params=bert_params, options=_options, pooler=bert_pooler, mlm_head=bert_mlm_head)
DISTILBERT = Family(kind="encoder", prefixes=_PREFIXES, layer="transformer.layer.{}.",
                    token_table="embeddings.word_embeddings.weight",
                    architecture=distilbert_architecture,
                    params=distilbert_params, options=_options,
                    pooler_absent="DistilBERT has none", mlm_head=distilbert_mlm_head)
