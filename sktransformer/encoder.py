"""TransformerEncoder: self-supervised pretraining, sequences in, fixed-width features out."""

import zlib
from numbers import Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._atomic import atomic
from ._base import TrainingData, _BaseTransformer
from ._families import choose_family
from ._layers import ACTIVATIONS, linear, norm
from ._model import DTYPE, encode, init_linear, init_params, pool
from ._primitives import log_softmax, softmax_cross_entropy
from ._windows import LONG_DOCUMENTS, is_windowed, per_document, rows_of, stitch

# ------------------------------------------------------ masked pretraining (pure)


def choose_hidden(real, fraction, rng):
    """Positions to hide: each real position with probability ``fraction``, at least one per row."""
    u = rng.random(real.shape)
    hidden = (u < fraction) & real
    needs_one = real.any(axis=1) & ~hidden.any(axis=1)
    if needs_one.any():
        pick = np.where(real, u, np.inf).argmin(axis=1)
        hidden[needs_one, pick[needs_one]] = True
    return hidden


def fixed_hidden(X, real, fraction):
    """Positions to hide for scoring: as :func:`choose_hidden`, seeded by each sequence's own content.

    The same sequence always gets the same hidden positions, whatever else
    is scored with it and in whatever order.
    """
    hidden = np.zeros(real.shape, bool)
    for i in range(len(X)):
        where = np.flatnonzero(real[i])
        if not len(where):
            continue
        content = np.ascontiguousarray(X[i][where])
        u = np.random.default_rng(zlib.crc32(content.tobytes())).random(len(where))
        chosen = where[u < fraction] if (u < fraction).any() else where[[np.argmin(u)]]
        hidden[i, chosen] = True
    return hidden


def corrupt_tokens(ids, hidden, mask_id, rng, bert_mix=True):
    """BERT's recipe on hidden positions: 80% [MASK], 10% a random token, 10% unchanged.

    With ``bert_mix=False`` every hidden position becomes [MASK] (for scoring).
    """
    corrupted = ids.copy()
    if not bert_mix:
        corrupted[hidden] = mask_id
        return corrupted
    r = rng.random(ids.shape)
    corrupted[hidden & (r < 0.8)] = mask_id
    swap = hidden & (r >= 0.8) & (r < 0.9)
    corrupted[swap] = rng.integers(1, mask_id, size=int(swap.sum()))
    return corrupted


def masked_token_logits(params, picked, config, batch_invariant=False):
    """Logits over the vocabulary (M, n_vocab) of the hidden positions' vectors ``picked`` (M, D).

    ``h W + b``; a checkpoint's head first transforms ``h`` into
    ``LayerNorm(act(h W_t + b_t))`` (BERT's ``cls.predictions``, Devlin et
    al. 2019), with the model's layer-norm epsilon and activation (the
    head's own where it differs: ``config.mlm_activation``).
    """
    transform = params.get("mlm_transform")
    if transform is not None:
        activation = ACTIVATIONS[config.mlm_activation or config.activation]
        hidden = activation(linear(transform["dense"], picked, batch_invariant))
        picked = norm(transform["ln"], hidden, config.layer_norm_eps, batch_invariant)
    return linear(params["mlm"], picked, batch_invariant)


def masked_token_log_likelihood(params, picked, targets, config, smoothing=0.0):
    """Sum of log p(original token) at the hidden positions (label-smoothed); picked (M, D)."""
    logits = masked_token_logits(params, picked, config)  # (M, n_vocab)
    return -softmax_cross_entropy(logits, targets, np.ones(len(targets), DTYPE), smoothing)


def masked_token_log_probabilities(params, picked, targets, config):
    """log p(original token) at each hidden position (M,), for scoring (not differentiated)."""
    log_p = log_softmax(masked_token_logits(params, picked, config, config.batch_invariant))
    return log_p[np.arange(len(targets)), targets]


