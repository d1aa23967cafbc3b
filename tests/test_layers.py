"""Shape tests for every layer function, and the behaviour each one promises."""



import dataclasses

import numpy as np
import pytest
from configs import SMALL

from sktransformer import (
    TransformerClassifier,
)
from sktransformer._layers import (
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
    add_positions,
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
    config = ModelConfig(input_kind="tokens", input_size=5, d_model=D, positional_encoding=kind)
    out = add_positions(params, config, x)
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


# ------------------------------------------------- rotary and ALiBi positions


def test_alibi_slopes_are_the_papers_geometric_sequence():
    from sktransformer._layers import alibi_slopes

    np.testing.assert_allclose(alibi_slopes(8), 2.0 ** -np.arange(1, 9))
    np.testing.assert_allclose(alibi_slopes(4), 2.0 ** -np.arange(2, 10, 2))
    # not a power of two: the 4 slopes of H=4, then every other slope of H=8
    np.testing.assert_allclose(alibi_slopes(6), [2**-2, 2**-4, 2**-6, 2**-8, 2**-1, 2**-3])


def test_alibi_bias_uses_mirrored_slopes_per_direction():
    from sktransformer._layers import alibi_bias, alibi_slopes

    bias = alibi_bias(4, 5)  # (H, Tq, Tk)
    m = alibi_slopes(4)
    assert bias.shape == (4, 5, 5)
    np.testing.assert_allclose(np.diagonal(bias, axis1=1, axis2=2), 0)
    np.testing.assert_allclose(bias[:, 3, 1], -2 * m, rtol=1e-6)  # key 2 steps before the query
    np.testing.assert_allclose(bias[:, 1, 3], -2 * m[::-1], rtol=1e-6)  # 2 steps after
    # decoding with an offset: rows of the full bias
    np.testing.assert_allclose(alibi_bias(4, 2, 5, offset=3), bias[:, 3:5, :])


def _block_loss(kind):
    from autograd.test_util import check_grads  # noqa: F401

    from sktransformer._layers import alibi_bias, rotary_tables

    config = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=1, d_ff=F, dropout=0.0,
                         positional_encoding=kind)
    angles = rotary_tables(T, D // H, np.float64) if kind == "rotary" else None
    bias = alibi_bias(H, T, dtype=np.float64) if kind == "alibi" else None
    return config, angles, bias


@pytest.mark.parametrize("kind", ["rotary", "alibi"])
def test_attention_with_rotary_or_alibi_gradients_match_numerical(kind):
    from autograd.test_util import check_grads

    config, angles, bias = _block_loss(kind)
    params = init_block(np.random.default_rng(1), config)
    params = {k: {kk: {kkk: a.astype(np.float64) for kkk, a in vv.items()} if isinstance(vv, dict)
                  else vv.astype(np.float64) for kk, vv in v.items()} for k, v in params.items()}
    x = rng.normal(size=(2, T, D))

    def f(x, W_qkv):
        attn = dict(params["attn"], qkv={"W": W_qkv, "b": params["attn"]["qkv"]["b"]})
        return multi_head_attention(attn, x, bias, H, rotary_angles=angles)

    check_grads(f, modes=["rev"], order=1)(x, params["attn"]["qkv"]["W"])


def test_attention_dropout_in_attention_changes_training_output_only():
    x = _x()
    params = init_attention(np.random.default_rng(1), D)
    plain = multi_head_attention(params, x, None, H)
    np.testing.assert_array_equal(
        multi_head_attention(params, x, None, H, dropout_rate=0.5, rng=None), plain)
    dropped = multi_head_attention(params, x, None, H, dropout_rate=0.5,
                                   rng=np.random.default_rng(0))
    assert not np.allclose(dropped, plain)


@pytest.mark.parametrize("kind", ["sinusoidal", "learned", "rotary", "alibi", None])
def test_cached_decoding_equals_uncached(kind):
    from sktransformer._model import decode, init_decoder, new_cache

    config = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, dropout=0.0,
                         positional_encoding=kind, n_outputs=11, max_len=16)
    params = init_decoder(config, np.random.default_rng(2))
    ids = rng.integers(1, 11, size=(2, 7))
    full = decode(params, config, ids)
    cache = new_cache(config)
    steps = [decode(params, config, ids[:, :3], cache=cache)]  # a prompt, then one token a step
    for t in range(3, 7):
        steps.append(decode(params, config, ids[:, t : t + 1], cache=cache, offset=t))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["rotary", "alibi"])
