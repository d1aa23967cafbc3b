"""What the classifier and the regressor share: an encoder over arrays or sequences, pooled, one head.

:class:`_PooledEncoderModel` supplies the template's input hooks for the
array-or-sequence input families (one :class:`~sktransformer._families.InputFamily`
codec, chosen at fit) and the network: from scratch, or the weights of a fitted
:class:`~sktransformer.TransformerEncoder` (``encoder=``) with a new head.
``encoder`` may also be a checkpoint directory's path, loaded by every fresh
``fit`` (so clones and cross-validation folds start from the checkpoint). A
subclass adds its targets (``_encode_targets``), loss, validation score and
outputs.

Texts longer than ``max_len`` tokens of a checkpoint are read in windows
(:mod:`sktransformer._windows`, ``long_documents``): a document's pooled
vector is the mean (or maximum) of its windows', and the head reads that.
"""

import os
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_consistent_length

from ._base import TrainingData, _BaseTransformer
from ._families import choose_family
from ._freezing import FrozenLower, PooledFeatures, probe_head
from ._inputs import Inputs, check_weights
from ._model import DTYPE, head_logits, init_linear, init_params, pooled_features
from ._ngrams import fit_ngrams
from ._probe import pays, probe_gain
from ._tree import tree_copy, tree_map
from ._vocabulary import unknown_document
from ._wide import boosting_if_better, clearly_better, documents, fit_linear, predict_offsets, reads, refit
from ._windows import LONG_DOCUMENTS, is_windowed, per_document, rows_of

AUTO_MAX_NGRAM = 4  # the n-gram order max_ngram="auto" uses when a probe finds n-grams pay
# linear_blend holds out validation data (to judge the network against the linear model, and for
# early stopping) from this many training samples, as a checkpoint's fine-tuning does: below, a
# judgement on a handful of rows would be noise.
BLEND_FROM = 100
# The network stays beside the linear model when it lowers the validation loss by this many standard
# errors of the per-row gains. Early stopping chose its epoch on those rows (the best of up to
# max_iter), which flatters it: on diabetes (35 validation rows a fold) a network kept at 1.6
# standard errors lost 0.11 R2 on the fold's test rows; on a linear task (30 rows) one reached 2.65
# by chance. As the n-gram probe's PROBE_T.
NETWORK_T = 3.0


