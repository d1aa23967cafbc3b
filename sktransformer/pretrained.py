"""Checkpoints of other libraries: BERT-family encoders and GPT-2, read from a local directory.

A checkpoint is a directory in the Hugging Face layout, read from disk only
(never the network):

- ``config.json``: the architecture (``model_type`` and sizes);
- ``model.safetensors``: the weights (a pickle-based ``pytorch_model.bin`` is
  refused: loading it can run code);
- ``tokenizer.json``: the tokenizer, read with the ``tokenizers`` library.

Supported ``model_type``: ``"bert"`` (BERT, MiniLM and other BERT-shaped
models with absolute positions) and ``"distilbert"`` into
:class:`~sktransformer.TransformerEncoder`; ``"gpt2"`` into
:class:`~sktransformer.TransformerLanguageModel`. The weights go into the
package's own network, with the options of :class:`~sktransformer._model.ModelConfig`
that these checkpoints need (layer-norm epsilon, exact GELU, segment
embeddings, embedding layer norm, no sqrt(d_model) embedding scale, tied
output embeddings); there is no second model.

Weights stored as float16, bfloat16 or float64 are cast to float32; integer
and 8-bit (quantized) weights are refused. The three files must agree: a
config.json size that is not the stored tensor's, more layers stored than
config.json gives, or a tokenizer with more ids than the token embedding has
rows is refused with a ``ValueError``. Embedding rows past the tokenizer's
ids (checkpoints pad the table, e.g. to a multiple of 64) have no token and
are dropped at load, so the model's inputs and outputs are the tokenizer's
ids only: ``generate`` never picks such a row, and ``predict_proba`` has one
column per tokenizer id.

The tokenizer helpers here also serve :class:`~sktransformer.SequenceVectorizer`
(``analyzer="bpe"`` / ``"wordpiece"`` / ``tokenizer=``).
"""

import json
import numbers
import pathlib

import numpy as np
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints

from ._families import InputFamily
from ._model import DTYPE, ModelConfig, init_linear
from ._runtime import make_rng
from ._sequences import _check_sequences, is_missing
from ._tokenizer import Tokenizer, _require
from ._vocabulary import N_RESERVED, Vocabulary
from ._windows import LONG_DOCUMENTS, document_windows, pair_inputs, split_document

ENCODER_TYPES = ("bert", "distilbert")
DECODER_TYPES = ("gpt2",)
_ARCHITECTURE = ("d_model", "n_heads", "n_layers", "d_ff", "norm_first", "activation",
                 "positional_encoding", "input_type")
# Hugging Face activation names -> ours ("gelu" there is the exact form, ours the tanh one)
_ACTIVATIONS = {"gelu": "gelu_erf", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "relu": "relu"}
# Checkpoint names: model prefixes, and the prefix of layer i's tensors
_PREFIXES = {"bert": ("bert.", "distilbert."), "distilbert": ("bert.", "distilbert."),
             "gpt2": ("transformer.",)}
_LAYER = {"bert": "encoder.layer.{}.", "distilbert": "transformer.layer.{}.", "gpt2": "h.{}."}
_TOKEN_TABLE = {"bert": "embeddings.word_embeddings.weight",
                "distilbert": "embeddings.word_embeddings.weight", "gpt2": "wte.weight"}
