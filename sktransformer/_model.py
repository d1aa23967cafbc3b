"""The model: one frozen config, parameter initialisation, and the forward pass.

``ModelConfig`` is built once in ``fit`` from the estimator's hyperparameters
and flows one way into :func:`init_params` and :func:`encode`. Parameters are
a nested dict mirroring the architecture, e.g.
``params["encoder"]["blocks"][0]["attn"]["qkv"]["W"]``.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import autograd.numpy as np
import numpy as onp

from ._layers import (
    causal_bias,
    combine_biases,
    dropout,
    linear,
    masked_mean_pool,
    norm,
    numeric_feature_embedding,
    padding_bias,
    series_embedding,
    token_embedding,
    transformer_stack,
)
from ._ngrams import n_ngram_rows, ngram_rows
from ._positions import POSITIONAL_ENCODINGS
from ._primitives import affine
from ._vocabulary import N_RESERVED

DTYPE = onp.float32


@dataclass(frozen=True)
class ModelConfig:
    """Static description of a network; everything that is not a learned array."""

    input_kind: str  # an EMBEDDINGS name: "tokens" (N, T) ids, "numeric" (N, F), "series" (N, T, C)
    input_size: int  # vocabulary size, number of features, or number of channels
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    dropout: float = 0.1
    positional_encoding: str | None = "sinusoidal"  # a name in _positions.POSITIONAL_ENCODINGS, or None
    pooling: str = "mean"  # or "cls", "first" (a tokenizer's [CLS]), "pooler" (BERT's, see pool)
    norm_first: bool = True
    activation: str = "gelu"
    max_len: int = 512
    n_outputs: int = 0  # width of the output head; 0 = no head
    attention_init: str = "glorot"  # or "mimetic": W_Q W_K^T ~ I at start (see init_attention)
    # Options that let the same network hold checkpoints of other libraries (BERT, GPT-2);
    # the defaults are this package's own architecture.
    layer_norm_eps: float = 1e-5
    scale_embedding: bool = True  # token embeddings times sqrt(d_model), as in the paper
    n_token_types: int = 0  # BERT's segment embeddings; every position is segment 0
    embedding_norm: bool = False  # a layer norm on the summed embeddings (BERT)
    tie_embeddings: bool = False  # decoder output k scores with the embedding of id k + 2
    attention_dropout: float = 0.0  # dropout on the attention weights
    # Llama-family checkpoints: RMSNorm, grouped-query attention, the rotary base
    norm_kind: str = "layer"  # or "rms": RMSNorm (no centring, no beta), eps = layer_norm_eps
    n_kv_heads: int | None = None  # key/value heads of grouped-query attention; None: n_heads
    rope_theta: float = 10000.0  # base of the rotary angles pos / rope_theta^(2i/K)
    # A checkpoint's masked-token head whose activation is not the model's (RoBERTa's: exact GELU)
    mlm_activation: str | None = None
    # Token n-gram tables (see _ngrams.fit_ngrams): which n-grams have a vector; None = none.
    ngrams: tuple | None = field(default=None, compare=False, repr=False)
    source: "ModelConfig | None" = None  # an encoder-decoder's encoder (seq2seq); None otherwise
    # Each sample computed on its own, its results independent of the rest of the batch (slower);
    # set only for inference, by batch_invariant() (see _runtime.map_samples).
    batch_invariant: bool = False

    @property
    def n_ngram_rows(self):
        """Rows of the token n-gram embedding table (0 without n-grams)."""
        return 0 if self.ngrams is None else n_ngram_rows(self.ngrams)


_INVARIANT_CONFIGS = {}  # id(config) -> (config, its batch-invariant copy), for the last few configs
_INVARIANT_LOCK = threading.Lock()


def batch_invariant(config):
    """``config``, and its encoder's (seq2seq), with ``batch_invariant`` on: for inference.

    Remembered for the last 32 configs (by identity: ``replace`` costs ~20 us,
    a tenth of a small model's one-sequence prediction).
    """
    with _INVARIANT_LOCK:
        hit = _INVARIANT_CONFIGS.get(id(config))
        if hit is not None and hit[0] is config:
            return hit[1]
    source = None if config.source is None else batch_invariant(config.source)
    invariant = replace(config, batch_invariant=True, source=source)
    with _INVARIANT_LOCK:
        if len(_INVARIANT_CONFIGS) >= 32:
            del _INVARIANT_CONFIGS[next(iter(_INVARIANT_CONFIGS))]
        _INVARIANT_CONFIGS[id(config)] = (config, invariant)
    return invariant


# ------------------------------------------------------------ initialisation


def _glorot(rng, n_in, n_out):
    limit = onp.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(DTYPE)


def init_linear(rng, n_in, n_out):
    """Glorot-uniform weights, zero bias."""
    return {"W": _glorot(rng, n_in, n_out), "b": onp.zeros(n_out, DTYPE)}


def init_norm(d):
    """Identity layer norm: gamma 1, beta 0."""
    return {"gamma": onp.ones(d, DTYPE), "beta": onp.zeros(d, DTYPE)}


def _mimetic_factors(rng, d, rank, alpha, beta):
    """(A, B), each (d, rank), with A @ B.T the best rank-``rank`` fit of alpha * Z + beta * I.

    Z is a random (d, d) matrix with entries of variance 1 / d.
    """
    U, S, Vt = onp.linalg.svd(alpha * rng.standard_normal((d, d)) / onp.sqrt(d) + beta * onp.eye(d))
    root = onp.sqrt(S[:rank])
    return (U[:, :rank] * root).astype(DTYPE), (Vt[:rank].T * root).astype(DTYPE)


def init_attention(rng, d, cross=False, n_heads=None):
    """Projections of one multi-head attention layer (fused Q|K|V, or Q and K|V for cross-attention).

    Self-attention (given ``n_heads``) gets the "mimetic" initialisation of
    Trockman & Kolter (2023), which copies the structure of trained attention
    layers: per head W_Q W_K^T ~ 0.7 Z + 0.7 I, so that from the first step
    tokens attend to tokens like themselves, and W_V W_O ~ 0.4 Z - 0.4 I.
    Tasks that must find a token by its content then skip the long plateau
    during which glorot-initialised attention is uniform and a small training
    set gets memorised instead. ``ModelConfig.attention_init`` chooses it:
    the classifier and regressor use it; the encoder keeps glorot (its
    masked-token features on an order task measured 0.69 mimetic against
    0.72-0.77 glorot).
    """
    if cross:
        return {"q": init_linear(rng, d, d), "kv": init_linear(rng, d, 2 * d), "out": init_linear(rng, d, d)}
    attn = {"qkv": init_linear(rng, d, 3 * d), "out": init_linear(rng, d, d)}
    if n_heads:
        W, k = attn["qkv"]["W"], d // n_heads
        for h in range(n_heads):
            W[:, h * k:(h + 1) * k], W[:, d + h * k:d + (h + 1) * k] = _mimetic_factors(rng, d, k, 0.7, 0.7)
        W[:, 2 * d:], W_out = _mimetic_factors(rng, d, d, 0.4, -0.4)
        attn["out"]["W"] = onp.ascontiguousarray(W_out.T)
    return attn


def init_feed_forward(rng, config):
    """W_1, W_2 of the feed-forward layer; gate, up and down projections for SwiGLU."""
    d, f = config.d_model, config.d_ff
    if config.activation == "swiglu":
        return {"gate": init_linear(rng, d, f), "up": init_linear(rng, d, f),
                "down": init_linear(rng, f, d)}
    return {"hidden": init_linear(rng, d, f), "out": init_linear(rng, f, d)}


def init_block(rng, config, cross=False):
    """One Transformer layer; ``cross=True`` adds the decoder's cross-attention."""
    d = config.d_model
    block = {
        "ln_attn": init_norm(d),
        "attn": init_attention(rng, d, n_heads=config.n_heads if config.attention_init == "mimetic"
                               else None),
        "ln_ff": init_norm(d),
        "ff": init_feed_forward(rng, config),
    }
    if cross:
        block["ln_cross"] = init_norm(d)
        block["cross"] = init_attention(rng, d, cross=True)
    return block


def init_stack(rng, config, cross=False):
    """``n_layers`` blocks and, for pre-LN, the final layer norm."""
    stack = {"blocks": [init_block(rng, config, cross) for _ in range(config.n_layers)]}
    if config.norm_first:
        stack["ln_final"] = init_norm(config.d_model)
    return stack


# ------------------------------------------------------------ input embeddings by kind


@dataclass(frozen=True)
class Embedding:
    """How one kind of input becomes (N, T, D) vectors: initial weights, the map, and positions.

    ``config.input_kind`` names one entry of ``EMBEDDINGS`` (an input family's
    ``embedding``); a new kind of input the network reads is one entry.
    """

    init: Callable  # (rng, input_size, d_model) -> the embedding's parameters
    forward: Callable  # (params, config, X) -> (N, T, D)
    positions: bool = True  # numeric features need none: each has its own vector


def _init_tokens(rng, size, d):
    return {"W": (rng.standard_normal((size, d)) / onp.sqrt(d)).astype(DTYPE)}


def _tokens(params, config, X):
    """E[x] sqrt(d_model), plus the vectors of the n-grams ending at each position (fastText's)."""
    h = token_embedding(params, X, config.scale_embedding)
    if config.ngrams is None:
        return h
    rows = ngram_rows(onp.asarray(X), config.ngrams, config.input_size)  # (N, T, S)
    return h + np.sum(token_embedding({"W": params["ngrams"]}, rows, config.scale_embedding), axis=2)


def _init_numeric(rng, size, d):
    limit = 1.0 / onp.sqrt(d)  # as in FT-Transformer
    return {"W": rng.uniform(-limit, limit, (size, d)).astype(DTYPE),
            "b": rng.uniform(-limit, limit, (size, d)).astype(DTYPE)}


EMBEDDINGS = {
    "tokens": Embedding(_init_tokens, _tokens),
    "numeric": Embedding(_init_numeric, lambda params, config, X: numeric_feature_embedding(params, X),
                         positions=False),
    "series": Embedding(init_linear, lambda params, config, X: series_embedding(
        params, X, config.batch_invariant)),
}


def init_embedding(rng, config):
    """Input embedding, learned positions and [CLS] vector, as the config asks."""
    d = config.d_model
    embed = EMBEDDINGS[config.input_kind].init(rng, config.input_size, d)
    encoding = positional_encoding(config)
    if encoding is not None and encoding.init is not None:
        embed.update(encoding.init(rng, config))
    if config.pooling == "cls":
        embed["cls"] = (0.02 * rng.standard_normal(d)).astype(DTYPE)
    if config.n_token_types:
        embed["token_types"] = (0.02 * rng.standard_normal((config.n_token_types, d))).astype(DTYPE)
    if config.embedding_norm:
        embed["ln"] = init_norm(d)
    if config.n_ngram_rows:  # zeros: the network starts as a plain Transformer over tokens
        embed["ngrams"] = onp.zeros((config.n_ngram_rows, d), DTYPE)
    return embed


def init_params(config, rng):
    """All learned arrays of an encoder with an optional output head, float32."""
    params = {"embed": init_embedding(rng, config), "encoder": init_stack(rng, config)}
    if config.n_outputs:
        params["head"] = init_linear(rng, config.d_model, config.n_outputs)
    return params


# ------------------------------------------------------------------ forward


def positional_encoding(config):
    """The config's :class:`~sktransformer._positions.PositionalEncoding`, or None.

    Numeric features need no positions: each feature has its own embedding vector.
    """
    if not EMBEDDINGS[config.input_kind].positions or config.positional_encoding is None:
        return None
    return POSITIONAL_ENCODINGS[config.positional_encoding]


def add_positions(params, config, h, offset=0):
    """The embeddings with positions ``offset ..`` added, where the encoding acts on them."""
    encoding = positional_encoding(config)
    if encoding is None or encoding.embed is None:
        return h
    return encoding.embed(params, h, offset)


def attention_positions(config, n_queries, n_keys=None, offset=0):
    """(rotary (cos, sin) or None, ALiBi bias or None) for queries at offset..offset+Tq-1.

    Rotary and ALiBi positions act inside self-attention rather than on the
    embeddings; the other kinds give (None, None).
    """
    encoding = positional_encoding(config)
    if encoding is None or encoding.attention is None:
        return None, None
    return encoding.attention(config, n_queries, n_keys, offset)


def embed(params, config, X, rng=None, hidden=None, token_types=None):
    """Input -> (N, T, D) vectors with positional information and dropout.

    With n-gram tables in the config, each token's vector gets the rows of
    ``params["ngrams"]`` of the n-grams at its position (2 slots per order,
    see :func:`sktransformer._ngrams.ngram_rows`), scaled as it is.

    ``hidden`` (N, T) bool marks positions whose input is hidden for masked
    pretraining of numeric or series input: the learned ``params["mask"]``
    vector stands in for their (zeroed) values. Token input is hidden with a
    [MASK] token id instead. ``token_types`` go to :func:`finish_embedding`.
    """
    h = EMBEDDINGS[config.input_kind].forward(params, config, X)
    if hidden is not None:
        h = h + hidden[:, :, None].astype(h.dtype) * params["mask"]
    h = add_positions(params, config, h)
    return dropout(finish_embedding(params, config, h, token_types), config.dropout, rng)


def finish_embedding(params, config, h, token_types=None):
    """Add the segment vectors and normalise the sum, where the config asks (BERT's embeddings).

    ``token_types`` (N, T) are the segment ids of sentence pairs (the
    ``token_type_ids`` of a checkpoint's tokenizer); None: every position is
    segment 0. Models without segment embeddings (DistilBERT) ignore them.
    """
    if config.n_token_types:
        h = h + (params["token_types"][0] if token_types is None
                 else params["token_types"][token_types])
    if config.embedding_norm:
        h = norm(params["ln"], h, config.layer_norm_eps, config.batch_invariant)
    return h


def prepend_cls(params, h, mask):
    """Put the learned [CLS] vector in front of every sequence; its output summarises the sequence."""
    N, _, D = h.shape
    cls = np.broadcast_to(np.reshape(params["cls"], (1, 1, D)), (N, 1, D))
    h = np.concatenate([cls, h], axis=1)
    if mask is not None:
        mask = onp.concatenate([onp.ones((N, 1), bool), mask], axis=1)
    return h, mask


def encode(params, config, X, mask=None, rng=None, bias=None, hidden=None, cache=None,
           token_types=None, states=None, layers=None):
    """The encoder: embeddings -> N blocks of self-attention + feed-forward -> (N, T', D), mask.

    ``mask`` (N, T) is True at real tokens (None: no padding). With
    ``pooling="cls"`` one position is prepended (T' = T + 1) and the mask grows
    with it. ``bias`` is an extra additive attention bias (e.g. causal);
    ``hidden`` is passed to :func:`embed`; ``cache`` (from
    :func:`new_cache` with ``record=True``) collects each layer's attention
    weights; ``token_types`` (sentence pairs) go to :func:`finish_embedding`.

    ``layers`` (a range) runs only those blocks; ``states`` (N, T, D), the
    output of the blocks before them (frozen and computed once), then
    stand in for the embeddings.
    """
    if states is None:
        h = embed(params["embed"], config, X, rng, hidden, token_types)
        if config.pooling == "cls":
            h, mask = prepend_cls(params["embed"], h, mask)
    else:
        h = states
    angles, position_bias = attention_positions(config, h.shape[1])
    h = transformer_stack(
        params["encoder"], h, combine_biases(padding_bias(mask), bias, position_bias), config, rng,
        cache=cache, rotary_angles=angles, layers=layers,
    )
    return h, mask


def pool(h, mask, pooling, params=None, batch_invariant=False):
    """One vector per sequence: the masked mean of all positions, or the first ([CLS]) position.

    ``"cls"`` is a learned vector prepended by :func:`encode`; ``"first"`` is the
    input's own first token (a tokenizer's [CLS], as in BERT); ``"pooler"`` is
    BERT's pooler, ``tanh`` of a dense layer (``params["pooler"]``) of the first token.
    """
    if pooling == "pooler":
        return np.tanh(linear(params["pooler"], h[:, 0, :], batch_invariant))
    if pooling in ("cls", "first"):
        return h[:, 0, :]
    return masked_mean_pool(h, mask)


def pooled_features(params, config, X, mask=None, rng=None, token_types=None, states=None,
                    first_layer=0):
    """Encoder output pooled to (N, D); from ``states`` after the first ``first_layer`` blocks if given."""
    layers = None if states is None else range(first_layer, config.n_layers)
    h, mask = encode(params, config, X, mask, rng, token_types=token_types, states=states,
                     layers=layers)
    return pool(h, mask, config.pooling, params, config.batch_invariant)


def head_logits(params, config, features):
    """Output head: one linear layer to class (or vocabulary) scores; softmax is taken in the loss."""
    return linear(params["head"], features, config.batch_invariant)


# ------------------------------------------------------------------ decoder


def init_decoder(config, rng, cross=False):
    """Token embedding, a stack of (causal) blocks, and a head over ``n_outputs`` next tokens.

    ``cross=True`` gives every block a cross-attention sub-layer (the
    decoder of an encoder-decoder model).
    """
    params = {"embed": init_embedding(rng, config), "decoder": init_stack(rng, config, cross)}
    if not config.tie_embeddings:
        params["head"] = init_linear(rng, config.d_model, config.n_outputs)
    return params


def new_cache(config, record=False):
    """Empty per-layer key/value caches for incremental decoding.

    With ``record=True`` each attention layer also stores its softmax
    weights under ``"weights"`` (for inspection, never during training).
    """
    return [{"self": {"record": record}, "cross": {"record": record}}
            for _ in range(config.n_layers)]


def decode(params, config, ids, mask=None, rng=None, memory=None, memory_mask=None, cache=None,
           offset=0):
    """Decoder: tokens -> causal self-attention [+ cross-attention to ``memory``] -> next-token logits.

    ids (N, T) at positions offset..offset+T-1 -> logits (N, T, n_outputs).
    Position i attends to positions <= i only (the causal mask), so its
    logits are a prediction of token i + 1 from tokens 0..i. With ``cache``
    (inference), keys and values of earlier calls are reused and only the
    new tokens are computed; ``mask`` must then be None.
    """
    h = token_embedding(params["embed"], ids, config.scale_embedding)
    h = add_positions(params["embed"], config, h, offset)
    h = dropout(finish_embedding(params["embed"], config, h), config.dropout, rng)
    n_new = ids.shape[1]
    angles, position_bias = attention_positions(config, n_new, offset + n_new, offset)
    bias = combine_biases(padding_bias(mask), causal_bias(n_new, offset + n_new, offset),
                          position_bias)
    h = transformer_stack(params["decoder"], h, bias, config, rng, memory,
                          padding_bias(memory_mask), cache, angles)
    if config.tie_embeddings:  # output k is token id k + N_RESERVED (the vocabulary's convention)
        table = params["embed"]["W"][N_RESERVED : N_RESERVED + config.n_outputs]
        return affine(h, np.transpose(table), onp.zeros(config.n_outputs, table.dtype),
                      config.batch_invariant)
    return linear(params["head"], h, config.batch_invariant)
