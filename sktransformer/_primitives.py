"""Fused operations with hand-written gradients (autograd primitives).

autograd records every numpy call on a Python tape. The operations here are
the hot spots of a Transformer; writing each as a single primitive with its
own vector-Jacobian product (VJP) keeps the tape short, the arithmetic in the
input's dtype (float32 stays float32), and avoids storing intermediates.

Every VJP is checked against numerical gradients in
``tests/test_primitives.py`` with :func:`autograd.test_util.check_grads`.
A VJP never modifies its inputs or the incoming gradient ``g`` in place:
autograd hands the same ``g`` to both branches of a residual connection.

Letters used in shape comments: N samples, H heads, T positions (Tq queries,
Tk keys), K head width, D model width, C classes or vocabulary entries.

``batch_invariant=True`` (batch-invariant inference, see
:mod:`sktransformer._runtime`) makes a sample's results independent of the
other samples of the batch and of its place among them: :func:`affine` takes
one matrix product per sample, and row sums are taken by ``einsum``, the same
loop for every row. Training keeps the default, which is faster.
"""

import functools
import math
import threading

import numpy as onp
from autograd.extend import Box, defvjp, defvjp_argnums
from autograd.extend import primitive as traced_primitive
from scipy import special as _special

MASKED = -1e9  # additive attention bias of a masked key: exp() of it is exactly 0

def primitive(fun):
    """autograd's ``primitive`` of ``fun``, behind a quicker check for traced arguments.

    autograd's own wrapper inspects every argument of every call (~1.5-3 us:
    a tenth of a small model's layer at inference, where nothing is traced);
    here an untraced call costs one ``isinstance`` per argument. As in
    autograd, only positional arguments are traced. ``.traced`` is autograd's
    primitive, on which ``defvjp`` registers the gradient; ``.fun`` is ``fun``.
    """
    traced = traced_primitive(fun)

    @functools.wraps(fun)
    def dispatch(*args, **kwargs):
        for arg in args:
            if isinstance(arg, Box):
                return traced(*args, **kwargs)
        return fun(*args, **kwargs)

    dispatch.traced, dispatch.fun = traced, fun
    return dispatch


# When autograd traces a primitive it calls the primitive, then at once the
# primitive's VJP maker with the output. Intermediates of the forward pass
# (softmax weights, normalised inputs, tanh values) are handed over through
# this slot so the backward pass need not recompute them.
_stash = threading.local()


def _keep_for_backward(ans, *intermediates):
    """Return ``ans``, keeping ``intermediates`` for the VJP maker autograd calls next."""
    _stash.entry = (ans, intermediates)
    return ans


def _kept(ans):
    """The intermediates kept with ``ans`` by its forward pass, or None (then recompute)."""
    entry = getattr(_stash, "entry", None)
    _stash.entry = None
    return entry[1] if entry is not None and entry[0] is ans else None


def release_kept():
    """Drop intermediates kept by an untraced (inference) call."""
    _stash.entry = None


def _swap(x):
    """Transpose the last two axes (the array method: a third of the time of ``np.swapaxes``)."""
    return x.swapaxes(-1, -2)


@functools.lru_cache(maxsize=256)
def _constant_vector(n, value, dtype):
    """A read-only vector of ``n`` times ``value``, made once per (n, value, dtype)."""
    vector = onp.full(n, value, dtype=dtype)
    vector.flags.writeable = False
    return vector


def _row_sums(x, scale=1.0, batch_invariant=False):
    """scale * sum of x over the last axis, keepdims.

    numpy's reduction over a short last axis is slow: at widths 12-64 a
    matrix-vector product with a constant vector is ~10x faster on one BLAS
    thread. Its rows' last bits can depend on their place in the matrix, so
    with ``batch_invariant`` ``einsum`` is used instead: every row summed by
    the same loop, still ~2-3x faster.
    """
    n = x.shape[-1]
    ones = _constant_vector(n, float(scale), x.dtype)
    x2 = x.reshape(-1, n)
    sums = onp.einsum("ij,j->i", x2, ones) if batch_invariant else x2 @ ones
    return sums.reshape(x.shape[:-1] + (1,))