# safetensors dtypes that safetensors.numpy reads; BF16 is read here; others (F8_*, ...) are not
_NUMPY_DTYPES = {"F64", "F32", "F16", "I64", "U64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL"}


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
    if pairs:
        from .tagger import TransformerTagger

        if isinstance(estimator, TransformerTagger):
            raise TypeError(f"{name} labels the tokens of one text; sentence pairs are read by "
                            "TransformerEncoder, TransformerClassifier and TransformerRegressor.")


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
    """

    embedding = "tokens"

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
        encodings = [self.tokenizer.backend.encode(x) for x in samples]
        advice = (f" {type(estimator).__name__}(long_documents='mean') reads them whole, in "
                  "overlapping windows." if hasattr(estimator, "long_documents") else "")
        return document_windows([(e.ids, e.sequence_ids) for e in encodings], self.max_len, mode,
                                advice)

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
            e = self.tokenizer.backend.encode(x)
            _, positions = split_document(e.ids, e.sequence_ids, self.max_len, first_only=True)[0]
            labels.append([e.tokens[p] for p in positions])
        return labels


class CheckpointVocabulary(Vocabulary):
    """A generative checkpoint's vocabulary: id = tokenizer id + ``N_RESERVED``, as in :class:`Vocabulary`.

    Ids 0 and 1 (padding and unknown) are never read, so output column ``k``
    is the tokenizer's token ``k``; the end-of-text token both begins and
    ends every document that is scored ("bos" and "eos" name it). There is
    one output per tokenizer id (embedding rows past them, padding, are not
    outputs). A prompt to continue is read as the tokenizer reads a text
    (:meth:`encode_text`), with no end-of-text token put before it.
    """

    def __init__(self, tokenizer, end_id):
        end = end_id + N_RESERVED
        super().__init__({t: i + N_RESERVED for t, i in tokenizer.vocabulary.items()},
                         aliases={"eos": end, "bos": end})
        self.tokenizer = tokenizer

    def encode_text(self, text):
        """Ids of ``text`` as ``tokenizer(text)`` gives them, its own special tokens included.

        Special tokens written in the text (``"<|endoftext|>"``) are read as
        such; GPT-2's tokenizer adds none of its own, so an empty text has
        no ids.
        """
        return [i + N_RESERVED for i in self.tokenizer.backend.encode(text).ids]

    def join(self, tokens, analyzer):
        """Generated tokens -> text, by the tokenizer's decoder."""
        return self.tokenizer.decode([self.vocabulary[t] - N_RESERVED for t in tokens])


# --------------------------------------------------------------- checkpoint


def read_checkpoint(path):
    """(config dict, tensors by name, Tokenizer) of a local checkpoint directory."""
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"No checkpoint directory {path} (a local directory with config.json, "
                                "model.safetensors and tokenizer.json is expected; nothing is "
                                "downloaded).")
    missing = [name for name in ("config.json", "model.safetensors", "tokenizer.json")
               if not (path / name).is_file()]
    if missing:
        hints = []
        if "model.safetensors" in missing and any((path / n).exists() for n in (
                "pytorch_model.bin", "model.safetensors.index.json", "tf_model.h5")):
            hints.append("only single-file safetensors weights are read (not pytorch_model.bin, "
                         "sharded or TensorFlow weights); re-save with "
                         "save_pretrained(..., safe_serialization=True)")
        if "tokenizer.json" in missing and (path / "vocab.txt").exists():
            hints.append("a fast tokenizer's tokenizer.json is needed (vocab.txt alone is not read); "
                         "save it with a fast tokenizer's save_pretrained")
        raise FileNotFoundError(f"Checkpoint {path} lacks {', '.join(missing)}"
                                + "".join(f"; {h}" for h in hints) + ".")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path / 'config.json'} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path / 'config.json'} must hold a JSON object of settings, not a "
                         f"{type(config).__name__}.")
    tensors = read_safetensors(path / "model.safetensors")
    return config, tensors, Tokenizer.from_file(path / "tokenizer.json")


