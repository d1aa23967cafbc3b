"""Every hand-written VJP against numerical gradients, and float32 all the way through."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from sktransformer._layers import causal_bias, padding_bias
from sktransformer._primitives import (
    attention_weights,
    embedding_lookup,
    gelu,
    layer_norm,
    scaled_dot_product_attention,
    softmax_cross_entropy,
)

rng = np.random.default_rng(0)


def naive_attention(Q, K, V, bias):
    """softmax(Q K^T / sqrt(d_k) + bias) V written with plain autograd ops (reference)."""
    S = anp.matmul(Q, anp.swapaxes(K, -1, -2)) / np.sqrt(Q.shape[-1]) + bias
    P = anp.exp(S - anp.max(S, axis=-1, keepdims=True))
    return anp.matmul(P / anp.sum(P, axis=-1, keepdims=True), V)


def _qkv(n=2, h=3, tq=4, tk=5, k=6, dtype=np.float64):
    return [rng.normal(size=(n, h, t, k)).astype(dtype) for t in (tq, tk, tk)]


@pytest.mark.parametrize("use_bias", ["none", "padding", "causal"])
def test_attention_gradients_match_numerical(use_bias):
    Q, K, V = _qkv(tq=5)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    bias = {"none": None, "padding": padding_bias(mask), "causal": causal_bias(5)}[use_bias]
    check_grads(lambda q, k, v: scaled_dot_product_attention(q, k, v, bias),
                modes=["rev"], order=1)(Q, K, V)


def test_attention_matches_naive_reference_and_masks_keys():
    Q, K, V = _qkv()
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
    bias = padding_bias(mask).astype(np.float64)
    out = scaled_dot_product_attention(Q, K, V, bias)
    np.testing.assert_allclose(out, naive_attention(Q, K, V, bias), rtol=1e-10)
    # values at masked keys have no influence at all
    V2 = V.copy()
    V2[0, :, 2:] = 1e6
    np.testing.assert_array_equal(out[0], scaled_dot_product_attention(Q, K, V2, bias)[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("use_bias", ["none", "padding", "causal"])
def test_attention_rows_far_below_their_blocks_maximum_are_still_exact(dtype, use_bias):
    """Scores are shifted by one maximum per sample and head; a row lying hundreds below it
    (its exponentials would underflow to 0, its weights to NaN) is shifted by its own maximum."""
    Q, K, V = _qkv(tq=5, dtype=dtype)
    K[1, 0] += 3  # every key along the diagonal direction ...
    Q[1, 0, 2] = 30  # ... so that this row's scores are all far above the rest ...
    Q[1, 0, 3] = -30  # ... and this one's all far below
    Q[0, 1, :] *= 100  # every row of a block far apart
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    assert (scores[1, 0].max() - scores[1, 0, 3].max()) > 200
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    bias = {"none": None, "padding": padding_bias(mask), "causal": causal_bias(5)}[use_bias]
    if bias is not None:
        bias = bias.astype(dtype)
    out = scaled_dot_product_attention(Q, K, V, bias)
    expected = naive_attention(Q.astype(np.float64), K.astype(np.float64), V.astype(np.float64),
                               0.0 if bias is None else bias.astype(np.float64))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, expected, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-5 if dtype == np.float32 else 1e-12)
    weights = attention_weights(Q, K, bias)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    if dtype == np.float64:
        check_grads(lambda q, k, v: scaled_dot_product_attention(q, k, v, bias),
                    modes=["rev"], order=1)(Q / 50, K, V)


def test_far_rows_are_recomputed_with_broadcast_keys_alibi_and_gradients(monkeypatch):
    """The second pass takes Q and K at the scores' (N, H) when they broadcast (one encoder
    memory for several beams), adds position biases, works in parts, and has exact gradients."""
    from sktransformer import _primitives
    from sktransformer._layers import alibi_bias

    monkeypatch.setattr(_primitives, "_ROWS_AGAIN", 2)  # several parts
    Q = np.zeros((3, 2, 4, 4), np.float32)
    Q[:, :, 0, 0], Q[:, :, 1, 0], Q[:, :, 2, 0] = 100, -100, -90
    K = np.zeros((1, 2, 5, 4), np.float32)  # one memory for the three queries' samples
    K[0, :, :, 0] = [1, 2, 3, 2, 1]
    V = rng.normal(size=(1, 2, 5, 4)).astype(np.float32)
    bias = alibi_bias(2, 4, 5)
    out = scaled_dot_product_attention(Q, K, V, bias, None, True)
    expected = naive_attention(Q.astype(np.float64), np.broadcast_to(K, (3, 2, 5, 4)).astype(np.float64),
                               np.broadcast_to(V, (3, 2, 5, 4)).astype(np.float64), bias.astype(np.float64))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(scaled_dot_product_attention(Q[1:2], K, V, bias, None, True), out[1:2])
    Q64, K64, V64 = _qkv(tq=4)
    Q64[0, 0, 1] = 0
    Q64[0, 0, 1, 0] = 16.0  # with K's first column shifted, this row lies ~50 below the block's top
    K64[0, 0, :, 0] = -4.0
    Q64[0, 0, 0, 0] = -14.0
    scores = Q64 @ np.swapaxes(K64, -1, -2) / np.sqrt(6)
    assert scores[0, 0].max() - scores[0, 0, 1].max() > 41
    check_grads(lambda q, k, v: scaled_dot_product_attention(q, k, v), modes=["rev"], order=1)(
        Q64, K64, V64)


def test_no_query_rows_give_an_empty_output():
    Q, K, V = _qkv(tq=0)
    assert scaled_dot_product_attention(Q, K, V).shape == (2, 3, 0, 6)


def test_gelu_gradient_and_known_values():
    x = rng.normal(size=(3, 7)) * 3
    check_grads(gelu, modes=["rev"], order=1)(x)
    exact = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    # far left 1 + tanh rounds to 0 where x / (1 + exp(-2z)) keeps its ~1e-22: absolute 1e-15
    np.testing.assert_allclose(gelu(x), exact, rtol=1e-12, atol=1e-15)


def test_layer_norm_gradients_and_statistics():
    x = rng.normal(size=(2, 3, 8))
    gamma, beta = rng.normal(size=8), rng.normal(size=8)
    check_grads(layer_norm, modes=["rev"], order=1)(x, gamma, beta)
    y = layer_norm(x, np.ones(8), np.zeros(8))
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, atol=1e-4)


def test_softmax_cross_entropy_gradient_and_value():
    logits = rng.normal(size=(6, 4))
    targets = np.array([0, 1, 2, 3, 0, 1])
    weights = rng.uniform(size=6)
    check_grads(lambda z: softmax_cross_entropy(z, targets, weights), modes=["rev"], order=1)(logits)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -(weights * log_p[np.arange(6), targets]).sum()
    assert softmax_cross_entropy(logits, targets, weights) == pytest.approx(expected)


def test_embedding_gradient_accumulates_repeated_ids():
    table = rng.normal(size=(5, 3))
    ids = np.array([[0, 2, 2], [4, 2, 0]])
    check_grads(lambda t: embedding_lookup(t, ids), modes=["rev"], order=1)(table)
    g = grad(lambda t: anp.sum(embedding_lookup(t, ids)))(table)
    np.testing.assert_array_equal(g[:, 0], [2, 0, 3, 0, 1])


def test_vjps_do_not_modify_incoming_gradient():
    """autograd hands the same gradient to both branches of a residual: VJPs must copy."""
    from autograd.core import primitive_vjps

    Q, K, V = _qkv(dtype=np.float32)
    out = scaled_dot_product_attention(Q, K, V, None)
    g = rng.normal(size=out.shape).astype(np.float32)
    g_before = g.copy()
    vjp = primitive_vjps[scaled_dot_product_attention.traced]((0, 1, 2), out, (Q, K, V, None), {})
    vjp(g)
    np.testing.assert_array_equal(g, g_before)
    x = rng.normal(size=(4, 8)).astype(np.float32)
    g = rng.normal(size=(4, 8)).astype(np.float32)
    g_before = g.copy()
    vjp = primitive_vjps[layer_norm.traced]((0, 1, 2), None, (x, np.ones(8, np.float32),
                                                       np.zeros(8, np.float32)), {})
    vjp(g)
    np.testing.assert_array_equal(g, g_before)


def test_backward_pass_stays_float32_inside():
    """Record the dtype of every gradient that flows through the backward pass, not just the last."""
    from autograd.core import VJPNode

    from sktransformer._grad import value_and_grad_tree
    from sktransformer._model import ModelConfig, head_logits, init_params, pooled_features

    seen = set()
    original_init = VJPNode.__init__

    def recording_init(self, value, fun, args, kwargs, parent_argnums, parents):
        original_init(self, value, fun, args, kwargs, parent_argnums, parents)
        inner = self.vjp

        def vjp(g):
            out = tuple(inner(g))
            seen.update(np.asarray(o).dtype for o in out if hasattr(o, "dtype"))
            return out

        self.vjp = vjp

    for kind, X, mask in [
        ("tokens", rng.integers(1, 10, size=(4, 6)), None),
        ("numeric", rng.normal(size=(4, 6)).astype(np.float32), None),
    ]:
        for pooling, norm_first in [("mean", True), ("cls", False)]:
            config = ModelConfig(kind, 10 if kind == "tokens" else 6, d_model=8, n_heads=2,
                                 n_layers=2, d_ff=16, dropout=0.1, pooling=pooling,
                                 norm_first=norm_first, positional_encoding="learned",
                                 n_outputs=3, max_len=8)
            params = init_params(config, np.random.default_rng(0))
            if kind == "tokens":
                mask = X > 2

            def loss(p, X=X, mask=mask, config=config):
                logits = head_logits(p, config, pooled_features(p, config, X, mask,
                                                        np.random.default_rng(1)))
                return softmax_cross_entropy(logits, np.arange(4) % 3, np.ones(4, np.float32))

            VJPNode.__init__ = recording_init
            try:
                value, grads = value_and_grad_tree(loss)(params)
            finally:
                VJPNode.__init__ = original_init
            assert np.asarray(value).dtype == np.float32
    assert seen == {np.dtype(np.float32)}, f"backward pass used {seen}"


def test_affine_gradients_for_3d_input():
    from sktransformer._primitives import affine

    x, W, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    check_grads(affine, modes=["rev"], order=1)(x, W, b)
    np.testing.assert_allclose(affine(x, W, b), x @ W + b)


# ------------------------------------------------------ label smoothing


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothed_cross_entropy_gradient(smoothing):
    logits = rng.normal(size=(6, 4))
    targets = np.array([0, 1, 2, 3, 0, 1])
    weights = rng.uniform(size=6)
    check_grads(lambda z: softmax_cross_entropy(z, targets, weights, smoothing),
                modes=["rev"], order=1)(logits)


def test_label_smoothed_cross_entropy_equals_the_formula():
    """Cross-entropy against q = (1 - eps) onehot + eps / C."""
    logits, targets, weights, eps = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0]), \
        rng.uniform(size=5), 0.2
    q = (1 - eps) * np.eye(3)[targets] + eps / 3
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -(weights * (q * log_p).sum(1)).sum()
    assert softmax_cross_entropy(logits, targets, weights, eps) == pytest.approx(expected)
    # float32 in, float32 gradient out
    g = grad(lambda z: softmax_cross_entropy(z, targets, weights.astype(np.float32), eps))(
        logits.astype(np.float32))
    assert g.dtype == np.float32


# ---------------------------------------------------- attention dropout


def _keep_mask(shape, rate=0.3):
    return np.where(rng.uniform(size=shape) >= rate, 1 / (1 - rate), 0.0)


@pytest.mark.parametrize("use_bias", [False, True])
def test_attention_dropout_gradients_match_numerical(use_bias):
    Q, K, V = _qkv(tq=5)
    bias = causal_bias(5) if use_bias else None
    keep = _keep_mask((2, 3, 5, 5))
    check_grads(lambda q, k, v: scaled_dot_product_attention(q, k, v, bias, keep),
                modes=["rev"], order=1)(Q, K, V)


def test_attention_dropout_drops_weights_not_scores():
    """Z = (P * keep) V with P the undropped softmax; keep of ones changes nothing."""
    Q, K, V = _qkv()
    bias = np.zeros((1, 1, 4, 5))
    keep = _keep_mask((2, 3, 4, 5))
    S = np.matmul(Q, np.swapaxes(K, -1, -2)) / np.sqrt(Q.shape[-1])
    P = np.exp(S - S.max(-1, keepdims=True))
    P /= P.sum(-1, keepdims=True)
    np.testing.assert_allclose(scaled_dot_product_attention(Q, K, V, bias, keep), (P * keep) @ V,
                               rtol=1e-10)
    np.testing.assert_allclose(scaled_dot_product_attention(Q, K, V, None, np.ones((1, 1, 1, 1))),
                               scaled_dot_product_attention(Q, K, V), rtol=1e-12)


# ------------------------------------------------------------- rotary


def test_rotary_gradient_and_reference_rotation():
    from sktransformer._layers import rotary_tables
    from sktransformer._primitives import rotary

    x = rng.normal(size=(2, 3, 5, 6))
    cos, sin = rotary_tables(5, 6, np.float64, offset=2)
    check_grads(lambda v: rotary(v, cos, sin), modes=["rev"], order=1)(x)
    # pair (x_i, x_{i+3}) as the complex number x_i + 1j x_{i+3}, turned by e^{1j angle}
    angle = np.arange(2, 7)[:, None] * 10000.0 ** (-np.arange(0, 6, 2) / 6)
    z = (x[..., :3] + 1j * x[..., 3:]) * np.exp(1j * angle)
    np.testing.assert_allclose(rotary(x, cos, sin), np.concatenate([z.real, z.imag], -1),
                               rtol=1e-10, atol=1e-12)


def test_rotary_scores_depend_on_relative_position_only():
    from sktransformer._layers import rotary_tables
    from sktransformer._primitives import rotary

    q, k = rng.normal(size=8), rng.normal(size=8)
    cos, sin = rotary_tables(20, 8, np.float64)

    def score(m, n):
        return rotary(q, cos[m], sin[m]) @ rotary(k, cos[n], sin[n])

    assert score(3, 1) == pytest.approx(score(12, 10))
    assert score(1, 3) == pytest.approx(score(10, 12))
    assert score(3, 1) != pytest.approx(score(1, 3))


def test_rotary_base_sets_the_angles():
    from sktransformer._layers import rotary_tables

    cos, sin = rotary_tables(4, 6, np.float64, offset=1, base=500.0)
    angle = np.arange(1, 5)[:, None] * 500.0 ** (-np.arange(0, 6, 2) / 6)
    np.testing.assert_allclose(cos, np.cos(np.concatenate([angle, angle], 1)), rtol=1e-12)
    np.testing.assert_allclose(sin, np.sin(np.concatenate([angle, angle], 1)), rtol=1e-12)


# ------------------------------------------------------- Llama-family pieces


@pytest.mark.parametrize("batch_invariant", [False, True])
def test_rms_norm_gradients_and_formula(batch_invariant):
    from sktransformer._primitives import rms_norm

    x = rng.normal(size=(2, 3, 8)) * 3
    gamma = rng.normal(size=8)
    check_grads(lambda v, g: rms_norm(v, g, 1e-5, batch_invariant), modes=["rev"], order=1)(x, gamma)
    expected = gamma * x / np.sqrt((x**2).mean(-1, keepdims=True) + 1e-5)  # Zhang & Sennrich (2019)
    np.testing.assert_allclose(rms_norm(x, gamma, 1e-5, batch_invariant), expected, rtol=1e-12)
    y = rms_norm(x, np.ones(8), 0.0)
    np.testing.assert_allclose((y**2).mean(-1), 1, rtol=1e-12)  # unit root mean square, not centred
    assert np.abs(y.mean(-1)).max() > 1e-3


def test_swiglu_gradients_and_formula():
    from sktransformer._primitives import swiglu

    gate, up = rng.normal(size=(2, 5, 7)) * 3, rng.normal(size=(2, 5, 7))
    check_grads(swiglu, modes=["rev"], order=1)(gate, up)
    expected = gate / (1 + np.exp(-gate)) * up  # Swish_1(a) * b (Shazeer, 2020)
    np.testing.assert_allclose(swiglu(gate, up), expected, rtol=1e-12)


def test_swiglu_feed_forward_gradients_and_formula():
    from sktransformer._layers import feed_forward

    d, f = 4, 6
    params = {name: {"W": rng.normal(size=shape)} for name, shape in (
        ("gate", (d, f)), ("up", (d, f)), ("down", (f, d)))}
    x = rng.normal(size=(2, 3, d))
    a, b = x @ params["gate"]["W"], x @ params["up"]["W"]
    np.testing.assert_allclose(feed_forward(params, x, "swiglu"),
                               (a / (1 + np.exp(-a)) * b) @ params["down"]["W"], rtol=1e-12)
    check_grads(lambda p, v: feed_forward(p, v, "swiglu"), modes=["rev"], order=1)(params, x)


def test_grouped_query_attention_gradients_and_head_sharing():
    from sktransformer._layers import causal_bias, grouped_query_heads, multi_head_attention

    n_heads, n_kv_heads, k, d = 4, 2, 3, 12
    kv = np.arange(2 * 5 * 3, dtype=float).reshape(1, 2, 5, 3)
    shared = grouped_query_heads(kv, n_heads)  # query heads 0, 1 read key/value head 0; 2, 3 head 1
    for h in range(n_heads):
        np.testing.assert_array_equal(shared[:, h], kv[:, h // 2])
    assert grouped_query_heads(kv, 2) is kv  # as many key/value heads as query heads: no copy
    params = {"qkv": {"W": rng.normal(size=(d, (n_heads + 2 * n_kv_heads) * k)) / 3},
              "out": {"W": rng.normal(size=(d, d)) / 3, "b": rng.normal(size=d)}}
    x = rng.normal(size=(2, 5, d))
    check_grads(lambda p, v: multi_head_attention(p, v, causal_bias(5), n_heads, n_kv_heads=n_kv_heads),
                modes=["rev"], order=1)(params, x)
    # the same as multi-head attention whose key/value projections are copied to every head
    W = params["qkv"]["W"]
    Wq, Wk, Wv = W[:, :12], W[:, 12:18], W[:, 18:]
    copies = [np.repeat(w.reshape(d, n_kv_heads, k), 2, axis=1).reshape(d, -1) for w in (Wk, Wv)]
    full = {"qkv": {"W": np.concatenate([Wq, *copies], axis=1)}, "out": params["out"]}
    np.testing.assert_allclose(multi_head_attention(params, x, causal_bias(5), n_heads, n_kv_heads=2),
                               multi_head_attention(full, x, causal_bias(5), n_heads), rtol=1e-12)


def test_rms_norm_and_swiglu_vjps_keep_float32_and_leave_the_gradient_alone():
    from autograd.core import primitive_vjps

    from sktransformer._primitives import rms_norm, swiglu

    x, gamma = rng.normal(size=(4, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32)
    b = rng.normal(size=(4, 8)).astype(np.float32)
    for fn, args, argnums in ((rms_norm, (x, gamma, 1e-6), (0, 1)), (swiglu, (x, b), (0, 1))):
        out = fn(*args)
        assert out.dtype == np.float32
        g = rng.normal(size=out.shape).astype(np.float32)
        g_before = g.copy()
        grads = primitive_vjps[fn.traced](argnums, out, args, {})(g)
        np.testing.assert_array_equal(g, g_before)
        assert {grad.dtype for grad in grads} == {np.dtype(np.float32)}, fn.__name__


def test_untraced_calls_skip_autograds_argument_scan_and_traced_calls_keep_gradients(monkeypatch):
    """Each primitive checks for traced arguments itself (one isinstance an argument) and only
    a traced call goes through autograd's wrapper, whose scan of every argument costs ~2 us."""
    import autograd.tracer

    scans = []
    scan = autograd.tracer.find_top_boxed_args
    monkeypatch.setattr(autograd.tracer, "find_top_boxed_args",
                        lambda args: scans.append(1) or scan(args))
    x = rng.normal(size=(3, 8))
    gamma, beta = np.ones(8), np.zeros(8)
    y = layer_norm(x, gamma, beta)
    assert not scans
    np.testing.assert_allclose(y, layer_norm.fun(x, gamma, beta))
    g = grad(lambda v: anp.sum(layer_norm(v, gamma, beta) ** 3))(x)
    assert scans and np.abs(g).max() > 0
    check_grads(lambda v: layer_norm(v, gamma, beta), modes=["rev"], order=1)(x)
