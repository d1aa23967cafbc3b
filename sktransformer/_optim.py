"""AdamW with gradient-norm clipping, over nested dicts/lists of arrays.

The optimizer is a small object with ``update(params, grads)``; the estimator
owns the training loop. Updates are in place on the arrays of ``params``
(outside any differentiated code), so callers pass a working copy.
"""

import numpy as np

from ._tree import tree_copy, tree_leaves, tree_map


def global_norm(grads):
    """sqrt of the sum of squares of every gradient entry."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in tree_leaves(grads))))


class AdamW:
    """Adam (Kingma & Ba, 2015) with decoupled weight decay (Loshchilov & Hutter, 2019).

    Parameters
    ----------
    params : nested dict of arrays
        The parameters that will be updated; moment buffers mirror them.
    learning_rate : float
    weight_decay : float
        Decoupled decay ``p -= lr * weight_decay * p`` on weight matrices and
        embeddings (arrays with 2 or more axes); biases and norms are not decayed.
    max_grad_norm : float or None
        Gradients are rescaled so their global norm is at most this.
    """

    def __init__(self, params, learning_rate=1e-3, weight_decay=0.01, max_grad_norm=1.0,
                 beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.m = tree_map(np.zeros_like, params)
        self.v = tree_map(np.zeros_like, params)
        self.t = 0

    @property
    def learning_rate_now(self):
        """The learning rate of the latest step."""
        return self.learning_rate

    def load_state(self, other):
        """Continue from a copy of another AdamW's moments and step count."""
        self.m, self.v, self.t = tree_copy(other.m), tree_copy(other.v), other.t

    def update(self, params, grads):
        """One step; returns False (and changes nothing) if a gradient is not finite."""
        norm = global_norm(grads)
        if not np.isfinite(norm):
            return False
        scale = 1.0
        if self.max_grad_norm is not None and norm > self.max_grad_norm:
            scale = self.max_grad_norm / (norm + 1e-12)
        self.t += 1
        lr_t = self.learning_rate * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for p, g, m, v in zip(*(tree_leaves(t) for t in (params, grads, self.m, self.v)),
                              strict=True):
            g = g * p.dtype.type(scale) if scale != 1.0 else g
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * (g * g)
            if self.weight_decay and p.ndim >= 2:
                p *= p.dtype.type(1 - self.learning_rate * self.weight_decay)
            p -= p.dtype.type(lr_t) * m / (np.sqrt(v) + p.dtype.type(self.epsilon))
        return True