def _epsilon(config, key, default):
    """A layer-norm epsilon from config.json: a positive finite number (NaN or <= 0 gives NaN outputs)."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            np.isfinite(value) and value > 0):
        raise ValueError(f"config.json has {key}={value!r}: it must be a positive finite number.")
    return float(value)


class _Unreadable:
    """A stored tensor of a type numpy has no dtype for (8-bit floats, ...): refused if it is read."""

    def __init__(self, dtype, shape):
        self.dtype, self.shape = dtype, tuple(shape)


def read_safetensors(path):
    """Tensors by name of a ``.safetensors`` file, bfloat16 ones as float32.

    ``safetensors.numpy`` cannot read bfloat16 (numpy has no such dtype), so
    those tensors are read from the file here: a bfloat16 number is the top
    16 bits of a float32. Tensors of types numpy lacks (8-bit floats, ...)
    are kept as ``_Unreadable`` and refused only if the model needs them.

    Parameters
    ----------
    path : str or path-like
        A single-file safetensors checkpoint.

    Returns
    -------
    tensors : dict of str to ndarray
        The stored tensors by name.
    """
    _require("safetensors")
    from safetensors import safe_open

    tensors = {}
    with safe_open(str(path), framework="numpy") as stored, open(path, "rb") as raw:
        size = int.from_bytes(raw.read(8), "little")  # the header is valid: safe_open checked it
        header = json.loads(raw.read(size))
        header.pop("__metadata__", None)
        for name, spec in header.items():
            if spec["dtype"] in _NUMPY_DTYPES:
                tensors[name] = stored.get_tensor(name)
            elif spec["dtype"] == "BF16":
                tensors[name] = _read_bfloat16(raw, 8 + size, spec)
            else:
                tensors[name] = _Unreadable(spec["dtype"], spec["shape"])
    return tensors


def _read_bfloat16(raw, start, spec):
    """One bfloat16 tensor of an open safetensors file (data from byte ``start``) as float32."""
    begin, end = spec["data_offsets"]
    raw.seek(start + begin)
    words = np.frombuffer(raw.read(end - begin), "<u2")
    return (words.astype(np.uint32) << 16).view(np.float32).reshape(spec["shape"])


def _model_type(config, supported, estimator):
    model_type = config.get("model_type")
    if model_type in supported:
        return model_type
    other = "TransformerLanguageModel" if model_type in DECODER_TYPES else (
        "TransformerEncoder" if model_type in ENCODER_TYPES else None)
    advice = f" Load it with {other}.from_pretrained." if other else ""
    raise ValueError(f"{estimator} cannot load a checkpoint of model_type={model_type!r}: supported "
                     f"are {', '.join(map(repr, supported))}.{advice}")


class _Weights:
    """Named tensors of a checkpoint, found with or without a model prefix ("bert.", "transformer.")."""

    def __init__(self, tensors, prefixes):
        self.tensors = tensors
        self.prefixes = ("",) + prefixes

    def __call__(self, name, shape=None):
        candidates = [p + name for p in self.prefixes]
        if name.endswith("LayerNorm.weight"):  # early BERT checkpoints say gamma/beta
            candidates += [c[: -len("weight")] + "gamma" for c in candidates]
        if name.endswith("LayerNorm.bias"):
            candidates += [c[: -len("bias")] + "beta" for c in candidates]
        for key in candidates:
            if key in self.tensors:
                array = _as_float(key, self.tensors[key])
                if shape is not None and array.shape != tuple(shape):
                    raise ValueError(f"Checkpoint tensor {key} has shape {array.shape}, but "
                                     f"config.json gives {tuple(shape)}; use the config.json saved "
                                     "with these weights.")
                return array
        raise ValueError(f"Checkpoint has no tensor {name!r} (looked for {', '.join(candidates)}).")

    def key(self, name):
        """The stored name of tensor ``name`` (or None)."""
        return next((p + name for p in self.prefixes if p + name in self.tensors), None)

    def has_prefix(self, prefix):
        """Whether some tensor's name starts with ``prefix`` (after a model prefix)."""
        return any(key.startswith(p + prefix) for key in self.tensors for p in self.prefixes)

    def linear(self, name, n_in, n_out):
        """A torch ``Linear`` (weight (out, in)) as our {"W": (in, out), "b"}."""
        return {"W": self(name + ".weight", (n_out, n_in)).T.copy(), "b": self(name + ".bias", (n_out,))}

    def conv1d(self, name, n_in, n_out):
        """GPT-2's ``Conv1D``, whose weight is (in, out) already."""
        return {"W": self(name + ".weight", (n_in, n_out)), "b": self(name + ".bias", (n_out,))}

    def norm(self, name, d):
        return {"gamma": self(name + ".weight", (d,)), "beta": self(name + ".bias", (d,))}