def feature_reconstruction_error(params, picked, cols, targets, batch_invariant=False):
    """Squared error of the standardised hidden values at each position (M,), from their vectors (M, D).

    Numeric rows (targets (M,)) have one output vector per feature (``cols``
    are the feature indices); series steps (targets (M, C)) one shared map back.
    """
    if targets.ndim == 1:
        W, b = params["reconstruct"]["W"][cols], params["reconstruct"]["b"][cols]
        diff = (picked * W).sum(axis=1) + b - targets  # (M,)
        return diff * diff
    diff = linear(params["reconstruct"], picked, batch_invariant) - targets  # (M, C)
    return (diff * diff).sum(axis=1)


class TransformerEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseTransformer):
    """Transformer encoder trained without labels; turns sequences into fixed-width features.

    ``fit`` pretrains the encoder by hiding part of each input and learning
    to recover it: for token input, masked-token prediction as in BERT (a
    softmax over the vocabulary at each hidden position); for numeric
    features or series, reconstruction of the hidden (standardised) values.
    ``transform`` returns one ``d_model``-wide vector per sample, pooled
    from the last layer; ``transform_sequence`` the vector of every position.

    The encoder can start a :class:`TransformerClassifier`
    (``TransformerClassifier(encoder=fitted_encoder)``), which then
    fine-tunes it with labels.

    Parameters
    ----------
    d_model, n_heads, n_layers, d_ff, dropout, positional_encoding, pooling, norm_first, \
activation, max_len, input_type
        The architecture, as in :class:`TransformerClassifier`. An encoder
        loaded with :meth:`from_pretrained` may also pool with
        ``"pooler"``: BERT's pooler layer, where the checkpoint stores it.
    mask_fraction : float, default=0.15
        Share of positions hidden in each training sequence (BERT's 15%);
        at least one per non-empty sequence.
    long_documents : {"mean", "max", "truncate"}, default="mean"
        Encoders loaded with :meth:`from_pretrained` (other input ignores
        it): how a text longer than ``max_len`` tokens is read. ``"mean"``:
        whole, as overlapping windows of ``max_len`` tokens (each with the
        tokenizer's special tokens, [CLS] and [SEP], and half a window of
        overlap), its vector the mean of its windows' pooled vectors;
        ``"max"``: their element-wise maximum; ``"truncate"``: its first
        window only, with a warning. ``fit`` trains on (and ``score``
        scores) every window; ``transform_sequence`` stitches the windows back into one sequence
        (see there); ``attention_weights`` shows the first window (with the
        warning). A text that fits is read the same way in every mode.
    attention_dropout, batch_size, learning_rate_init, learning_rate, warmup_fraction, \
label_smoothing, alpha, max_grad_norm, max_iter, early_stopping, \
validation_fraction, n_iter_no_change, tol, random_state, verbose, warm_start, blas_threads
        Training, as in :class:`TransformerClassifier`. The validation score
        for early stopping is :meth:`score` on held-out data.
    word_dropout : float, default=0.1
        Token input with a vocabulary learned in ``fit``: while training,
        each visible (not hidden) token is read as the unknown token with
        this probability (word dropout, as in :class:`TransformerClassifier`;
        the hidden tokens stay the targets), so the unknown token, which
        every word never seen in ``fit`` becomes, is trained as "a word we
        do not know". ``transform`` and ``score`` never drop tokens.

    Attributes
    ----------
    params_, config_, loss_curve_, validation_scores_, best_loss_, n_iter_, t_, n_features_in_
        As in :class:`TransformerClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransformer import TransformerEncoder
    >>> X = np.random.default_rng(0).integers(1, 20, size=(40, 10))
    >>> enc = TransformerEncoder(d_model=16, n_heads=2, n_layers=1, max_iter=3,
    ...                          random_state=0).fit(X)
    >>> enc.transform(X).shape
    (40, 16)
    >>> H, mask = enc.transform_sequence(X[:2])
    >>> H.shape, mask.shape
    ((2, 10, 16), (2, 10))
    """

    _parameter_constraints: dict = {
        **_BaseTransformer._parameter_constraints,
        "mask_fraction": [Interval(Real, 0, 1, closed="right")],
        "long_documents": [StrOptions(set(LONG_DOCUMENTS))],
        "pooling": [StrOptions({"mean", "cls", "pooler"})],  # "pooler": a checkpoint's (from_pretrained)
    }

    def __init__(
        self,
        d_model=64,
        n_heads=4,
        n_layers=2,
        d_ff=None,
        dropout=0.1,
        positional_encoding="sinusoidal",
        pooling="mean",
        norm_first=True,
        activation="gelu",
        max_len=512,
        input_type="auto",
        mask_fraction=0.15,
        long_documents="mean",
        batch_size="auto",
        learning_rate_init=1e-3,
        attention_dropout=0.0,
        learning_rate="constant",
        warmup_fraction=0.0,
        label_smoothing=0.0,
        alpha=0.01,
        max_grad_norm=1.0,
        max_iter=100,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=5e-3,
        random_state=None,
        verbose=0,
        warm_start=False,
        blas_threads=1,
        word_dropout=0.1,
    ):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.d_ff = d_ff
        self.dropout = dropout
        self.positional_encoding = positional_encoding
        self.pooling = pooling
        self.norm_first = norm_first
        self.activation = activation
        self.max_len = max_len
        self.input_type = input_type
        self.mask_fraction = mask_fraction
        self.long_documents = long_documents
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.attention_dropout = attention_dropout
        self.learning_rate = learning_rate
        self.warmup_fraction = warmup_fraction
        self.label_smoothing = label_smoothing
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
        self.word_dropout = word_dropout

    @classmethod
    def from_pretrained(cls, path, **params):
        """An encoder holding a BERT, DistilBERT, RoBERTa or XLM-RoBERTa checkpoint from a local directory.

        See :mod:`sktransformer.pretrained`: ``path`` holds ``config.json``,
        ``model.safetensors`` and ``tokenizer.json``; the encoder then reads
        raw text through the checkpoint's tokenizer. ``params`` are
        ``pooling`` (``"mean"``, ``"cls"`` for the first token's vector,
        [CLS] or ``<s>``, or ``"pooler"`` for BERT's ``pooler_output``, tanh
        of the checkpoint's pooler layer over it, where it stores one), ``max_len``,
        ``long_documents``, ``dropout`` and training settings; ``warm_start``
        defaults to True so ``fit`` continues masked-token training from the
        checkpoint, and the training settings to a checkpoint's fine-tuning
        recipe (``learning_rate_init=5e-5``, ``learning_rate="linear"``,
        ``warmup_fraction=0.1``, ``max_iter=3``; see the README).

        Masked-token ``fit`` and ``score`` use the checkpoint's own head where
        it stores one (``BertForMaskedLM``'s ``cls.predictions``, DistilBERT's
        ``vocab_transform``/``vocab_projector``, RoBERTa's ``lm_head``), so
        ``score`` is that model's masked-token log-likelihood; a base model's
        checkpoint gets a head tied to its word embeddings (no bias), the
        same on every load. Special tokens ([CLS], [SEP], <s>, ...) are never
        hidden, as in transformers' masked-token training.

        Besides texts, such an encoder (and a classifier or regressor
        fine-tuning it) reads sentence pairs, the input of cross-encoders:
        a list of ``(text_a, text_b)`` tuples, a two-column DataFrame or an
        (n, 2) array of strings, encoded as the checkpoint's tokenizer
        encodes pairs (BERT: ``[CLS] a [SEP] b [SEP]``, token type 1 for
        the second text; RoBERTa: ``<s> a </s></s> b </s>``, one type), as
        transformers' ``tokenizer([text_a], [text_b])``
        does. A pair longer than ``max_len`` is cut a token off the longer
        text at a time (``truncation=True``), with a warning, not read in
        windows. One ``X`` holds texts or pairs, not both.
        """
        from .pretrained import load_encoder

        return load_encoder(cls, path, params)

    def _reload_checkpoint(self, plain):
        from .pretrained import reload_checkpoint

        return reload_checkpoint(self, plain)

    @classmethod
    def _for_estimator(cls, path, max_len, pooling):
        """The encoder of the checkpoint at ``path``, given as ``encoder=path`` to an estimator.

        It reads at most ``max_len`` tokens per window (fewer if the
        checkpoint has fewer positions); ``pooling`` is the estimator's.
        """
        encoder = cls.from_pretrained(path, pooling=pooling, random_state=0)
        if max_len < encoder.max_len:  # as from_pretrained(path, max_len=max_len) would load it
            encoder.set_params(max_len=max_len)
            encoder._codec = encoder._codec.with_max_len(max_len)
            encoder._structure = encoder._structural_params()
        return encoder

    # --------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y=None, *, X_val=None):
        """Pretrain on ``X`` by masked prediction; ``y`` is ignored.

        Parameters
        ----------
        X : array-like or list of sequences
            As in :meth:`TransformerClassifier.fit`.
        y : ignored
        X_val : optional
            Held-out data scored every epoch (used by early stopping).

        Returns
        -------
        self : TransformerEncoder

        Raises
        ------
        ValueError
            If ``d_model`` is not divisible by ``n_heads``, or ``X`` (or
            ``X_val``) cannot be read; the message names the problem.
        """
        return self._fit_template(X, None, None, X_val, None)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def partial_fit(self, X, y=None):
        """One epoch of pretraining on ``X``, from the current model (or a new one).

        Parameters
        ----------
        X : array-like or list of sequences
            As in :meth:`fit`.
        y : ignored

        Returns
        -------
        self : TransformerEncoder
        """
        return self._fit_template(X, None, None, partial=True)

    def _new_codec(self, X):
        if self.pooling == "pooler":
            raise ValueError("pooling='pooler' is the pooler layer of a BERT checkpoint: load one with "
                             "TransformerEncoder.from_pretrained(path, pooling='pooler') (a new "
                             "encoder pools with 'mean' or 'cls').")
        return choose_family(self, X, self.input_type, self.max_len), None

    def _read(self, X, y, sample_weight, *, fitting, classes, what):
        """Training or validation data, refused before any step when it holds nothing to hide."""
        data = TrainingData(self._codec.read(self, X, fitting, what, training=True))
        if not self._maskable(data.inputs).any():
            raise ValueError(
                f"{what} holds no tokens to learn from or score: all of its sequences are empty (a "
                "checkpoint's special tokens, such as [CLS] and [SEP], are never hidden, so they do "
                "not count).")
        return data

    def _maskable(self, inputs):
        """(N, T) positions masked-token training may hide: real ones, a checkpoint's specials not."""
        X = inputs.X
        real = inputs.mask if inputs.mask is not None else np.ones(X.shape[:2], bool)
        special = getattr(self._codec, "special_ids", None)  # a checkpoint's [CLS], [SEP], ...
        if special is not None and len(special):
            real = real & ~np.isin(X, special)
        return real

    def _requires_y(self):
        return False

    def _init_model(self, data, rng, source):
        """A fresh network with the pretraining head for this kind of input."""
        codec, inputs = self._codec, data.inputs
        tokens = codec.vocabulary is not None  # masked tokens; else masked values
        size = codec.mask_id + 1 if tokens else codec.input_size  # ids, then [MASK]
        config = self._model_config(codec.embedding, size, 0)
        params = init_params(config, rng)
        d = config.d_model
        if tokens:
            params["mlm"] = init_linear(rng, d, codec.mask_id)  # every id but [MASK] is a target
            self._target_mean = self._target_scale = None
        else:
            params["embed"]["mask"] = (0.02 * rng.standard_normal(d)).astype(DTYPE)
            axes = tuple(range(inputs.X.ndim - 1))  # per feature (N, F), or per channel (N, T, C)
            self._target_mean = inputs.X.mean(axis=axes).astype(DTYPE)
            self._target_scale = np.maximum(inputs.X.std(axis=axes), 1e-6).astype(DTYPE)
            if inputs.X.ndim == 2:  # numeric rows: one output vector per feature
                limit = 1.0 / np.sqrt(d)
                params["reconstruct"] = {
                    "W": rng.uniform(-limit, limit, (config.input_size, d)).astype(DTYPE),
                    "b": np.zeros(config.input_size, DTYPE)}
            else:
                params["reconstruct"] = init_linear(rng, d, config.input_size)
        return config, params

    # ------------------------------------------------------- the objective

    def _masked_objective(self, params, config, inputs, rng, training, drop=None):
        """Score of the hidden positions of one batch; higher is better.

        The score is the log-likelihood of each hidden token, or minus the
        squared error of each hidden value. Training (``rng`` draws the
        positions, BERT's corruption mix, dropout): ``(sum of scores, number
        of values)``. Scoring (positions from each sequence's content): an
        (N, 2) array of each sample's sum of scores and number of values.
        ``drop`` (word dropout, training only) turns visible tokens into the
        unknown token; the hidden ones stay the targets they are. A
        checkpoint's special tokens ([CLS], [SEP], <s>, ...) are never hidden,
        as transformers' ``DataCollatorForLanguageModeling`` never masks them.
        """
        X = inputs.X
        real = self._maskable(inputs)
        hidden = (choose_hidden(real, self.mask_fraction, rng) if training
                  else fixed_hidden(X, real, self.mask_fraction))
        rows, cols = np.nonzero(hidden)
        if not training and not len(rows):  # only empty sequences: nothing hidden, nothing scored
            return np.zeros((len(X), 2))
        offset = 1 if config.pooling == "cls" else 0
        dropout_rng = rng if training else None
        if self._codec.vocabulary is not None:  # tokens: hidden behind [MASK]
            mask_id = self._codec.mask_id
            corrupted = corrupt_tokens(X, hidden, mask_id, rng, bert_mix=training)
            if drop is not None:
                corrupted = np.where(hidden, corrupted, drop(corrupted, rng))
            h, _ = encode(params, config, corrupted, inputs.mask, dropout_rng,
                          token_types=inputs.token_types)
            picked, targets = h[rows, cols + offset], X[rows, cols]
            if training:
                return (masked_token_log_likelihood(params, picked, targets, config,
                                                    self.label_smoothing), len(rows))
            scores = masked_token_log_probabilities(params, picked, targets, config)
        else:
            standardized = (X - self._target_mean) / self._target_scale
            values_hidden = hidden.reshape(hidden.shape + (1,) * (X.ndim - 2))  # over channels
            corrupted = np.where(values_hidden, DTYPE(0), X)
            h, _ = encode(params, config, corrupted, inputs.mask, dropout_rng, hidden=hidden)
            scores = -feature_reconstruction_error(params, h[rows, cols + offset], cols,
                                                   standardized[rows, cols], config.batch_invariant)
            if training:
                return scores.sum(), len(rows) * (X.shape[2] if X.ndim == 3 else 1)
        per_value = X.shape[2] if X.ndim == 3 else 1
        return np.stack([np.bincount(rows, weights=scores, minlength=len(X)),
                         per_value * np.bincount(rows, minlength=len(X))], axis=1)

    def _loss(self, params, batch, rng, drop=None):
        """Mean negative log-likelihood of the hidden tokens (or mean squared error of values)."""
        total, count = self._masked_objective(params, self.config_, batch["inputs"], rng,
                                              training=True, drop=drop)
        return -total / DTYPE(max(count, 1))

    def _with_word_dropout(self, loss):
        """Word dropout on the visible tokens only (in :meth:`_masked_objective`): targets stay."""
        drop = self._word_dropper()
        if drop is None:
            return loss
        return lambda params, batch, rng: self._loss(params, batch, rng, drop)

    def _validation_score(self, params, data):
        return self._mean_score(params, data.inputs, "X_val")

    def _mean_score(self, params, inputs, what="X"):
        """Mean score per hidden token or value; each sequence's hidden positions depend on it alone."""

        def totals(params, config, chunk):
            return self._masked_objective(params, config, chunk, None, False)

        vocabulary = params["mlm"]["b"].shape[0] if "mlm" in params else 0

        def logits(width):  # ~mask_fraction of a sequence is hidden; 3 vocabulary-wide rows each
            return int(3 * (self.mask_fraction * width + 1) * vocabulary)

        summed = self._map_batches(totals, rows_of(inputs), params,  # windows of long documents
                                   floats_per_sample=logits).sum(axis=0)
        if not summed[1]:
            raise ValueError(f"{what} holds no tokens to score: all of its sequences are empty.")
        return float(summed[0] / summed[1])

    # ------------------------------------------------------------- outputs

    def transform(self, X):
        """One vector per sample: the pooled output of the last layer.

        A text longer than ``max_len`` tokens of a checkpoint's encoder is,
        by default, the mean of the pooled vectors of its overlapping
        windows (see ``long_documents``).

        Parameters
        ----------
        X : array-like or list of sequences

        Returns
        -------
        features : ndarray of shape (n_samples, d_model), float32
        """
        check_is_fitted(self)
        inputs = self._inputs(X)

        def features(params, config, chunk):
            h, mask = encode(params, config, chunk.X, chunk.mask, token_types=chunk.token_types)
            return pool(h, mask, config.pooling, params, config.batch_invariant)

        return per_document(inputs, self._map_batches(features, rows_of(inputs)))

    def transform_sequence(self, X):
        """The output vector of every position, with the padding mask.

        A text longer than ``max_len`` tokens of a checkpoint's encoder
        (``long_documents`` "mean" or "max") is read in its overlapping
        windows and stitched back: each of its tokens gets the mean of its
        vectors in the windows that hold it ([CLS] and [SEP] are in every
        window), so ``seq_len`` can exceed ``max_len``. With "truncate" it
        is its first window, with a warning.

        Parameters
        ----------
        X : array-like or list of sequences

        Returns
        -------
        vectors : ndarray of shape (n_samples, seq_len, d_model), float32
            Zero at padded positions.
        mask : ndarray of shape (n_samples, seq_len), bool
            True at real tokens.
        """
        check_is_fitted(self)
        inputs = self._inputs(X)
        offset = 1 if self.config_.pooling == "cls" else 0
        width = inputs.X.shape[1]
        mask = inputs.mask if inputs.mask is not None else np.ones((len(inputs.X), width), bool)

        def vectors(params, config, chunk):
            h, _ = encode(params, config, chunk.X, chunk.mask, token_types=chunk.token_types)
            return h[:, offset:]

        H = self._map_batches(vectors, rows_of(inputs), width_axes=(1,))
        if is_windowed(inputs):
            return stitch(inputs, np.where(mask[:, :, None], H, DTYPE(0)))
        return np.where(mask[:, :, None], H, DTYPE(0)), mask

    def _attention_inputs(self, X):
        """A checkpoint's long text shows its first window (with the truncation warning)."""
        if hasattr(self._codec, "attention_inputs"):
            return self._codec.attention_inputs(self, X)
        return super()._attention_inputs(X)

    def score(self, X, y=None):
        """Mean log-likelihood of masked tokens, in nats (higher is better); ``y`` is ignored.

        A fixed share (``mask_fraction``) of each sequence is replaced by
        [MASK] with a fixed seed, so the same ``X`` always gets the same
        score. For numeric or series input the score is minus the mean
        squared error of the hidden values (standardised with the training
        mean and scale).

        Parameters
        ----------
        X : array-like or list of sequences
        y : ignored

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self._mean_score(self.params_, self._inputs(X))

    @property
    def _n_features_out(self):
        return self.config_.d_model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
