"""Checkpoints of other libraries: BERT-family and RoBERTa encoders, GPT-2 and Llama-family decoders.

A checkpoint is a directory in the Hugging Face layout, read from disk only
(never the network):

- ``config.json``: the architecture (``model_type`` and sizes);
- ``model.safetensors``: the weights (a pickle-based ``pytorch_model.bin`` is
  refused: loading it can run code);
- ``tokenizer.json``: the tokenizer, read with the ``tokenizers`` library.

Supported ``model_type``: ``"bert"`` (BERT, MiniLM and other BERT-shaped
models with absolute positions), ``"distilbert"``, ``"roberta"`` and
``"xlm-roberta"`` (positions from ``pad_token_id + 1``, one token type,
byte-level BPE or SentencePiece Unigram tokenizers) into
:class:`~sktransformer.TransformerEncoder`; ``"gpt2"``, ``"llama"``,
``"qwen2"`` and ``"mistral"`` into
:class:`~sktransformer.TransformerLanguageModel`. The weights go into the
package's own network, with the options of :class:`~sktransformer._model.ModelConfig`
that these checkpoints need (layer-norm epsilon, exact GELU, segment
embeddings, embedding layer norm, no sqrt(d_model) embedding scale, tied
output embeddings; for the Llama family RMSNorm, SwiGLU, rotary positions
with the checkpoint's base, grouped-query attention); there is no second
model. Options the network does not model (rotary scaling, a sliding window
shorter than ``max_len``, biases Llama's config switches on, ...) are
refused with a ``ValueError`` naming them (see
:mod:`sktransformer._checkpoints.llama`).

Weights stored as float16, bfloat16 or float64 are cast to float32; integer
and 8-bit (quantized) weights are refused. The three files must agree: a
config.json size that is not the stored tensor's, more layers stored than
config.json gives, or a tokenizer with more ids than the token embedding has
rows is refused with a ``ValueError``. Embedding rows past the tokenizer's
ids (checkpoints pad the table, e.g. to a multiple of 64) have no token and
are dropped at load, so the model's inputs and outputs are the tokenizer's
ids only: ``generate`` never picks such a row, and ``predict_proba`` has one
column per tokenizer id.

Each ``model_type`` is one module of :mod:`sktransformer._checkpoints` and
one entry of its ``FAMILIES`` table; this module reads the files, builds the
estimator and holds the input family of checkpoint text.

The tokenizer helpers here also serve :class:`~sktransformer.SequenceVectorizer`
(``analyzer="bpe"`` / ``"wordpiece"`` / ``tokenizer=``).
"""

import numbers
import os
import warnings

import numpy as np
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints

from ._checkpoints import check_weights, family_of, n_token_ids, read_checkpoint
from ._families import InputFamily
from ._model import ModelConfig
from ._recipe import FINE_TUNING
from ._runtime import make_rng
from ._sequences import _check_sequences, is_missing
from ._text import words
from ._vocabulary import N_RESERVED, Vocabulary
from ._windows import LONG_DOCUMENTS, document_windows, pair_inputs, split_document
from ._words import word_inputs

# Set by the checkpoint, refused as from_pretrained arguments
_ARCHITECTURE = ("d_model", "n_heads", "n_layers", "d_ff", "norm_first", "activation",
                 "positional_encoding", "input_type")

_KINDS = ("a list of strings, or of sentence pairs (text_a, text_b): tuples of two strings, or a "
          "two-column DataFrame")


def _refuse_not_text(estimator, detail=""):
    raise TypeError(f"{type(estimator).__name__} loaded from a checkpoint reads text: pass {_KINDS} "
                    f"(its tokenizer splits them){detail}")