def _as_float(key, tensor):
    """A stored weight as float32: float16, bfloat16 and float64 are cast, other types refused."""
    if isinstance(tensor, _Unreadable) or not np.issubdtype(tensor.dtype, np.floating):
        raise TypeError(f"Checkpoint tensor {key} is stored as {tensor.dtype}: only float weights "
                        "(float32, float16, bfloat16, float64) are read, not integer or 8-bit "
                        "(quantized) ones; save the model in float32 (in transformers: "
                        "model.float().save_pretrained(...)) or load the unquantized checkpoint.")
    return np.asarray(tensor, DTYPE)


def _activation(name):
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise ValueError(f"Unsupported activation {name!r} in config.json: supported are "
                         f"{', '.join(map(repr, _ACTIVATIONS))}.")
    return _ACTIVATIONS[name]


def _fused_qkv(q, k, v):
    """Three projections -> one ``W_qkv`` = [W_Q | W_K | W_V] (our head split matches theirs)."""
    return {"W": np.concatenate([q["W"], k["W"], v["W"]], axis=1),
            "b": np.concatenate([q["b"], k["b"], v["b"]])}


def _size(config, key):
    """A positive integer of config.json."""
    if config.get(key) is None:
        raise ValueError(f"config.json has no {key}, which this model_type needs.")
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"config.json has {key}={value!r}: a positive integer is expected.")
    return int(value)


def _sizes(config, keys):
    """Our sizes from config.json ({our name: its key}), with the keys kept for messages."""
    sizes = {ours: _size(config, theirs) for ours, theirs in keys.items()}
    if sizes["d_model"] % sizes["n_heads"]:
        raise ValueError(f"config.json has {keys['d_model']}={sizes['d_model']} and "
                         f"{keys['n_heads']}={sizes['n_heads']}: the heads must split "
                         f"{keys['d_model']} evenly (is config.json the one saved with the weights?).")
    return dict(sizes, keys=keys)


def _encoder_architecture(config, model_type):
    """Sizes of a BERT or DistilBERT config.json, with what our model cannot do refused."""
    if model_type == "bert":
        kind = config.get("position_embedding_type", "absolute")
        if kind != "absolute":
            raise ValueError(f"Unsupported position_embedding_type={kind!r}: only absolute learned "
                             "positions are supported.")
        keys = dict(d_model="hidden_size", n_layers="num_hidden_layers",
                    n_heads="num_attention_heads", d_ff="intermediate_size")
        return dict(_sizes(config, dict(keys, n_positions="max_position_embeddings",
                                        vocab="vocab_size")),
                    activation=_activation(config.get("hidden_act", "gelu")),
                    eps=_epsilon(config, "layer_norm_eps", 1e-12),
                    n_token_types=config.get("type_vocab_size", 2) or 0)
    keys = dict(d_model="dim", n_layers="n_layers", n_heads="n_heads", d_ff="hidden_dim",
                n_positions="max_position_embeddings", vocab="vocab_size")
    return dict(_sizes(config, keys), activation=_activation(config.get("activation", "gelu")),
                eps=1e-12, n_token_types=0)


def _n_token_ids(tokenizer):
    """The number of ids of a tokenizer (its largest id + 1, special and added tokens included)."""
    return max(tokenizer.vocabulary.values(), default=-1) + 1


def _check_weights(arch, tensors, model_type, tokenizer):
    """Refuse a config.json or tokenizer.json that disagrees with the weights; the ids with a token.

    Rows of the token embedding past the tokenizer's last id (checkpoints pad
    it, e.g. to a multiple of 64) have no token: the caller drops them.
    """
    w, table = _Weights(tensors, _PREFIXES[model_type]), _TOKEN_TABLE[model_type]
    keys, key, n_layers = arch["keys"], w.key(table), arch["n_layers"]
    if w.has_prefix(_LAYER[model_type].format(n_layers)):
        raise ValueError(f"config.json has {keys['n_layers']}={n_layers} but the checkpoint stores "
                         f"a layer {n_layers} ({_LAYER[model_type].format(n_layers)}*); use the "
                         "config.json saved with these weights.")
    if key is None:
        w(table)  # raises, naming the names looked for
    rows, n_ids = w.tensors[key].shape[0], _n_token_ids(tokenizer)
    if rows != arch["vocab"]:
        raise ValueError(f"config.json has {keys['vocab']}={arch['vocab']} but the token embedding "
                         f"{key} has {rows} rows; use the config.json saved with these weights.")
    if n_ids > rows:
        raise ValueError(f"tokenizer.json has {n_ids} token ids but the token embedding {key} has "
                         f"only {rows} rows, so ids {rows}..{n_ids - 1} have no vector (tokens added "
                         "to the tokenizer without resizing the model). Use the tokenizer saved with "
                         "the model, or in transformers call model.resize_token_embeddings("
                         "len(tokenizer)) and save both again.")
    return n_ids


