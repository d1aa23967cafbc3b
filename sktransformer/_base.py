"""What every sktransformer estimator shares: hyperparameters, input handling and the training loop.

The loop is layered like skorch's: ``_fit`` (copy of the state, stopping,
publishing) -> ``_epochs`` -> ``_run_epoch`` (length-bucketed, shuffled
minibatches) -> ``_step`` (one gradient step). A concrete estimator supplies:

- its own ``fit``: read ``X`` (and targets) into ``TrainingData``, build a
  model with ``_initialize`` unless continuing, then call ``_fit``;
- ``_loss(params, batch, rng)``: the scalar training loss of a minibatch;
- ``_validation_score(params, data)``: higher is better;
- for ``attention_weights``, ``_attention_inputs`` / ``_attention_forward``
  when its network is not a plain encoder.
"""

import functools
import gc
import signal
import sys
import threading
import time
import warnings
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from ._grad import value_and_grad_tree
from ._inputs import INPUT_TYPES, InputAdapter
from ._model import ModelConfig, encode, new_cache
from ._optim import AdamW, tree_copy, tree_leaves
from ._primitives import release_kept

AUTO_EARLY_STOPPING_MIN_SAMPLES = 1000  # early_stopping="auto" holds out validation data from here
PREDICT_BATCH_SIZE = 256  # sequences per forward pass at inference: bounds memory
ATTENTION_BUDGET = 2**24  # attention weights per inference chunk (64 MiB in float32)


def chunks(n, size=PREDICT_BATCH_SIZE):
    """Consecutive row indices 0..n-1 in pieces of at most ``size`` (inference and scoring)."""
    return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]


class TrainingData:
    """Inputs with aligned per-sample arrays (targets, weights), sliced together."""

    def __init__(self, inputs, **arrays):
        self.inputs = inputs
        self.arrays = arrays

    def __len__(self):
        return len(self.inputs)

    def subset(self, index):
        """A TrainingData of the rows at ``index``."""
        return TrainingData(self.inputs.take(index), **{k: v[index] for k, v in self.arrays.items()})

    def take(self, index):
        """The minibatch at ``index``: an ``Inputs`` plus the sliced arrays, as a dict."""
        batch = {k: v[index] for k, v in self.arrays.items()}
        batch["inputs"] = self.inputs.take(index)
        return batch


@functools.cache
def _threadpools():
    """One threadpoolctl controller per process: finding the BLAS libraries costs ~3 ms a call."""
    return ThreadpoolController()


_BLAS_LOCK = threading.Lock()
_blas_users = {"count": 0, "limiter": None}


