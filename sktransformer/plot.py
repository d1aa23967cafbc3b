"""Plots of fitted estimators: attention maps and training curves.

matplotlib is an optional dependency (``pip install "sktransformer[plot]"``).
This module imports without it; each function imports matplotlib when it is
called and says how to install it if it is missing.

Every function returns the matplotlib objects it made, and accepts an
existing axes (or figure) to draw into, so plots compose with the rest of a
figure.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

INSTALL_HINT = 'pip install "sktransformer[plot]"'


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"sktransformer.plot needs matplotlib, which is not installed. Install it with: {INSTALL_HINT}"
        ) from error
    return plt


# ------------------------------------------------------------------ attention


def _check_index(value, size, name):
    """``value`` as a non-negative index into ``size`` items (negative counts from the end)."""
    if isinstance(value, Integral) and not isinstance(value, bool) and -size <= value < size:
        return int(value) % size
    shown = value.item() if hasattr(value, "item") else value  # 5, not np.int64(5)
    raise ValueError(
        f"{name}={shown!r} is out of range: the model has {size} {name}s, so {name} must be an "
        f"integer from {-size} to {size - 1}."
    )


def _one_sample_batch(estimator, x):
    """A batch holding the single sample ``x``, in the form ``attention_weights`` reads."""
    if isinstance(x, str):
        return [x]
    if isinstance(x, list | tuple):
        if any(isinstance(t, list | tuple | np.ndarray) for t in x):
            raise ValueError(
                "x must be one sample (a string, a token list or an array row), but it contains "
                "sequences; pass X[i], not X."
            )
        return [x]
    if hasattr(x, "to_frame") and hasattr(estimator, "feature_names_in_"):
        return x.to_frame().T  # a row of a DataFrame: a one-row frame keeps the feature names
    if np.ndim(x) == 1 and np.asarray(x).dtype.kind in "OUS":  # an array of string tokens
        return [list(x)]
    ndim = np.ndim(x)
    sample_ndim = 2 if getattr(getattr(estimator, "_codec", None), "embedding", None) == "series" else 1
    if ndim == sample_ndim:
        return np.asarray(x)[None]
    if ndim == sample_ndim + 1 and len(x) == 1:  # already a batch of one (e.g. X[i:i + 1])
        return x
    raise ValueError(
        f"x must be one sample: a {sample_ndim}-D array row for this estimator, got an array of "
        f"shape {np.shape(x)}."
    )


def _real_length(weights, n_labels):
    """Positions to show: the labelled ones, without trailing padding (whose rows are all 0)."""
    n = min(n_labels, weights.shape[-1])
    attends = weights[0, :n].sum(axis=-1) > 0  # (n,): padding attends to nothing
    return int(np.flatnonzero(attends)[-1]) + 1 if attends.any() else n


def sample_attention(estimator, x, layer=-1):
    """One sample's attention weights in one layer, cropped to its real positions.

    Parameters
    ----------
    estimator : fitted sktransformer estimator
        Any estimator with an ``attention_weights`` method.
    x : str, list of tokens, or array-like
        One sample of the kind the estimator was fitted on: a string, a
        token list, a 1-D array row (numeric features or token ids), a 2-D
        array (the steps of one series), or a batch of one of these.
    layer : int, default=-1
        Which layer; negative values count from the last.

    Returns
    -------
    weights : ndarray of shape (n_heads, n_positions, n_positions)
        ``weights[h, q, k]``: how much query position ``q`` attends to key
        position ``k`` in head ``h``.
    tokens : list
        The label of each position (see ``attention_weights``).
    layer : int
        The layer shown, as a non-negative index.

    Examples
    --------
    >>> from sktransformer import TransformerClassifier
    >>> from sktransformer.plot import sample_attention
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=2,
    ...                             random_state=0).fit(["a b c", "c b", "b a", "a"], [0, 1, 1, 0])
    >>> weights, tokens, layer = sample_attention(clf, "a b c")
    >>> weights.shape, tokens, layer
    ((2, 3, 3), ['a', 'b', 'c'], 0)
    """
    check_is_fitted(estimator)
    layers, labels = estimator.attention_weights(_one_sample_batch(estimator, x))
    layer = _check_index(layer, len(layers), "layer")
    weights = layers[layer][0]  # (H, T, T)
    n = _real_length(weights, len(labels[0]))
    return weights[:, :n, :n], list(labels[0][:n]), layer


def _figure_size(n_positions, n_columns=1, n_rows=1, max_width=18.0):
    """Inches that keep one tick label per position legible, in a grid of square heat maps."""
    side = float(np.clip(1.6 + 0.25 * n_positions, 2.5, 8.0))  # a map and its tick labels
    width, height = n_columns * side + 1.2, n_rows * (side + 0.7) + 0.4  # colorbar; titles
    shrink = min(1.0, max_width / width)
    return width * shrink, height * shrink


def _heat_map(ax, weights, tokens, cmap, vmax, show_y_labels=True):
    """Draw ``weights`` (queries x keys) on ``ax`` with token tick labels; return the image."""
    labels = [str(t) for t in tokens]
    font = float(np.clip(240 / max(len(labels), 1), 5, 10))  # smaller labels for long sequences
    image = ax.imshow(weights, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
    positions = np.arange(len(labels))
    ax.set_xticks(positions, labels=labels, rotation=90, fontsize=font)
    ax.set_yticks(positions, labels=labels, fontsize=font)
    ax.set_xlabel("key (attended to)")
    if show_y_labels:
        ax.set_ylabel("query (attending)")
    else:  # the grid's first column names the rows for the whole row of heads
        ax.tick_params(labelleft=False)
    return image


def plot_attention(estimator, x, layer=-1, head=0, ax=None, cmap="viridis"):
    """Heat map of one sample's attention weights in one head of one layer.

    Row ``q``, column ``k`` is how much position ``q`` attends to position
    ``k``; each row sums to 1 over the positions it may see. Ticks are
    labelled with the sample's tokens.

    Parameters
    ----------
    estimator : fitted sktransformer estimator
        Any estimator with an ``attention_weights`` method.
    x : str, list of tokens, or array-like
        One sample, as in :func:`sample_attention`.
    layer : int, default=-1
        Which layer; negative values count from the last.
    head : int, default=0
        Which head of that layer; negative values count from the last.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is made if None.
    cmap : str or Colormap, default="viridis"
        Colour map of the weights.

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes
        Holds the image (``ax.images[0]``, with its colorbar).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sktransformer import TransformerClassifier
    >>> from sktransformer.plot import plot_attention
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=2,
    ...                             random_state=0).fit(["a b c", "c b", "b a", "a"], [0, 1, 1, 0])
    >>> fig, ax = plot_attention(clf, "a b c", head=1)
    >>> ax.get_title()
    'attention: layer 0, head 1'
    >>> ax.images[0].get_array().shape
    (3, 3)
    """
    plt = _pyplot()
    weights, tokens, layer = sample_attention(estimator, x, layer)
    head = _check_index(head, weights.shape[0], "head")
    if ax is None:
        fig, ax = plt.subplots(figsize=_figure_size(len(tokens)), layout="constrained")
    else:
        fig = ax.figure
    image = _heat_map(ax, weights[head], tokens, cmap, vmax=None)
    fig.colorbar(image, ax=ax, label="attention weight")
    ax.set_title(f"attention: layer {layer}, head {head}")
    return fig, ax


def plot_attention_heads(estimator, x, layer=-1, fig=None, cmap="viridis", max_columns=4):
    """One heat map per head of one layer, on a shared colour scale.

    Parameters
    ----------
    estimator : fitted sktransformer estimator
        Any estimator with an ``attention_weights`` method.
    x : str, list of tokens, or array-like
        One sample, as in :func:`sample_attention`.
    layer : int, default=-1
        Which layer; negative values count from the last.
    fig : matplotlib Figure or SubFigure, default=None
        Where to draw; a new figure is made if None.
    cmap : str or Colormap, default="viridis"
        Colour map of the weights.
    max_columns : int, default=4
        Heads per row of the grid (at least 1).

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of matplotlib Axes, shape (n_heads,)
        ``axes[h]`` shows head ``h``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sktransformer import TransformerClassifier
    >>> from sktransformer.plot import plot_attention_heads
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=2,
    ...                             random_state=0).fit(["a b c", "c b", "b a", "a"], [0, 1, 1, 0])
    >>> fig, axes = plot_attention_heads(clf, "a b c")
    >>> [ax.get_title() for ax in axes]
    ['head 0', 'head 1']
    """
    if isinstance(max_columns, bool) or not isinstance(max_columns, Integral) or max_columns < 1:
        raise ValueError(f"max_columns must be an int >= 1 (heads per row), got {max_columns!r}.")
    plt = _pyplot()
    weights, tokens, layer = sample_attention(estimator, x, layer)
    n_heads = weights.shape[0]
    n_columns = min(n_heads, max_columns)
    n_rows = -(-n_heads // n_columns)
    if fig is None:
        fig = plt.figure(figsize=_figure_size(len(tokens), n_columns, n_rows), layout="constrained")
    grid = fig.subplots(n_rows, n_columns, squeeze=False)
    for extra in grid.ravel()[n_heads:]:  # a last row that is not full
        fig.delaxes(extra)
    axes = grid.ravel()[:n_heads]
    vmax = float(weights.max()) or 1.0  # one scale, so heads compare by colour
    for head, ax in enumerate(axes):
        image = _heat_map(ax, weights[head], tokens, cmap, vmax, show_y_labels=head % n_columns == 0)
        ax.set_title(f"head {head}")
    fig.colorbar(image, ax=list(axes), label="attention weight")
    fig.suptitle(f"attention: layer {layer}, all {n_heads} heads")
    return fig, axes


# ------------------------------------------------------------------- training


def plot_loss_curve(estimator, ax=None):
    """Training loss per epoch and, if there is one, the validation score on a second y-axis.

    Parameters
    ----------
    estimator : fitted sktransformer estimator
        Reads ``loss_curve_`` and ``validation_scores_``.
    ax : matplotlib Axes, default=None
        Where to draw the loss; a new figure is made if None.

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes
        The training loss (left y-axis), with the legend of both curves.
    validation_ax : matplotlib Axes or None
        The validation score (right y-axis, sharing ``ax``'s x-axis); None
        when the estimator has no validation scores.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sktransformer import TransformerClassifier
    >>> from sktransformer.plot import plot_loss_curve
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=3,
    ...                             random_state=0).fit(X, y, X_val=X, y_val=y)
    >>> fig, ax, validation_ax = plot_loss_curve(clf)
    >>> ax.get_ylabel(), validation_ax.get_ylabel()
    ('training loss', 'validation score')
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    check_is_fitted(estimator, "loss_curve_")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    else:
        fig = ax.figure
    losses = np.asarray(estimator.loss_curve_, dtype=float)
    epochs = np.arange(1, len(losses) + 1)
    lines = ax.plot(epochs, losses, marker="o", markersize=3, color="C0", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss", color="C0")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no ticks between epochs
    ax.grid(alpha=0.3)
    validation_ax = None
    scores = getattr(estimator, "validation_scores_", None)
    if scores is not None and len(scores):
        validation_ax = ax.twinx()
        # the epoch of each score (partial_fit and fits without validation data add none)
        score_epochs = getattr(estimator, "_validation_epochs", None)
        if score_epochs is None or len(score_epochs) != len(scores):  # saved before they were kept
            score_epochs = epochs[len(epochs) - len(scores):]
        lines += validation_ax.plot(score_epochs, scores, marker="s", markersize=3, color="C1",
                                    label="validation score")
        validation_ax.set_ylabel("validation score", color="C1")
    ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    ax.set_title(f"{type(estimator).__name__}: {len(losses)} epochs")
    return fig, ax, validation_ax
