"""The estimator layer's one template: ``fit`` and ``partial_fit`` written once.

:class:`_BaseTransformer` is to the estimators what scikit-learn's
``BaseMultilayerPerceptron`` is to ``MLPClassifier`` and ``MLPRegressor``:
it owns warm start, the random state, explicit ``X_val``/``y_val``, the
validation split, model construction, training (through :mod:`._loop`) and
publishing the new state at once. An estimator supplies small hooks:

- ``_new_codec(X)``: ``(codec, source)``, the unfitted reader of its input
  family and, for transfer, a fitted model to start from (else None);
- ``_read(X, y, sample_weight, *, fitting, classes, what)``: raw data ->
  :class:`TrainingData`, through ``self._codec`` (``fitting=True`` learns the
  vocabulary or classes, and only on a fresh fit);
- ``_init_model(data, rng, source)``: ``(config, params)`` of a new network;
- ``_loss(params, batch, rng)``: the scalar training loss of a minibatch;
- ``_validation_score(params, data)``: higher is better;
- for ``attention_weights``, ``_attention_inputs`` / ``_attention_forward``
  when its network is not a plain encoder.

Each public ``fit``/``partial_fit`` is then a signature (what scikit-learn
reads for metadata routing) and one call.
"""

import math
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ._inputs import INPUT_TYPES
from ._loop import History, LoopSettings, print_header, train
from ._model import ModelConfig, encode, new_cache
from ._optim import AdamW
from ._positions import POSITIONAL_ENCODINGS
from ._recipe import AUTO_EARLY_STOPPING_FROM, FINE_TUNING, resolve
from ._runtime import blas_limit, make_rng, map_samples
from ._tree import tree_copy, tree_leaves
from ._vocabulary import Vocabulary, drop_words

DEFAULT_BATCH_SIZE = 32
# Hyperparameters a fresh fit builds into the model (architecture, positions, what a token is).
# Changed with set_params after fit, they take a new fit: warm_start and partial_fit refuse.
STRUCTURAL_PARAMS = ("d_model", "n_heads", "n_layers", "d_ff", "positional_encoding", "pooling",
                     "norm_first", "activation", "max_len", "input_type", "max_ngram", "analyzer",
                     "target_analyzer", "encoder", "linear_blend")
# Hyperparameters inference reads: checked at every call, since set_params after fit is not.
INFERENCE_PARAMS = ("beam_width", "max_output_len", "blas_threads")
# early_stopping="auto" holds out validation data from here (from scratch; see _recipe.py)
AUTO_EARLY_STOPPING_MIN_SAMPLES = AUTO_EARLY_STOPPING_FROM["scratch"]


class TrainingData:
    """Inputs with aligned per-sample arrays (targets, weights), sliced together."""

    def __init__(self, inputs, **arrays):
        self.inputs = inputs
        self.arrays = arrays

    def __len__(self):
        return len(self.inputs)

    def row_weights(self, index):
        """The sample weight of each row at ``index`` (1 without weights), 0 where the row has
        nothing to predict (a tagger's row without tokens)."""
        target = self.arrays.get("target")
        has_target = np.ones(len(index), bool)
        if target is not None and target.dtype.kind == "i":  # -1 where there is nothing to predict
            has_target = (target[index].reshape(len(index), -1) >= 0).any(axis=1)
        weight = self.arrays.get("weight")
        return np.where(has_target, 1.0 if weight is None else weight[index], 0.0)

    def subset(self, index):
        """A TrainingData of the rows at ``index``."""
        return TrainingData(self.inputs.take(index), **{k: v[index] for k, v in self.arrays.items()})

    def with_arrays(self, **arrays):
        """The same rows with more (or other) per-sample arrays."""
        return TrainingData(self.inputs, **{**self.arrays, **arrays})

    def take(self, index):
        """The minibatch at ``index``: an ``Inputs`` plus the sliced arrays, as a dict."""
        batch = {k: v[index] for k, v in self.arrays.items()}
        batch["inputs"] = self.inputs.take(index)
        return batch