def _sample_list(estimator, X):
    """``X`` as a checked list of samples: a column of texts, two columns of pairs, or a 1-D array."""
    if (hasattr(X, "iloc") or isinstance(X, np.ndarray)) and getattr(X, "ndim", 0) == 2:
        values = np.asarray(X, dtype=object)
        if any(not isinstance(v, str) and not is_missing(v) for v in values.ravel()):
            _refuse_not_text(estimator, ".")
        if values.shape[1] not in (1, 2):
            raise ValueError(f"{type(estimator).__name__} loaded from a checkpoint reads one column "
                             "of texts, or two of sentence pairs (text_a, text_b), but X has "
                             f"{values.shape[1]} columns: select one or two.")
        X = list(values[:, 0]) if values.shape[1] == 1 else [tuple(row) for row in values]
    elif (hasattr(X, "iloc") or isinstance(X, np.ndarray)) and getattr(X, "ndim", 0) == 1:
        X = list(X)
    _check_sequences(X)
    if isinstance(X, np.ndarray) and X.ndim != 1:
        _refuse_not_text(estimator, ".")
    return X


def _is_pair(estimator, i, x):
    """False for a text, True for a pair of texts (none missing); anything else is refused."""
    if isinstance(x, str):
        return False
    if isinstance(x, list | tuple | np.ndarray) and len(x) == 2 and all(
            isinstance(t, str) or is_missing(t) for t in x):
        if any(is_missing(t) for t in x):
            raise ValueError(f"Sentence pair {i} of X has a missing text (None, NaN or NA); fill "
                             'missing texts first, e.g. with "".')
        return True
    _refuse_not_text(estimator, f"; sample {i} of X is a {type(x).__name__}"
                     + (f" of {len(x)} items." if hasattr(x, "__len__") else "."))


def _check_kind(estimator, pairs):
    """Refuse the kind (texts or pairs) the estimator was not fitted on, and pairs for the tagger."""
    name = type(estimator).__name__
    fitted = getattr(estimator, "_fitted_on_pairs", None)
    if fitted is not None and fitted != pairs:
        kind = {True: "sentence pairs (text_a, text_b)", False: "single texts"}
        raise ValueError(f"{name} was fitted on {kind[fitted]}, but X holds {kind[pairs]}: "
                         f"pass {kind[fitted]}, as in fit.")
    if pairs and not getattr(estimator, "_reads_pairs", True):
        raise TypeError(f"{name} labels the tokens of one text; sentence pairs are read by "
                        "TransformerEncoder, TransformerClassifier and TransformerRegressor. "
                        "Pass a sentence's words as a list (a tuple of two strings is a pair).")


