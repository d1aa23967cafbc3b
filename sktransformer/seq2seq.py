"""TransformerSeq2Seq: the encoder-decoder Transformer of the original paper, for sequence transduction."""

import warnings
from dataclasses import replace
from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._atomic import atomic
from ._base import TrainingData, _BaseTransformer
from ._inputs import Inputs, check_labels
from ._model import DTYPE, decode, encode, init_decoder, init_params, new_cache
from ._primitives import log_softmax, softmax_cross_entropy
from ._sequences import (
    _warn_fractional,
    holds_text,
    numpy_integers,
    read_token_lists,
    refuse_foreign_tokens,
    texts_in_rows,
    warn_unknown_tokens,
    whole_floats_as_ids,
)
from ._text import analyze
from ._vocabulary import (
    PAD_ID,
    PairVocabulary,
    build_vocabulary,
)

# ------------------------------------------------------------ search (pure)


def greedy_search(step, n_samples, vocab, max_steps):
    """Most probable next token at every step, for a batch; returns (columns, total log-prob) per sample.

    ``step(last_ids (N, 1)) -> log-probabilities (N, n_outputs)`` advances
    the decoder by one token (it keeps its own key/value cache).
    """
    bos, eos_column = vocab.bos, vocab.eos_column
    outputs = [[] for _ in range(n_samples)]
    scores = np.zeros(n_samples)
    done = np.zeros(n_samples, bool)
    last = np.full((n_samples, 1), bos)
    for t in range(max_steps + 1):
        log_p = step(last)
        best = log_p.argmax(axis=1) if t < max_steps else np.full(n_samples, eos_column)  # out of room
        scores += np.where(done, 0.0, log_p[np.arange(n_samples), best])
        for i in np.flatnonzero(~done & (best != eos_column)):
            outputs[i].append(int(best[i]))
        done |= best == eos_column
        if done.all():
            break
        last = vocab.id_of_column(best)[:, None]
    return outputs, scores


def beam_search(step, reorder, vocab, beam_width, max_steps):
    """Keep the ``beam_width`` most probable prefixes of one sample; returns (columns, total log-prob).

    ``step`` is as in :func:`greedy_search` for a batch of beams;
    ``reorder(index)`` makes the decoder's cache follow the surviving beams.
    Finished hypotheses (ended by <eos>) compete on total log-probability.
    """
    bos, eos_column = vocab.bos, vocab.eos_column
    beams = [([], 0.0)]
    finished = []
    last = np.array([[bos]])
    for t in range(max_steps + 1):
        log_p = step(last)  # (n_beams, n_outputs)
        totals = np.array([score for _, score in beams])[:, None] + log_p
        if t == max_steps:  # out of room: only ending is allowed
            for b, (prefix, _) in enumerate(beams):
                finished.append((prefix, float(totals[b, eos_column])))
            break
        order = np.argsort(totals, axis=None)[::-1]
        next_beams, parents = [], []
        for flat in order:
            b, column = divmod(int(flat), log_p.shape[1])
            if column == eos_column:
                finished.append((beams[b][0], float(totals[b, column])))
            else:
                next_beams.append((beams[b][0] + [column], float(totals[b, column])))
                parents.append(b)
            if len(next_beams) == beam_width:
                break
        best_finished = max((s for _, s in finished), default=-np.inf)
        if not next_beams or best_finished >= next_beams[0][1]:
            break  # no open prefix can still beat the best finished one: scores only fall
        beams = next_beams
        reorder(np.array(parents))
        last = vocab.id_of_column([[prefix[-1]] for prefix, _ in beams])
    return max(finished, key=lambda f: f[1])