class _BaseTransformer(BaseEstimator):
    """Hyperparameters, the fit template and inference helpers shared by all estimators."""

    _parameter_constraints: dict = {
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "d_ff": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "attention_dropout": [Interval(Real, 0, 1, closed="left")],
        "positional_encoding": [StrOptions(POSITIONAL_ENCODINGS.keys()), None],  # live: registered names
        "pooling": [StrOptions({"mean", "cls"})],
        "norm_first": ["boolean"],
        "activation": [StrOptions({"gelu", "relu", "swiglu"})],
        "max_len": [Interval(Integral, 1, None, closed="left")],
        "input_type": [StrOptions(set(INPUT_TYPES))],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"constant", "linear", "cosine"})],
        "warmup_fraction": [Interval(Real, 0, 1, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "word_dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "blas_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    # ------------------------------------------------------------ the template

    def _fit_template(self, X, y=None, sample_weight=None, X_val=None, y_val=None, *,
                      partial=False, classes=None):
        """``fit`` (``partial=False``) or ``partial_fit`` (one epoch), for every estimator."""
        if partial and hasattr(self, "params_"):
            # scikit-learn's fit context checks hyperparameters in fit, and in partial_fit only
            # until the model is fitted: a value set since (a NaN learning rate) would train
            self._validate_params()
        fresh = not hasattr(self, "params_") or not (partial or self.warm_start)
        if not fresh:
            self._check_structure("partial_fit" if partial else "fit with warm_start=True")
        with blas_limit(self.blas_threads):
            source = None
            if fresh:  # what inference reads later (a failed fit restores the old record)
                self._structure = self._structural_params()
                self._codec, source = self._new_codec(X)
            data = self._read(X, y, sample_weight, fitting=fresh, classes=classes, what="X")
            rng = make_rng(self.random_state) if fresh else self._rng
            val = None
            if not partial:
                val = self._validation_data(X_val, y_val)
                data, val = self._split_validation(data, val, rng)
            if fresh:
                self._initialize(*self._init_model(data, rng, source), rng)
            else:  # dropout may change between fits: it is not part of the fitted network
                self.config_ = self._with_dropout(self.config_)
            data, val = self._with_offsets(X, X_val, data, val, fresh, partial)
            self._train(data, val, partial)
            self._after_training(val)
            return self

    def _with_dropout(self, config):
        """``config`` (and its encoder's, for seq2seq) with today's ``dropout`` and ``attention_dropout``."""
        source = None if config.source is None else self._with_dropout(config.source)
        return replace(config, dropout=float(self.dropout),
                       attention_dropout=float(self.attention_dropout), source=source)

    def _structural_params(self):
        """The current values of the hyperparameters a fresh fit builds into the model."""
        params = self.get_params(deep=False)
        return {name: params[name] for name in STRUCTURAL_PARAMS if name in params}

    def _check_structure(self, how):
        """Refuse to continue training a model whose structural hyperparameters changed since fit."""
        fitted = getattr(self, "_structure", None)
        if fitted is None:  # a model file from before this check: nothing recorded
            return
        now = self._structural_params()
        changed = [k for k in fitted if now.get(k) is not fitted[k] and now.get(k) != fitted[k]]
        if changed:
            shown = "; ".join(f"{k}={now[k]!r} (the model was fitted with {fitted[k]!r})"
                              for k in changed)
            raise ValueError(
                f"{type(self).__name__} was given {shown} after fit, but {how} continues the "
                "fitted model, which cannot change that: call fit with warm_start=False to train "
                "a new model with the new value, or set the fitted value back.")

    def _fitted_param(self, name):
        """A structural hyperparameter as the model was fitted with it (set_params may differ since)."""
        return getattr(self, "_structure", {}).get(name, getattr(self, name))

    def __sklearn_clone__(self):
        """scikit-learn's ``clone``; a model loaded with ``from_pretrained`` is loaded again.

        An unfitted copy with the same hyperparameters, as for any estimator.
        A loaded checkpoint's weights are what it was made with, so its clone
        is the checkpoint loaded again (its weights as stored, not as
        fine-tuned since) with the hyperparameters it has now, unless an
        architecture parameter was changed since (then a new network of that
        architecture, unfitted) or the checkpoint's file is gone or changed
        (then the same, with a warning). ``GridSearchCV`` over
        ``TransformerClassifier(encoder=TransformerEncoder.from_pretrained(p))``
        fine-tunes the checkpoint in every fold, as with ``encoder=p``.
        """
        plain = super().__sklearn_clone__()
        return self._reload_checkpoint(plain) if "_checkpoint" in self.__dict__ else plain

    def _reload_checkpoint(self, plain):
        """The clone of a model loaded from a checkpoint (estimators with ``from_pretrained``)."""
        return plain

    def __sklearn_is_fitted__(self):
        """True once ``fit`` gave the network its weights: what ``check_is_fitted`` asks, without
        its scan of every attribute (~10 us, counted in a one-sequence prediction)."""
        return hasattr(self, "params_")

    def _check_inference_params(self, **given):
        """Validate the hyperparameters inference reads (and method arguments ``given`` for them)."""
        names = [n for n in INFERENCE_PARAMS if n in self._parameter_constraints]
        values = {n: getattr(self, n) for n in names}
        validate_parameter_constraints({n: self._parameter_constraints[n] for n in names}, values,
                                       caller_name=type(self).__name__)
        for name, value in given.items():
            if value is not None:
                validate_parameter_constraints({name: self._parameter_constraints[name]},
                                               {name: value}, caller_name=type(self).__name__)

    def _validation_data(self, X_val, y_val):
        """Explicit validation data read like the training data, or None."""
        if X_val is None and y_val is None:
            return None
        if self._requires_y() and (X_val is None) != (y_val is None):
            raise ValueError("Pass both X_val and y_val, or neither.")
        if X_val is None:
            raise ValueError("y_val was given without X_val.")
        return self._read(X_val, y_val, None, fitting=False, classes=None, what="X_val")

    def _requires_y(self):
        return True

    def _class_targets(self, data):
        """Class ids of each sample ((n,) for a classifier, (n, T) with -1 where none for a tagger).

        None for models without classes. The validation split is stratified
        by 1-D class ids and never leaves a class out of training.
        """
        return None

    def _train(self, data, val_data, partial):
        """Train on a copy of the state; publish parameters, optimizer and history at the end."""
        recipe = self._recipe()
        n_epochs = 1 if partial else recipe["max_iter"]
        params = tree_copy(self.params_)
        settings = LoopSettings(
            n_epochs=n_epochs, batch_size=self._batch_size(), tol=self.tol,
            n_iter_no_change=self.n_iter_no_change, early_stopping=False,
            verbose=self.verbose, blas_threads=self.blas_threads, stop_when_converged=not partial)
        if not partial and self.n_iter_ == 0:  # a new head: the probing stage of LP-FT, if any
            params = self._probe_head(params, data, val_data, settings)
        frozen = self._frozen_lower(params)  # trainable_layers: the lower part's outputs, cached
        loss, score = self._with_word_dropout(self._loss), self._validation_score
        if frozen is not None:  # the embeddings are frozen: the unknown row cannot learn
            data, val_data = frozen.cache(data), frozen.cache(val_data)
            params, loss, score = frozen.trainable(), frozen.loss, frozen.validation_score
        optimizer = self._new_optimizer(params, len(data), partial, recipe, frozen is None)
        steps_before = optimizer.t  # 0 for new moments: t_ counts this model's steps all the same
        early_stopping = self._early_stopping(val_data, recipe)
        trained_as = (self._recipe_kind(), frozen is None)
        history = self._start_history(partial, trained_as, early_stopping, score, params, val_data)
        if self.verbose and (not partial or history.n_iter == 0):  # partial_fit: its first call
            print_header(val_data is not None)
        settings = replace(settings, early_stopping=early_stopping)
        reason = train(loss, score, params, optimizer, data, val_data, history, settings, self._rng)
        if early_stopping and history.best_params is not None:
            params = history.best_params
        self.params_ = params if frozen is None else frozen.merged(params)
        self._optimizer = optimizer if frozen is None else None  # moments of a part: not kept
        self.t_ = self.t_ + optimizer.t - steps_before
        self._trained_as = trained_as
        history.write_to(self)
        self._report(reason, partial, early_stopping, recipe)
        return self

    def _start_history(self, partial, trained_as, early_stopping, score, params, val_data):
        """The :class:`~sktransformer._loop.History` this training continues from the estimator.

        ``trained_as`` (recipe kind, whether every layer trains) differing from
        the fit before (the head alone, then every layer) means losses of
        another objective: convergence is watched afresh (the head's count
        would stop every layer's fine-tuning after an epoch). Continuing with
        early stopping, the model as it is now is the one to beat.
        """
        history = History.from_estimator(self)
        if not partial and getattr(self, "_trained_as", trained_as) != trained_as:
            history.best_loss, history.no_improvement_count = np.inf, 0
        if val_data is not None and history.validation_scores is None:
            history.validation_scores = []
        if early_stopping and val_data is not None and history.n_iter > 0:
            history.best_score = score(params, val_data)
            history.best_params = tree_copy(params)
        return history

    def _word_dropper(self):
        """``drop(ids, rng)``, word dropout at this fit's ``word_dropout`` rate; None where it does not apply.

        It applies to a vocabulary learned in fit, whose unknown id reads the
        tokens it never saw (see :func:`~sktransformer._vocabulary.drop_words`):
        not to numbers, series, or a checkpoint's sub-word tokenizer.
        """
        rate = float(getattr(self, "word_dropout", 0.0))
        codec = getattr(self, "_codec", None)
        vocabulary = codec if isinstance(codec, Vocabulary) else getattr(codec, "vocabulary", None)
        if rate == 0 or not isinstance(vocabulary, Vocabulary) or not vocabulary.reads_unknown:
            return None
        token_end = vocabulary.token_end
        return lambda ids, rng: drop_words(ids, rate, token_end, rng)

    def _with_word_dropout(self, loss):
        """``loss`` on training minibatches whose tokens went through :meth:`_word_dropper`.

        Only the training loss: validation and inference read the tokens as they are.
        """
        drop = self._word_dropper()
        if drop is None:
            return loss

        def dropped(params, batch, rng):
            inputs = batch["inputs"]
            return loss(params, {**batch, "inputs": replace(inputs, X=drop(inputs.X, rng))}, rng)

        return dropped

    def _with_offsets(self, X, X_val, data, val_data, fresh, partial):
        """(data, val_data) with per-row output offsets the head adds to (none here; see ``linear_blend``)."""
        return data, val_data

    def _after_training(self, val_data):
        """What ``fit`` and ``partial_fit`` do once the network is trained (nothing here)."""

    def _recipe(self):
        """The training hyperparameters with each "auto" resolved (:func:`~sktransformer._recipe.resolve`)."""
        return resolve(self, self._recipe_kind())

    def _recipe_kind(self):
        """Which "auto" recipe fits: "scratch", "fine-tuning" (a checkpoint) or "head" (its head alone).

        Here: "fine-tuning" for a model ``from_pretrained`` loaded (an encoder
        or language model, whose ``fit`` fine-tunes the checkpoint), else "scratch".
        """
        return "fine-tuning" if getattr(self, "_checkpoint", None) is not None else "scratch"

    def _frozen_lower(self, params):
        """The frozen part of the network (:class:`~sktransformer._freezing.FrozenLower`), or None."""
        return None

    def _probe_head(self, params, data, val_data, settings):
        """``params`` after the head-alone stage of LP-FT, where the estimator has one (else as given)."""
        return params

    def _early_stopping(self, val_data, recipe):
        """Whether this fit stops on (and restores the best) validation score."""
        if recipe["early_stopping"] == "auto":
            return val_data is not None
        return bool(recipe["early_stopping"])

    def _new_optimizer(self, params, n_samples, partial, recipe, continues=True):
        """AdamW with the learning-rate schedule spread over this fit's ``max_iter`` epochs.

        ``total_steps = max_iter * ceil(n_samples / batch_size)``. A
        ``partial_fit`` call is one epoch of a schedule of ``max_iter`` epochs
        counted from the first call; each ``fit`` (warm start too) starts the
        schedule afresh from the optimizer's current step.
        """
        n_batches = -(-n_samples // min(self._batch_size(), n_samples))
        optimizer = AdamW(params, recipe["learning_rate_init"], self.alpha, self.max_grad_norm,
                          schedule=recipe["learning_rate"],
                          total_steps=recipe["max_iter"] * n_batches,
                          warmup_fraction=recipe["warmup_fraction"])
        if self._optimizer is not None and continues:  # the moments of earlier training
            optimizer.load_state(self._optimizer)
        elif partial:  # new moments (a frozen part's are not kept): the schedule still counts t_
            optimizer.schedule_start = -self.t_
        if not partial:
            optimizer.schedule_start = optimizer.t
        return optimizer

    def _report(self, reason, partial, early_stopping, recipe):
        """The warning, if any, for why training stopped.

        None at the end of a checkpoint's fine-tuning by its recipe
        (``max_iter="auto"``, or the recipe's values ``from_pretrained`` set):
        its few epochs are the schedule's length, not a cap on convergence.
        """
        max_iter = recipe["max_iter"]
        if reason == "interrupted":
            warnings.warn(
                "Training interrupted (KeyboardInterrupt): keeping the model as of the last "
                "completed step" + (", best validation parameters restored."
                                    if early_stopping else "."),
                UserWarning, stacklevel=4)
        elif reason == "non-finite":
            warnings.warn(
                "Training stopped: the loss or its gradients became non-finite (nan or inf; try a lower "
                "learning_rate_init). The parameters of the last finite step are kept.",
                RuntimeWarning, stacklevel=4)
        elif reason is None and not partial and not (
                self._recipe_kind() == "fine-tuning" and self._follows_recipe()):
            warnings.warn(
                f"{type(self).__name__}: maximum iterations ({max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning, stacklevel=4)

    def _follows_recipe(self):
        """Whether the epochs are the fine-tuning recipe's plan: ``max_iter="auto"``, or a model
        ``from_pretrained`` loaded whose training values are still those it set (FINE_TUNING)."""
        if self.max_iter == "auto":
            return True
        params = self.get_params(deep=False)
        return getattr(self, "_checkpoint", None) is not None and all(
            params.get(name) == value for name, value in FINE_TUNING.items())

    def _batch_size(self):
        return DEFAULT_BATCH_SIZE if self.batch_size == "auto" else self.batch_size

    # ------------------------------------------------------------ set-up

    def _model_config(self, input_kind, input_size, n_outputs):
        """The frozen model description, from hyperparameters and what fit saw."""
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads} "
                "(each head gets d_model / n_heads dimensions)."
            )
        return ModelConfig(
            input_kind=input_kind,
            input_size=input_size,
            d_model=self.d_model,
            n_heads=self.n_heads,
            n_layers=self.n_layers,
            d_ff=self.d_ff if self.d_ff is not None else 4 * self.d_model,
            dropout=float(self.dropout),
            attention_dropout=float(self.attention_dropout),
            positional_encoding=self.positional_encoding,
            pooling=self._pooling(),
            attention_init=self._attention_init(),
            norm_first=self.norm_first,
            activation=self.activation,
            max_len=self.max_len,
            n_outputs=n_outputs,
        )

    def _pooling(self):
        return self.pooling

    def _attention_init(self):
        """How self-attention starts (see ``_model.init_attention``); chosen per estimator by measurement."""
        return "glorot"

    def _initialize(self, config, params, rng):
        """Adopt a fresh model: config, parameters, random state; reset optimizer and history."""
        self.__dict__.pop("_checkpoint", None)  # a checkpoint's loader records it after this
        self._rng = rng
        self._structure = self._structural_params()
        self.config_ = config
        self.params_ = params
        self._optimizer = None
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.validation_scores_ = None
        self.best_loss_ = np.inf
        self.best_validation_score_ = None
        self._no_improvement_count = 0
        self._validation_epochs = []

    def _split_validation(self, data, val_data, rng):
        """(training data, validation data or None): the explicit validation data, a split, or none.

        The split is stratified by class where every class has two samples;
        otherwise a plain split, after which validation samples holding a
        class that no training sample holds move to training (a model must
        not learn a class from validation alone; MLPClassifier refuses such
        data, here early stopping stays possible), and so do the weighted
        samples if the training part would weigh nothing (a loss of 0).
        """
        if val_data is not None:
            return data, val_data
        recipe = self._recipe()
        early_stopping = recipe["early_stopping"]
        if not early_stopping or (early_stopping == "auto"
                                  and len(data) < recipe["early_stopping_from"]):
            return data, None
        why = f"early_stopping={self.early_stopping!r}"
        advice = "pass early_stopping=False, or validation data as X_val and y_val."
        n_held_out = math.ceil(self.validation_fraction * len(data))  # as train_test_split rounds
        if n_held_out >= len(data):
            if early_stopping == "auto":  # asked for by no one: train on everything
                return data, None
            raise ValueError(
                f"{type(self).__name__}: validation_fraction={self.validation_fraction} of "
                f"{len(data)} sample(s) holds out {n_held_out} for {why}, leaving none to train on: "
                f"lower validation_fraction, or {advice}")
        train, val = self._held_out(data, rng)
        if not len(val):
            if early_stopping == "auto":  # e.g. one example per class: no early stopping
                return data, None
            raise ValueError(
                f"{type(self).__name__}: no sample is left to validate on for {why} once every "
                f"class and the weighted samples have training samples ({len(data)} samples): "
                f"{advice}")
        return data.subset(train), data.subset(val)

    def _held_out(self, data, rng):
        """(training rows, validation rows) of a split holding out ``validation_fraction``.

        Stratified by class where every class has two samples; then
        validation rows holding a class that no training row holds move to
        training, and so do the weighted rows if the training part would
        weigh nothing (a loss of 0 every epoch).
        """
        index = np.arange(len(data))
        seed = int(rng.integers(2**31 - 1))
        targets = self._class_targets(data)
        try:
            train, val = train_test_split(index, test_size=self.validation_fraction,
                                          random_state=seed,
                                          stratify=targets if getattr(targets, "ndim", 0) == 1
                                          else None)
        except ValueError:  # a class too small to stratify, or fewer held out than classes
            train, val = train_test_split(index, test_size=self.validation_fraction,
                                          random_state=seed)
        if targets is not None:
            held_out = targets[val].reshape(len(val), -1)
            unseen = ((held_out >= 0) & ~np.isin(held_out, targets[train])).any(axis=1)
            train, val = np.concatenate([train, val[unseen]]), val[~unseen]
        if not data.row_weights(train).sum() > 0:  # every weighted row went to validation
            weighted = data.row_weights(val) > 0
            train, val = np.concatenate([train, val[weighted]]), val[~weighted]
        return train, val

    # ------------------------------------------------------------ inference

    @property
    def n_parameters_(self):
        """Number of learned numbers in the model."""
        check_is_fitted(self)
        return int(sum(leaf.size for leaf in tree_leaves(self.params_)))

    @property
    def vocabulary_(self):
        """Token -> id learned in ``fit`` from sequences (or the token ids of an id matrix)."""
        check_is_fitted(self)
        vocabulary = getattr(self._codec, "vocabulary", None)
        if vocabulary is None:
            raise AttributeError("vocabulary_ exists only for models fitted on tokens.")
        return getattr(vocabulary, "vocabulary", vocabulary)

    def _inputs(self, X):
        """Raw X -> model inputs, checked against what fit saw."""
        return self._codec.read(self, X)

    def attention_weights(self, X):
        """The softmax attention weights of every layer and head, and the tokens they belong to.

        Parameters
        ----------
        X : input of the kind the estimator was fitted on

        Returns
        -------
        weights : list of ndarray of shape (n_samples, n_heads, seq_len, seq_len)
            One array per layer: ``weights[l][i, h, q, k]`` is how much
            position ``q`` of sample ``i`` attends to position ``k`` in head
            ``h``. Each row sums to 1 over the keys a position may see
            (padding and, for the decoder, future positions get 0); rows of
            padding positions are 0.
        tokens : list of list
            The label of each position of each sample: its tokens (raw
            sequences: only the real ones, padding follows), token ids,
            feature names or time steps, with ``"[CLS]"`` or ``"<bos>"``
            first where the model adds one.
        """
        check_is_fitted(self)
        inputs, tokens = self._attention_inputs(X)
        config = self.config_

        def forward(params, config, chunk):
            cache = new_cache(config, record=True)
            mask = self._attention_forward(params, config, chunk, cache)
            layers = []
            for layer in cache:
                w = layer["self"]["weights"]  # (n, H, T', T')
                if mask is not None:
                    w = w * mask[:, None, :, None]  # padding positions attend to nothing
                layers.append(w)
            return np.stack(layers, axis=1)  # (n, L, H, T', T')

        maps = config.n_layers * config.n_heads
        # every layer's weights are held three times in a chunk: recorded, masked, stacked
        stacked = self._map_batches(forward, inputs, width_axes=(3, 4),
                                    floats_per_sample=lambda width: 3 * maps * (width + 1) ** 2)
        return [stacked[:, layer] for layer in range(stacked.shape[1])], tokens

    def _attention_inputs(self, X):
        """Model inputs and position labels for :meth:`attention_weights` (encoder models)."""
        inputs = self._inputs(X)
        tokens = self._codec.position_labels(self, X, inputs.X.shape[1])
        if self.config_.pooling == "cls":
            tokens = [["[CLS]"] + t for t in tokens]
        return inputs, tokens

    def _attention_forward(self, params, config, inputs, cache):
        """Run the encoder, recording attention into ``cache``; returns the (grown) mask."""
        _, mask = encode(params, config, inputs.X, inputs.mask, cache=cache,
                         token_types=inputs.token_types)
        return mask

    def _max_width(self, inputs):
        """Most positions an inference input may be padded to: the model's, or a token array's width.

        A token array's width is fixed at fit (``n_features_in_``); a list of
        sequences is as wide as its longest, which depends on the batch.
        """
        if getattr(self._codec, "fixed_width", False):
            return min(self.config_.max_len, inputs.X.shape[1])
        return self.config_.max_len

    def _map_batches(self, fn, inputs, params=None, width_axes=(), pass_index=False,
                     floats_per_sample=None):
        """``fn(params, config, Inputs)`` over all samples, batch-invariantly (see :func:`map_samples`)."""
        self._check_inference_params()
        return map_samples(fn, inputs, self.params_ if params is None else params, self.config_,
                           max_width=self._max_width(inputs),
                           width_axes=width_axes, blas_threads=self.blas_threads,
                           pass_index=pass_index, floats_per_sample=floats_per_sample)