class TokenizerAdapter(InputFamily):
    """The input family of a checkpoint: raw text -> ``Inputs`` through its tokenizer (nothing learned).

    Ids are the tokenizer's own (the checkpoint's embedding rows past them,
    padding, are dropped at load); [MASK] is the first id past them, as in
    every family.

    ``X`` holds texts (a list of strings, a 1-D array, a Series or a
    one-column DataFrame) or sentence pairs: ``(text_a, text_b)`` tuples or
    lists of two strings, a two-column DataFrame or an (n, 2) array of
    strings. A pair is encoded as the tokenizer encodes pairs (its
    post-processor's special tokens and token types, see
    :meth:`~sktransformer._tokenizer.Tokenizer.encode_pair`); the model adds
    the token-type embedding of each position's segment. One ``X`` holds
    texts or pairs, not both; an estimator fitted on one kind (a fresh
    ``fit`` records which, ``_fitted_on_pairs``) reads only that kind.

    The tagger reads sentences given as words instead (:meth:`read_words`):
    each word tokenized on its own, read at its first sub-word token.
    """

    embedding = "tokens"
    from_checkpoint = True

    def __init__(self, tokenizer, max_len, n_ids, n_token_types=None):
        super().__init__(max_len=max_len)
        self.tokenizer = tokenizer
        self.n_ids = n_ids
        self.n_token_types = n_token_types  # the model's segment embeddings (None: not checked)
        self.fitted = True

    @property
    def input_size(self):
        return self.n_ids

    @property
    def mask_id(self):
        return self.n_ids

    @property
    def vocabulary(self):
        return self.tokenizer.vocabulary

    @property
    def special_ids(self):
        """Ids never hidden by masked-token training or scoring (as transformers' collator)."""
        return self.tokenizer.special_ids

    def read(self, estimator, X, fitting=False, what="X", training=False, long_documents=None):
        """Raw text or sentence pairs -> ``Inputs`` (the tokenizer is fixed: nothing is learned).

        A fresh fit (``fitting``) records on ``estimator`` whether it reads pairs.
        """
        if fitting:
            estimator.__dict__.pop("_fitted_on_pairs", None)
        inputs = self.transform(estimator, X, long_documents=long_documents)
        if fitting:
            estimator._fitted_on_pairs = inputs.token_types is not None
        return inputs

    def transform(self, estimator, X, reset=False, long_documents=None):
        """Texts -> ``Inputs``, or :class:`~sktransformer._windows.Windows` when a text is longer
        than ``max_len`` tokens and ``long_documents`` (else the estimator's) is not "truncate".

        Sentence pairs -> ``Inputs`` with ``token_types``, one row each: a
        pair longer than ``max_len`` is cut, longest text first, with a
        warning (:func:`~sktransformer._windows.pair_inputs`).
        """
        samples, pairs = self._samples(estimator, X)
        mode = long_documents or self.long_documents(estimator)  # validated for pairs too
        if pairs:
            encoded = [self.tokenizer.encode_pair(a, b, self.max_len) for a, b in samples]
            inputs = pair_inputs([e for e, _ in encoded], self.max_len,
                                 sum(cut for _, cut in encoded))
            highest, n_types = int(inputs.token_types.max()), getattr(self, "n_token_types", None)
            if n_types and highest >= n_types:
                raise ValueError(
                    f"The checkpoint has {n_types} token type(s) (type_vocab_size in "
                    f"config.json), but its tokenizer gives the texts of a pair type {highest}: "
                    "it cannot read sentence pairs as its tokenizer encodes them.")
            return inputs
        encodings = [self.tokenizer.encode_one(x) for x in samples]
        advice = (f" {type(estimator).__name__}(long_documents='mean') reads them whole, in "
                  "overlapping windows." if hasattr(estimator, "long_documents") else "")
        return document_windows([(e.ids, e.sequence_ids) for e in encodings], self.max_len, mode,
                                advice)

    def read_words(self, estimator, X):
        """Sentences given as words -> :class:`~sktransformer._words.Words` (the tagger's input).

        Each sample of ``X`` is a list of words (strings), tokenized as
        ``tokenizer(words, is_split_into_words=True)`` tokenizes them
        (:meth:`~sktransformer._tokenizer.Tokenizer.encode_words`), or a text,
        split first into words and symbols as the tagger splits text
        (:func:`~sktransformer._text.words`; not lowercased: the tokenizer
        normalises). A sentence longer than ``max_len`` tokens is read in
        windows, each word in one of them (:mod:`sktransformer._words`).

        Raises
        ------
        TypeError
            For a sentence pair (a tuple of two strings) or a sample that is
            neither a text nor a list of strings.
        ValueError
            For a missing word, or a word that gives no token (naming the sample and the word).
        """
        sentences = [self._words_of(estimator, i, x) for i, x in enumerate(_sample_list(estimator, X))]
        encodings = [self.tokenizer.encode_words(words) for words in sentences]
        return word_inputs(encodings, [len(words) for words in sentences], self.max_len)

    @staticmethod
    def _words_of(estimator, i, x):
        """The words of sample ``i``: a list of strings as it is, a text split into words and symbols."""
        if isinstance(x, str):
            return words(x)
        if isinstance(x, tuple) and len(x) == 2 and all(isinstance(t, str) for t in x):
            _check_kind(estimator, True)
        for j, word in enumerate(x):
            if is_missing(word):
                raise ValueError(f"Word {j} of sample {i} of X is missing (None, NaN or NA); fill "
                                 "missing words first.")
            if not isinstance(word, str):
                raise TypeError(f"{type(estimator).__name__} loaded from a checkpoint reads sentences "
                                f"as lists of words (strings) or texts; word {j} of sample {i} of X "
                                f"is a {type(word).__name__}.")
        return list(x)

    def _samples(self, estimator, X):
        """(the texts or the (text_a, text_b) pairs of ``X`` as a list, whether they are pairs).

        Refused: anything else (token lists, numbers, more columns), texts and
        pairs in one ``X``, the kind the estimator was not fitted on, and pairs
        for the tagger.
        """
        X = _sample_list(estimator, X)
        is_pair = [_is_pair(estimator, i, x) for i, x in enumerate(X)]
        pairs = is_pair[0]
        if any(p != pairs for p in is_pair):
            raise ValueError(f"X mixes single texts (e.g. sample {is_pair.index(False)}) and sentence "
                             f"pairs (e.g. sample {is_pair.index(True)}): pass one kind per call.")
        _check_kind(estimator, pairs)
        if pairs:
            return [(str(a), str(b)) for a, b in X], True
        return [str(x) for x in X], False

    @staticmethod
    def long_documents(estimator):
        """The estimator's ``long_documents``, validated; "truncate" for one without it (the tagger)."""
        if not hasattr(estimator, "long_documents"):
            return "truncate"
        validate_parameter_constraints({"long_documents": [StrOptions(set(LONG_DOCUMENTS))]},
                                       {"long_documents": estimator.long_documents},
                                       caller_name=type(estimator).__name__)
        return estimator.long_documents

    def with_max_len(self, max_len):
        """This family reading at most ``max_len`` tokens per window."""
        return TokenizerAdapter(self.tokenizer, max_len, self.n_ids,
                                getattr(self, "n_token_types", None))

    def attention_inputs(self, estimator, X):
        """(inputs, tokens) for ``attention_weights``: a long text's first window, with the warning."""
        inputs = self.transform(estimator, X, long_documents="truncate")
        return inputs, self.position_labels(estimator, X, inputs.X.shape[1])

    def position_labels(self, estimator, X, n_positions):
        """The tokenizer's tokens of each text's first window (or pair), special tokens included."""
        samples, pairs = self._samples(estimator, X)
        if pairs:
            return [self.tokenizer.encode_pair(a, b, self.max_len)[0].tokens for a, b in samples]
        labels = []
        for x in samples:
            e = self.tokenizer.encode_one(x)
            _, positions = split_document(e.ids, e.sequence_ids, self.max_len, first_only=True)[0]
            labels.append([e.tokens[p] for p in positions])
        return labels