class _PooledEncoderModel(_BaseTransformer):
    """Encoder -> pooled vector -> linear head; reads arrays, token ids, series or sequences."""

    _parameter_constraints: dict = {
        **_BaseTransformer._parameter_constraints,
        "encoder": [HasMethods(["fit", "transform"]), str, os.PathLike, None],
        "max_ngram": [Interval(Integral, 1, 8, closed="both"), StrOptions({"auto"})],
        "long_documents": [StrOptions(set(LONG_DOCUMENTS))],
        # "auto": the recipe of a network from scratch or of a checkpoint's fine-tuning (_recipe.py)
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "learning_rate": [StrOptions({"constant", "linear", "cosine", "auto"})],
        "warmup_fraction": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "trainable_layers": [Interval(Integral, 0, None, closed="left"), StrOptions({"all"})],
        "linear_probe": ["boolean", StrOptions({"auto"})],
        "linear_blend": ["boolean", StrOptions({"auto"})],
    }

    # ------------------------------------------------------------ template hooks

    def _new_codec(self, X):
        """The encoder's fitted input reader when transferring (fitting a clone on ``X`` if needed).

        A path is a checkpoint directory, loaded here (at every fresh fit), reading at
        most ``max_len`` tokens per window.
        """
        if self.encoder is None:
            return choose_family(self, X, self.input_type, self.max_len), None
        from .encoder import TransformerEncoder

        if isinstance(self.encoder, str | os.PathLike):
            encoder = TransformerEncoder._for_estimator(self.encoder, self.max_len, self._pooling())
            return encoder._codec, encoder
        frozen = isinstance(self.encoder, FrozenEstimator)
        inner = self.encoder.estimator if frozen else self.encoder
        if not isinstance(inner, TransformerEncoder):
            raise TypeError(
                "encoder must be a TransformerEncoder (fitted, unfitted, or loaded with "
                "from_pretrained), a FrozenEstimator of a fitted one, or a checkpoint directory; got "
                f"{type(inner).__name__}. For features of another transformer, put it in front of "
                "this estimator in a Pipeline.")
        if frozen and not hasattr(inner, "params_"):
            raise ValueError(
                "encoder is a FrozenEstimator of an unfitted TransformerEncoder: fit the encoder "
                "before freezing it, or pass it unfrozen so that each fit pretrains a copy on its X.")
        encoder = self.encoder if hasattr(inner, "params_") else clone(self.encoder).fit(X)
        return encoder._codec, encoder

    def _fine_tunes_checkpoint(self):
        """Whether ``encoder`` is a checkpoint: a path, or an encoder loaded by ``from_pretrained``."""
        return isinstance(self.encoder, str | os.PathLike) or getattr(
            getattr(self.encoder, "_codec", None), "from_checkpoint", False)

    def _recipe_kind(self):
        if not self._fine_tunes_checkpoint():
            return "scratch"
        return "head" if getattr(self, "trainable_layers", "all") == 0 else "fine-tuning"

    def _read(self, X, y, sample_weight, *, fitting, classes, what):
        inputs = self._codec.read(self, X, fitting, what, training=True)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                f"{'y' if what == 'X' else 'y_val'} is None.")
        rows = np.zeros(len(inputs)) if is_windowed(inputs) else inputs.X  # one per document
        check_consistent_length(rows, y)
        weight = None
        if what == "X":
            weight = check_weights(sample_weight, rows)
        arrays = self._encode_targets(y, fitting=fitting, classes=classes, what=what, weight=weight)
        if weight is not None:
            arrays["weight"] = weight.astype(DTYPE)
        arrays["row"] = np.arange(len(rows))  # which sample of X (or X_val): the blend reads them
        return TrainingData(inputs, **arrays)

    def _init_model(self, data, rng, encoder):
        """(config, params): from scratch, or the encoder's weights with a new output head."""
        n_outputs = self._n_outputs()
        if encoder is None:
            config = self._model_config(self._codec.embedding, self._codec.input_size,
                                        n_outputs)
            self.max_ngram_ = self._ngram_order(data, config)
            if self.max_ngram_ > 1:
                tables = fit_ngrams(data.inputs.X, self.max_ngram_, config.input_size)
                config = replace(config, ngrams=tuple(tables))
            return config, init_params(config, rng)
        config = replace(encoder.config_, n_outputs=n_outputs, dropout=float(self.dropout),
                         attention_dropout=float(self.attention_dropout))
        self.max_ngram_, self.ngram_probe_ = 1, None  # the encoder was pretrained without n-grams
        params = {"embed": tree_copy(encoder.params_["embed"]),
                  "encoder": tree_copy(encoder.params_["encoder"]),
                  "head": init_linear(rng, config.d_model, n_outputs)}
        if "pooler" in encoder.params_:  # a checkpoint's pooler layer (pooling="pooler")
            params["pooler"] = tree_copy(encoder.params_["pooler"])
        return config, params

    def _frozen_lower(self, params):
        """The frozen lower part of the network for ``trainable_layers`` (None: all of it trains)."""
        k = getattr(self, "trainable_layers", "all")
        if isinstance(k, bool | np.bool_):  # an int to scikit-learn's validation
            raise ValueError(f"trainable_layers must be an int >= 0 or 'all', not {k!r}: pass 0 to "
                             "train the head alone, 'all' to train every layer.")
        n_layers = self.config_.n_layers
        if k == "all" or k >= n_layers:
            return None
        if self.config_.pooling == "cls":
            raise ValueError(f"trainable_layers={k} needs pooling='mean' (or a checkpoint's own "
                             "[CLS]): the learned [CLS] vector of pooling='cls' is an embedding, "
                             "which trainable_layers freezes.")
        return FrozenLower(self, params, k)

    def _probe_head(self, params, data, val_data, settings):
        """LP-FT's first stage (:func:`~sktransformer._freezing.probe_head`) when ``linear_probe`` asks.

        ``"auto"``: when fine-tuning a checkpoint with some layers trainable.
        """
        probe = getattr(self, "linear_probe", False)
        if probe == "auto":
            probe = self._fine_tunes_checkpoint() and self.trainable_layers != 0
        if not probe or self.config_.pooling == "cls":
            return params
        return probe_head(self, params, data, val_data, settings, self._rng)

    # ------------------------------------------------------------ the linear model beside it

    def _blend_reading(self):
        """How the linear model of ``linear_blend`` reads X (:func:`~sktransformer._wide.reads`), or None.

        ``"auto"``: for a network from scratch on token or numeric input.
        True also asks for it, and refuses input it cannot read.
        """
        wanted = getattr(self, "linear_blend", False)
        if wanted is False or not hasattr(self, "_codec"):
            return None
        kind = None if self.encoder is not None else reads(self._codec)
        if kind is None and wanted is True:
            raise ValueError(
                "linear_blend=True needs token sequences, token ids or numeric rows and a network "
                "from scratch (encoder=None); this X is read as "
                f"{getattr(self._codec, 'embedding', 'a checkpoint')!r} input"
                f"{'' if self.encoder is None else ' by a pretrained encoder'}. Pass "
                "linear_blend=False or 'auto'.")
        return kind

    def _recipe(self):
        """As the base's; with ``linear_blend``, validation data is held out from ``BLEND_FROM`` samples."""
        recipe = super()._recipe()
        if self._blend_reading() is not None:
            recipe["early_stopping_from"] = min(recipe["early_stopping_from"], BLEND_FROM)
        return recipe

    def _with_offsets(self, X, X_val, data, val_data, fresh, partial):
        """The linear model of ``linear_blend``: fitted (a fresh ``fit``), its outputs as offsets.

        A fresh ``fit`` with validation rows fits it on the training rows
        (:func:`~sktransformer._wide.fit_linear`): the training rows get its
        out-of-fold outputs, the validation rows those of the model refitted
        on every training row; ``predict`` reads the one refitted on the
        validation rows too (unless they are an explicit ``X_val``). Later fits
        (``warm_start``, ``partial_fit``) keep it and offset their rows by
        its outputs. Sets ``blend_model_`` (None: the network alone).
        """
        docs = None  # X as the linear model reads it, made once per call
        if fresh:
            self.blend_model_, self._blend_kind, self._rival = None, None, None
            kind = self._blend_reading()
            n_samples = len(data) + (len(val_data) if X_val is None and val_data else 0)
            if (kind is not None and not partial and val_data is not None and len(val_data)
                    and n_samples >= BLEND_FROM):
                docs, kind = documents(self._codec, self, X, kind)
                data = self._fit_blend(_rows(docs, data.arrays["row"]), kind, data)
        if getattr(self, "blend_model_", None) is None:
            return data, val_data
        if docs is None:
            docs = documents(self._codec, self, X, self._blend_kind)[0]
        n_outputs = self._n_outputs()
        if "offset" not in data.arrays:
            data = data.with_arrays(offset=predict_offsets(
                self.blend_model_, _rows(docs, data.arrays["row"]), n_outputs))
        if val_data is not None:
            val_docs = docs if X_val is None else documents(self._codec, self, X_val,
                                                            self._blend_kind)[0]
            val_rows = _rows(val_docs, val_data.arrays["row"])
            val_data = val_data.with_arrays(
                offset=predict_offsets(self.blend_model_, val_rows, n_outputs),
                **({} if getattr(self, "_rival", None) is None else
                   {"rival": predict_offsets(self._rival, val_rows, n_outputs)}))
        if fresh and X_val is None:  # predictions: the models refitted on the validation rows too
            rows = np.concatenate([data.arrays["row"], val_data.arrays["row"]])
            targets = [np.concatenate(pair) for pair in zip(self._blend_targets(data),
                                                             self._blend_targets(val_data),
                                                             strict=True)]
            self.blend_model_ = refit(self.blend_model_, _rows(docs, rows), *targets)
            if self._rival is not None:
                self._rival = refit(self._rival, _rows(docs, rows), *targets)
        return data, val_data

    def _fit_blend(self, docs, kind, data):
        """Fit the linear model (and boosting, its rival on numeric rows) on ``docs``, ``data``'s rows.

        Returns ``data`` with the out-of-fold offsets; sets ``blend_model_``,
        ``_blend_kind``, ``_rival`` and ``_empty_offset`` (the outputs for a
        text of unknown tokens: word dropout's whole document reads as no text).
        """
        targets, classification = self._blend_targets(data), is_classifier(self)
        seed = int(self._rng.integers(2**31 - 1))  # the folds of both models
        fitted = fit_linear(kind, docs, *targets, classification, self._n_outputs(), seed)
        if fitted is None:
            return data
        self.blend_model_, out_of_fold = fitted
        self._blend_kind = kind
        if kind == "numeric":  # what the network must beat: boosting, if better out of fold
            self._rival = boosting_if_better(self.blend_model_, docs, *targets, out_of_fold,
                                             classification, self._n_outputs(), seed)
        self._empty_offset = None if kind == "numeric" else predict_offsets(
            self.blend_model_, [""], self._n_outputs())[0]
        return data.with_arrays(offset=out_of_fold)

    def _after_training(self, val_data):
        """Keep the network beside the linear model only if it helps by ``NETWORK_T`` standard errors.

        Per validation row, the loss of the linear model alone (the offsets)
        minus the loss with the network (0/1 loss, or squared error: what the
        validation score of early stopping counts); unless their mean exceeds
        ``NETWORK_T`` (3) standard errors, the head is set to zero, so
        predictions are the linear model's. Early stopping has already chosen
        the epoch on these rows, which flatters the network, hence three
        standard errors where the one-standard-error rule of model selection
        (Breiman et al. 1984) takes one: both lean to the simpler model when
        the data cannot tell them apart. On numeric rows where gradient
        boosting beat the linear model out of fold
        (:func:`~sktransformer._wide.boosting_if_better`), the network (still
        the linear model's residual) must beat boosting alone by that margin,
        or boosting alone stands in ``blend_model_``.
        """
        rival, self._rival = getattr(self, "_rival", None), None  # not kept in the fitted model
        if getattr(self, "blend_model_", None) is None or val_data is None:
            return
        if "offset" not in val_data.arrays or len(val_data) < 2:
            return
        classic = val_data.arrays["offset" if rival is None else "rival"]  # the best one alone
        if clearly_better(self._validation_outputs(self.params_, val_data), classic,
                          *self._blend_targets(val_data), is_classifier(self), t=NETWORK_T):
            return
        self.params_ = {**self.params_, "head": tree_map(np.zeros_like, self.params_["head"])}
        if rival is not None:  # gradient boosting alone
            self.blend_model_ = rival

    def _blend_offsets(self, X, rows=None):
        """(N, n_outputs) outputs of ``blend_model_`` for raw ``X`` (its ``rows``), as offsets."""
        docs = documents(self._codec, self, X, self._blend_kind)[0]
        if rows is not None:
            docs = _rows(docs, rows)
        return predict_offsets(self.blend_model_, docs, self._n_outputs())

    def _blend_targets(self, data):
        """(targets, sample weights) of ``data`` as the linear model fits them."""
        target = data.arrays["target"]
        weight = data.arrays.get("weight")
        return (target if is_classifier(self) else target.astype(np.float64),
                np.ones(len(target)) if weight is None else weight.astype(np.float64))

    def _ngram_order(self, data, config):
        """``max_ngram``, or for "auto" what a linear probe on the training rows finds pays.

        Sets ``ngram_probe_``: the probe's (share of the single tokens'
        error n-grams remove, standard errors), or None where it did not run
        or found no evidence (:func:`~sktransformer._probe.probe_gain`).
        """
        self.ngram_probe_ = None
        if isinstance(self.max_ngram, bool | np.bool_):  # an int to scikit-learn's validation
            raise ValueError(f"max_ngram must be an int in [1, 8] or 'auto', not {self.max_ngram!r}:"
                             " pass 4 to embed 2-4-grams, 1 for tokens only.")
        if config.input_kind != "tokens":
            return 1
        if self.max_ngram != "auto":
            return int(self.max_ngram)
        self.ngram_probe_ = probe_gain(data.inputs.X, data.arrays["target"], AUTO_MAX_NGRAM,
                                       config.input_size, classification=is_classifier(self))
        return AUTO_MAX_NGRAM if pays(self.ngram_probe_) else 1

    def _attention_init(self):
        # Mimetic: measured on a query-order task, 0.996 against 0.50 (memorised) with glorot.
        return "mimetic"

    # ------------------------------------------------------------ the loss

    def _loss(self, params, batch, rng):
        """The subclass's loss (``_output_loss``) of a minibatch's head outputs (dropout on)."""
        return self._output_loss(self._outputs(params, self.config_, batch["inputs"], rng)
                                 + batch.get("offset", 0.0), batch)

    def _with_word_dropout(self, loss):
        """Word dropout on the tokens, and its expected loss when it takes a whole document.

        ``word_dropout = r``: each token becomes the unknown token with
        probability ``r`` (:meth:`_word_dropper`), and each document is, with
        probability ``r``, replaced by unknown tokens as a whole. A document
        of unknown tokens is the same input whatever it replaced, so that part
        is computed exactly, in expectation, instead of sampled: one such
        document per minibatch (as long as a row of it, drawn at random) is
        scored against every row's target, weighted ``r`` against ``1 - r``.
        Its training target is thus the minibatch's mean target (class shares,
        mean value), without the label noise of a few sampled documents, and
        a text of words never seen in fit gets about the class prior.
        """
        tokens_dropped = super()._with_word_dropout(loss)
        if tokens_dropped is loss:
            return loss
        rate = DTYPE(self.word_dropout)

        def dropped(params, batch, rng):
            tokens = tokens_dropped(params, batch, rng)
            inputs = batch["inputs"]
            unknown = self._outputs(params, self.config_, unknown_document(inputs, rng))  # as predicted
            if "offset" in batch:  # the linear model's outputs for a text with no known word
                unknown = unknown + self._empty_offset
            every_row = np.zeros(len(inputs), int)  # (N, n_outputs): the one document's, per row
            return (1 - rate) * tokens + rate * self._output_loss(unknown[every_row], batch)

        return dropped

    # ------------------------------------------------------------ the network

    def _outputs(self, params, config, inputs, rng=None):
        """Head outputs (N, n_outputs) for model-ready inputs (documents in windows: of their mean)."""
        if isinstance(inputs, PooledFeatures):  # the head alone trains on cached vectors
            return head_logits(params, config, inputs.X)
        features = pooled_features(params, config, inputs.X, inputs.mask, rng,
                                   token_types=inputs.token_types,  # sentence pairs of a checkpoint
                                   states=inputs.states, first_layer=inputs.first_layer)
        return head_logits(params, config, per_document(inputs, features))

    def _predict_outputs(self, X):
        """Head outputs of raw ``X``, batch-invariantly (plus the linear model's, ``linear_blend``)."""
        outputs = self._map_batches(self._outputs, self._inputs(X))
        if getattr(self, "blend_model_", None) is None:
            return outputs
        return outputs + self._blend_offsets(X)

    def _validation_outputs(self, params, data):
        """Head outputs of validation ``data`` (plus its offsets, ``linear_blend``)."""
        return self._map_batches(self._outputs, data.inputs, params) + data.arrays.get("offset", 0.0)

    def _map_batches(self, fn, inputs, params=None, **options):
        """As the base's; head outputs (``fn`` is ``_outputs``) of documents in windows as well.

        Each window is a row of its own; the rows of a document are combined
        (:func:`~sktransformer._windows.per_document`) before the head, so a
        document's outputs depend on its windows alone.
        """
        if not is_windowed(inputs):
            return super()._map_batches(fn, inputs, params, **options)
        if fn != self._outputs:
            raise NotImplementedError("Only head outputs are computed for documents in windows.")
        pooled = self._document_vectors(inputs, params)
        return super()._map_batches(lambda params, config, chunk: head_logits(params, config, chunk.X),
                                    Inputs(pooled), params)

    def _document_vectors(self, inputs, params=None):
        """(N, D) pooled vectors, one per document (its windows' combined), batch-invariantly."""

        def features(params, config, chunk):
            return pooled_features(params, config, chunk.X, chunk.mask,
                                   token_types=chunk.token_types, states=chunk.states,
                                   first_layer=chunk.first_layer)

        return per_document(inputs, super()._map_batches(features, rows_of(inputs), params))

    def _attention_inputs(self, X):
        """A checkpoint's long text shows its first window (with the truncation warning)."""
        if hasattr(self._codec, "attention_inputs"):
            return self._codec.attention_inputs(self, X)
        return super()._attention_inputs(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def _rows(docs, index):
    """The documents (a float array or a list of strings) at ``index``."""
    return docs[index] if isinstance(docs, np.ndarray) else [docs[i] for i in index]
