"""TransformerRegressor: a Transformer encoder with a linear output, trained on squared error."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_array, check_is_fitted

from ._atomic import atomic
from ._inputs import check_labels, check_weights
from ._model import DTYPE
from ._supervised import _PooledEncoderModel


def _spread(target):
    """Sum of squared deviations of the targets from their (per-output) mean: R²'s denominator."""
    target = np.asarray(target, np.float64)
    return float(((target - target.mean(axis=0)) ** 2).sum())


class TransformerRegressor(RegressorMixin, _PooledEncoderModel):
    """Transformer encoder regressor, trained with autograd.

    The classifier's architecture and inputs (numeric rows, token-id arrays,
    text or token lists, multichannel series, ``encoder=`` transfer), with a
    linear output of one value per target. Targets are standardised inside
    ``fit`` (mean 0, standard deviation 1 per target, as the loss sees them)
    and predictions are returned in the user's units. The loss is the
    sample-weighted mean squared error, summed over targets.

    Parameters
    ----------
    d_model, n_heads, n_layers, d_ff, dropout, positional_encoding, pooling, max_ngram, norm_first, \
activation, max_len, input_type, attention_dropout, batch_size, learning_rate_init, \
learning_rate, warmup_fraction, alpha, max_grad_norm, \
max_iter, early_stopping, validation_fraction, n_iter_no_change, tol, random_state, verbose, \
warm_start, blas_threads, encoder, long_documents, trainable_layers, linear_probe, word_dropout, \
linear_blend
        As in :class:`TransformerClassifier`. The validation score (early
        stopping) is R² on the held-out data.

    Attributes
    ----------
    n_outputs_ : int
        Number of targets (1 for a 1-D ``y``).
    params_, config_, loss_curve_, validation_scores_, best_loss_, best_validation_score_, \
n_iter_, t_, n_features_in_, max_ngram_, ngram_probe_
        As in :class:`TransformerClassifier`; ``loss_curve_`` is in
        standardised units. ``validation_scores_`` are R² on the
        validation data; where a split of the training data leaves R²
        undefined (one validation sample, or constant targets in it), minus
        the mean squared error in standardised units. ``X_val``/``y_val``
        that leave R² undefined are refused (ValueError).

    See Also
    --------
    sklearn.neural_network.MLPRegressor : the multilayer perceptron this API follows.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransformer import TransformerRegressor
    >>> X = np.random.default_rng(0).normal(size=(200, 4))
    >>> y = X[:, 0] - 2 * X[:, 1]
    >>> reg = TransformerRegressor(d_model=16, n_heads=2, n_layers=1, max_iter=40,
    ...                            random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    def __init__(self, d_model=64, n_heads=4, n_layers=2, d_ff=None, dropout=0.1,
                 positional_encoding="sinusoidal", pooling="mean", max_ngram="auto", norm_first=True,
                 activation="gelu", max_len=512, input_type="auto", batch_size="auto",
                 learning_rate_init="auto", attention_dropout=0.0, learning_rate="auto",
                 warmup_fraction="auto", alpha=0.01, max_grad_norm=1.0, max_iter="auto",
                 early_stopping="auto", validation_fraction=0.1, n_iter_no_change=20, tol=5e-3,
                 random_state=None, verbose=0, warm_start=False, blas_threads=1, encoder=None,
                 long_documents="mean", trainable_layers="all", linear_probe="auto",
                 word_dropout=0.1, linear_blend="auto"):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.d_ff = d_ff
        self.dropout = dropout
        self.positional_encoding = positional_encoding
        self.pooling = pooling
        self.max_ngram = max_ngram
        self.norm_first = norm_first
        self.activation = activation
        self.max_len = max_len
        self.input_type = input_type
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.attention_dropout = attention_dropout
        self.learning_rate = learning_rate
        self.warmup_fraction = warmup_fraction
        self.alpha = alpha
        self.max_grad_norm = max_grad_norm
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.blas_threads = blas_threads
        self.encoder = encoder
        self.long_documents = long_documents
        self.trainable_layers = trainable_layers
        self.linear_probe = linear_probe
        self.word_dropout = word_dropout
        self.linear_blend = linear_blend

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the regressor.

        Parameters
        ----------
        X : as in :meth:`TransformerClassifier.fit`
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Real-valued targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        X_val, y_val : optional
            Validation data, scored (R²) every epoch.

        Returns
        -------
        self : TransformerRegressor

        Raises
        ------
        ValueError
            If ``y`` is not finite and numeric, or ``X`` cannot be read.
        """
        return self._fit_template(X, y, sample_weight, X_val, y_val)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, from the current model (or a new one).

        The first call fixes the target standardisation.

        Parameters
        ----------
        X, y, sample_weight : as in :meth:`fit`

        Returns
        -------
        self : TransformerRegressor
        """
        return self._fit_template(X, y, sample_weight, partial=True)

    def _encode_targets(self, y, *, fitting, classes, what, weight=None):
        """Targets -> standardised float32 (N, n_outputs); ``fitting`` learns mean and scale.

        Mean and standard deviation are weighted by ``weight``, so a sample of
        weight 3 counts as three copies of it, as everywhere in the loss.
        """
        name = "y" if what == "X" else "y_val"
        check_labels(y, name, mixed=False)
        y = _numeric_targets(y, name)
        if y.ndim > 2:
            raise ValueError(f"{name} must be 1-D or 2-D, got {y.ndim} dimensions.")
        y2 = y.reshape(len(y), -1).astype(np.float64)
        if fitting:
            self.n_outputs_ = y2.shape[1]
            self._y_1d = y.ndim == 1
            weight = np.ones(len(y2)) if weight is None or not weight.sum() else weight
            # in units of the largest |y|, so that no sum or square overflows (targets near 1e308)
            top = np.max(np.abs(y2), axis=0, initial=0.0)
            top = np.where(top > 0, top, 1.0)
            units = y2 / top
            mean = np.average(units, axis=0, weights=weight)
            std = np.sqrt(np.average((units - mean) ** 2, axis=0, weights=weight))
            self._y_mean = mean * top
            # a constant target keeps scale 1 in y's units (its own size would freeze a tiny scale
            # for every later partial_fit block); its zeroed head outputs predict it exactly
            self._y_scale = np.where(std > 0, std * top, 1.0)
            self._constant_outputs = std == 0  # their head outputs are zeroed after this training
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(f"{name} has {y2.shape[1]} targets, but the model was fitted with "
                             f"{self.n_outputs_}.")
        # y / scale - mean / scale, not (y - mean) / scale: the difference may overflow
        return {"target": (y2 / self._y_scale - self._y_mean / self._y_scale).astype(DTYPE)}

    def _train(self, data, val_data, partial):
        """Train; then a target that was constant in the data its mean and scale were learned on is
        predicted as that constant, exactly (as Ridge does), not the constant plus whatever small
        output the network has left: the head's outputs for it are set to 0, from where any later
        ``partial_fit`` or warm start can still learn."""
        super()._train(data, val_data, partial)
        constant = self.__dict__.pop("_constant_outputs", None)
        if constant is not None and constant.any():
            head = dict(self.params_["head"])
            head["W"] = np.where(constant, 0, head["W"]).astype(head["W"].dtype)
            if head.get("b") is not None:
                head["b"] = np.where(constant, 0, head["b"]).astype(head["b"].dtype)
            self.params_ = {**self.params_, "head": head}
        return self

    def _n_outputs(self):
        return self.n_outputs_

    def _output_loss(self, outputs, batch):
        """Sample-weighted mean squared error of the standardised targets."""
        weight = batch["weight"]
        diff = outputs - batch["target"]
        return (weight[:, None] * diff * diff).sum() / DTYPE(max(float(weight.sum()), 1e-12))

    def _validation_data(self, X_val, y_val):
        """Explicit validation data, refused where R² on it is undefined."""
        data = super()._validation_data(X_val, y_val)
        if data is not None and _spread(data.arrays["target"]) == 0:
            raise ValueError(
                f"y_val has {len(data)} sample(s) and no spread (every target equal), so R² on "
                "it, the validation score early stopping follows, is undefined: pass at least two "
                "different targets, or no X_val and y_val.")
        return data

    def _validation_score(self, params, data):
        """R² of the validation targets (standardised units: the same R²).

        Where R² is undefined (a split of one sample, or of equal targets):
        minus the mean squared error, which early stopping can still follow
        (scikit-learn's ``r2_score`` gives NaN or 0.0 there, which would stop
        it after ``n_iter_no_change`` epochs, whatever the model learned).
        """
        predicted = self._validation_outputs(params, data).astype(np.float64)
        target = data.arrays["target"].astype(np.float64)
        residual = ((target - predicted) ** 2).sum()
        total = _spread(target)
        return float(1 - residual / total) if total > 0 else -float(residual / target.size)

    def predict(self, X):
        """Predicted targets, in the units of ``y``.

        Parameters
        ----------
        X : as in :meth:`fit`

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        y = self._predict_outputs(X).astype(np.float64) * self._y_scale + self._y_mean
        return y[:, 0] if self._y_1d else y

    def score(self, X, y, sample_weight=None):
        """R² of :meth:`predict` on ``X`` against ``y`` (scikit-learn's ``r2_score``), weighted.

        Parameters
        ----------
        X : as in :meth:`fit`
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Finite, non-negative, not all zero.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        check_labels(y, "y", mixed=False)
        _numeric_targets(y, "y")
        if sample_weight is not None:  # r2_score would divide by their zero sum
            sample_weight = check_weights(sample_weight, np.asarray(y))
        return super().score(X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _numeric_targets(y, name):
    """``y`` as a finite float64 array; targets that are not numbers are refused naming ``name``."""
    if getattr(getattr(y, "dtype", None), "kind", None) == "c" or (
            isinstance(y, list | tuple) and any(isinstance(v, complex) for v in y)):
        raise ValueError(f"Complex data not supported: {name} holds complex numbers, and a "
                         "regressor's targets are real; pass their real part, magnitude, or the two "
                         "as two targets.")
    try:
        return check_array(y, ensure_2d=False, dtype=np.float64, input_name=name)
    except ValueError as error:
        if "could not convert" not in str(error):
            raise
        raise ValueError(f"{name} must hold numbers for a regressor ({error}); for class labels "
                         "use TransformerClassifier.") from None