class CheckpointVocabulary(Vocabulary):
    """A generative checkpoint's vocabulary: id = tokenizer id + ``N_RESERVED``, as in :class:`Vocabulary`.

    Ids 0 and 1 (padding and unknown) are never read, so output column ``k``
    is the tokenizer's token ``k``; every document that is scored begins with
    the beginning-of-text token ``start_id`` ("bos": Llama's ``<s>``; by
    default the end-of-text token, as in GPT-2) and ends with the end-of-text
    token ``end_id`` ("eos"). There is one output per tokenizer id (embedding
    rows past them, padding, are not outputs). A prompt to continue is read
    as the tokenizer reads a text (:meth:`encode_text`).
    """

    reads_unknown = False  # a sub-word tokenizer reads every text: no unknown id to train

    def __init__(self, tokenizer, end_id, start_id=None):
        end = end_id + N_RESERVED
        start = end if start_id is None else start_id + N_RESERVED
        super().__init__({t: i + N_RESERVED for t, i in tokenizer.vocabulary.items()},
                         aliases={"eos": end, "bos": start})
        self.tokenizer = tokenizer

    def encode_text(self, text):
        """Ids of ``text`` as ``tokenizer(text)`` gives them, its own special tokens included.

        Special tokens written in the text (``"<|endoftext|>"``) are read as
        such; GPT-2's tokenizer adds none of its own, so an empty text has
        no ids; Llama's puts ``<s>`` first.
        """
        return [i + N_RESERVED for i in self.tokenizer.encode_one(text).ids]

    def join(self, tokens, analyzer):
        """Generated tokens -> text, by the tokenizer's decoder."""
        return self.tokenizer.decode([self.vocabulary[t] - N_RESERVED for t in tokens])


# --------------------------------------------------------------- checkpoint


