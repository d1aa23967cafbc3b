"""TransformerLanguageModel: a decoder-only (GPT-style) Transformer that predicts the next token."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._atomic import atomic
from ._base import TrainingData, _BaseTransformer
from ._inputs import Inputs, text_column
from ._model import DTYPE, decode, init_decoder, new_cache
from ._primitives import softmax_cross_entropy
from ._runtime import blas_limit, make_rng
from ._sequences import (
    _warn_fractional,
    holds_text,
    read_token_lists,
    refuse_foreign_tokens,
    refuse_number_tokens,
    warn_unknown_tokens,
)
from ._text import analyze
from ._vocabulary import PAD_ID, Vocabulary, build_vocabulary

# ------------------------------------------------------------ pure helpers


def context_windows(documents, max_len, stride):
    """Cut id sequences into model inputs of at most ``max_len`` tokens, each target scored once.

    ``documents`` are id lists that start with <bos> and end with <eos>.
    Window k of a document reads ids ``s .. s + max_len - 1`` (``s = k *
    stride``) and predicts ids ``s + 1 .. s + max_len``; a target already
    predicted by an earlier window (with less context) is not scored again.

    Returns ``(inputs, targets, document, position)``: (M, T) ids padded
    with 0; (M, T) the id to predict at each cell, or -1 where nothing is
    scored; (M,) the document of each window; (M, T) the position of each
    scored target in its document, or -1.
    """
    rows = []
    for d, ids in enumerate(documents):
        last_scored, start = 0, 0
        while True:
            window = ids[start : start + max_len + 1]
            positions = np.arange(start + 1, start + len(window))
            scored = positions > last_scored
            rows.append((d, window[:-1], np.where(scored, window[1:], -1), np.where(scored, positions, -1)))
            last_scored = positions[-1]
            if last_scored >= len(ids) - 1:
                break
            start += stride
    width = max(len(r[1]) for r in rows)
    inputs = np.zeros((len(rows), width), np.int32)
    targets = np.full((len(rows), width), -1, np.int64)
    position = np.full((len(rows), width), -1, np.int64)
    for i, (_, x, t, p) in enumerate(rows):
        inputs[i, : len(x)], targets[i, : len(t)], position[i, : len(p)] = x, t, p
    return inputs, targets, np.array([r[0] for r in rows]), position


def target_log_proba(logits, columns):
    """``log_softmax(logits)[n, t, columns[n, t]]`` where ``columns >= 0``, else 0: (N, T) from (N, T, V).

    Computed in place of ``logits`` (no second vocabulary-wide array); the
    values are bitwise those of ``_primitives.log_softmax`` at the same cells.
    ``columns`` may be narrower than ``logits``: later cells are not scored.
    """
    rows, cols = np.nonzero(columns >= 0)
    logits -= logits.max(axis=-1, keepdims=True)
    picked = logits[rows, cols, columns[rows, cols]]
    np.exp(logits, out=logits)
    out = np.zeros(logits.shape[:2], logits.dtype)
    out[rows, cols] = picked - np.log(logits.sum(axis=-1))[rows, cols]
    return out


def log_softmax_in_place(logits):
    """``_primitives.log_softmax(logits)`` bitwise, written over ``logits`` (one temporary of its size)."""
    logits -= logits.max(axis=-1, keepdims=True)
    logits -= np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return logits


def _plain(value):
    """A numpy scalar as the Python value it holds (so messages show 5, not np.int64(5))."""
    return value.item() if isinstance(value, np.generic) else value


def _finite(number):
    """True for a real number that is finite as a float (a Fraction, a huge int: False if not)."""
    try:
        return math.isfinite(float(number))
    except (OverflowError, ValueError, TypeError):
        return False


def sample_next(logits, temperature, top_k, rng):
    """Draw a token index from softmax(logits / temperature), optionally among the top k only.

    ``temperature=0`` is greedy decoding (the most probable token).
    """
    if temperature == 0:
        return int(np.argmax(logits))
    logits = logits.astype(np.float64)
    if top_k is not None and top_k < len(logits):
        cutoff = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= cutoff, logits, -np.inf)
    # Shift before dividing: the largest becomes exp(0) = 1 however small the temperature, so a
    # temperature near 0 (1e-310) is greedy among the most probable tokens, never 0/0.
    with np.errstate(over="ignore"):  # (a far-below-max logit) / 1e-310 -> -inf -> p = 0, as meant
        p = np.exp((logits - logits.max()) / float(temperature))
    return int(rng.choice(len(p), p=p / p.sum()))


class TransformerLanguageModel(_BaseTransformer):
    """Decoder-only Transformer language model (the GPT family's architecture), trained with autograd.

    Each position attends only to itself and earlier positions (a causal
    mask), and the output layer gives probabilities over the whole
    vocabulary for the next token. ``fit`` minimises next-token
    cross-entropy; ``score`` is the mean log-likelihood per token (so
    ``GridSearchCV`` can tune it without labels), ``perplexity`` its
    exponential, and ``generate`` samples a continuation one token at a
    time, reusing cached keys and values instead of recomputing the prefix.

    Parameters
    ----------
    d_model, n_heads, n_layers, d_ff, dropout, positional_encoding, norm_first, activation
        The architecture, as in :class:`TransformerClassifier`.
    max_len : int, default=128
        Context length: the model sees at most this many tokens. Longer
        documents are cut into windows for training and scored with a
        sliding context (each token predicted from up to ``max_len`` earlier
        tokens, at least ``max_len // 2``).
    analyzer : {"char", "word"} or callable, default="char"
        How strings are split into tokens (characters by default, case
        kept). Sequences given as token lists are used as they are; a 2-D
        array is read row by row, one token per cell.
    learning_rate_init : float, default=3e-3
        AdamW's base step size. Higher than the classifier's 1e-3: measured
        on about 2,400 docstring lines (``benchmarks/generative.py``), the
        character model reached a held-out perplexity of 4.10 after 40
        epochs at 3e-3 against 4.54 at 1e-3 (4.32 after 100); a word model
        peaked at the same log-likelihood (-4.65 against -4.63 nats per
        token) in 4 epochs instead of 8, and early stopping ends the fit 20
        epochs later; on 1,000 sentences of ``make_story_corpus`` the
        character model's perplexity after 15 epochs was 1.49 against 1.60.
    attention_dropout, batch_size, learning_rate, warmup_fraction, \
label_smoothing, alpha, max_grad_norm, max_iter, early_stopping, \
validation_fraction, n_iter_no_change, tol, random_state, verbose, warm_start, blas_threads
        Training, as in :class:`TransformerClassifier`; ``batch_size``
        counts windows of up to ``max_len`` tokens.

    Attributes
    ----------
    vocabulary_ : dict
        Token -> id (ids from 2; 0 is padding, 1 unknown).
    tokens_ : list
        Labels of the probability columns of :meth:`predict_proba`: the
        vocabulary's tokens in id order, then ``"<eos>"`` (end of sequence).
    params_, config_, loss_curve_, validation_scores_, best_loss_, n_iter_, t_
        As in :class:`TransformerClassifier`.

    Examples
    --------
    >>> from sktransformer import TransformerLanguageModel
    >>> text = ["abcabcabcabc", "abcabc", "cabcab"] * 10
    >>> lm = TransformerLanguageModel(d_model=16, n_heads=2, n_layers=1, max_iter=20,
    ...                               learning_rate_init=0.01, random_state=0).fit(text)
    >>> lm.generate("abcab", max_new_tokens=4, temperature=0)
    'cabc'
    >>> lm.perplexity(["abcabc"]) < 2.0
    True
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in _BaseTransformer._parameter_constraints.items()
           if k not in ("pooling", "input_type")},
        "analyzer": [StrOptions({"word", "char"}), callable],
    }

    def __init__(
        self,
        d_model=64,
        n_heads=4,
        n_layers=2,
        d_ff=None,
        dropout=0.1,
        positional_encoding="sinusoidal",
        norm_first=True,
        activation="gelu",
        max_len=128,
        analyzer="char",
        batch_size="auto",
        learning_rate_init=3e-3,
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
    ):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.d_ff = d_ff
        self.dropout = dropout
        self.positional_encoding = positional_encoding
        self.norm_first = norm_first
        self.activation = activation
        self.max_len = max_len
        self.analyzer = analyzer
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

    @classmethod
    def from_pretrained(cls, path, **params):
        """A language model holding a GPT-2, Llama, Qwen2 or Mistral checkpoint from a local directory.

        See :mod:`sktransformer.pretrained`: ``path`` holds ``config.json``,
        ``model.safetensors`` and ``tokenizer.json``; text is split and
        generated text decoded by the checkpoint's tokenizer. ``params`` are
        training settings (``max_iter``, ``learning_rate_init``, ...);
        ``warm_start`` defaults to True so ``fit`` fine-tunes the checkpoint,
        and the training settings to a checkpoint's fine-tuning recipe
        (``learning_rate_init=5e-5``, ``learning_rate="linear"``,
        ``warmup_fraction=0.1``, ``max_iter=3``; see the README).
        """
        from .pretrained import load_language_model

        return load_language_model(cls, path, params)

    def _reload_checkpoint(self, plain):
        from .pretrained import reload_checkpoint

        return reload_checkpoint(self, plain)

    # --------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y=None, *, X_val=None):
        """Learn to predict each next token of the sequences ``X``; ``y`` is ignored.

        Parameters
        ----------
        X : list of str, list of token lists, or 2-D array of tokens
        y : ignored
        X_val : optional
            Held-out sequences scored every epoch (used by early stopping).

        Returns
        -------
        self : TransformerLanguageModel

        Raises
        ------
        ValueError
            If ``d_model`` is not divisible by ``n_heads``, or ``X`` (or
            ``X_val``) cannot be read; the message names the problem.
        TypeError
            If ``X_val`` (with ``warm_start=True``, ``X`` too) holds text
            where the model is fitted on token ids.
        """
        return self._fit_template(X, None, None, X_val, None)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def partial_fit(self, X, y=None):
        """One epoch on ``X``, from the current model (or a new one, whose vocabulary ``X`` fixes).

        Parameters
        ----------
        X : list of str, list of token lists, or 2-D array of tokens
        y : ignored

        Returns
        -------
        self : TransformerLanguageModel

        Raises
        ------
        TypeError
            If ``X`` holds text but the model was fitted on token ids.
        """
        return self._fit_template(X, None, None, partial=True)

    def _new_codec(self, X):
        return None, None  # the vocabulary is learned by _read

    def _read(self, X, y, sample_weight, *, fitting, classes, what):
        """Context windows of the documents ``X`` (a fresh fit learns the vocabulary first)."""
        documents = self._token_lists(X, fitting, what)
        if fitting:
            self._codec = Vocabulary(build_vocabulary(documents), specials=("eos", "bos"))
            texts = text_column(self, X)  # the texts as read (a column's, one-cell rows' too)
            texts = texts.tolist() if hasattr(texts, "tolist") else texts  # a Series, an array
            if (isinstance(texts, list | tuple) and len(texts) == len(documents)
                    and all(isinstance(t, str) for t in texts)):  # for generate
                self._codec.learn_forms(texts, self._fitted_param("analyzer"), documents)
        elif what == "X":
            warn_unknown_tokens(documents, self._codec.vocabulary)
        return self._windows(self._codec, documents, stride=self.max_len)

    def _requires_y(self):
        return False

    def _pooling(self):
        return "mean"

    def _init_model(self, data, rng, source):
        config = self._model_config("tokens", self._codec.n_ids, self._codec.n_outputs)
        return config, init_decoder(config, rng)

    def _token_lists(self, X, reset, name="X"):
        _warn_fractional(X, name)
        if not reset:  # a model fitted on an id matrix: say to pass ids, not to pass an array
            refuse_foreign_tokens([], self._codec.vocabulary, name, text=holds_text(X))
        documents = read_token_lists(self, X, reset, self._fitted_param("analyzer"), lowercase=False)
        if not reset:
            refuse_foreign_tokens(documents, self._codec.vocabulary, name)
        return documents

    def _windows(self, vocab, documents, stride):
        """TrainingData of context windows (targets as output columns, -1 = not scored)."""
        inputs, targets, _, _ = context_windows([vocab.encode(d) for d in documents],
                                                self.max_len, stride)
        target_columns = np.where(targets >= 0, vocab.output_index(np.maximum(targets, 0)), -1)
        return TrainingData(Inputs(inputs, inputs != PAD_ID), target=target_columns)

    # ------------------------------------------------------------- the loss

    def _logits(self, params, config, inputs, rng=None):
        return decode(params, config, inputs.X, inputs.mask, rng)

    def _loss(self, params, batch, rng):
        """Mean next-token cross-entropy over the scored positions of a batch of windows."""
        inputs = batch["inputs"]
        target = batch["target"][:, : inputs.X.shape[1]]
        rows, cols = np.nonzero(target >= 0)
        logits = self._logits(params, self.config_, inputs, rng)
        total = softmax_cross_entropy(logits[rows, cols], target[rows, cols],
                                      np.ones(len(rows), DTYPE), self.label_smoothing)
        return total / DTYPE(max(len(rows), 1))

    def _validation_score(self, params, data):
        """Mean log-likelihood per token of the validation windows."""

        def totals(params, config, chunk, index):  # (n, 2): each window's log-likelihood and count
            target = data.arrays["target"][index][:, : chunk.X.shape[1]]
            rows, cols = np.nonzero(target >= 0)
            picked = target_log_proba(self._logits(params, config, chunk), target)[rows, cols]
            return np.stack([np.bincount(rows, weights=picked, minlength=len(index)),
                             np.bincount(rows, minlength=len(index))], axis=1)

        summed = self._map_windows(totals, data.inputs, params).sum(axis=0)
        return float(summed[0] / max(summed[1], 1))

    # ---------------------------------------------------------- evaluation

    def _map_windows(self, fn, inputs, params=None, width_axes=(), copies=1):
        """``fn(params, config, chunk, index)`` over windows; a chunk's budget counts ``copies`` of logits."""
        n_outputs = self._codec.n_outputs
        return self._map_batches(fn, inputs, params, width_axes=width_axes, pass_index=True,
                                 floats_per_sample=lambda width: copies * width * n_outputs)

    def _scoring_windows(self, X):
        """The documents of ``X`` as id lists, and their sliding context windows (:func:`context_windows`)."""
        check_is_fitted(self)
        documents = [self._codec.encode(d) for d in self._token_lists(X, reset=False)]
        max_len = self.config_.max_len  # as fitted, whatever set_params said since
        return documents, context_windows(documents, max_len, max(1, max_len // 2))

    def _log_likelihoods(self, X):
        """Per document: summed log-probability of its known targets (float64), their number, unknown ones."""
        documents, (inputs, targets, document, _) = self._scoring_windows(X)
        columns = np.where(targets >= 0, self._codec.output_index(np.maximum(targets, 0)), -1)

        def picked(params, config, chunk, index):  # (n, width): log p of each known target, 0 elsewhere
            return target_log_proba(self._logits(params, config, chunk),
                                    columns[index][:, : chunk.X.shape[1]])

        log_p = self._map_windows(picked, Inputs(inputs, inputs != PAD_ID), width_axes=(1,))
        owner = np.broadcast_to(document[:, None], targets.shape)  # cells in document, position order
        known, unknown = columns >= 0, (targets >= 0) & (columns < 0)
        n = len(documents)
        return (np.bincount(owner[known], weights=log_p[known].astype(np.float64), minlength=n),
                np.bincount(owner[known], minlength=n), np.bincount(owner[unknown], minlength=n))

    def _fill_proba(self, windows, rows):
        """Write each scored target's distribution into row ``position - 2`` of its document's ``rows``."""
        inputs, _, document, position = windows

        def fill(params, config, chunk, index):  # nothing vocabulary-wide outlives the chunk
            log_p = log_softmax_in_place(self._logits(params, config, chunk))
            for i, window in enumerate(index):
                cols = np.flatnonzero(position[window] >= 2)  # target 1 (after <bos> alone) has no row
                rows[document[window]][position[window, cols] - 2] = np.exp(
                    log_p[i, cols].astype(np.float64))
            return np.zeros((len(index), 0))

        self._map_windows(fill, Inputs(inputs, inputs != PAD_ID), copies=2)

    def predict_proba(self, X):
        """Next-token probabilities after every prefix of every sequence.

        Parameters
        ----------
        X : list of str, list of token lists, or 2-D array of tokens

        Returns
        -------
        proba : list of ndarray of shape (seq_len, n_outputs)
            For each sequence, row ``i`` is the distribution of the token
            that follows tokens ``0..i``; columns are labelled by
            ``tokens_`` (the vocabulary in id order, then ``"<eos>"``). For a
            2-D array input, one array of shape (n_samples, seq_len, n_outputs)
            (rows past the end of a row's tokens, e.g. after integer padding
            ``0``, are 0).

        Raises
        ------
        TypeError
            If ``X`` holds text but the model was fitted on token ids.
        """
        documents, windows = self._scoring_windows(X)
        n_outputs = self._codec.n_outputs
        if hasattr(self, "n_features_in_"):
            proba = np.zeros((len(documents), self.n_features_in_, n_outputs))
            rows = [proba[d, : len(ids) - 2] for d, ids in enumerate(documents)]
        else:
            proba = rows = [np.zeros((len(ids) - 2, n_outputs)) for ids in documents]
        self._fill_proba(windows, rows)
        return proba

    def score(self, X, y=None):
        """Mean log-likelihood per predicted token, in nats (higher is better).

        Every token of every sequence is predicted from the tokens before it
        (the first from the start of the sequence alone), and so is the end
        of each sequence. Tokens not in the vocabulary cannot be predicted:
        they are left out, with a warning giving their number, since scores
        of texts with different shares of unknown tokens are not comparable.

        Parameters
        ----------
        X : list of str, list of token lists, or 2-D array of tokens
        y : ignored

        Returns
        -------
        score : float

        Raises
        ------
        TypeError
            If ``X`` holds text but the model was fitted on token ids.
        """
        totals, counts, unknowns = self._log_likelihoods(X)
        count, unknown = int(counts.sum()), int(unknowns.sum())
        if unknown:
            warnings.warn(
                f"{unknown} of {count + unknown} tokens of X are not in the vocabulary and were "
                "left out of the score: it is the mean over the known tokens only, so it cannot be "
                "compared with the score of a text with a different share of unknown tokens.",
                UserWarning, stacklevel=2)
        return float(totals.sum()) / max(count, 1)

    def perplexity(self, X):
        """exp(-score(X)): the effective number of equally likely choices per token.

        Parameters
        ----------
        X : list of str, list of token lists, or 2-D array of tokens

        Returns
        -------
        perplexity : float
            1 for a model that is certain and right; the vocabulary size for
            one that guesses uniformly.

        Raises
        ------
        TypeError
            If ``X`` holds text but the model was fitted on token ids.
        """
        return float(np.exp(-self.score(X)))

    # ------------------------------------------------------------ generation

    def generate(self, prompt, max_new_tokens=50, temperature=1.0, top_k=None, random_state=None,
                 use_cache=True, bos="auto"):
        """Continue ``prompt`` by sampling one token at a time.

        What the model reads first depends on ``bos``. By default a model
        fitted here reads its ``<bos>`` then the prompt, as in training. A
        checkpoint (:meth:`from_pretrained`) reads the prompt as its tokenizer
        encodes it, ``tokenizer(text)`` with the tokenizer's own special
        tokens (GPT-2 adds none, Llama puts ``<s>`` first), so greedy output (``temperature=0``) is
        transformers' ``model.generate(**tokenizer(text), do_sample=False)``
        token for token; an empty prompt, which transformers cannot take as
        input ids, starts from the beginning-of-text token, as its
        ``generate()`` without inputs does (``<|endoftext|>`` for GPT-2).

        Parameters
        ----------
        prompt : str or list of tokens
            One prompt (for several, call ``generate`` once per prompt): a
            string (split with ``analyzer``; a checkpoint's tokenizer also
            reads special tokens written in it, e.g. ``"<|endoftext|>"``) or a
            token list, read as it is; may be empty. A model fitted on token
            ids takes a list of ids, not text.
        max_new_tokens : int, default=50
            At most this many tokens are generated (fewer if the model ends
            the sequence).
        temperature : float, default=1.0
            Divides the logits: lower is more conservative; 0 is greedy.
        top_k : int or None, default=None
            Sample only among the ``top_k`` most probable tokens.
        random_state : int, RandomState instance or None, default=None
            Seed of the sampling; the same seed gives the same text.
        use_cache : bool, default=True
            Reuse each layer's keys and values from earlier steps (fast);
            False recomputes the whole context at every step.
        bos : "auto", True or False, default="auto"
            Whether the beginning-of-sequence token (a checkpoint's
            ``bos_token_id``, ``<s>`` for Llama; else its end-of-text token,
            ``<|endoftext|>`` for GPT-2) is read before the
            prompt. "auto": for a model fitted here, yes; for a checkpoint,
            only before an empty prompt (otherwise the prompt is what
            ``tokenizer(text)`` gives). True: ``<bos>`` then the prompt's
            tokens (without the tokenizer's special tokens), as
            :meth:`score` and :meth:`predict_proba` read each text: the
            prompt is the start of a document, the better estimate of how
            such a document goes on when the prompt begins one (for GPT-2,
            the same as the prompt ``"<|endoftext|>" + text``). False: the
            prompt alone (as the tokenizer encodes it, for a checkpoint,
            whose tokenizer may add its own ``<s>``, as Llama's does); it
            must not come to no token at all.

        Returns
        -------
        continuation : str or list
            The generated tokens only, joined into a string for a string
            prompt (without separator for characters, with spaces for words
            except within a chunk a training text wrote without spaces, such
            as "U.S."; a checkpoint's tokenizer decodes them).

        Raises
        ------
        ValueError
            If a parameter is out of range, or the prompt gives no token
            with ``bos=False`` (there is nothing to continue).
        TypeError
            If the prompt is neither a string nor a list of tokens, holds
            text but the model was fitted on token ids, holds integers
            (token ids) but the model reads text, or holds a float or
            boolean token; or if ``use_cache`` is not a bool.

        Warns
        -----
        UserWarning
            If more than 5% of the prompt's tokens are not in the vocabulary
            (each is read as the one unknown token), or if the prompt is
            longer than ``max_len`` tokens: the model reads a window of the
            last ``max_len`` tokens, which slides as tokens are generated,
            so the prompt's start is never read.
        """
        check_is_fitted(self)
        self._check_inference_params()
        if not isinstance(max_new_tokens, Integral) or isinstance(max_new_tokens, bool) or (
                max_new_tokens < 0):
            raise ValueError("max_new_tokens must be a non-negative integer, got "
                             f"{_plain(max_new_tokens)!r}.")
        if (not isinstance(temperature, Real) or isinstance(temperature, bool | np.bool_)
                or not _finite(temperature) or temperature < 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {_plain(temperature)!r}.")
        if top_k is not None and (not isinstance(top_k, Integral) or isinstance(top_k, bool)
                                  or top_k < 1):
            raise ValueError(f"top_k must be a positive integer or None, got {_plain(top_k)!r}.")
        if not isinstance(use_cache, bool | np.bool_):
            raise TypeError(f"use_cache must be True or False, got {_plain(use_cache)!r}.")
        if not (isinstance(bos, bool | np.bool_) or (isinstance(bos, str) and bos == "auto")):
            raise ValueError(f"bos must be 'auto', True or False, got {_plain(bos)!r}.")
        is_text = isinstance(prompt, str)
        if not is_text and not isinstance(prompt, list | tuple | np.ndarray):
            raise TypeError(f"prompt must be a string or a list of tokens, got {type(prompt).__name__}.")
        if isinstance(prompt, np.ndarray) and prompt.ndim != 1:
            raise ValueError(f"prompt must be a string or a list of tokens, got a {prompt.ndim}-D array.")
        analyzer = self._fitted_param("analyzer")
        ids = self._prompt_ids(prompt, analyzer, bos)
        if len(ids) > self.config_.max_len:  # the context slides: the start is never read
            warnings.warn(
                f"prompt is {len(ids)} tokens long (with any beginning-of-sequence token), more "
                f"than the max_len={self.config_.max_len} positions the model reads: generation "
                f"reads its last {self.config_.max_len} tokens only, so its first "
                f"{len(ids) - self.config_.max_len} are dropped. Shorten the prompt.",
                UserWarning, stacklevel=2)
        rng = make_rng(random_state)
        generated = []
        with blas_limit(self.blas_threads):
            for next_index in self._sample(ids, max_new_tokens, temperature, top_k, rng, use_cache):
                generated.append(self._codec.token(next_index))
        if is_text:
            return self._codec.join(generated, analyzer)
        return generated

    def _prompt_ids(self, prompt, analyzer, bos):
        """The ids ``generate`` starts from (see its ``bos``); never empty."""
        vocab = self._codec
        own_reading = getattr(vocab, "encode_text", None)  # a checkpoint's tokenizer(text)
        auto = isinstance(bos, str)
        first = (own_reading is None) if auto else bool(bos)
        if isinstance(prompt, str) and own_reading is not None and not first:
            ids = own_reading(prompt)
        else:  # the prompt's tokens, after <bos> if first (as score reads a text)
            ids = vocab.encode(self._prompt_tokens(prompt, analyzer), bos=first, eos=False)
        if ids:
            return ids
        if not auto:
            raise ValueError("The prompt is empty and bos=False: there is nothing to continue. Pass "
                             "a prompt, or bos='auto' to start from the beginning-of-sequence token.")
        return [vocab.bos]

    def _prompt_tokens(self, prompt, analyzer):
        """The prompt's tokens: text for a model fitted on ids is refused, unknown tokens warned about."""
        if not isinstance(prompt, str):
            refuse_number_tokens([list(prompt)], table_ok=False, argument="prompt")
        tokens = analyze(prompt, analyzer, lowercase=False)
        vocabulary = self._codec.vocabulary
        refuse_foreign_tokens([tokens], vocabulary, "prompt",
                            text=isinstance(prompt, str) and not callable(analyzer))
        warn_unknown_tokens([tokens], vocabulary, "prompt")
        return tokens

    def _sample(self, ids, max_new_tokens, temperature, top_k, rng, use_cache):
        """Yield sampled output columns until <eos> or ``max_new_tokens``."""
        vocab, config = self._codec, self.config_
        ids, cache, n_cached = list(ids), None, 0
        for _ in range(max_new_tokens):
            if not use_cache or cache is None or len(ids) > config.max_len:
                context = ids[-config.max_len:]  # (re)start: the whole context at positions 0..
                cache = new_cache(config) if use_cache else None
                logits = decode(self.params_, config, np.array([context]), cache=cache)
                n_cached = len(context)
            else:  # only the newest token, at the next position, attending to the cache
                logits = decode(self.params_, config, np.array([ids[-1:]]), cache=cache,
                                offset=n_cached)
                n_cached += 1
            index = sample_next(logits[0, -1], temperature, top_k, rng)
            if vocab.is_end(index):
                return
            yield index
            ids.append(int(vocab.id_of_column(index)))

    def _attention_inputs(self, X):
        """<bos> + each sequence's first max_len - 1 tokens, and their labels."""
        check_is_fitted(self)
        documents = [d[: self.config_.max_len - 1] for d in self._token_lists(X, reset=False)]
        ids = [self._codec.encode(d, eos=False) for d in documents]
        matrix = np.zeros((len(ids), max(map(len, ids))), np.int32)
        for i, row in enumerate(ids):
            matrix[i, : len(row)] = row
        return Inputs(matrix, matrix != PAD_ID), [["<bos>"] + list(d) for d in documents]

    def _attention_forward(self, params, config, inputs, cache):
        decode(params, config, inputs.X, inputs.mask, cache=cache)
        return inputs.mask

    @property
    def vocabulary_(self):
        """Token -> id."""
        check_is_fitted(self)
        return self._codec.vocabulary

    @property
    def tokens_(self):
        """Column labels of predict_proba: tokens in id order, then "<eos>"."""
        check_is_fitted(self)
        return self._codec.output_tokens

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