def _exp_scores(Q, K, bias, batch_invariant=False):
    """softmax's numerator and denominator: E = exp(S - max S) and its row sums, S = Q K^T / sqrt(d_k) + bias.

    Returns E (N, H, Tq, Tk) and its sums over keys (N, H, Tq, 1): the
    weights are E / sums, a division the caller may leave to a smaller array.
    """
    scale = Q.dtype.type(1.0 / math.sqrt(Q.shape[-1]))
    Q = Q * scale
    S = Q @ _swap(K)  # (N, H, Tq, Tk)
    if bias is not None:
        S += bias
    # softmax is the same for any shift of a row; one shift per sample and head (the block's
    # maximum) is a tenth of the time of a maximum per row (rows of 12-128 keys, measured)
    if S.size:
        S -= S.max(axis=(-2, -1), keepdims=True)
    onp.exp(S, out=S)
    sums = _row_sums(S, batch_invariant=batch_invariant)
    if sums.size and sums.min() < _LOW_SUM:  # rows far below their block's maximum: shifted by
        _exp_rows_again(S, sums, onp.flatnonzero(sums < _LOW_SUM), Q, K, bias,  # their own maximum
                        batch_invariant)
    return S, sums


# A row of exp(S - block maximum) summing below this lies more than 41 below the maximum, where
# float32 exponentials lose precision and then underflow: such rows are shifted by their own maximum.
_LOW_SUM = 2.0**-60


_ROWS_AGAIN = 256  # rows recomputed at a time (each copies its sample's keys)


def _exp_rows_again(E, sums, rows, Q, K, bias, batch_invariant):
    """E's ``rows`` (flat indices over N, H, Tq) recomputed shifted by their own maximum, in place.

    Q and K may broadcast against each other (one encoder memory for several
    beams): both are taken at E's (N, H) before rows are picked.
    """
    N, H, Tq, Tk = E.shape
    Q = onp.broadcast_to(Q, (N, H, Tq, Q.shape[-1]))
    K = onp.broadcast_to(K, (N, H, Tk, K.shape[-1]))
    for start in range(0, len(rows), _ROWS_AGAIN):
        part = rows[start : start + _ROWS_AGAIN]
        n, h, i = onp.unravel_index(part, (N, H, Tq))
        scores = onp.einsum("rk,rjk->rj", Q[n, h, i], K[n, h])  # each row by the same loop
        if bias is not None:
            scores += onp.broadcast_to(bias, (N, H, Tq, Tk))[n, h, i]
        scores -= scores.max(axis=-1, keepdims=True)
        onp.exp(scores, out=scores)
        E.reshape(-1, Tk)[part] = scores
        sums.reshape(-1)[part] = _row_sums(scores, batch_invariant=batch_invariant)[:, 0]


def attention_weights(Q, K, bias, batch_invariant=False):
    """softmax(Q K^T / sqrt(d_k) + bias) over keys, shape (N, H, Tq, Tk)."""
    E, sums = _exp_scores(Q, K, bias, batch_invariant)
    E /= sums
    return E


@primitive
def scaled_dot_product_attention(Q, K, V, bias=None, keep=None, batch_invariant=False):
    """Z = Dropout(softmax(Q K^T / sqrt(d_k) + bias)) V, for all samples and heads at once.

    Parameters
    ----------
    Q : ndarray of shape (N, H, Tq, K)
        Queries.
    K, V : ndarray of shape (N, H, Tk, K)
        Keys and values (from the same sequence for self-attention, from the
        encoder's output for cross-attention).
    bias : ndarray broadcastable to (N, H, Tq, Tk) or None
        Added to the scores before the softmax: ``0`` where a key may be
        attended to, ``MASKED`` (a large negative number) where it may not
        (padding, or future positions under a causal mask); position biases
        such as ALiBi's are added here too.
    keep : ndarray broadcastable to (N, H, Tq, Tk) or None
        Attention dropout: the weights are multiplied by it (0 where a weight
        is dropped, ``1 / (1 - rate)`` where it is kept). None: no dropout.
    batch_invariant : bool
        Sum each row of weights by the same loop (see the module docstring).

    Returns
    -------
    Z : ndarray of shape (N, H, Tq, K)

    Examples
    --------
    >>> import numpy as np
    >>> Q = K = V = np.ones((1, 1, 3, 2), dtype=np.float32)
    >>> scaled_dot_product_attention(Q, K, V).shape
    (1, 1, 3, 2)
    """
    # Z = (E V) / sums: the softmax's division on (Tq, K) values instead of (Tq, Tk) weights
    E, sums = _exp_scores(Q, K, bias, batch_invariant)
    Z = (E @ V) if keep is None else (E * keep) @ V
    Z /= sums
    return _keep_for_backward(Z, E, sums)