@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_encoder_with_attention_positions_is_order_sensitive(kind, pooling):
    config = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, dropout=0.0,
                         positional_encoding=kind, pooling=pooling)
    params = init_params(config, np.random.default_rng(3))
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    swapped = np.array([[2, 1, 3, 4, 5, 6]])
    reversed_ = ids[:, ::-1].copy()
    a = pooled_features(params, config, ids)
    assert not np.allclose(a, pooled_features(params, config, swapped), atol=1e-4)
    assert not np.allclose(a, pooled_features(params, config, reversed_), atol=1e-4)
    # without positions, mean pooling is order-blind (the control)
    blind = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, dropout=0.0,
                        positional_encoding=None)
    p = init_params(blind, np.random.default_rng(3))
    np.testing.assert_allclose(pooled_features(p, blind, ids), pooled_features(p, blind, reversed_),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["rotary", "alibi"])
def test_padding_does_not_change_real_positions_with_attention_positions(kind):
    config = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, dropout=0.0,
                         positional_encoding=kind)
    params = init_params(config, np.random.default_rng(4))
    ids = np.array([[3, 4, 5, 0, 0]])
    h_pad, _ = encode(params, config, ids, ids > 0)
    h_short, _ = encode(params, config, ids[:, :3])
    np.testing.assert_allclose(h_pad[:, :3], h_short, rtol=1e-4, atol=1e-5)


def test_rotary_needs_an_even_head_width():
    config = ModelConfig("tokens", 11, d_model=6, n_heads=2, n_layers=1, d_ff=F, dropout=0.0,
                         positional_encoding="rotary")
    params = init_params(config, np.random.default_rng(0))
    with pytest.raises(ValueError, match="must be even"):
        encode(params, config, np.array([[1, 2, 3]]))


def test_dropout_close_to_one_does_not_divide_by_zero():
    X = np.random.default_rng(0).normal(size=(20, 3))
    TransformerClassifier(**{**SMALL, "dropout": 0.999995}).fit(X, np.arange(20) % 2)


# ------------------------------------------- the README's formulas, value by value