@contextmanager
def _limit_blas(n_threads):
    """Limit BLAS threads while any call needs it; the first call in limits, the last out restores.

    The BLAS thread count is process-wide: with calls overlapping in several
    threads, a plain save-and-restore per call would let one call restore
    the limited value another call saved, leaving the process at 1 thread.
    """
    with _BLAS_LOCK:
        if _blas_users["count"] == 0:
            _blas_users["limiter"] = _threadpools().limit(limits=n_threads, user_api="blas")
        _blas_users["count"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_users["count"] -= 1
            if _blas_users["count"] == 0:
                _blas_users["limiter"].restore_original_limits()
                _blas_users["limiter"] = None


def make_rng(random_state):
    """A numpy Generator from ``random_state`` without touching numpy's global state."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)  # int, or None for fresh OS entropy


class TransformerModelMixin:
    """Hyperparameters, input handling and the training loop shared by all estimators."""

    _parameter_constraints: dict = {
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "d_ff": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "attention_dropout": [Interval(Real, 0, 1, closed="left")],
        "positional_encoding": [StrOptions({"sinusoidal", "learned", "rotary", "alibi"}), None],
        "pooling": [StrOptions({"mean", "cls"})],
        "norm_first": ["boolean"],
        "activation": [StrOptions({"gelu", "relu"})],
        "max_len": [Interval(Integral, 1, None, closed="left")],
        "input_type": [StrOptions(set(INPUT_TYPES))],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"constant", "linear", "cosine"})],
        "warmup_fraction": [Interval(Real, 0, 1, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
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

    # ------------------------------------------------------------ set-up

    def _blas_limit(self):
        """Limit BLAS threads for the duration of a call (one is fastest for these sizes)."""
        if self.blas_threads is None:
            return nullcontext()
        return _limit_blas(self.blas_threads)

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
            attention_dropout=float(getattr(self, "attention_dropout", 0.0)),
            positional_encoding=self.positional_encoding,
            pooling=getattr(self, "pooling", "mean"),
            norm_first=self.norm_first,
            activation=self.activation,
            max_len=self.max_len,
            n_outputs=n_outputs,
        )

    def _read_inputs(self, X, refit):
        """(adapter, inputs): a new adapter learned from ``X``, or the fitted one when continuing."""
        if not refit:
            return self._adapter, self._adapter.transform(self, X)
        adapter = InputAdapter(self.input_type, self.max_len)
        return adapter, adapter.fit_transform(self, X)

    def _initialize(self, adapter, config, params, rng):
        """Adopt a fresh model: adapter, config, parameters; reset optimizer and history."""
        self._adapter = adapter
        self._rng = rng
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

    def _split_validation(self, data, val_data, rng, stratify=None):
        """(training data, validation data or None): the explicit validation data, a split, or none."""
        if val_data is not None:
            return data, val_data
        if not self.early_stopping or (self.early_stopping == "auto"
                                       and len(data) < AUTO_EARLY_STOPPING_MIN_SAMPLES):
            return data, None
        index = np.arange(len(data))
        seed = int(rng.integers(2**31 - 1))
        try:
            train, val = train_test_split(index, test_size=self.validation_fraction,
                                          random_state=seed, stratify=stratify)
        except ValueError:  # a class too small to stratify
            train, val = train_test_split(index, test_size=self.validation_fraction,
                                          random_state=seed)
        return data.subset(train), data.subset(val)

    def _batch_size(self, n_samples):
        return min(32 if self.batch_size == "auto" else self.batch_size, n_samples)

    def _early_stopping(self, val_data):
        """Whether this fit stops on (and restores the best) validation score."""
        if self.early_stopping == "auto":
            return val_data is not None
        return bool(self.early_stopping)

    def _new_optimizer(self, params, n_samples, incremental):
        """AdamW with the learning-rate schedule spread over this fit's ``max_iter`` epochs.

        A ``partial_fit`` call is one epoch of a schedule of ``max_iter``
        epochs counted from the first call; each ``fit`` (warm start too)
        starts the schedule afresh from the optimizer's current step.
        """
        n_batches = -(-n_samples // self._batch_size(n_samples))
        optimizer = AdamW(params, self.learning_rate_init, self.alpha, self.max_grad_norm,
                          schedule=getattr(self, "learning_rate", "constant"),
                          total_steps=self.max_iter * n_batches,
                          warmup_fraction=getattr(self, "warmup_fraction", 0.0))
        if self._optimizer is not None:  # continue with the moments of earlier training
            optimizer.load_state(self._optimizer)
        if not incremental:
            optimizer.schedule_start = optimizer.t
        return optimizer

    # ------------------------------------------------------------ the loop

    def _fit(self, data, val_data=None, n_epochs=None, incremental=False):
        """Train for up to ``n_epochs`` epochs (``max_iter`` by default); early stopping, history.

        Works on a copy of the parameters and optimizer state, and writes them
        back only at the end, so an exception leaves the estimator as it was.
        """
        n_epochs = self.max_iter if n_epochs is None else n_epochs
        params = tree_copy(self.params_)
        optimizer = self._new_optimizer(params, len(data), incremental)
        early_stopping = self._early_stopping(val_data)
        history = _History.from_estimator(self)
        if val_data is not None and history.validation_scores is None:
            history.validation_scores = []
        if early_stopping and val_data is not None and history.n_iter > 0:
            # Continuing: the model as it is now is the one to beat on this validation data.
            history.best_score = self._validation_score(params, val_data)
            history.best_params = tree_copy(params)
        if self.verbose and not incremental:
            _print_header(val_data is not None)
        # autograd's tape makes many short-lived objects but no reference cycles: the cyclic
        # garbage collector only costs time here (~10% of a step, measured).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            with _stop_on_interrupt() as interrupted:
                stop_reason = self._epochs(params, optimizer, data, val_data, history, n_epochs,
                                           incremental, interrupted, early_stopping)
        finally:
            if gc_was_enabled:
                gc.enable()
        if early_stopping and history.best_params is not None:
            params = history.best_params
        # Everything succeeded: publish the new state at once.
        self.params_ = params
        self._optimizer = optimizer
        self.t_ = optimizer.t
        history.write_to(self)
        if stop_reason is None and not incremental and n_epochs == self.max_iter:
            warnings.warn(
                f"{type(self).__name__}: maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning, stacklevel=4,
            )
        return self

    def _epochs(self, params, optimizer, data, val_data, history, n_epochs, incremental,
                interrupted, early_stopping):
        """The epoch loop; returns why it stopped ("converged", "interrupted", ...) or None."""
        loss_and_grad = value_and_grad_tree(self._loss)
        for _ in range(n_epochs):
            start = time.perf_counter()
            try:
                if interrupted():
                    raise KeyboardInterrupt
                loss = self._run_epoch(params, optimizer, loss_and_grad, data, self._rng,
                                       interrupted)
            except KeyboardInterrupt:
                warnings.warn(
                    "Training interrupted (KeyboardInterrupt): keeping the model as of the last "
                    "completed step" + (", best validation parameters restored."
                                        if early_stopping else "."),
                    UserWarning, stacklevel=4,
                )
                return "interrupted"
            except _NonFiniteLoss as error:
                warnings.warn(
                    f"Training stopped: the loss became {error.args[0]} (try a lower "
                    "learning_rate_init). The parameters of the last finite step are kept.",
                    RuntimeWarning, stacklevel=4,
                )
                return "non-finite"
            history.record_epoch(loss)
            score = None if val_data is None else self._validation_score(params, val_data)
            if score is not None:
                history.validation_scores.append(score)
            improved = history.update(loss, score, self.tol, early_stopping, params)
            if self.verbose:
                _print_row(history.n_iter, loss, score, time.perf_counter() - start, improved)
            if not incremental and history.no_improvement_count > self.n_iter_no_change:
                return "converged"
        return None

    def _run_epoch(self, params, optimizer, loss_and_grad, data, rng, interrupted=lambda: False):
        """One pass over shuffled minibatches; returns the sample-weighted mean loss.

        A Ctrl-C (SIGINT) while it runs stops it after the current step, so
        the parameters are never left half-updated.
        """
        batches = minibatches(data, self._batch_size(len(data)), rng)
        total, weight = 0.0, 0.0
        with _progress(len(batches), self.verbose >= 2) as bar:
            for index in batches:
                batch = data.take(index)
                loss = self._step(params, optimizer, loss_and_grad, batch, rng)
                batch_weight = float(batch["weight"].sum()) if "weight" in batch else 1.0
                total += loss * batch_weight
                weight += batch_weight
                bar.update(loss)
                if interrupted():
                    raise KeyboardInterrupt
        return total / max(weight, 1e-12)

    def _step(self, params, optimizer, loss_and_grad, batch, rng):
        """Loss, gradients by autograd, one AdamW update (not applied if anything is not finite)."""
        loss, grads = loss_and_grad(params, batch, rng)
        loss = float(loss)
        if not np.isfinite(loss):
            raise _NonFiniteLoss(f"{loss} (loss)")
        if not optimizer.update(params, grads):
            raise _NonFiniteLoss("non-finite (gradients)")
        return loss

    # ------------------------------------------------------------ inference

    @property
    def n_parameters_(self):
        """Number of learned numbers in the model."""
        check_is_fitted(self)
        return int(sum(leaf.size for leaf in tree_leaves(self.params_)))

    def _inputs(self, X):
        """Raw X -> model inputs, checked against what fit saw."""
        return self._adapter.transform(self, X)

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

        full = self._attention_width(inputs)

        def forward(params, chunk):
            cache = new_cache(config, record=True)
            mask = self._attention_forward(params, chunk, cache)
            layers = []
            for layer in cache:
                w = layer["self"]["weights"]  # (n, H, T', T'), T' <= full after batch trimming
                if mask is not None:
                    w = w * mask[:, None, :, None]  # padding positions attend to nothing
                pad = full - w.shape[2]
                layers.append(np.pad(w, ((0, 0), (0, 0), (0, pad), (0, pad))))
            return np.stack(layers, axis=1)  # (n, L, H, T, T)

        stacked = self._map_batches(forward, inputs, batch_size=64)
        return [stacked[:, layer] for layer in range(stacked.shape[1])], tokens

    def _attention_width(self, inputs):
        return inputs.X.shape[1] + (1 if self.config_.pooling == "cls" else 0)

    def _attention_inputs(self, X):
        """Model inputs and position labels for :meth:`attention_weights` (encoder models)."""
        inputs = self._inputs(X)
        adapter, n_positions = self._adapter, inputs.X.shape[1]
        if adapter.kind == "sequences":
            tokens = [t[:n_positions] for t in adapter._analyze(X)]
        elif adapter.kind == "tokens":  # the user's ids; -1 marks an id never seen in fit
            tokens = [list(map(int, row)) for row in adapter.token_labels(inputs.X)]
        else:
            names = (list(map(str, self.feature_names_in_)) if hasattr(self, "feature_names_in_")
                     and adapter.kind == "numeric" else
                     [f"{'x' if adapter.kind == 'numeric' else 't'}{j}" for j in range(n_positions)])
            tokens = [list(names) for _ in range(len(inputs))]
        if self.config_.pooling == "cls":
            tokens = [["[CLS]"] + t for t in tokens]
        return inputs, tokens

    def _attention_forward(self, params, inputs, cache):
        """Run the encoder, recording attention into ``cache``; returns the (grown) mask."""
        _, mask = encode(params, self.config_, inputs.X, inputs.mask, cache=cache)
        return mask

    def _map_batches(self, fn, inputs, params=None, batch_size=PREDICT_BATCH_SIZE):
        """``fn(params, Inputs)`` over row chunks of ``inputs``, concatenated; no autograd tracing.

        Chunks hold at most ``batch_size`` rows and at most about
        ``ATTENTION_BUDGET`` attention weights (rows x heads x T^2), so memory
        stays bounded for long sequences too.
        """
        params = self.params_ if params is None else params
        width = inputs.X.shape[1] + 1 if inputs.X.ndim > 1 else 1
        per_row = self.config_.n_heads * width * width
        batch_size = max(1, min(batch_size, ATTENTION_BUDGET // per_row))
        with self._blas_limit():
            parts = [fn(params, inputs.take(index)) for index in chunks(len(inputs), batch_size)]
        release_kept()
        return np.concatenate(parts, axis=0)


def minibatches(data, batch_size, rng, bucket_batches=None):
    """Shuffled row indices of each minibatch of an epoch.

    With ``bucket_batches``, padded sequences are first grouped into buckets
    of that many batches (after shuffling) and sorted by length within a
    bucket, so each batch holds sequences of similar length and is trimmed
    to little padding; the batches are then shuffled again. The estimators
    do not bucket by default: measured on the language-model test corpus
    (batch 32), buckets of 32 batches trained 40% faster but raised held-out
    perplexity from 1.50 to 1.57 (buckets of 4: 28% faster, 1.53).
    """
    n = len(data)
    order = rng.permutation(n)
    mask = data.inputs.mask
    if bucket_batches and mask is not None and n > batch_size:
        lengths = mask.sum(axis=1)
        bucket = batch_size * bucket_batches
        order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")]
                                for chunk in np.split(order, range(bucket, n, bucket))])
    batches = [np.sort(order[i : i + batch_size]) for i in range(0, n, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


class _NonFiniteLoss(Exception):
    pass


class _History:
    """Loss curve, validation scores and the early-stopping counters of a fit."""

    def __init__(self, n_iter, loss_curve, validation_scores, best_loss, best_score,
                 no_improvement_count):
        self.n_iter = n_iter
        self.loss_curve = list(loss_curve)
        self.validation_scores = None if validation_scores is None else list(validation_scores)
        self.best_loss = best_loss
        self.best_score = best_score
        self.no_improvement_count = no_improvement_count
        self.best_params = None

    @classmethod
    def from_estimator(cls, est):
        return cls(est.n_iter_, est.loss_curve_, est.validation_scores_, est.best_loss_,
                   est.best_validation_score_, est._no_improvement_count)

    def record_epoch(self, loss):
        self.n_iter += 1
        self.loss_curve.append(loss)

    def update(self, loss, score, tol, early_stopping, params):
        """MLP-style stopping counters; returns True if this epoch is the best so far."""
        if early_stopping and score is not None:
            improved = self.best_score is None or score > self.best_score + tol
            if self.best_score is None or score > self.best_score:
                self.best_score = score
                self.best_params = tree_copy(params)
            self.best_loss = min(self.best_loss, loss)
        else:
            improved = loss < self.best_loss - tol
            self.best_loss = min(self.best_loss, loss)
            if score is not None:
                self.best_score = score if self.best_score is None else max(self.best_score, score)
        self.no_improvement_count = 0 if improved else self.no_improvement_count + 1
        return improved

    def write_to(self, est):
        est.n_iter_ = self.n_iter
        est.loss_curve_ = self.loss_curve
        est.validation_scores_ = self.validation_scores
        est.best_loss_ = self.best_loss
        est.best_validation_score_ = self.best_score
        est._no_improvement_count = self.no_improvement_count


_COLUMNS = ("epoch", "train_loss", "valid_score", "dur")


def _print_header(with_validation):
    names = _COLUMNS if with_validation else (_COLUMNS[0], _COLUMNS[1], _COLUMNS[3])
    line = "  ".join(f"{n:>11}" for n in names)
    print(line)
    print("  ".join("-" * 11 for _ in names))


def _print_row(epoch, loss, score, seconds, improved):
    cells = [f"{epoch:>11d}", f"{loss:>11.4f}"]
    if score is not None:
        cells.append(f"{score:>11.4f}")
    cells.append(f"{seconds:>10.2f}s")
    print("  ".join(cells) + ("  *" if improved else ""), flush=True)


@contextmanager
def _stop_on_interrupt():
    """Turn SIGINT into a flag checked between steps (main thread only; elsewhere a no-op)."""
    flag = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: flag.append(signum))
    except ValueError:  # not allowed here (e.g. an embedded interpreter)
        yield lambda: False
        return
    try:
        yield lambda: bool(flag)
    finally:
        signal.signal(signal.SIGINT, previous)


class _PlainProgress:
    """A one-line batch counter on stderr, for when tqdm is not installed."""

    def __init__(self, total):
        self.total, self.done = total, 0

    def update(self, loss):
        self.done += 1
        sys.stderr.write(f"\r  batch {self.done}/{self.total}  loss {loss:.4f}")
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class _NoProgress:
    def update(self, loss):
        pass


@contextmanager
def _progress(total, enabled):
    """A per-batch progress bar (tqdm if installed, else a plain counter) when ``enabled``."""
    if not enabled:
        yield _NoProgress()
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        yield _PlainProgress(total)
        return
    with tqdm(total=total, leave=False, unit="batch") as bar:

        class _Tqdm:
            def update(self, loss):
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                bar.update(1)

        yield _Tqdm()