def _attention_vjp(argnums, Z, args, kwargs):
    Q, K, V = args[:3]
    bias = args[3] if len(args) > 3 else kwargs.get("bias")
    keep = args[4] if len(args) > 4 else kwargs.get("keep")
    batch_invariant = args[5] if len(args) > 5 else kwargs.get("batch_invariant", False)
    kept = _kept(Z)
    if kept:  # the forward pass's numerator and row sums: the weights, divided once here
        P = kept[0]
        P /= kept[1]
    else:
        P = attention_weights(Q, K, bias, batch_invariant)  # (N, H, Tq, Tk)
    scale = Q.dtype.type(1.0 / math.sqrt(Q.shape[-1]))

    def vjp(g):  # g: (N, H, Tq, K)
        dS = g @ _swap(V)  # dL/d(dropped P), (N, H, Tq, Tk)
        if keep is not None:
            dS *= keep  # dL/dP
        # softmax backward: dS = P * (dP - sum_k dP P); the row sums equal sum(g * Z) because
        # Z = (P keep) V, a (Tq, K) product instead of a (Tq, Tk) one (as in FlashAttention)
        dS -= _row_sums(g * Z, batch_invariant=batch_invariant)
        dS *= P
        grads = {0: None, 1: None, 2: None}
        if 2 in argnums:
            grads[2] = _swap(P if keep is None else P * keep) @ g
        if 0 in argnums:
            grads[0] = dS @ K
            grads[0] *= scale
        if 1 in argnums:
            grads[1] = _swap(dS) @ Q
            grads[1] *= scale
        return tuple(grads[i] for i in argnums)

    return vjp


defvjp_argnums(scaled_dot_product_attention.traced, _attention_vjp)


_GELU_C = onp.sqrt(2.0 / onp.pi)


def _gelu_denominator(x):
    """1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3)), in place on one temporary (x*x*x: float32 x**3 is slow).

    0.5 (1 + tanh(z)) = 1 / (1 + exp(-2 z)): GELU's tanh form is x divided by
    this, in seven passes over the values instead of nine.
    """
    u = x * x
    u *= x.dtype.type(-2 * _GELU_C * 0.044715)
    u += x.dtype.type(-2 * _GELU_C)
    u *= x
    with onp.errstate(over="ignore"):  # far left: x / inf = -0, GELU's limit
        onp.exp(u, out=u)
    u += 1
    return u


@primitive
def gelu(x):
    """GELU(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation.

    Computed as x / (1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3))), the same function.

    Examples
    --------
    >>> import numpy as np
    >>> bool(abs(gelu(np.array([1.0]))[0] - 0.8412) < 1e-3)
    True
    """
    u = _gelu_denominator(x)
    return _keep_for_backward(x / u, u)


def _gelu_vjp(ans, x):
    kept = _kept(ans)
    u = kept[0] if kept else _gelu_denominator(x)

    def vjp(g):
        # with s = 0.5 (1 + t) = 1 / u: d/dx = s + 2 x s (1 - s) c (1 + 3 * 0.044715 x^2), c = sqrt(2/pi)
        s = 1 / u
        d = x * x
        d *= x.dtype.type(2 * 3 * 0.044715 * _GELU_C)
        d += x.dtype.type(2 * _GELU_C)
        d *= x
        d *= s
        d *= 1 - s
        d += s
        d *= g
        return d

    return vjp