def _formula_table():
    """(formula, [dotted names]) of each row of the README's "Where each formula lives" table."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Where each formula lives", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("|---") or "| function |" in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").rsplit("|", 1)]
        rows.append((cells[0], re.findall(r"`([^`]+)`", cells[1])))
    return rows


def test_every_function_the_formula_table_names_exists():
    import importlib
    import inspect
    import re

    rows = _formula_table()
    assert len(rows) >= 18, rows  # the table was read, not silently skipped
    names = [name for _, found in rows for name in found]
    assert "_layers.token_embedding" in names and "_model.decode" in names
    for formula, found in rows:
        assert found, f"no function named for {formula!r}"
        for name in found:
            dotted, _, arguments = name.partition("(")
            module, *attributes = dotted.split(".")
            target = importlib.import_module(f"sktransformer.{module}")
            for attribute in attributes:
                assert hasattr(target, attribute), f"README names {dotted}, which does not exist"
                target = getattr(target, attribute)
            assert callable(target), dotted
            # keyword arguments the table shows (keep=..., memory=...) are the function's own
            function = getattr(target, "fun", target)  # an autograd primitive wraps its function
            for keyword in re.findall(r"(\w+)=", arguments):
                assert keyword in inspect.signature(function).parameters, (dotted, keyword)


def test_token_embedding_is_the_table_row_times_sqrt_d_model():
    W = rng.normal(size=(11, D)).astype(np.float32)
    ids = rng.integers(0, 11, size=(N, T))
    out = token_embedding({"W": W}, ids)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, W[ids].astype(np.float64) * np.sqrt(D), rtol=1e-6)
    np.testing.assert_array_equal(token_embedding({"W": W}, ids, scale=False), W[ids])


def _ngram_rows_by_hand(ids, tables, n_ids):
    """The README's slots, one position at a time: G[x_{t-n+1..t}], then S_n(t) per order n.

    Before the start (and at padding inside a window) reads the boundary ``n_ids``; an
    n-gram without a row of its own reads its order's rare row; S_n(t) is the n-gram
    ``x_{t-n+2..t} $`` at the last real token and the order's "not last" row elsewhere.
    """
    def key(tokens):
        value = 0
        for token in tokens:
            value = value * (n_ids + 1) + (n_ids if token == 0 else token)
        return value

    out = np.zeros(ids.shape + (2 * len(tables),), int)
    for i, row in enumerate(ids):
        real = np.flatnonzero(row)
        last = real[-1] if len(real) else -1
        offset = 0
        for k, known in enumerate(tables):
            n, where = k + 2, {int(v): j for j, v in enumerate(known)}
            for t in range(len(row)):
                window = [n_ids] * max(0, n - 1 - t) + list(row[max(0, t - n + 1): t + 1])
                out[i, t, k] = offset + 2 + where[key(window)] if (
                    row[t] and key(window) in where) else offset
                if t == last:
                    s = key(window[1:] + [n_ids])
                    out[i, t, len(tables) + k] = offset + 2 + where[s] if s in where else offset
                else:
                    out[i, t, len(tables) + k] = offset + 1
            offset += len(known) + 2
    return out


def test_embedding_adds_the_ngram_vectors_and_scales_the_sum_by_sqrt_d():
    from sktransformer._model import embed
    from sktransformer._ngrams import fit_ngrams, ngram_rows

    n_ids = 7
    train = np.array([[1, 2, 3, 1, 2, 3], [2, 3, 4, 0, 0, 0], [1, 2, 3, 4, 5, 0]] * 2)
    tables = fit_ngrams(train, 3, n_ids)
    ids = np.array([[1, 2, 3, 4, 0, 0], [5, 1, 2, 3, 1, 2], [2, 3, 0, 0, 0, 0]])
    rows = ngram_rows(ids, tables, n_ids)
    real = ids != 0  # padding positions are masked: what they read does not matter
    np.testing.assert_array_equal(rows[real], _ngram_rows_by_hand(ids, tables, n_ids)[real])
    assert len(np.unique(rows)) > 6  # known, rare, not-last and suffix rows all occur

    config = ModelConfig("tokens", n_ids, d_model=D, n_heads=H, n_layers=1, d_ff=F, dropout=0.0,
                         positional_encoding=None, ngrams=tuple(tables))
    params = init_embedding(np.random.default_rng(5), config)
    G = np.random.default_rng(6).normal(size=params["ngrams"].shape).astype(np.float32)
    params["ngrams"] = G  # initialised at zero: give every n-gram row a vector to see
    E = params["W"].astype(np.float64)
    by_hand = np.sqrt(D) * (E[ids] + G.astype(np.float64)[rows].sum(axis=2))
    out = embed(params, config, ids)  # the config holds the tables: embed finds the rows
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, by_hand, rtol=1e-5, atol=1e-5)
    without = dataclasses.replace(config, ngrams=None)  # a config without tables: tokens alone
    np.testing.assert_allclose(embed(params, without, ids), np.sqrt(D) * E[ids], rtol=1e-6)


def _gelu_tanh(z):
    return 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_feed_forward_equals_act_of_x_w1_plus_b1_times_w2_plus_b2(activation):
    g = np.random.default_rng(7)
    ff = {"hidden": {"W": g.normal(size=(D, F)).astype(np.float32),
                     "b": g.normal(size=F).astype(np.float32)},
          "out": {"W": g.normal(size=(F, D)).astype(np.float32),
                  "b": g.normal(size=D).astype(np.float32)}}
    x = g.normal(size=(N, T, D)).astype(np.float32)
    W1, b1 = ff["hidden"]["W"].astype(np.float64), ff["hidden"]["b"].astype(np.float64)
    W2, b2 = ff["out"]["W"].astype(np.float64), ff["out"]["b"].astype(np.float64)
    pre = x.astype(np.float64) @ W1 + b1
    assert (pre < 0).any() and (pre > 0).any()  # both sides of the activation are exercised
    act = _gelu_tanh(pre) if activation == "gelu" else np.maximum(pre, 0)
    np.testing.assert_allclose(feed_forward(ff, x, activation), act @ W2 + b2, rtol=1e-4, atol=1e-4)


def _layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps) + beta


@pytest.mark.parametrize("norm_first", [True, False])
def test_residual_is_pre_ln_or_post_ln_as_the_paper_writes_it(norm_first):
    from sktransformer._layers import residual

    g = np.random.default_rng(8)
    ln = {"gamma": g.normal(size=D).astype(np.float32), "beta": g.normal(size=D).astype(np.float32)}
    W = g.normal(size=(D, D)).astype(np.float32)
    x = (3 + 2 * g.normal(size=(N, T, D))).astype(np.float32)  # not already normalised

    def sublayer(h):
        return np.tanh(h @ W)

    out = residual(ln, x, sublayer, norm_first, 0.0, None)
    x64, gamma, beta = x.astype(np.float64), ln["gamma"], ln["beta"]
    if norm_first:  # x + Sublayer(LN(x))
        expected = x64 + np.tanh(_layer_norm(x64, gamma, beta) @ W)
    else:  # LN(x + Sublayer(x))
        expected = _layer_norm(x64 + np.tanh(x64 @ W), gamma, beta)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    # the other arrangement is far from it: the test tells the two apart
    other = residual(ln, x, sublayer, not norm_first, 0.0, None)
    assert not np.allclose(other, expected, atol=0.1)


def test_cls_pooling_is_the_first_position_and_mean_pooling_skips_padding():
    from sktransformer._model import pool

    h = _x()
    mask = np.ones((N, T), bool)
    mask[0, 2:] = False
    np.testing.assert_array_equal(pool(h, mask, "cls"), h[:, 0])
    np.testing.assert_array_equal(pool(h, mask, "first"), h[:, 0])
    np.testing.assert_allclose(pool(h, mask, "mean")[0], h[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(pool(h, mask, "mean")[1:], h[1:].mean(1), rtol=1e-6)
    # end to end: [CLS] is prepended, and its output vector is what the sequence pools to
    config = ModelConfig("tokens", 11, d_model=D, n_heads=H, n_layers=2, d_ff=F, dropout=0.0,
                         pooling="cls")
    params = init_params(config, np.random.default_rng(9))
    ids = np.array([[3, 4, 5, 0], [6, 7, 8, 9]])
    out, _ = encode(params, config, ids, ids > 0)
    np.testing.assert_array_equal(pooled_features(params, config, ids, ids > 0), out[:, 0])
    padded = pooled_features(params, config, np.array([[3, 4, 5, 0, 0]]), np.array([[1, 1, 1, 0, 0]], bool))
    np.testing.assert_allclose(padded, pooled_features(params, config, ids[:1, :3]), rtol=1e-4, atol=1e-5)


def test_a_new_positional_encoding_is_one_registered_function(monkeypatch):
    """README: a new encoding is one function and one entry; the estimators accept its name."""
    from sktransformer import TransformerClassifier
    from sktransformer._positions import POSITIONAL_ENCODINGS, PositionalEncoding

    seen = []

    def reversed_ramp(params, h, offset):  # x + a ramp that falls along the sequence
        seen.append(h.shape)
        ramp = np.linspace(1.0, 0.0, h.shape[1], dtype=h.dtype)[:, None]
        return h + ramp

    monkeypatch.setitem(POSITIONAL_ENCODINGS, "ramp", PositionalEncoding(embed=reversed_ramp))
    X = np.random.default_rng(0).integers(1, 6, size=(20, 5))
    clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_iter=1,
                                positional_encoding="ramp", random_state=0).fit(X, [0, 1] * 10)
    assert seen and clf.predict(X).shape == (20,)
    with pytest.raises(ValueError, match="positional_encoding"):
        TransformerClassifier(positional_encoding="unregistered").fit(X, [0, 1] * 10)


def test_a_new_network_input_is_one_entry_of_the_embedding_table(monkeypatch):
    """README: a network input of a new shape is one entry of EMBEDDINGS in _model.py."""
    from sktransformer import _model

    calls = []

    def doubled_tokens(params, config, X):  # tokens embedded twice as strongly
        calls.append(X.shape)
        return 2 * token_embedding(params, X, config.scale_embedding)

    monkeypatch.setitem(_model.EMBEDDINGS, "doubled", _model.Embedding(
        _model.EMBEDDINGS["tokens"].init, doubled_tokens))
    config = ModelConfig("doubled", 6, d_model=D, n_heads=H, n_layers=1, d_ff=F, dropout=0.0)
    params = init_params(config, np.random.default_rng(0))
    ids = np.array([[1, 2, 3, 0]])
    h, _ = encode(params, config, ids, ids != 0)
    plain = dataclasses.replace(config, input_kind="tokens")
    assert calls and h.shape == (1, 4, D)
    assert not np.allclose(h, encode(params, plain, ids, ids != 0)[0])