def _estimator_params(arch, params, estimator, positional_encoding="learned"):
    """The estimator's hyperparameters: the checkpoint's architecture, the caller's training settings.

    ``max_len`` defaults to the checkpoint's positions, or its sliding window
    where that is shorter (Mistral): our attention sees the whole context,
    which is the checkpoint's attention only while the context fits the
    window, so a longer ``max_len`` is refused.
    """
    fixed = sorted(set(params) & set(_ARCHITECTURE))
    if fixed:
        raise ValueError(f"{estimator}.from_pretrained: {', '.join(fixed)} come(s) from the checkpoint "
                         "and cannot be set.")
    if isinstance(params.get("max_len"), bool | np.bool_):  # an int to scikit-learn's validation
        raise ValueError(f"{estimator}.from_pretrained: max_len must be an int >= 1, not "
                         f"{params['max_len']!r}.")
    window = arch.get("window")
    max_len = params.pop("max_len", min(arch["n_positions"], window or arch["n_positions"]))
    if max_len > arch["n_positions"]:
        kind = "learned positions" if positional_encoding == "learned" else (
            f"positions ({arch['keys']['n_positions']} in config.json)")
        raise ValueError(f"max_len={max_len} is longer than the checkpoint's {arch['n_positions']} "
                         f"{kind}.")
    if window is not None and max_len > window:
        raise ValueError(f"max_len={max_len} is longer than the checkpoint's sliding window "
                         f"(sliding_window={window} in config.json): its attention then skips keys "
                         f"further back, which our network does not model; use max_len <= {window}.")
    return dict(params, d_model=arch["d_model"], n_heads=arch["n_heads"], n_layers=arch["n_layers"],
                d_ff=arch["d_ff"], positional_encoding=positional_encoding, max_len=max_len,
                activation=arch["activation"] if arch["activation"] in ("relu", "swiglu") else "gelu")


def _check_given(cls, params):
    """Validate the hyperparameters given to ``cls.from_pretrained`` as ``fit`` would.

    A loaded estimator is fitted, so a value refused only at the next ``fit``
    (``max_len=0``, ``batch_size=0``, ...) would otherwise reach inference.
    """
    constraints = {k: cls._parameter_constraints[k] for k in params
                   if k in cls._parameter_constraints and k != "pooling"}  # pooling: load_encoder's
    validate_parameter_constraints(constraints, {k: params[k] for k in constraints},
                                   caller_name=f"{cls.__name__}.from_pretrained")


def _model_config(arch, estimator, **options):
    """Our network's configuration for a checkpoint's sizes; ``options`` are the family's own.

    Learned positions: ``max_len`` is the table's length; rotary ones: the
    estimator's ``max_len`` (the context read, within any sliding window).
    """
    settings = dict(input_kind="tokens", d_model=arch["d_model"], n_heads=arch["n_heads"],
                    n_layers=arch["n_layers"], d_ff=arch["d_ff"], dropout=float(estimator.dropout),
                    positional_encoding="learned", activation=arch["activation"],
                    max_len=arch["n_positions"], layer_norm_eps=arch["eps"], scale_embedding=False)
    settings.update(options)
    if settings["positional_encoding"] == "rotary":
        settings["max_len"] = estimator.max_len
    return ModelConfig(**settings)


def load_encoder(cls, path, params):
    """A fitted ``cls`` (TransformerEncoder) holding an encoder checkpoint (BERT, RoBERTa, ...).

    Parameters
    ----------
    cls : type
    path : str or path-like
        The checkpoint directory.
    params : dict
        The parameters given to ``from_pretrained``.

    Returns
    -------
    estimator : cls

    Raises
    ------
    FileNotFoundError
        If the directory or one of its three files is missing.
    ValueError
        If the model type or an option is unsupported, or the files disagree (``_check_weights``).
    TypeError
        If a weight is stored as integers or 8-bit floats (quantized).
    """
    config, tensors, tokenizer = read_checkpoint(path)
    _, family = family_of(config, "encoder", cls.__name__)
    arch = family.architecture(config)
    arch["tokens"] = check_weights(family, arch, tensors, tokenizer)
    _check_given(cls, params)
    params = {**FINE_TUNING, "warm_start": True, **params}  # fit continues from the checkpoint's weights
    options = family.options(arch)
    estimator = cls(**_estimator_params(arch, params, cls.__name__), norm_first=options["norm_first"])
    pooling = _POOLING.get(estimator.pooling) if isinstance(estimator.pooling, str) else None
    if pooling is None:
        raise ValueError(f"{cls.__name__}.from_pretrained: pooling={estimator.pooling!r} is not one "
                         "of 'mean', 'cls' (the [CLS] token's vector) or 'pooler' (BERT's pooler "
                         "layer, where the checkpoint stores one).")
    head = family.mlm_head(arch, tensors) if family.mlm_head is not None else None
    model_config = _model_config(arch, estimator, input_size=arch["tokens"] + 1, pooling=pooling,
                                 mlm_activation=head and head["activation"], **options)
    rng = make_rng(estimator.random_state)
    tree = _add_masked_training(family.params(arch, tensors), tokenizer, head, family.mask_token)
    if pooling == "pooler":
        tree["pooler"] = _pooler(family, arch, tensors)
    estimator._target_mean = estimator._target_scale = None
    estimator._codec = TokenizerAdapter(tokenizer, estimator.max_len, arch["tokens"],
                                        arch.get("n_token_types", 0))
    estimator._initialize(model_config, tree, rng)
    _remember_checkpoint(estimator, path)
    return estimator