defvjp(gelu.traced, _gelu_vjp)


_SQRT_HALF = onp.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / onp.sqrt(2.0 * onp.pi)


# Phi(x) = 1 / (1 + exp(x R(x^2))) for |x| <= 8, R a polynomial (coefficients from u^0 up)
# fitted in float64 to log(Phi(-x) / Phi(x)) / x, weighted by how much Phi moves with it; beyond 8,
# x is taken as +-8 (Phi(-8) = 6e-16). Evaluated in float32 on a grid of 4 million points of
# [-1000, 1000]: Phi within 1.2e-7 of scipy's float64 ndtr, GELU within 5.9e-7 (scipy's float32 erf
# path: 5.7e-8 and 4.5e-7), at 2.0 ns a value against 18.2 with scipy's erf (benchmarks/kernels.py).
_CDF_CLIP = 8.0
_CDF_POLY = (-1.595769994731342, -0.07266562121801944, 6.452727770403972e-05,
             0.0001109142362726117, -7.989044622409679e-06, 2.6960999532378954e-07,
             -3.6641742390459535e-09)


def _normal_cdf(x):
    """Phi(x), the standard normal's distribution function: scipy's erf, or in float32 the fit above."""
    if x.dtype != onp.float32:
        cdf = _special.erf(x * x.dtype.type(_SQRT_HALF))
        cdf += 1
        cdf *= x.dtype.type(0.5)
        return cdf
    clipped = onp.clip(x, -_CDF_CLIP, _CDF_CLIP)
    u = clipped * clipped
    z = u * onp.float32(_CDF_POLY[-1])
    for coefficient in _CDF_POLY[-2::-1]:
        z += onp.float32(coefficient)
        if coefficient is not _CDF_POLY[0]:
            z *= u
    z *= clipped
    with onp.errstate(over="ignore"):  # far left the fit's z overflows: 1 / (1 + inf) = 0, Phi's limit
        onp.exp(z, out=z)
    z += 1
    return onp.reciprocal(z, out=z)


@primitive
def gelu_erf(x):
    """GELU(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))), the exact form (BERT's "gelu").

    Phi is scipy's erf, except in float32, where a fitted form (within
    1.2e-7 of it, see ``_CDF_POLY``) takes a ninth of the time.

    Examples
    --------
    >>> import numpy as np
    >>> bool(abs(gelu_erf(np.array([1.0]))[0] - 0.8413) < 1e-4)
    True
    """
    cdf = _normal_cdf(x)
    return _keep_for_backward(x * cdf, cdf)


def _gelu_erf_vjp(ans, x):
    kept = _kept(ans)
    cdf = kept[0] if kept else _normal_cdf(x)

    def vjp(g):
        # d/dx = Phi(x) + x phi(x), phi the standard normal density
        d = onp.exp(x * x * x.dtype.type(-0.5))
        d *= x.dtype.type(_INV_SQRT_2PI)
        d *= x
        d += cdf
        d *= g
        return d

    return vjp


defvjp(gelu_erf.traced, _gelu_erf_vjp)


def _normalize(x, eps, batch_invariant=False):
    """(x - mean) / sqrt(var + eps) over the last axis, and 1 / sqrt(var + eps)."""
    scale = 1.0 / x.shape[-1]
    centered = x - _row_sums(x, scale, batch_invariant)
    if batch_invariant:  # squares summed in one pass, each row by the same loop: 10-20% faster
        c2 = centered.reshape(-1, x.shape[-1])
        variance = onp.einsum("ij,ij->i", c2, c2).reshape(x.shape[:-1] + (1,))
        variance *= x.dtype.type(scale)
    else:
        variance = _row_sums(centered * centered, scale)
    variance += x.dtype.type(eps)
    inv_std = 1.0 / onp.sqrt(variance, out=variance)
    centered *= inv_std
    return centered, inv_std


