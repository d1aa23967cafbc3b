"""Positional encodings by name: one table the model asks, one entry per encoding.

An encoding gives position information in one or more of three places, each
a small function:

- ``init(rng, config)``: learned arrays it needs in ``params["embed"]``;
- ``embed(params, h, offset)``: added to the embeddings before the first
  block (sinusoidal, learned), for positions ``offset .. offset + T - 1``;
- ``attention(config, n_queries, n_keys, offset)``: inside self-attention,
  as ``(rotary (cos, sin) or None, additive bias or None)`` (rotary, ALiBi).

A new encoding is one :class:`PositionalEncoding` in ``POSITIONAL_ENCODINGS``;
the estimators' ``positional_encoding`` accepts every name in it.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as onp

from ._layers import alibi_bias, rotary_tables, sinusoidal_positional_encoding


@dataclass(frozen=True)
class PositionalEncoding:
    """Where one kind of position information enters the network (any of the three may be None)."""

    init: Callable | None = None
    embed: Callable | None = None
    attention: Callable | None = None


def _sinusoidal(params, h, offset):
    """Vaswani et al. 2017: x + PE, PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)."""
    return h + sinusoidal_positional_encoding(h.shape[1], h.shape[2], h.dtype, offset)


def _learned_table(rng, config):
    """One learned vector per position up to ``max_len`` (BERT, GPT-2)."""
    return {"positions": (0.02 * rng.standard_normal((config.max_len, config.d_model))).astype(
        onp.float32)}


def _learned(params, h, offset):
    """x + the learned vector of each position."""
    table, n_positions = params["positions"], h.shape[1]
    if offset + n_positions > len(table):
        raise ValueError(
            f"Position {offset + n_positions - 1} is beyond the {len(table)} learned positions "
            "(max_len); use shorter sequences or a larger max_len.")
    return h + table[offset : offset + n_positions]


def _rotary(config, n_queries, n_keys, offset):
    """Su et al. 2021: queries and keys turned by angles of their positions, so q.k sees m - n."""
    return rotary_tables(n_queries, config.d_model // config.n_heads, onp.float32, offset,
                         config.rope_theta), None


def _alibi(config, n_queries, n_keys, offset):
    """Press et al. 2022: a score penalty -m_h |i - j| per head (per direction in an encoder)."""
    return None, alibi_bias(config.n_heads, n_queries, n_keys, offset, onp.float32)


POSITIONAL_ENCODINGS = {
    "sinusoidal": PositionalEncoding(embed=_sinusoidal),
    "learned": PositionalEncoding(init=_learned_table, embed=_learned),
    "rotary": PositionalEncoding(attention=_rotary),
    "alibi": PositionalEncoding(attention=_alibi),
}