def _encoder_block_names(model_type, i):
    """Checkpoint names of layer i's parts, in our order: q, k, v, attention out, LN, FFN in, out, LN."""
    p = _LAYER[model_type].format(i)
    if model_type == "bert":
        return (p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
                p + "attention.output.dense", p + "attention.output.LayerNorm",
                p + "intermediate.dense", p + "output.dense", p + "output.LayerNorm")
    return (p + "attention.q_lin", p + "attention.k_lin", p + "attention.v_lin",
            p + "attention.out_lin", p + "sa_layer_norm", p + "ffn.lin1", p + "ffn.lin2",
            p + "output_layer_norm")


def encoder_params(arch, model_type, tensors):
    """Our {"embed", "encoder"} parameter tree from a BERT or DistilBERT state dict (post-LN blocks).

    Only the first ``arch["tokens"]`` rows of the token embedding (all if absent) are kept.
    """
    w = _Weights(tensors, _PREFIXES[model_type])
    d, f = arch["d_model"], arch["d_ff"]
    embed = {"W": w("embeddings.word_embeddings.weight", (arch["vocab"], d))[: arch.get("tokens")],
             "positions": w("embeddings.position_embeddings.weight", (arch["n_positions"], d)),
             "ln": w.norm("embeddings.LayerNorm", d)}
    n_types = arch["n_token_types"]
    if isinstance(n_types, bool) or not isinstance(n_types, numbers.Integral) or n_types < 0:
        raise ValueError(f"config.json has type_vocab_size={n_types!r}: it must be an int >= 0.")
    if n_types:
        embed["token_types"] = w("embeddings.token_type_embeddings.weight", (n_types, d))
    elif w.key("embeddings.token_type_embeddings.weight") is not None and model_type == "bert":
        raise ValueError("config.json has type_vocab_size=0, but the checkpoint stores token type "
                         "embeddings, which every position adds: use the config.json saved with "
                         "these weights.")
    blocks = []
    for i in range(arch["n_layers"]):
        q, k, v, attn_out, ln_attn, hidden, out, ln_ff = _encoder_block_names(model_type, i)
        blocks.append({
            "ln_attn": w.norm(ln_attn, d),
            "attn": {"qkv": _fused_qkv(w.linear(q, d, d), w.linear(k, d, d), w.linear(v, d, d)),
                     "out": w.linear(attn_out, d, d)},
            "ln_ff": w.norm(ln_ff, d),
            "ff": {"hidden": w.linear(hidden, d, f), "out": w.linear(out, f, d)},
        })
    return {"embed": embed, "encoder": {"blocks": blocks}}


def gpt2_params(arch, tensors):
    """Our {"embed", "decoder"} tree from a GPT-2 state dict; the output layer is the tied embedding.

    Only the first ``arch["tokens"]`` rows of the token embedding (all if absent) are kept.
    """
    w = _Weights(tensors, _PREFIXES["gpt2"])
    d, f, n_vocab = arch["d_model"], arch["d_ff"], arch["vocab"]
    table = w("wte.weight", (n_vocab, d))[: arch.get("tokens")]
    embed = {"W": np.concatenate([np.zeros((N_RESERVED, d), DTYPE), table]),  # + padding, unknown
             "positions": w("wpe.weight", (arch["n_positions"], d))}
    blocks = []
    for i in range(arch["n_layers"]):
        p = _LAYER["gpt2"].format(i)
        blocks.append({
            "ln_attn": w.norm(p + "ln_1", d),
            "attn": {"qkv": w.conv1d(p + "attn.c_attn", d, 3 * d), "out": w.conv1d(p + "attn.c_proj", d, d)},
            "ln_ff": w.norm(p + "ln_2", d),
            "ff": {"hidden": w.conv1d(p + "mlp.c_fc", d, f), "out": w.conv1d(p + "mlp.c_proj", f, d)},
        })
    return {"embed": embed, "decoder": {"blocks": blocks, "ln_final": w.norm("ln_f", d)}}