@primitive
def layer_norm(x, gamma, beta, eps=1e-5, batch_invariant=False):
    """LayerNorm(x) = gamma * (x - mean(x)) / sqrt(var(x) + eps) + beta, over the last axis.

    ``batch_invariant``: each row's mean and variance summed by the same loop
    (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> y = layer_norm(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3))
    >>> bool(abs(y.mean()) < 1e-7)
    True
    """
    x_hat, inv_std = _normalize(x, eps, batch_invariant)
    y = x_hat * gamma
    y += beta
    return _keep_for_backward(y, x_hat, inv_std)


def _layer_norm_vjp(argnums, ans, args, kwargs):
    x, gamma = args[0], args[1]
    eps = args[3] if len(args) > 3 else kwargs.get("eps", 1e-5)
    batch_invariant = args[4] if len(args) > 4 else kwargs.get("batch_invariant", False)
    kept = _kept(ans)
    x_hat, inv_std = kept if kept else _normalize(x, eps, batch_invariant)
    d = x.shape[-1]

    def vjp(g):
        # dx = inv_std * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)), g_hat = g * gamma;
        # the row means are matrix-vector products with gamma, and two temporaries suffice.
        g2, x_hat2 = g.reshape(-1, d), x_hat.reshape(-1, d)
        g_x_hat = g2 * x_hat2  # (M, D)
        grads = {1: g_x_hat.sum(axis=0) if 1 in argnums else None,
                 2: g2.sum(axis=0) if 2 in argnums else None}
        if 0 in argnums:
            scale = gamma.dtype.type(1.0 / d)
            mean_g_hat = (g2 @ gamma) * scale  # (M,)
            mean_g_hat_x_hat = (g_x_hat @ gamma) * scale  # (M,)
            dx = g2 * gamma
            dx -= mean_g_hat[:, None]
            dx -= onp.multiply(x_hat2, mean_g_hat_x_hat[:, None], out=g_x_hat)
            dx *= inv_std.reshape(-1, 1)
            grads[0] = dx.reshape(x.shape)
        return tuple(grads[i] for i in argnums)

    return vjp


defvjp_argnums(layer_norm.traced, _layer_norm_vjp)


def _rms_normalize(x, eps, batch_invariant=False):
    """x / sqrt(mean(x^2) + eps) over the last axis, and 1 / sqrt(mean(x^2) + eps)."""
    inv_rms = 1.0 / onp.sqrt(_row_sums(x * x, 1.0 / x.shape[-1], batch_invariant) + x.dtype.type(eps))
    return x * inv_rms, inv_rms


@primitive
def rms_norm(x, gamma, eps=1e-6, batch_invariant=False):
    """RMSNorm(x) = gamma * x / sqrt(mean(x^2) + eps) over the last axis (Zhang & Sennrich, 2019).

    Layer normalisation without the centring and the shift ``beta``, as in
    Llama; ``batch_invariant`` as for :func:`layer_norm`.

    Examples
    --------
    >>> import numpy as np
    >>> rms_norm(np.array([[3.0, 4.0]]), np.ones(2), eps=0.0).round(6)
    array([[0.848528, 1.131371]])
    """
    x_hat, inv_rms = _rms_normalize(x, eps, batch_invariant)
    return _keep_for_backward(x_hat * gamma, x_hat, inv_rms)


def _rms_norm_vjp(argnums, ans, args, kwargs):
    x, gamma = args[0], args[1]
    eps = args[2] if len(args) > 2 else kwargs.get("eps", 1e-6)
    batch_invariant = args[3] if len(args) > 3 else kwargs.get("batch_invariant", False)
    kept = _kept(ans)
    x_hat, inv_rms = kept if kept else _rms_normalize(x, eps, batch_invariant)
    d = x.shape[-1]

    def vjp(g):
        # dx = inv_rms * (g_hat - x_hat * mean(g_hat * x_hat)), g_hat = g * gamma
        g2, x_hat2 = g.reshape(-1, d), x_hat.reshape(-1, d)
        g_x_hat = g2 * x_hat2  # (M, D)
        grads = {1: g_x_hat.sum(axis=0) if 1 in argnums else None}
        if 0 in argnums:
            mean_g_hat_x_hat = (g_x_hat @ gamma) * gamma.dtype.type(1.0 / d)  # (M,)
            dx = g2 * gamma
            dx -= onp.multiply(x_hat2, mean_g_hat_x_hat[:, None], out=g_x_hat)
            dx *= inv_rms.reshape(-1, 1)
            grads[0] = dx.reshape(x.shape)
        return tuple(grads[i] for i in argnums)

    return vjp