def _remember_checkpoint(estimator, path, fixed=_ARCHITECTURE):
    """Record where ``estimator`` was loaded from, so scikit-learn's ``clone`` loads it again.

    ``clone`` (what ``GridSearchCV`` and ``cross_val_score`` do to every
    estimator and its ``encoder``) rebuilds an estimator from its
    hyperparameters: a loaded checkpoint's would give a network of its sizes
    with random weights. ``fixed`` are the hyperparameters the checkpoint
    sets (``from_pretrained`` refuses them); their values now are kept to
    tell whether the architecture was changed after loading.
    """
    path, params = os.path.abspath(path), estimator.get_params(deep=False)
    estimator._checkpoint = {"path": path, "stamp": _file_stamp(path),
                             "fixed": {name: params[name] for name in fixed if name in params}}


def _file_stamp(path):
    """(size, modification time) of a checkpoint's weights, or None if they are gone."""
    try:
        stat = os.stat(os.path.join(path, "model.safetensors"))
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def reload_checkpoint(estimator, plain):
    """``estimator``'s clone: its checkpoint loaded again with ``plain``'s hyperparameters.

    ``plain`` is scikit-learn's clone (unfitted; hyperparameters cloned, its
    output settings and metadata requests copied), returned as it is where
    the architecture changed since loading, or the checkpoint's file is
    gone or changed (with a warning).
    """
    record = estimator._checkpoint
    path, fixed = record["path"], record["fixed"]
    if any(getattr(estimator, name) is not value and getattr(estimator, name) != value
           for name, value in fixed.items()):
        return plain
    if _file_stamp(path) != record["stamp"]:
        warnings.warn(
            f"clone of {type(estimator).__name__}: its checkpoint {path} is gone or changed since "
            "it was loaded, so the clone is not loaded again: it is an unfitted model of the "
            "checkpoint's architecture (random weights until fit). Keep the directory, or wrap the "
            "model in sklearn.frozen.FrozenEstimator.", UserWarning, stacklevel=3)
        return plain
    params = {k: v for k, v in plain.get_params(deep=False).items() if k not in fixed}
    loaded = type(estimator).from_pretrained(path, **params)
    for attribute in ("_sklearn_output_config", "_metadata_request"):  # as scikit-learn's clone
        if attribute in plain.__dict__:
            setattr(loaded, attribute, plain.__dict__[attribute])
    return loaded


# An encoder's pooling -> the network's: the checkpoint's own [CLS] token is the first one
_POOLING = {"mean": "mean", "cls": "first", "pooler": "pooler"}


def _pooler(family, arch, tensors):
    """The family's pooler layer (BERT's ``pooler.dense``), or refused where the checkpoint has none."""
    layer = family.pooler(arch, tensors) if family.pooler is not None else None
    if layer is None:
        reason = family.pooler_absent if family.pooler is None else (
            "saved without it, e.g. by BertModel(add_pooling_layer=False) or a model for "
            "masked-token training")
        raise ValueError(f"pooling='pooler' reads BERT's pooler layer (pooler.dense), which this "
                         f"checkpoint does not store ({reason}): use pooling='cls' (the [CLS] "
                         "token's last hidden state) or 'mean'.")
    return layer