def _gpt2_architecture(config):
    for flag in ("scale_attn_by_inverse_layer_idx", "add_cross_attention"):
        if config.get(flag):
            raise ValueError(f"Unsupported GPT-2 option {flag}=true in config.json.")
    if config.get("tie_word_embeddings", True) is False:  # an own output layer would be ignored
        raise ValueError("Unsupported GPT-2 option tie_word_embeddings=false in config.json: the "
                         "output layer is read as the token embedding.")
    if config.get("scale_attn_weights", True) is False:
        raise ValueError("Unsupported GPT-2 option scale_attn_weights=false in config.json.")
    sizes = _sizes(config, dict(d_model="n_embd", n_layers="n_layer", n_heads="n_head",
                                n_positions="n_positions", vocab="vocab_size"))
    d_ff = 4 * sizes["d_model"] if config.get("n_inner") is None else _size(config, "n_inner")
    return dict(sizes, d_ff=d_ff, eps=_epsilon(config, "layer_norm_epsilon", 1e-5),
                activation=_activation(config.get("activation_function", "gelu_new")))


def _estimator_params(arch, params, estimator):
    """The estimator's hyperparameters: the checkpoint's architecture, the caller's training settings."""
    fixed = sorted(set(params) & set(_ARCHITECTURE))
    if fixed:
        raise ValueError(f"{estimator}.from_pretrained: {', '.join(fixed)} come(s) from the checkpoint "
                         "and cannot be set.")
    max_len = params.pop("max_len", arch["n_positions"])
    if max_len > arch["n_positions"]:
        raise ValueError(f"max_len={max_len} is longer than the checkpoint's {arch['n_positions']} "
                         "learned positions.")
    return dict(params, d_model=arch["d_model"], n_heads=arch["n_heads"], n_layers=arch["n_layers"],
                d_ff=arch["d_ff"], positional_encoding="learned", max_len=max_len,
                activation="relu" if arch["activation"] == "relu" else "gelu")


def _model_config(arch, estimator, **options):
    """Our network's configuration for a checkpoint's sizes; ``options`` are the family's own."""
    return ModelConfig(input_kind="tokens", d_model=arch["d_model"], n_heads=arch["n_heads"],
                       n_layers=arch["n_layers"], d_ff=arch["d_ff"], dropout=float(estimator.dropout),
                       positional_encoding="learned", activation=arch["activation"],
                       max_len=arch["n_positions"], layer_norm_eps=arch["eps"], scale_embedding=False,
                       **options)


