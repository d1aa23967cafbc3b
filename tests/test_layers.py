"""Shape tests for every layer function, and the behaviour each one promises."""

import numpy as np
import pytest

from sktransformer._layers import (
    add_positional_encoding,
    causal_bias,
    feed_forward,
    linear,
    masked_mean_pool,
    merge_heads,
    multi_head_attention,
    numeric_feature_embedding,
    padding_bias,
    series_embedding,
    sinusoidal_positional_encoding,
    split_heads,
    token_embedding,
    transformer_block,
    transformer_stack,
)
from sktransformer._model import (
    ModelConfig,
    encode,
    init_attention,
    init_block,
    init_embedding,
    init_linear,
    init_params,
    init_stack,
    pooled_features,
)

N, T, D, H, F = 3, 5, 8, 2, 16
rng = np.random.default_rng(0)
CONFIG = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, dropout=0.0)


def _x():
    return rng.normal(size=(N, T, D)).astype(np.float32)


def test_embeddings_shapes():
    ids = rng.integers(0, 11, size=(N, T))
    assert token_embedding(init_embedding(rng, CONFIG), ids).shape == (N, T, D)
    numeric = ModelConfig("numeric", 4, d_model=D, n_heads=H)
    out = numeric_feature_embedding(init_embedding(rng, numeric), rng.normal(size=(N, 4)))
    assert out.shape == (N, 4, D)
    series = ModelConfig("series", 6, d_model=D, n_heads=H)
    assert series_embedding(init_embedding(rng, series), rng.normal(size=(N, T, 6))).shape == (N, T, D)


def test_sinusoidal_encoding_matches_paper_formula():
    pe = sinusoidal_positional_encoding(T, D)
    assert pe.shape == (T, D) and pe.dtype == np.float32
    pos, i = 3, 2
    assert pe[pos, 2 * i] == pytest.approx(np.sin(pos / 10000 ** (2 * i / D)), abs=1e-6)
    assert pe[pos, 2 * i + 1] == pytest.approx(np.cos(pos / 10000 ** (2 * i / D)), abs=1e-6)
    # an offset continues the same table (used when generating one token at a time)
    np.testing.assert_array_equal(sinusoidal_positional_encoding(2, D, offset=3), pe[3:5])


@pytest.mark.parametrize("kind", ["sinusoidal", "learned", None])
def test_positional_encoding_shapes(kind):
    x = _x()
    params = {"positions": rng.normal(size=(10, D)).astype(np.float32)}
    out = add_positional_encoding(params, x, kind)
    assert out.shape == x.shape
    assert np.array_equal(out, x) == (kind is None)


def test_linear_and_feed_forward_shapes():
    x = _x()
    assert linear(init_linear(rng, D, 7), x).shape == (N, T, 7)
    ff = {"hidden": init_linear(rng, D, F), "out": init_linear(rng, F, D)}
    for act in ("gelu", "relu"):
        assert feed_forward(ff, x, act).shape == (N, T, D)


def test_feed_forward_is_position_wise():
    x = _x()
    ff = {"hidden": init_linear(rng, D, F), "out": init_linear(rng, F, D)}
    full = feed_forward(ff, x, "gelu")
    np.testing.assert_allclose(full[:, 2:3], feed_forward(ff, x[:, 2:3], "gelu"), rtol=1e-5)


def test_split_and_merge_heads_are_inverse():
    x = _x()
    heads = split_heads(x, H)
    assert heads.shape == (N, H, T, D // H)
    np.testing.assert_array_equal(heads[:, 1], x[:, :, D // H:])  # head 1 = second slice
    np.testing.assert_array_equal(merge_heads(heads), x)


def test_biases_shapes_and_values():
    mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    assert padding_bias(mask).shape == (2, 1, 1, 3)
    assert padding_bias(mask)[0, 0, 0, 2] < -1e8
    causal = causal_bias(3)
    assert causal.shape == (3, 3)
    assert (causal[np.triu_indices(3, 1)] < -1e8).all() and (causal[np.tril_indices(3)] == 0).all()


def test_multi_head_attention_self_and_cross_shapes():
    x = _x()
    assert multi_head_attention(init_attention(rng, D), x, None, H).shape == (N, T, D)
    memory = rng.normal(size=(N, 7, D)).astype(np.float32)
    out = multi_head_attention(init_attention(rng, D, cross=True), x, None, H, memory=memory)
    assert out.shape == (N, T, D)


def test_padding_does_not_change_real_positions():
    x = _x()
    mask = np.ones((N, T), bool)
    mask[0, 3:] = False
    params = init_attention(rng, D)
    out = multi_head_attention(params, x, padding_bias(mask), H)
    short = multi_head_attention(params, x[:1, :3], None, H)
    np.testing.assert_allclose(out[0, :3], short[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_and_stack_shapes(norm_first):
    config = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, dropout=0.1,
                         norm_first=norm_first)
    x = _x()
    assert transformer_block(init_block(rng, config), x, None, config, rng).shape == (N, T, D)
    memory = rng.normal(size=(N, 4, D)).astype(np.float32)
    cross = init_block(rng, config, cross=True)
    assert transformer_block(cross, x, None, config, memory=memory).shape == (N, T, D)
    assert transformer_stack(init_stack(rng, config), x, None, config).shape == (N, T, D)


def test_masked_mean_pool_ignores_padding():
    h = _x()
    mask = np.ones((N, T), bool)
    mask[1, 2:] = False
    pooled = masked_mean_pool(h, mask)
    assert pooled.shape == (N, D)
    np.testing.assert_allclose(pooled[1], h[1, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(masked_mean_pool(h, None), h.mean(1), rtol=1e-6)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_encode_and_pool_shapes(pooling):
    config = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, pooling=pooling,
                         n_outputs=3)
    params = init_params(config, rng)
    ids = rng.integers(1, 11, size=(N, T))
    h, mask = encode(params, config, ids, ids > 0)
    assert h.shape == (N, T + (pooling == "cls"), D) and mask.shape == h.shape[:2]
    assert pooled_features(params, config, ids, ids > 0).shape == (N, D)


def test_dropout_keeps_the_expectation_and_drops_at_the_rate():
    from sktransformer._layers import dropout

    x = np.ones((200, 500), np.float32)
    out = dropout(x, 0.1, np.random.default_rng(0))
    assert out.dtype == np.float32
    assert abs((out == 0).mean() - 0.1) < 0.005
    assert abs(out.mean() - 1.0) < 0.01
    assert dropout(x, 0.1, None) is x and dropout(x, 0.0, np.random.default_rng(0)) is x
