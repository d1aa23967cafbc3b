"""TransformerClassifier: a Transformer encoder with a softmax output over classes."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._atomic import atomic
from ._inputs import check_label_type, check_labels, check_weights, scalar_labels
from ._model import DTYPE
from ._primitives import log_softmax, softmax_cross_entropy
from ._supervised import _PooledEncoderModel


class TransformerClassifier(ClassifierMixin, _PooledEncoderModel):
    """Transformer encoder classifier, trained with autograd.

    Each sample becomes a sequence of vectors: a token sequence through an
    embedding table, a row of numeric features as one token per feature (as
    in FT-Transformer), or a multichannel series step by step. Positional
    information is added; ``n_layers`` blocks of multi-head self-attention
    and a position-wise feed-forward network, each with a residual
    connection and layer normalisation, transform the sequence; it is pooled
    to one vector and a softmax layer gives the class probabilities.

    Parameters
    ----------
    d_model : int, default=64
        Width of every token vector (the paper's d_model).
    n_heads : int, default=4
        Attention heads per layer; must divide ``d_model``.
    n_layers : int, default=2
        Number of stacked Transformer blocks.
    d_ff : int or None, default=None
        Hidden width of the feed-forward layers; ``None`` means ``4 * d_model``.
    dropout : float, default=0.1
        Dropout rate on embeddings and on every sub-layer's output.
    attention_dropout : float, default=0.0
        Dropout rate on the attention weights (after the softmax).
    word_dropout : float, default=0.1
        Token input with a vocabulary learned in ``fit`` (text, token lists,
        id arrays): while training, each token is read as the unknown token
        with this probability (word dropout, Bowman et al. 2016; fairseq's
        ``WordDropout``), and each document, in expectation, as a whole (the
        loss of one document of unknown tokens against every row's target,
        weighted ``word_dropout``). The unknown token, which every word
        never seen in ``fit`` becomes, thus learns to mean "a word we do
        not know": a text of unseen words gets about the class prior, and an
        unseen word added to a text moves its prediction little. Without
        it, the unknown embedding is never trained and such texts get
        confident, arbitrary predictions (measured on a balanced toy over six
        seeds: P(pos) 0.00 or 0.94-1.00 without, 0.34-0.62 with 0.1;
        ``benchmarks/unknown_tokens.py``).
        Prediction never drops tokens. Numeric and series input, and a
        checkpoint's sub-word tokenizer (no unknown token), ignore it; so
        does ``trainable_layers`` below ``n_layers`` (frozen embeddings).
    positional_encoding : {"sinusoidal", "learned", "rotary", "alibi"} or None, \
            default="sinusoidal"
        How positions are encoded: the paper's fixed sinusoids, a learned
        vector per position, rotary embeddings (queries and keys turned by
        their position, RoFormer), ALiBi (a per-head penalty on the distance
        between query and key, with different slopes for keys before and
        after the query), or nothing (order is then invisible, but to the
        n-gram vectors of ``max_ngram``). Numeric feature input needs no
        positions (each feature has its own embedding) and ignores it.
    pooling : {"mean", "cls"}, default="mean"
        One vector per sequence: mean over real tokens, or the output at a
        learned [CLS] token put in front of the sequence.
    max_ngram : int or "auto", default="auto"
        Token input: each position's embedding also gets a learned vector for
        each n-gram of 2 .. ``max_ngram`` tokens (at most 8) ending there;
        the boundary before the start and after the end count as tokens
        (``^ab``, ``ng$``), as fastText embeds a word's character n-grams
        (Bojanowski et al. 2017). N-grams seen fewer than twice in the
        training data share one "rare" vector per n; at most 16,384 per n
        get their own. 1: tokens only, the paper's model. ``"auto"``: 4 if
        a quick linear probe on up to 4,000 training rows (ridge on
        TF-IDF counts, 4-fold cross-validated, a few seconds) finds that
        1-4-grams remove at least half of single tokens' error (0/1
        error, or squared error), by 3 standard errors, else 1 (also with
        fewer than 40 rows); ``max_ngram_`` says which. On characters of
        text n-grams raise accuracy (word-level language ID: 0.63 to 0.74);
        on tasks whose tokens count one at a time (order puzzles) they let
        the network memorise instead of learning attention, and on words of
        short documents they do not help: there the probe leaves them out.
        The order and the n-gram table are fixed by the first ``fit`` (or
        ``partial_fit``: a first chunk of fewer than 40 rows leaves them
        off, so pass ``max_ngram=4`` there) and kept by ``warm_start`` and
        later ``partial_fit`` calls (which refuse a ``max_ngram`` changed
        with ``set_params`` since, as they refuse any architecture change). Numeric and series input, and
        ``encoder=`` transfer, ignore it. Sample weights do not enter the
        probe. Not a bool: ``True`` raises a ``ValueError``.
    norm_first : bool, default=True
        Pre-LN (``x + f(LN(x))``, stable without warm-up) if True; the
        paper's post-LN (``LN(x + f(x))``) if False.
    activation : {"gelu", "relu", "swiglu"}, default="gelu"
        Activation of the feed-forward layers; "swiglu" is the gated layer
        of Llama, (Swish(x W) * x V) W_2, with ``d_ff`` the width of W and V.
    max_len : int, default=512
        Longest sequence accepted. Sequences given as lists or strings are
        cut to their first ``max_len`` tokens; arrays with more columns
        (or steps) raise an error.
    input_type : {"auto", "numeric", "tokens"}, default="auto"
        How a 2-D array is read. ``"auto"``: integer arrays are token ids
        (0 is padding) and float arrays are numeric features.
        ``"numeric"`` or ``"tokens"`` forces one reading. Lists of strings
        (split into words) or of token lists are always token sequences.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(32, n_samples)``.
    learning_rate_init : float or "auto", default="auto"
        AdamW's base learning rate. ``"auto"``: 1e-3 for a network from
        scratch (or from a :class:`TransformerEncoder` fitted here), 5e-5
        when ``encoder`` is a checkpoint (a directory path, or an encoder
        loaded with :meth:`TransformerEncoder.from_pretrained`), so that
        fine-tuning adjusts the pretrained weights instead of overwriting
        them, and 1e-2 for a head trained alone on a checkpoint's frozen
        features (``trainable_layers=0``: a linear model). The four
        ``"auto"`` training hyperparameters (this one, ``learning_rate``,
        ``warmup_fraction``, ``max_iter``) and ``early_stopping`` follow
        the same three recipes, measured by
        ``benchmarks/finetune_recipe.py`` (see the README).
    learning_rate : {"constant", "linear", "cosine", "auto"}, default="auto"
        Learning-rate schedule over the ``max_iter`` epochs of a fit: after
        the warm-up, keep the base rate, or decay it linearly or along a
        half cosine to a tenth of it at the last epoch. ``"auto"``:
        ``"constant"`` from scratch, ``"linear"`` from a checkpoint.
    warmup_fraction : float or "auto", default="auto"
        Share of the schedule over which the learning rate first rises
        linearly from almost 0 to ``learning_rate_init``. ``"auto"``: 0.0
        from scratch, 0.1 from a checkpoint.
    label_smoothing : float, default=0.0
        The training target is ``1 - label_smoothing`` on the true class
        plus ``label_smoothing / n_classes`` on every class.
    alpha : float, default=0.01
        Decoupled weight decay (AdamW; Loshchilov & Hutter, 2019) on weight
        matrices and embeddings: each step multiplies them by
        ``max(0, 1 - lr * alpha)`` (``lr`` the step's learning rate), so a
        large alpha shrinks them towards zero and never flips their sign.
    max_grad_norm : float or None, default=1.0
        Gradients are clipped to this global norm.
    max_iter : int or "auto", default="auto"
        Maximum number of epochs. ``"auto"``: 100 from scratch and for a
        head alone; 3 when fine-tuning a checkpoint, the length of its
        learning-rate schedule (reaching it then raises no
        ``ConvergenceWarning``).
    early_stopping : bool or "auto", default="auto"
        ``"auto"``: as True when ``fit`` gets at least 1,000 samples (100
        when it starts from a checkpoint, whose few epochs want the best
        one kept) or explicit validation data, else as False. Stop when the validation
        accuracy has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and restore the best parameters. The validation data are
        ``X_val, y_val`` if given to ``fit``, else a stratified
        ``validation_fraction`` of the training data.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=20
        Epochs without improvement before stopping. Long enough to cross the
        loss plateau that tasks needing attention to find tokens by content
        go through before they are learned (measured: 15-20 epochs on a
        query-order task of 4,000 strings).
    tol : float, default=5e-3
        Minimum improvement of the training loss (or validation score with
        early stopping: accuracy, R², log-likelihood per token) that counts.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the validation split.
        The same integer gives the same model and predictions.
    verbose : int, default=0
        1 prints one table row per epoch (loss, validation score, seconds).
    warm_start : bool, default=False
        Continue from the previous fit's parameters, optimizer state and
        vocabulary instead of starting afresh.
    blas_threads : int or None, default=1
        BLAS threads used inside ``fit`` and ``predict``; one is fastest for
        these matrix sizes on small machines. ``None`` leaves them alone.
    encoder : TransformerEncoder, str, path-like or None, default=None
        Start from a pretrained encoder and fine-tune it with a new output
        head. The architecture (``d_model`` ... ``max_len``) and the input
        vocabulary then come from the encoder and this estimator's own
        architecture parameters are ignored; ``dropout`` and the training
        parameters are this estimator's. An unfitted encoder is first fitted,
        without labels, on the ``X`` given to ``fit``. Inside
        cross-validation, wrap a fitted encoder in
        :class:`sklearn.frozen.FrozenEstimator` so cloning keeps its weights
        (one loaded by ``from_pretrained`` needs no wrapping: ``clone`` loads
        its checkpoint again).
        A path (str or ``os.PathLike``) is a checkpoint directory that every
        fresh ``fit`` loads with :meth:`TransformerEncoder.from_pretrained`
        (``pooling`` as here, ``max_len`` as here or the checkpoint's
        positions if fewer), so clones, grid searches and cross-validation
        folds all start from the checkpoint; the fitted model holds the
        weights and needs the directory no more. A missing directory raises
        the loader's ``FileNotFoundError``.
    long_documents : {"mean", "max", "truncate"}, default="mean"
        How a text longer than ``max_len`` tokens is read when the encoder
        comes from a checkpoint (other input ignores it): whole, as
        overlapping windows whose pooled vectors are averaged (``"max"``:
        their element-wise maximum) before the head, in ``fit`` and
        ``predict``; or ``"truncate"``: its first window, with a warning.
        See :class:`TransformerEncoder`.
    trainable_layers : int or "all", default="all"
        How many of the encoder's top blocks ``fit`` trains, with the head.
        With ``k < n_layers`` the embeddings and the blocks below are frozen
        and their outputs on the training and validation data computed once
        per ``fit``, so each step runs only the top ``k`` blocks (a fine-tune
        that fits a CPU's patience); ``0`` trains the head alone on the
        cached pooled vectors, as fast as a logistic regression on frozen
        features. What each costs and gives on a checkpoint is measured in
        the README ("Fine-tuning a checkpoint"). Not with ``pooling="cls"``
        (its learned vector is an embedding). Changing it between
        ``warm_start`` fits is allowed: train the head first (``0``), then
        everything (``"all"``).
    linear_probe : bool or "auto", default="auto"
        Before a fresh ``fit`` trains the network, train the new head alone
        on the cached pooled vectors of the frozen network (AdamW at 1e-2,
        stopped on the validation split), then fine-tune from that head:
        LP-FT (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained
        Features and Underperform Out-of-Distribution"). ``"auto"``: when
        ``encoder`` is a checkpoint and ``trainable_layers`` is not 0.
    linear_blend : bool or "auto", default="auto"
        Fit a linear model first and let the network learn what it leaves
        over (wide and deep, Cheng et al. 2016; ``sktransformer/_wide.py``):
        logistic regression on TF-IDF-weighted n-grams (text: word 1-2-grams
        and the character 2-5-grams of each word, or character 1-5-grams when
        the tokens are characters) or on the standardised features (numeric
        rows); ridge for a regressor. Its outputs (log-probabilities, or
        standardised values) are added to the head's, out-of-fold (3 folds)
        for the training rows, and its regularisation (C from 0.1 to 100) is
        chosen by the one-standard-error rule on out-of-fold error rate and
        log loss (ridge: squared error). On numeric rows, gradient boosting
        (scikit-learn's ``HistGradientBoostingClassifier``/``Regressor``,
        defaults) is fitted on the same folds too, and becomes the model to
        beat when its out-of-fold loss is lower by a standard error. After
        training the network is kept only if it lowers the validation rows'
        0/1 loss (a regressor's: squared error) below the best of these
        models alone by three standard errors of the per-row gains;
        otherwise its head is zeroed and the predictions are that model's,
        refitted on the validation rows too. Needs validation rows: with
        ``early_stopping="auto"`` they are held out from ``100`` training
        samples (``validation_fraction`` of them), or pass ``X_val``.
        ``"auto"``: for a network from scratch (``encoder=None``) on token
        sequences, token ids or numeric rows, in ``fit`` (not the first
        ``partial_fit``). ``True`` raises a ValueError for input it cannot
        read (series, a checkpoint). ``False``: the network alone.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` (array input only).
    params_ : dict
        The learned arrays, a nested dict mirroring the architecture.
    config_ : ModelConfig
        The static model description built at fit.
    loss_curve_ : list of float
        Training loss per epoch.
    validation_scores_ : list of float or None
        Validation accuracy per epoch, when validation data were used.
    best_loss_ : float
        Lowest training loss reached.
    best_validation_score_ : float or None
        Best validation accuracy, when validation data were used.
    n_iter_ : int
        Epochs run.
    max_ngram_ : int
        The n-gram order the network embeds (``max_ngram``, or what
        ``"auto"`` chose; 1 for numeric or series input and transfer).
    ngram_probe_ : tuple of (float, float) or None
        What ``max_ngram="auto"``'s linear probe measured on the training
        rows: the share of the single tokens' cross-validated error that
        n-grams removed, and that gain in standard errors (n-grams are
        embedded from 0.5 and 3). None where the probe did not run.
    t_ : int
        Optimizer steps taken.
    blend_model_ : Pipeline or None
        The fitted vectorizer and model whose outputs the head adds to its
        own (``linear_blend``; None: the network alone): the linear model,
        or gradient boosting where that alone stands. When the head is all
        zeros, the network added nothing and the predictions are this
        model's.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : the multilayer perceptron this API follows.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktransformer import TransformerClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=30,
    ...                             random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    def __init__(
        self,
        d_model=64,
        n_heads=4,
        n_layers=2,
        d_ff=None,
        dropout=0.1,
        attention_dropout=0.0,
        positional_encoding="sinusoidal",
        pooling="mean",
        max_ngram="auto",
        norm_first=True,
        activation="gelu",
        max_len=512,
        input_type="auto",
        batch_size="auto",
        learning_rate_init="auto",
        learning_rate="auto",
        warmup_fraction="auto",
        label_smoothing=0.0,
        alpha=0.01,
        max_grad_norm=1.0,
        max_iter="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=5e-3,
        random_state=None,
        verbose=0,
        warm_start=False,
        blas_threads=1,
        encoder=None,
        long_documents="mean",
        trainable_layers="all",
        linear_probe="auto",
        word_dropout=0.1,
        linear_blend="auto",
    ):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.d_ff = d_ff
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.positional_encoding = positional_encoding
        self.pooling = pooling
        self.max_ngram = max_ngram
        self.norm_first = norm_first
        self.activation = activation
        self.max_len = max_len
        self.input_type = input_type
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
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
        self.encoder = encoder
        self.long_documents = long_documents
        self.trainable_layers = trainable_layers
        self.linear_probe = linear_probe
        self.word_dropout = word_dropout
        self.linear_blend = linear_blend

    # --------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, seq_len, n_channels), \
                or list of str, or list of token lists
            Training sequences (see the class docstring for how each is read).
        y : array-like of shape (n_samples,)
            Class labels (strings or numbers).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        X_val, y_val : optional
            Validation data, scored every epoch (and used by early stopping
            instead of a split of ``X``).

        Returns
        -------
        self : TransformerClassifier

        Raises
        ------
        ValueError
            If ``y`` has fewer than 2 classes, ``d_model`` is not divisible by
            ``n_heads``, or ``X`` cannot be read (the message names the problem).
        """
        return self._fit_template(X, y, sample_weight, X_val, y_val)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, starting from the current model (or a new one).

        Parameters
        ----------
        X, y, sample_weight : as in :meth:`fit`
        classes : array-like of shape (n_classes,), default=None
            All labels that will ever appear. Needed on the first call unless
            that call's ``y`` already contains every class.

        Returns
        -------
        self : TransformerClassifier

        Raises
        ------
        ValueError
            If the first call sees fewer than 2 classes, or ``classes`` differs
            from the first call's.
        """
        return self._fit_template(X, y, sample_weight, partial=True, classes=classes)

    def _encode_targets(self, y, *, fitting, classes, what, weight=None):
        """Labels -> class indices; ``fitting`` learns ``classes_`` (from ``classes`` if given)."""
        name = "y" if what == "X" else "y_val"
        y = scalar_labels(y, name)
        if classes is not None:
            if isinstance(classes, set | frozenset):
                raise TypeError(f"classes must be a list or array of every label, got a "
                                f"{type(classes).__name__}: pass sorted(classes).")
            classes = scalar_labels(classes, "classes")
            if np.ndim(classes) != 1:
                raise ValueError(f"classes must be a 1-D list of every label, got shape "
                                 f"{np.shape(classes)}.")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if fitting:
            all_classes = np.unique(y if classes is None else column_or_1d(classes))
            if len(all_classes) < 2:
                raise ValueError(
                    f"The number of classes has to be greater than one; got {len(all_classes)} "
                    f"class ({', '.join(map(str, all_classes.tolist()))}). A classifier needs "
                    "samples of at least 2 classes (partial_fit: pass classes=[...]).")
            self.classes_ = all_classes
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} differs from the classes of the first "
                f"partial_fit call, {self.classes_.tolist()}.")
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(
                f"{name} contains labels not in classes {self.classes_.tolist()}: "
                f"{unknown.tolist()}. The classes are fixed by the first fit (warm_start and "
                "partial_fit keep them): fit with warm_start=False to learn new classes, or pass "
                "every class as classes=[...] to the first partial_fit.")
        return {"target": np.searchsorted(self.classes_, y)}

    def _n_outputs(self):
        return len(self.classes_)

    def _class_targets(self, data):
        return data.arrays["target"]

    # -------------------------------------------------------------- the loss

    def _output_loss(self, logits, batch):
        """Sample-weighted mean cross-entropy of a minibatch's logits."""
        weight = batch["weight"]
        total = softmax_cross_entropy(logits, batch["target"], weight, self.label_smoothing)
        return total / DTYPE(max(float(weight.sum()), 1e-12))

    def _validation_score(self, params, data):
        """Accuracy on the validation data."""
        logits = self._validation_outputs(params, data)
        return float(np.mean(logits.argmax(axis=1) == data.arrays["target"]))

    # ------------------------------------------------------------ prediction

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or list of sequences
            As in :meth:`fit`.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        logits = self._predict_outputs(X)
        return log_softmax(logits.astype(np.float64))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like or list of sequences
            As in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The most probable class of each sample.

        Parameters
        ----------
        X : array-like or list of sequences
            As in :meth:`fit`.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        logits = self._predict_outputs(X)
        return self.classes_[logits.argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``, weighted by ``sample_weight``.

        Parameters
        ----------
        X : as in :meth:`predict`
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        check_labels(y, "y")
        check_label_type(column_or_1d(y), self.classes_)
        if sample_weight is not None:  # scikit-learn's accuracy_score takes it unchecked
            sample_weight = check_weights(sample_weight, y)
        return super().score(X, y, sample_weight)