def _add_masked_training(tree, tokenizer, head=None, mask_token="[MASK]"):
    """The tree with the [MASK] embedding row and the masked-token head (over the other ids).

    The [MASK] row comes after the tokenizer's ids (rows past them, padding,
    are dropped before), so it is the last id, as in ``fit``; it starts as
    the vector of the tokenizer's own ``mask_token`` (BERT's "[MASK]",
    RoBERTa's "<mask>") where there is one. ``head`` is the checkpoint's own
    masked-token head (``family.mlm_head``); a checkpoint without one (a base
    model) gets a head tied to its word embeddings, as BERT's decoder is, with
    no bias: the same head on every load, so ``score`` is the same too.
    """
    table, mask_id = tree["embed"]["W"], tokenizer.vocabulary.get(mask_token)
    extra = table[mask_id] if mask_id is not None else table.mean(axis=0)
    if head is None:
        tree["mlm"] = {"W": table.T.copy(), "b": np.zeros(table.shape[0], table.dtype)}
    else:
        tree["mlm"], tree["mlm_transform"] = head["mlm"], head["transform"]
    tree["embed"]["W"] = np.concatenate([table, extra[None, :]])
    return tree


def _end_id(config, tokenizer):
    """The tokenizer id of the end-of-text token: config.json's eos_token_id, or <|endoftext|>."""
    end_id = config.get("eos_token_id")
    if end_id is None:
        end_id = tokenizer.vocabulary.get("<|endoftext|>")
    if end_id is None:
        raise ValueError("Checkpoint names no end-of-text token (eos_token_id in config.json, or "
                         "<|endoftext|> in tokenizer.json).")
    return _token_id("eos_token_id", end_id, tokenizer, "end-of-text")


def _start_id(arch, tokenizer):
    """The tokenizer id of the beginning-of-text token a family names (Llama's bos_token_id), or None."""
    start_id = arch.get("bos_id")
    return None if start_id is None else _token_id("bos_token_id", start_id, tokenizer,
                                                   "beginning-of-text")


def _token_id(key, value, tokenizer, what):
    """``value`` of config.json's ``key``, refused unless it is an id of the tokenizer."""
    n_ids = n_token_ids(tokenizer)
    if isinstance(value, list | tuple):  # Llama 3's several end tokens: generation stops at any
        raise ValueError(f"config.json has {key}={value!r}, a list of ids; this model reads one "
                         f"{what} token: set {key} to the one to use (the first is usual).")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < n_ids:
        raise ValueError(f"config.json has {key}={value!r}, which is not an id of "
                         f"tokenizer.json (0..{n_ids - 1}); set it to the {what} token's id.")
    return int(value)


def load_language_model(cls, path, params):
    """A fitted ``cls`` (TransformerLanguageModel) holding a GPT-2 or Llama-family checkpoint.

    Parameters, return value and errors are those of :func:`load_encoder`.
    """
    config, tensors, tokenizer = read_checkpoint(path)
    _, family = family_of(config, "decoder", cls.__name__)
    arch = family.architecture(config)
    arch["tokens"] = check_weights(family, arch, tensors, tokenizer)
    params = {**FINE_TUNING, "warm_start": True, **params}
    if "analyzer" in params:
        raise ValueError(f"{cls.__name__}.from_pretrained: the analyzer is the checkpoint's tokenizer.")
    _check_given(cls, params)
    options = family.options(arch)
    estimator = cls(**_estimator_params(arch, params, cls.__name__,
                                        options.get("positional_encoding", "learned")),
                    norm_first=options["norm_first"], analyzer=tokenizer)
    estimator._codec = CheckpointVocabulary(tokenizer, _end_id(config, tokenizer),
                                            _start_id(arch, tokenizer))
    model_config = _model_config(arch, estimator, input_size=arch["tokens"] + N_RESERVED,
                                 n_outputs=arch["tokens"], **options)
    estimator._initialize(model_config, family.params(arch, tensors), make_rng(estimator.random_state))
    _remember_checkpoint(estimator, path, _ARCHITECTURE + ("analyzer",))
    return estimator
