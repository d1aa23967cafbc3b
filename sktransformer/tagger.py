"""TransformerTagger: one label per token, from the encoder's output at every position."""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._atomic import atomic
from ._base import TrainingData, _BaseTransformer
from ._inputs import (
    check_label_type,
    check_token_weights,
    check_weights,
    is_ragged,
    per_token_labels,
    per_word_labels,
    real_positions,
)
from ._model import DTYPE, encode, head_logits
from ._primitives import log_softmax, softmax_cross_entropy
from ._supervised import _PooledEncoderModel
from .classifier import TransformerClassifier


class TransformerTagger(_PooledEncoderModel):
    """Transformer encoder tagger: a softmax over classes at every position, trained with autograd.

    The classifier's network without pooling: a linear layer turns each
    position's output vector into class scores, so a token's label comes from
    attention over its whole sequence (as BERT tags named entities). ``y``
    holds one label per position of each sequence of ``X``: per token of text
    (split by the word analyzer: ``"12 May, 2024"`` is 4 tokens; pass token
    lists to label your own) or of token lists, per column of an id matrix
    (or up to the row's last non-zero id), per step of series, per feature of
    numeric rows. Labels at padding are ignored; sequences cut at ``max_len``
    lose their labels with them (with a warning).

    With a checkpoint's ``encoder`` (a path, or an encoder loaded by
    :meth:`TransformerEncoder.from_pretrained`), ``X`` holds sentences as
    word lists and ``y`` one label per word, as in Hugging Face's token
    classification: each word is tokenized on its own, as
    ``tokenizer(words, is_split_into_words=True)`` tokenizes it (a byte-level
    BPE, RoBERTa's, with a space before every word: ``add_prefix_space=True``);
    a word's label goes to its first sub-word token, the other sub-words and
    the special tokens carry none, and outputs are read there, one per word.
    A text is split into words and symbols first (not lowercased: the
    tokenizer normalises). A sentence longer than ``max_len`` tokens is read
    in overlapping windows, each word in the window where it has the most
    context (:mod:`sktransformer._words`): no word is dropped. Sentence
    pairs are refused.

    Parameters
    ----------
    d_model, n_heads, n_layers, d_ff, dropout, attention_dropout, positional_encoding, \
norm_first, activation, max_len, input_type, batch_size, learning_rate_init, learning_rate, \
warmup_fraction, label_smoothing, alpha, max_grad_norm, max_iter, early_stopping, \
validation_fraction, n_iter_no_change, tol, random_state, verbose, warm_start, blas_threads, \
encoder
        As in :class:`TransformerClassifier`; no ``pooling``. Validation scores
        are token accuracies (the split is not stratified; with a checkpoint it
        is drawn over windows, so a long sentence's windows may fall on both
        sides). An ``encoder``
        pretrained with ``pooling="cls"`` keeps its [CLS] position, untagged.
        There is no ``long_documents``: a checkpoint's sentence longer than
        ``max_len`` tokens is read in windows, each word in one.
    max_ngram : int, default=1
        As in :class:`TransformerClassifier`, without ``"auto"`` (whose probe
        predicts a label per sequence).
    word_dropout : float, default=0.1
        As in :class:`TransformerClassifier`, token by token only: each
        training token is read as the unknown token with this probability
        (its label stays), so a word never seen in ``fit`` is tagged from
        its context.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Token labels.
    params_, config_, loss_curve_, validation_scores_, best_loss_, best_validation_score_, \
n_iter_, t_, n_features_in_, max_ngram_, ngram_probe_
        As in :class:`TransformerClassifier`.

    Examples
    --------
    >>> from sktransformer import TransformerTagger
    >>> X = [["12", "may", "2024"], ["may", "12", "2024"], ["2024", "12", "may"]] * 20
    >>> y = [["D", "M", "Y"], ["M", "D", "Y"], ["Y", "D", "M"]] * 20
    >>> tagger = TransformerTagger(d_model=16, n_heads=2, n_layers=1, max_iter=30,
    ...                            random_state=0).fit(X, y)
    >>> tagger.predict([["2024", "12", "may"]])[0].tolist()
    ['Y', 'D', 'M']
    """

    _reads_pairs = False  # it labels the tokens of one text: a checkpoint's family refuses pairs
    _labels_tokens = True  # a list of one-token rows is token lists to label, not a text column

    _parameter_constraints: dict = {
        **{k: v for k, v in _PooledEncoderModel._parameter_constraints.items()
           if k not in ("pooling", "long_documents", "trainable_layers", "linear_probe")},
        "max_ngram": [Interval(Integral, 1, 8, closed="both")],
    }

    def __init__(self, d_model=64, n_heads=4, n_layers=2, d_ff=None, dropout=0.1,
                 attention_dropout=0.0, positional_encoding="sinusoidal", max_ngram=1,
                 norm_first=True, activation="gelu", max_len=512, input_type="auto",
                 batch_size="auto", learning_rate_init="auto", learning_rate="auto",
                 warmup_fraction="auto", label_smoothing=0.0, alpha=0.01, max_grad_norm=1.0,
                 max_iter="auto", early_stopping="auto", validation_fraction=0.1,
                 n_iter_no_change=20, tol=5e-3, random_state=None, verbose=0, warm_start=False,
                 blas_threads=1, encoder=None, word_dropout=0.1):
        self.d_model, self.n_heads, self.n_layers, self.d_ff = d_model, n_heads, n_layers, d_ff
        self.dropout, self.attention_dropout = dropout, attention_dropout
        self.positional_encoding, self.max_ngram = positional_encoding, max_ngram
        self.norm_first, self.activation, self.max_len = norm_first, activation, max_len
        self.input_type, self.batch_size, self.learning_rate = input_type, batch_size, learning_rate
        self.learning_rate_init, self.warmup_fraction = learning_rate_init, warmup_fraction
        self.label_smoothing, self.alpha, self.max_grad_norm = label_smoothing, alpha, max_grad_norm
        self.max_iter, self.early_stopping, self.tol = max_iter, early_stopping, tol
        self.validation_fraction, self.n_iter_no_change = validation_fraction, n_iter_no_change
        self.random_state, self.verbose, self.warm_start = random_state, verbose, warm_start
        self.blas_threads, self.encoder = blas_threads, encoder
        self.word_dropout = word_dropout

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the tagger.

        Parameters
        ----------
        X : list of str or of token lists, array of token ids or features, or series
            With a checkpoint's ``encoder``: a list of sentences, each a list
            of words (str) or a text (split into words and symbols).
        y : list of label sequences, or array-like of shape (n_samples, seq_len)
            One label per position of each sequence of ``X`` (see the class
            docstring); with a checkpoint, one label per word of each sentence.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sequence weights, given to each of its tokens (words).
        X_val, y_val : optional
            Validation data, scored (token accuracy) every epoch.

        Returns
        -------
        self : TransformerTagger

        Raises
        ------
        ValueError
            If labels are not one per position (naming the sequence and both
            lengths; with a checkpoint, one per word, naming the sample), there
            are fewer than 2 classes, ``X`` cannot be read, or (checkpoint) a
            word is missing or gives the tokenizer no token (naming the sample
            and the word).
        TypeError
            With a checkpoint: for sentence pairs (a tuple of two strings), or
            a word that is not a string.
        """
        return self._fit_template(X, y, sample_weight, X_val, y_val)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, from the current model (or a new one).

        Parameters
        ----------
        X, y, sample_weight : as in :meth:`fit`
        classes : array-like of shape (n_classes,), default=None
            Every label there will be; needed on the first call unless its ``y`` has them all.

        Returns
        -------
        self : TransformerTagger
        """
        return self._fit_template(X, y, sample_weight, partial=True, classes=classes)

    # the classifier's label checks, classes_ and head width, for the labels of real tokens
    _encode_labels, _n_outputs = TransformerClassifier._encode_targets, TransformerClassifier._n_outputs

    def _reads_words(self):
        """Whether ``X`` holds sentences as words, each labelled at its first sub-word (a checkpoint)."""
        return hasattr(self._codec, "read_words")

    def _validation_data(self, X_val, y_val):
        """Explicit validation data, refused when it holds no word or token to score."""
        data = super()._validation_data(X_val, y_val)
        if data is not None and not (data.arrays["target"] >= 0).any():
            raise ValueError("X_val holds no word or token (every sentence is empty), so the "
                             "token accuracy on it is undefined: pass sentences with words, or "
                             "no X_val and y_val.")
        return data

    def _read(self, X, y, sample_weight, *, fitting, classes, what):
        if self._reads_words():
            return self._read_words(X, y, sample_weight, fitting=fitting, classes=classes, what=what)
        inputs = self._codec.read(self, X, fitting, what, training=True)
        labels, real = per_token_labels(self, X, y, inputs, "y" if what == "X" else "y_val")
        target = np.full(real.shape, -1, np.int32)  # -1: padding, nothing to predict
        target[real] = self._encode_labels(labels, fitting=fitting, classes=classes, what=what)["target"]
        if what != "X":
            return TrainingData(inputs, target=target)
        weight = check_token_weights(check_weights(sample_weight, inputs.X), real)
        return TrainingData(inputs, target=target, weight=weight.astype(DTYPE))

    def _read_words(self, X, y, sample_weight, *, fitting, classes, what):
        """Training rows of sentences given as words: a word's label at its first sub-word token.

        Rows are windows (one per sentence that fits in ``max_len``); each
        row has its sentence's weight.
        """
        inputs = self._codec.read_words(self, X)
        labels = per_word_labels(self, y, inputs.words_mask, "y" if what == "X" else "y_val")
        target = np.full(inputs.X.shape, -1, np.int32)  # -1: other sub-words, special tokens, padding
        real = inputs.words_mask
        target[inputs.word_row[real], inputs.word_col[real]] = self._encode_labels(
            labels, fitting=fitting, classes=classes, what=what)["target"]
        if what != "X":
            return TrainingData(inputs, target=target)
        weight = check_token_weights(check_weights(sample_weight, real), real)[inputs.sentence]
        return TrainingData(inputs, target=target, weight=weight.astype(DTYPE))

    def _pooling(self):
        return "mean"  # unused: no [CLS] position of its own, every output is a token's

    def _outputs(self, params, config, inputs, rng=None):
        """Class scores (N, T, n_classes) at every position."""
        h, _ = encode(params, config, inputs.X, inputs.mask, rng)
        return head_logits(params, config, h[:, 1:] if config.pooling == "cls" else h)

    # token by token: a whole document of unknown tokens has no one target
    _with_word_dropout = _BaseTransformer._with_word_dropout

    def _loss(self, params, batch, rng):
        """Mean token cross-entropy, each token weighted by its sequence's weight (dropout on)."""
        inputs, target = batch["inputs"], batch["target"]
        rows, cols = np.nonzero(target[:, : inputs.X.shape[1]] >= 0)
        weight = batch["weight"][rows]
        logits = self._outputs(params, self.config_, inputs, rng)[rows, cols]
        total = softmax_cross_entropy(logits, target[rows, cols], weight, self.label_smoothing)
        return total / DTYPE(max(float(weight.sum()), 1e-12))

    def _logits(self, inputs, params=None):
        """(N, T, n_classes) scores of model-ready inputs, batch-invariantly."""
        return self._map_batches(self._outputs, inputs, params, width_axes=(1,),
                                 floats_per_sample=lambda width: width * len(self.classes_))

    def _class_targets(self, data):
        return data.arrays["target"]

    def _validation_score(self, params, data):
        """Token accuracy on the validation data."""
        predicted = self._logits(data.inputs, params).argmax(axis=2)
        # a split's rows lose the trailing padding no row of it fills; the targets keep their width
        target = data.arrays["target"][:, : predicted.shape[1]]
        return float(np.mean(predicted[target >= 0] == target[target >= 0]))

    def _proba(self, X):
        """Model inputs, (N, T, n_classes) probabilities, 0 at padding (T: array X's width), and
        their (N, T) real positions; for sentences given as words, T is their words."""
        check_is_fitted(self)
        if self._reads_words():
            inputs = self._codec.read_words(self, X)
            proba = np.exp(log_softmax(self._logits(inputs).astype(np.float64)))
            return inputs, inputs.at_words(proba), inputs.words_mask
        inputs = self._inputs(X)
        proba = np.exp(log_softmax(self._logits(inputs).astype(np.float64)))
        proba = proba * real_positions(inputs)[:, :, None]
        extra = 0 if is_ragged(self, X) else np.shape(X)[1] - proba.shape[1]  # NaN-padded steps
        return inputs, np.pad(proba, [(0, 0), (0, extra), (0, 0)]), real_positions(inputs)

    def _per_sequence(self, X, real, values):
        """For ragged ``X``, each sequence's real positions of ``values`` in a list; else ``values``."""
        lengths = real.sum(axis=1)
        ragged = self._reads_words() or is_ragged(self, X)
        return [v[:n] for v, n in zip(values, lengths, strict=True)] if ragged else values

    def _attention_inputs(self, X):
        """Sentences given as words show their first window's sub-word tokens; else as the base."""
        if self._reads_words():
            return self._codec.read_words(self, X).first_windows()
        return super()._attention_inputs(X)

    def predict_proba(self, X):
        """Class probabilities of every token, columns in the order of ``classes_``.

        Parameters
        ----------
        X : as in :meth:`fit`

        Returns
        -------
        proba : list of ndarray of shape (n_tokens_i, n_classes), or ndarray \
of shape (n_samples, seq_len, n_classes)
            A list for sequences in a list (``max_len`` rows for a sequence cut
            there); an array for an array ``X``, with rows of 0 at padding.
            With a checkpoint: one array of shape (n_words_i, n_classes) per
            sentence, each word's row read at its first sub-word token.
        """
        _, proba, real = self._proba(X)
        return self._per_sequence(X, real, proba)

    def predict(self, X):
        """The most probable label of every token.

        Parameters
        ----------
        X : as in :meth:`fit`

        Returns
        -------
        y : list of ndarray of shape (n_tokens_i,), or ndarray of shape (n_samples, seq_len)
            As in :meth:`predict_proba` (with a checkpoint, (n_words_i,): the
            shape of ``y``); ``classes_[0]`` at padding.
        """
        _, proba, real = self._proba(X)
        return self._per_sequence(X, real, self.classes_[proba.argmax(axis=2)])

    def score(self, X, y, sample_weight=None):
        """Token accuracy: the (weighted) share of real tokens (a checkpoint's: words) labelled right.

        Parameters
        ----------
        X, y : as in :meth:`fit`; labels unseen in fit count as wrong
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sequence weights, given to each of its tokens.

        Returns
        -------
        score : float
        """
        inputs, proba, real = self._proba(X)
        if self._reads_words():
            labels = per_word_labels(self, y, real)
        else:
            labels, real = per_token_labels(self, X, y, inputs, "y")
        if not real.any():
            raise ValueError("X holds no word or token (every sentence is empty), so its token "
                             "accuracy is undefined: score sentences with words.")
        truth = check_label_type(labels, self.classes_)
        weight = (check_token_weights(check_weights(sample_weight, real), real)[:, None] * real)[real]
        predicted = self.classes_[proba[:, : real.shape[1]].argmax(axis=2)][real]
        return float(np.average(predicted == truth, weights=weight))