class TransformerSeq2Seq(_BaseTransformer):
    """Encoder-decoder Transformer for sequence-to-sequence tasks (translation, transduction).

    The encoder reads the source sequence with self-attention and produces
    the keys and values that every decoder layer attends to
    (cross-attention); the decoder reads what it has produced so far under
    a causal mask and gives probabilities over the target vocabulary for
    the next token. Training uses teacher forcing (the decoder reads the
    true previous tokens); ``predict`` decodes greedily or with beam search,
    one token at a time with cached keys and values.

    Parameters
    ----------
    d_model, n_heads, n_layers, d_ff, dropout, positional_encoding, norm_first, activation
        The architecture, as in :class:`TransformerClassifier`; encoder and
        decoder have ``n_layers`` layers each.
    max_len : int, default=128
        Sources and targets longer than this are cut to it.
    analyzer : {"word", "char"} or callable, default="word"
        How source strings are split into tokens.
    target_analyzer : {"word", "char"} or callable or None, default=None
        How target strings are split (``None``: like ``analyzer``). Output
        strings are joined without separator for characters, with spaces
        otherwise; with ``"word"``, a run of tokens that a training target
        held as one chunk without spaces is written as that chunk
        (``"B-PER"``, ``"U.S."``, ``"hello,"``, not ``"B - PER"``), so a
        model fitted on a 1-D array of string labels predicts those labels.
    beam_width : int, default=1
        1 decodes greedily; more keeps that many hypotheses (beam search),
        and the result is never less probable under the model than greedy's.
    max_output_len : int or None, default=None
        Longest output of ``predict``; ``None`` is ``max_len``.
    attention_dropout, batch_size, learning_rate_init, learning_rate, warmup_fraction, \
label_smoothing, alpha, max_grad_norm, max_iter, early_stopping, \
validation_fraction, n_iter_no_change, tol, random_state, verbose, warm_start, blas_threads
        Training, as in :class:`TransformerClassifier`. The validation
        score (early stopping) is teacher-forced token accuracy.

    Attributes
    ----------
    source_vocabulary_, target_vocabulary_ : dict
        Token -> id of each side.
    params_, config_, loss_curve_, validation_scores_, best_loss_, n_iter_, t_
        As in :class:`TransformerClassifier`.

    Examples
    --------
    >>> from sktransformer import TransformerSeq2Seq
    >>> X = ["a b c", "b c", "c a b", "a a"] * 8
    >>> y = ["c b a", "c b", "b a c", "a a"] * 8
    >>> model = TransformerSeq2Seq(d_model=32, n_heads=2, n_layers=1, max_iter=40,
    ...                            learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> model.predict(["a b c", "c a b"]).tolist()
    ['c b a', 'b a c']
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in _BaseTransformer._parameter_constraints.items()
           if k not in ("pooling", "input_type")},
        "analyzer": [StrOptions({"word", "char"}), callable],
        "target_analyzer": [StrOptions({"word", "char"}), callable, None],
        "beam_width": [Interval(Integral, 1, None, closed="left")],
        "max_output_len": [Interval(Integral, 1, None, closed="left"), None],
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
        analyzer="word",
        target_analyzer=None,
        beam_width=1,
        max_output_len=None,
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
        self.target_analyzer = target_analyzer
        self.beam_width = beam_width
        self.max_output_len = max_output_len
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

    # ------------------------------------------------------------ reading

    def _sources(self, X, reset, name="X"):
        _warn_fractional(X, name)
        if not reset:  # a model fitted on an id matrix: say to pass ids, not to pass an array
            refuse_foreign_tokens([], self._codec.source.vocabulary, name, text=holds_text(X))
        sources = read_token_lists(self, X, reset, self._fitted_param("analyzer"), lowercase=False)
        if not reset:
            refuse_foreign_tokens(sources, self._codec.source.vocabulary, name)
        return sources

    def _target_rows(self, y, name, reset=False):
        """One target per sample, as given: a string, a token list or a label.

        A pandas Series or DataFrame is read by its values (never its column
        names); a 2-D array with one column of strings is one text per row,
        as in ``X``, and any other 2-D array one token list per row (an
        integer id matrix without its padding 0).
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires {name} to be passed, but the target "
                             f"{name} is None.")
        y = numpy_integers(y, name)  # a frame of pandas' nullable integers: the same ids
        if hasattr(y, "iloc"):
            y = y.to_numpy()
        if isinstance(y, str | dict | set) or not hasattr(y, "__len__") or getattr(y, "ndim", 1) == 0:
            raise TypeError(f"{name} must be a list of target sequences (strings or token lists).")
        check_labels(y, name)  # a missing target, or strings, labels and token lists mixed
        if not isinstance(y, np.ndarray):  # one-cell rows of texts: as fit read its targets
            return list(texts_in_rows(y, None if reset else self._codec.target_is_text))
        _warn_fractional(y, name)
        if y.ndim > 2:
            raise ValueError(f"{name} must be one target per sample: a list of strings or token lists, or "
                             f"a 2-D array with one row per sample, got a {y.ndim}-D array.")
        if y.ndim == 2 and y.shape[1] == 1 and any(isinstance(v, str) for v in y[:, 0]):
            return y[:, 0].tolist()  # a column of texts
        if y.ndim == 2:
            y = whole_floats_as_ids(y)  # ids that went through floats: 0 is padding as for ints
        if y.ndim == 2 and y.dtype.kind in "iu":
            return [[t for t in row if t != PAD_ID] for row in y.tolist()]  # an id matrix
        return y.tolist()

    def _targets(self, y, reset, name="y"):
        """``y`` as :meth:`_target_rows` gives it, and as token lists (a label is a 1-token sequence)."""
        rows = self._target_rows(y, name, reset)
        analyzer = self._fitted_param("target_analyzer") or self._fitted_param("analyzer")
        targets = [analyze(t if isinstance(t, str | list | tuple | np.ndarray) else [t], analyzer,
                           False, i) for i, t in enumerate(rows)]
        if not reset:
            refuse_foreign_tokens(targets, self._codec.target.vocabulary, name)
        return rows, targets

    def _source_inputs(self, token_lists):
        """Source ids, each sequence cut to max_len - 1 tokens and ended by an end marker.

        The marker gives even an empty source one real position, so the
        decoder's cross-attention always has something to read.
        """
        end, max_len = self._codec.source.end, self._fitted_param("max_len")
        cut = sum(len(t) > max_len - 1 for t in token_lists)
        if cut:
            warnings.warn(
                f"{cut} of {len(token_lists)} sequences in X are longer than max_len - 1 = "
                f"{max_len - 1} tokens (one position holds the end marker) and were cut to their "
                "first tokens. Raise max_len to keep them whole.", UserWarning, stacklevel=5)
        width = min(max_len, max(len(t) for t in token_lists) + 1)
        ids = self._codec.source.id_matrix([t[: width - 1] for t in token_lists], width)
        lengths = np.minimum([len(t) for t in token_lists], width - 1)
        ids[np.arange(len(ids)), lengths] = end
        return Inputs(ids, ids != PAD_ID)

    def _teacher_forcing(self, target_lists):
        """Decoder inputs [<bos>, y_1..y_n] and targets [y_1..y_n, <eos>] (output columns; -1 = none)."""
        vocab = self._codec.target
        encoded = [vocab.encode(t[: self.max_len]) for t in target_lists]
        width = max(len(e) for e in encoded) - 1
        inputs = np.zeros((len(encoded), width), np.int32)
        targets = np.full((len(encoded), width), -1, np.int64)
        for i, e in enumerate(encoded):
            inputs[i, : len(e) - 1] = e[:-1]
            targets[i, : len(e) - 1] = vocab.output_index(e[1:])
        return inputs, targets

    def _training_data(self, X, y, reset, what):
        sources = self._sources(X, reset, what)
        rows, targets = self._targets(y, reset, "y_val" if what == "X_val" else "y")
        check_consistent_length(sources, targets)
        return sources, rows, targets

    # ------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Learn to map each source sequence in ``X`` to its target sequence in ``y``.

        Parameters
        ----------
        X : list of str, list of token lists, or 2-D array of tokens
            Source sequences.
        y : list of str, list of token lists, pandas Series or 2-D array
            Target sequences, read like ``X``: a one-column DataFrame or
            ``(n, 1)`` array of strings is one text per row; any other 2-D
            array (or DataFrame) one token list per row, an integer one an
            id matrix with ``0`` as padding. A 1-D array of numbers (or
            booleans) is read as one-token targets, and ``predict`` then
            returns one label per sample; strings are texts, split and
            joined again (a string label the analyzer splits, "B-PER",
            comes back as written, see ``target_analyzer``).
        X_val, y_val : optional
            Validation pairs, scored every epoch (teacher-forced token accuracy).

        Returns
        -------
        self : TransformerSeq2Seq

        Raises
        ------
        ValueError
            If ``d_model`` is not divisible by ``n_heads``, or ``X``, ``y``
            (or ``X_val``, ``y_val``) cannot be read, e.g. ``y`` has missing
            targets or more than 2 dimensions; the message names the problem.
        TypeError
            If ``y`` is not a collection of targets, or ``X_val`` or
            ``y_val`` (with ``warm_start=True``, ``X`` or ``y`` too) holds
            text where the model is fitted on token ids.
        """
        return self._fit_template(X, y, None, X_val, y_val)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def partial_fit(self, X, y):
        """One epoch over the pairs ``(X, y)``, from the current model (or a new one).

        The first call fixes both vocabularies: tokens first seen later are unknown.

        Parameters
        ----------
        X, y : as in :meth:`fit`

        Returns
        -------
        self : TransformerSeq2Seq

        Raises
        ------
        ValueError, TypeError
            As in :meth:`fit`; also a ``TypeError`` if ``X`` or ``y`` holds
            text where the model was fitted on token ids.
        """
        return self._fit_template(X, y, None, partial=True)

    def _new_codec(self, X):
        return None, None  # both vocabularies are learned by _read

    def _read(self, X, y, sample_weight, *, fitting, classes, what):
        """Source ids and teacher-forcing arrays of the pairs (a fresh fit learns the vocabularies)."""
        sources, rows, targets = self._training_data(X, y, fitting, what)
        too_long = sum(len(t) > self.max_len for t in targets)
        if too_long and what == "X":
            warnings.warn(
                f"{too_long} target sequences are longer than max_len={self.max_len}; the model "
                "learns only their first max_len tokens (score compares whole targets).",
                UserWarning, stacklevel=4,
            )
        if not fitting and what == "X":
            warn_unknown_tokens(sources, self._codec.source.vocabulary)
            warn_unknown_tokens(targets, self._codec.target.vocabulary, "y")
        if fitting:
            target_tokens = build_vocabulary(targets, argument="y")
            self._codec = PairVocabulary(
                build_vocabulary(sources), target_tokens,
                target_is_text=all(isinstance(t, str) for t in rows),
                target_is_scalar=not any(isinstance(t, str | list | tuple | np.ndarray) for t in rows))
            if self._codec.target_is_text:
                self._codec.target.learn_forms(
                    rows, self._fitted_param("target_analyzer") or self._fitted_param("analyzer"),
                    targets)
        return self._pairs(sources, targets)

    def _pooling(self):
        return "mean"

    def _init_model(self, data, rng, source):
        """Encoder and decoder; the decoder reads <bos> + up to max_len target tokens (max_len + 1)."""
        vocab = self._codec
        config = replace(self._model_config("tokens", vocab.target.n_ids, vocab.target.n_outputs),
                         max_len=self.max_len + 1)
        source_config = replace(config, input_size=vocab.source.n_ids, n_outputs=0,
                                max_len=self.max_len)
        config = replace(config, source=source_config)  # the network is (config_, params_)
        return config, {"source": init_params(source_config, rng),
                        "target": init_decoder(config, rng, cross=True)}

    def _pairs(self, sources, targets):
        decoder_inputs, decoder_targets = self._teacher_forcing(targets)
        return TrainingData(self._source_inputs(sources), decoder_input=decoder_inputs,
                            target=decoder_targets)

    # ------------------------------------------------------------ the model

    def _memory(self, params, config, source, rng=None):
        """Encoder output (N, S, D) and its mask: what the decoder's cross-attention reads."""
        return encode(params["source"], config.source, source.X, source.mask, rng)

    def _teacher_forced_logits(self, params, config, batch, rng=None):
        memory, memory_mask = self._memory(params, config, batch["inputs"], rng)
        decoder_input = batch["decoder_input"]
        width = int(np.flatnonzero((decoder_input != PAD_ID).any(axis=0)).max()) + 1
        decoder_input = decoder_input[:, :width]
        logits = decode(params["target"], config, decoder_input, decoder_input != PAD_ID, rng,
                        memory=memory, memory_mask=memory_mask)
        return logits, batch["target"][:, :width]

    def _loss(self, params, batch, rng):
        """Mean cross-entropy of each target token given the source and the true previous tokens."""
        logits, target = self._teacher_forced_logits(params, self.config_, batch, rng)
        rows, cols = np.nonzero(target >= 0)
        total = softmax_cross_entropy(logits[rows, cols], target[rows, cols],
                                      np.ones(len(rows), DTYPE), self.label_smoothing)
        return total / DTYPE(max(len(rows), 1))

    def _validation_score(self, params, data):
        """Teacher-forced token accuracy on the validation pairs."""

        def counts(params, config, chunk, index):  # (n, 2): right tokens and scored tokens per pair
            batch = {"inputs": chunk, **{k: v[index] for k, v in data.arrays.items()}}
            logits, target = self._teacher_forced_logits(params, config, batch)
            scored = target >= 0
            return np.stack([((logits.argmax(axis=-1) == target) & scored).sum(axis=1),
                             scored.sum(axis=1)], axis=1)

        logits_per_pair = data.arrays["decoder_input"].shape[1] * self.config_.n_outputs
        summed = self._map_batches(counts, data.inputs, params, pass_index=True,
                                   floats_per_sample=lambda width: logits_per_pair).sum(axis=0)
        return float(summed[0] / max(summed[1], 1))

    # ------------------------------------------------------------ decoding

    def _decode_batch(self, params, config, source, beam_width, max_steps):
        """Output columns and log-probabilities for a batch of sources."""
        vocab = self._codec.target
        memory, memory_mask = self._memory(params, config, source)
        if self._codec.target_is_scalar:  # one label per sample: the most probable first token
            first = decode(params["target"], config, np.full((len(source), 1), vocab.bos),
                           memory=memory, memory_mask=memory_mask)
            log_p = log_softmax(first[:, -1].astype(np.float64))
            log_p[:, vocab.eos_column] = -np.inf
            best = log_p.argmax(axis=1)
            return [[int(c)] for c in best], log_p[np.arange(len(best)), best]
        if beam_width == 1:
            state = {"cache": new_cache(config), "offset": 0}

            def step(last):
                logits = decode(params["target"], config, last, memory=memory,
                                memory_mask=memory_mask, cache=state["cache"], offset=state["offset"])
                state["offset"] += 1
                return log_softmax(logits[:, -1].astype(np.float64))

            return greedy_search(step, len(source), vocab, max_steps)
        outputs, scores = [], []
        for i in range(len(source)):
            greedy = self._decode_batch(params, config, source.take([i]), 1, max_steps)
            best = self._beam(params, config, memory[i : i + 1],
                              None if memory_mask is None else memory_mask[i : i + 1],
                              beam_width, max_steps)
            if greedy[1][0] > best[1]:  # beam search pruned the greedy path and did worse: keep it
                best = (greedy[0][0], greedy[1][0])
            outputs.append(best[0])
            scores.append(best[1])
        return outputs, np.array(scores)

    def _beam(self, params, config, memory, memory_mask, beam_width, max_steps):
        """Beam search for one source; its memory (batch of 1) broadcasts over the beams."""
        vocab = self._codec.target
        state = {"cache": new_cache(config), "offset": 0}

        def step(last):
            logits = decode(params["target"], config, last, memory=memory, memory_mask=memory_mask,
                            cache=state["cache"], offset=state["offset"])
            state["offset"] += 1
            return log_softmax(logits[:, -1].astype(np.float64))

        def reorder(parents):  # self-attention caches follow the surviving beams
            for layer in state["cache"]:
                layer["self"]["K"] = layer["self"]["K"][parents]
                layer["self"]["V"] = layer["self"]["V"][parents]

        return beam_search(step, reorder, vocab, beam_width, max_steps)

    def _predict_columns(self, X, beam_width=None):
        check_is_fitted(self)
        self._check_inference_params(beam_width=beam_width)
        beam_width = self.beam_width if beam_width is None else beam_width
        max_len = self.config_.source.max_len
        max_steps = self.max_output_len if self.max_output_len is not None else max_len
        if self.config_.positional_encoding == "learned" and max_steps > max_len:
            raise ValueError(
                f"max_output_len={max_steps} exceeds max_len={max_len}: with learned "
                "positions the decoder has no position beyond max_len. Raise max_len and refit, "
                "or use positional_encoding='sinusoidal'."
            )
        source = self._source_inputs(self._sources(X, reset=False))

        def decode_chunk(params, config, chunk):  # (n, 2) objects: output columns, log-probability
            columns, scores = self._decode_batch(params, config, chunk, beam_width, max_steps)
            out = np.empty((len(columns), 2), dtype=object)
            for i, (c, score) in enumerate(zip(columns, scores, strict=True)):
                out[i, 0], out[i, 1] = c, float(score)
            return out

        decoded = self._map_batches(decode_chunk, source)
        return list(decoded[:, 0]), decoded[:, 1].astype(np.float64)

    def _as_output(self, columns):
        vocab = self._codec.target
        tokens = [[vocab.token(c) for c in seq] for seq in columns]
        if self._codec.target_is_scalar:
            return np.array([t[0] for t in tokens])
        if not self._codec.target_is_text:
            return tokens
        analyzer = self._fitted_param("target_analyzer") or self._fitted_param("analyzer")
        return np.array([vocab.join(t, analyzer) for t in tokens], dtype=object)

    def predict(self, X):
        """Output sequence for each source sequence.

        Parameters
        ----------
        X : list of str, list of token lists, or 2-D array of tokens

        Returns
        -------
        y : ndarray of str (object dtype) if ``fit`` got strings, else list of token lists

        Raises
        ------
        TypeError
            If ``X`` holds text but the model was fitted on token ids.
        """
        return self._as_output(self._predict_columns(X)[0])

    def predict_log_proba_of_output(self, X, beam_width=None):
        """Model log-probability (nats) of each predicted output sequence, <eos> included.

        Parameters
        ----------
        X : source sequences
        beam_width : int or None, default=None
            Overrides the estimator's ``beam_width`` for this call.

        Returns
        -------
        log_proba : ndarray of shape (n_samples,)

        Raises
        ------
        TypeError
            If ``X`` holds text but the model was fitted on token ids.
        """
        return self._predict_columns(X, beam_width)[1]

    def score(self, X, y):
        """Exact-sequence accuracy: the share of outputs equal to their target token for token.

        Parameters
        ----------
        X : source sequences
        y : target sequences, as in :meth:`fit`

        Returns
        -------
        accuracy : float

        Raises
        ------
        ValueError, TypeError
            If ``y`` cannot be read (as in :meth:`fit`), or ``X`` or ``y``
            holds text where the model was fitted on token ids (TypeError).
        """
        predicted, reference = self._compare(X, y)
        return float(np.mean([p == r for p, r in zip(predicted, reference, strict=True)]))

    def token_accuracy(self, X, y):
        """Share of target positions where the predicted output has the right token.

        Positions are compared index by index up to the longer of the two
        sequences, so a missing or extra token counts as wrong. With no
        position at all (every output and every target empty) it is 1.0,
        as :meth:`score` is.

        Parameters
        ----------
        X : source sequences
        y : target sequences, as in :meth:`fit`

        Returns
        -------
        accuracy : float

        Raises
        ------
        ValueError, TypeError
            If ``y`` cannot be read (as in :meth:`fit`), or ``X`` or ``y``
            holds text where the model was fitted on token ids (TypeError).
        """
        predicted, reference = self._compare(X, y)
        right = total = 0
        for p, r in zip(predicted, reference, strict=True):
            n = max(len(p), len(r))
            right += sum(1 for i in range(min(len(p), len(r))) if p[i] == r[i])
            total += n
        return right / total if total else 1.0

    def _compare(self, X, y):
        check_is_fitted(self)
        columns, _ = self._predict_columns(X)
        vocab = self._codec.target
        predicted = [[vocab.token(c) for c in seq] for seq in columns]
        _, reference = self._targets(y, reset=False)
        check_consistent_length(predicted, reference)
        return predicted, [list(r) for r in reference]

    def _max_width(self, inputs):
        return self.config_.source.max_len  # inference chunks hold sources

    def _attention_inputs(self, X):
        """Source ids and tokens: :meth:`attention_weights` shows the encoder's self-attention."""
        check_is_fitted(self)
        sources = [t[: self.config_.source.max_len - 1] for t in self._sources(X, reset=False)]
        return self._source_inputs(sources), [list(t) + ["<eos>"] for t in sources]

    def _attention_forward(self, params, config, inputs, cache):
        _, mask = encode(params["source"], config.source, inputs.X, inputs.mask, cache=cache)
        return mask

    @property
    def source_vocabulary_(self):
        """Source token -> id."""
        check_is_fitted(self)
        return self._codec.source.vocabulary

    @property
    def target_vocabulary_(self):
        """Target token -> id."""
        check_is_fitted(self)
        return self._codec.target.vocabulary

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