defvjp_argnums(rms_norm.traced, _rms_norm_vjp)


@primitive
def swiglu(gate, up):
    """SwiGLU(a, b) = Swish(a) * b = a sigmoid(a) * b, the gated unit of Shazeer (2020).

    ``gate`` = x W and ``up`` = x V of the feed-forward layer (Llama's
    gate_proj and up_proj), same shape.

    Examples
    --------
    >>> import numpy as np
    >>> swiglu(np.array([0.0, 1.0]), np.array([5.0, 2.0])).round(6)
    array([0.      , 1.462117])
    """
    s = _special.expit(gate)
    return _keep_for_backward(gate * s * up, s)


def _swiglu_vjp(argnums, ans, args, kwargs):
    gate, up = args
    kept = _kept(ans)
    s = kept[0] if kept else _special.expit(gate)

    def vjp(g):
        # d/da = b (s + a s (1 - s)), d/db = a s
        grads = {0: None, 1: None}
        if 0 in argnums:
            grads[0] = g * up * (s + gate * s * (1 - s))
        if 1 in argnums:
            grads[1] = g * gate * s
        return tuple(grads[i] for i in argnums)

    return vjp


defvjp_argnums(swiglu.traced, _swiglu_vjp)


def log_softmax(logits):
    """log softmax over the last axis, computed stably (plain numpy, for inference and the loss)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - onp.log(onp.exp(shifted).sum(axis=-1, keepdims=True))


@primitive
def softmax_cross_entropy(logits, targets, weights, smoothing=0.0):
    """sum_i w_i * cross-entropy(q_i, softmax(logits_i)); logits (M, C), targets (M,) ints.

    The target distribution is ``q = (1 - smoothing) onehot(target) +
    smoothing / C`` (label smoothing, Szegedy et al. 2016; the paper uses
    0.1, section 5.4); ``smoothing=0`` is the usual ``-log p[target]``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]), np.ones(2))
    >>> bool(abs(loss - 2 * np.log(4)) < 1e-12)
    True
    """
    log_p = log_softmax(logits)
    nll = -log_p[onp.arange(len(targets)), targets]  # (M,)
    if smoothing:
        nll = (1 - smoothing) * nll - (smoothing / logits.shape[-1]) * log_p.sum(axis=-1)
    return (weights * nll).sum()


def _softmax_cross_entropy_vjp(ans, logits, targets, weights, smoothing=0.0):
    def vjp(g):
        d = onp.exp(log_softmax(logits))  # softmax - q, weighted
        if smoothing:
            d -= logits.dtype.type(smoothing / logits.shape[-1])
        d[onp.arange(len(targets)), targets] -= 1 - smoothing
        return d * (weights * g)[:, None].astype(logits.dtype, copy=False)

    return vjp


defvjp(softmax_cross_entropy.traced, _softmax_cross_entropy_vjp)


def _rotate_half(x):
    """(x1, x2) -> (-x2, x1) on the two halves of the last axis: a 90-degree turn of each pair."""
    half = x.shape[-1] // 2
    return onp.concatenate([-x[..., half:], x[..., :half]], axis=-1)


@primitive
def rotary(x, cos, sin):
    """x cos + rotate_half(x) sin: turn each pair (x_i, x_{i+K/2}) by its angle (RoFormer).

    ``x`` (..., T, K); ``cos``, ``sin`` (T, K), each angle written twice
    (once per half). The pairs are the two halves of the head width (the
    GPT-NeoX layout of rotary embeddings); the rotation is orthogonal, so the
    gradient is the rotation by minus the angle.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0]])  # one position, K = 2
    >>> rotary(x, np.cos([[np.pi / 2] * 2]), np.sin([[np.pi / 2] * 2])).round(12)
    array([[0., 1.]])
    """
    return x * cos + _rotate_half(x) * sin


def _rotary_vjp(ans, x, cos, sin):
    half = x.shape[-1] // 2

    def vjp(g):
        # transpose of rotate_half: (u1, u2) -> (u2, -u1)
        gs = g * sin
        return g * cos + onp.concatenate([gs[..., half:], -gs[..., :half]], axis=-1)

    return vjp


defvjp(rotary.traced, _rotary_vjp)


COLUMN_BLOCK = 64  # output columns per product of _per_sample_product's blocked form


def _per_sample_product(x, W):
    """x (N, M, D_in) @ W (D_in, D_out), one BLAS product per sample (batch-invariant).

    Each product packs ``W`` anew; when a sample has few rows (M <= 48)
    against a wide ``W`` (256 <= D_in <= 512, D_out >= 256: a checkpoint's
    projections on short texts) that packing, from beyond the L2 cache,
    costs as much as the arithmetic. ``W`` is then taken in blocks of
    ``COLUMN_BLOCK`` columns, each copied once and multiplied with every
    sample while it stays in cache: on one thread (``benchmarks/kernels.py``),
    24 rows x 384 x 1,536 went from 76 to 104 GFLOP/s (x 384 x 384: 86 to
    111); in a grid of other shapes the blocks gained nothing or lost. The blocks may change a value's last
    bits against one product of the whole ``W``, but every sample goes
    through the same products of the same shapes: batch invariance holds.
    """
    M, (D_in, D_out) = x.shape[1], W.shape
    if M > 48 or not 256 <= D_in <= 512 or D_out < 256:
        return x @ W
    y = onp.empty(x.shape[:2] + (D_out,), dtype=onp.result_type(x, W))
    for start in range(0, D_out, COLUMN_BLOCK):
        block = onp.ascontiguousarray(W[:, start : start + COLUMN_BLOCK])
        onp.matmul(x, block, out=y[:, :, start : start + COLUMN_BLOCK])
    return y


@primitive
def affine(x, W, b, batch_invariant=False):
    """x W + b over the last axis of x: (..., D_in) -> (..., D_out), as one 2-D matrix product.

    ``b`` None: no bias (the projections of Llama-family checkpoints have none).

    With ``batch_invariant``, one product per sample (the first axis of x),
    always of the same shape: a sample's result then never depends on the
    other samples (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> affine(np.ones((2, 3, 4)), np.ones((4, 5)), np.zeros(5)).shape
    (2, 3, 5)
    """
    if batch_invariant:  # (N, M, D_in) @ W: one product per sample
        y = _per_sample_product(x.reshape(x.shape[0] if x.ndim > 1 else 1, -1, W.shape[0]), W)
    else:
        y = x.reshape(-1, W.shape[0]) @ W
    if b is not None:
        y += b
    return y.reshape(x.shape[:-1] + (W.shape[1],))


def _affine_vjp(argnums, ans, args, kwargs):
    x, W = args[0], args[1]

    def vjp(g):
        g2 = g.reshape(-1, W.shape[1])
        grads = {
            0: (g2 @ W.T).reshape(x.shape) if 0 in argnums else None,
            1: x.reshape(-1, W.shape[0]).T @ g2 if 1 in argnums else None,
            2: g2.sum(axis=0) if 2 in argnums else None,
        }
        return tuple(grads[i] for i in argnums)

    return vjp


defvjp_argnums(affine.traced, _affine_vjp)


@primitive
def embedding_lookup(table, ids):
    """Rows of ``table`` (C, D) at integer ``ids`` (any shape) -> ids.shape + (D,).

    Examples
    --------
    >>> import numpy as np
    >>> embedding_lookup(np.eye(3), np.array([[2, 0]])).shape
    (1, 2, 3)
    """
    return table[ids]


def _embedding_vjp(ans, table, ids):
    def vjp(g):
        d = onp.zeros_like(table)
        onp.add.at(d, ids.ravel(), g.reshape(-1, table.shape[1]))
        return d

    return vjp


defvjp(embedding_lookup.traced, _embedding_vjp)