def load_encoder(cls, path, params):
    """A fitted ``cls`` (TransformerEncoder) holding a BERT or DistilBERT checkpoint.

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
    model_type = _model_type(config, ENCODER_TYPES, cls.__name__)
    arch = _encoder_architecture(config, model_type)
    arch["tokens"] = _check_weights(arch, tensors, model_type, tokenizer)
    params = {"warm_start": True, **params}  # fit continues from the checkpoint's weights
    estimator = cls(**_estimator_params(arch, params, cls.__name__), norm_first=False)
    pooling = _POOLING.get(estimator.pooling) if isinstance(estimator.pooling, str) else None
    if pooling is None:
        raise ValueError(f"{cls.__name__}.from_pretrained: pooling={estimator.pooling!r} is not one "
                         "of 'mean', 'cls' (the [CLS] token's vector) or 'pooler' (BERT's pooler "
                         "layer, where the checkpoint stores one).")
    model_config = _model_config(
        arch, estimator, input_size=arch["tokens"] + 1, norm_first=False, embedding_norm=True,
        pooling=pooling, n_token_types=arch["n_token_types"])
    rng = make_rng(estimator.random_state)
    tree = _add_masked_training(encoder_params(arch, model_type, tensors), tokenizer, rng)
    if pooling == "pooler":
        tree["pooler"] = _pooler(arch, model_type, tensors)
    estimator._target_mean = estimator._target_scale = None
    estimator._codec = TokenizerAdapter(tokenizer, estimator.max_len, arch["tokens"],
                                        arch["n_token_types"])
    estimator._initialize(model_config, tree, rng)
    return estimator


# An encoder's pooling -> the network's: the checkpoint's own [CLS] token is the first one
_POOLING = {"mean": "mean", "cls": "first", "pooler": "pooler"}


def _pooler(arch, model_type, tensors):
    """BERT's pooler layer (``pooler.dense``: tanh of it over [CLS] is ``pooler_output``), or refused."""
    w = _Weights(tensors, _PREFIXES[model_type])
    if model_type != "bert" or w.key("pooler.dense.weight") is None:
        reason = ("DistilBERT has none" if model_type == "distilbert" else
                  "saved without it, e.g. by BertModel(add_pooling_layer=False) or a model for "
                  "masked-token training")
        raise ValueError(f"pooling='pooler' reads BERT's pooler layer (pooler.dense), which this "
                         f"checkpoint does not store ({reason}): use pooling='cls' (the [CLS] "
                         "token's last hidden state) or 'mean'.")
    return w.linear("pooler.dense", arch["d_model"], arch["d_model"])


def _add_masked_training(tree, tokenizer, rng):
    """The tree with the [MASK] embedding row and a new masked-token head (over the other ids).

    The [MASK] row comes after the tokenizer's ids (rows past them, padding,
    are dropped before), so it is the last id, as in ``fit``; it starts as
    the tokenizer's own [MASK] vector where there is one.
    """
    table, mask_token = tree["embed"]["W"], tokenizer.vocabulary.get("[MASK]")
    extra = table[mask_token] if mask_token is not None else table.mean(axis=0)
    tree["embed"]["W"] = np.concatenate([table, extra[None, :]])
    tree["mlm"] = init_linear(rng, table.shape[1], table.shape[0])
    return tree


def _end_id(config, tokenizer):
    """The tokenizer id of the end-of-text token: config.json's eos_token_id, or <|endoftext|>."""
    end_id = config.get("eos_token_id")
    if end_id is None:
        end_id = tokenizer.vocabulary.get("<|endoftext|>")
    if end_id is None:
        raise ValueError("Checkpoint names no end-of-text token (eos_token_id in config.json, or "
                         "<|endoftext|> in tokenizer.json).")
    n_ids = _n_token_ids(tokenizer)
    if isinstance(end_id, bool) or not isinstance(end_id, numbers.Integral) or not 0 <= end_id < n_ids:
        raise ValueError(f"config.json has eos_token_id={end_id!r}, which is not an id of "
                         f"tokenizer.json (0..{n_ids - 1}); set it to the end-of-text token's id.")
    return int(end_id)


def load_language_model(cls, path, params):
    """A fitted ``cls`` (TransformerLanguageModel) holding a GPT-2 checkpoint.

    Parameters, return value and errors are those of :func:`load_encoder`.
    """
    config, tensors, tokenizer = read_checkpoint(path)
    _model_type(config, DECODER_TYPES, cls.__name__)
    arch = _gpt2_architecture(config)
    arch["tokens"] = _check_weights(arch, tensors, "gpt2", tokenizer)
    params = {"warm_start": True, **params}
    if "analyzer" in params:
        raise ValueError(f"{cls.__name__}.from_pretrained: the analyzer is the checkpoint's tokenizer.")
    estimator = cls(**_estimator_params(arch, params, cls.__name__), norm_first=True,
                    analyzer=tokenizer)
    estimator._codec = CheckpointVocabulary(tokenizer, _end_id(config, tokenizer))
    model_config = _model_config(arch, estimator, input_size=arch["tokens"] + N_RESERVED,
                                 norm_first=True, n_outputs=arch["tokens"], tie_embeddings=True)
    estimator._initialize(model_config, gpt2_params(arch, tensors), make_rng(estimator.random_state))
    return estimator
