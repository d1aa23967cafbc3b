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

The tokenizer helpers here also serve :class:`~sktransformer.SequenceVectorizer`
(``analyzer="bpe"`` / ``"wordpiece"`` / ``tokenizer=``).
"""

import json
import pathlib

import numpy as np

from ._inputs import Inputs
from ._model import DTYPE, TIED_ID_OFFSET, ModelConfig, init_linear
from ._runtime import make_rng
from ._tokenizer import Tokenizer, _require
from .vectorizer import _check_sequences

ENCODER_TYPES = ("bert", "distilbert")
DECODER_TYPES = ("gpt2",)
_ARCHITECTURE = ("d_model", "n_heads", "n_layers", "d_ff", "norm_first", "activation",
                 "positional_encoding", "input_type")
# Hugging Face activation names -> ours ("gelu" there is the exact form, ours the tanh one)
_ACTIVATIONS = {"gelu": "gelu_erf", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "relu": "relu"}
class TokenizerAdapter:
    """Raw text -> ``Inputs`` through a checkpoint's tokenizer (stands in for ``InputAdapter``)."""

    kind = "sequences"
    model_kind = "tokens"

    def __init__(self, tokenizer, max_len, n_vocab):
        self.tokenizer = tokenizer
        self.max_len = max_len
        self.n_vocab = n_vocab

    @property
    def model_input_size(self):
        return self.n_vocab

    @property
    def mask_id(self):
        """The checkpoint's vocabulary, then one [MASK] row added for masked-token training."""
        return self.n_vocab - 1

    @property
    def vocabulary(self):
        return self.tokenizer.vocabulary

    def fit_transform(self, estimator, X):
        return self.transform(estimator, X)

    def read(self, estimator, X, fitting=False, what="X", training=False):
        """Raw text -> ``Inputs`` (the tokenizer is fixed: nothing is learned)."""
        return self.transform(estimator, X)

    def transform(self, estimator, X, reset=False):
        _check_sequences(X)
        if isinstance(X, np.ndarray) and X.ndim != 1 or any(not isinstance(x, str) for x in X):
            raise TypeError(f"{type(estimator).__name__} loaded from a checkpoint reads text: pass a "
                            "list of strings (its tokenizer splits them).")
        ids, mask = self.tokenizer.encode(list(X), self.max_len)
        return Inputs(ids, mask)

    def _analyze(self, X):
        """The tokens of each text, special tokens included (labels for attention maps)."""
        return [self.tokenizer.backend.encode(x).tokens[: self.max_len] for x in X]


class CheckpointVocabulary:
    """The vocabulary of a generative checkpoint, with :class:`GenerativeVocabulary`'s conventions.

    Model id = tokenizer id + 2 (ids 0 and 1, padding and unknown, are never
    read), so output column ``k`` is the tokenizer's token ``k``. The
    checkpoint's end-of-text token both starts and ends every document.
    """

    def __init__(self, tokenizer, end_id):
        self.tokenizer = tokenizer
        tokens = tokenizer.vocabulary
        self.vocabulary = {t: i + TIED_ID_OFFSET for t, i in tokens.items()}
        self.n_outputs = len(tokens)
        self.n_ids = self.n_outputs + TIED_ID_OFFSET
        self.eos = self.bos = end_id + TIED_ID_OFFSET
        self._tokens = [None] * self.n_outputs
        for t, i in tokens.items():
            self._tokens[i] = t

    def encode(self, tokens, bos=True, eos=True):
        ids = [self.vocabulary.get(t, 1) for t in tokens]
        return ([self.bos] if bos else []) + ids + ([self.eos] if eos else [])

    @staticmethod
    def output_index(ids):
        ids = np.asarray(ids)
        return np.where(ids >= TIED_ID_OFFSET, ids - TIED_ID_OFFSET, -1)

    def token(self, output_index):
        return self._tokens[output_index]

    def is_end(self, output_index):
        return output_index + TIED_ID_OFFSET == self.eos

    @staticmethod
    def id_of_column(columns):
        return np.asarray(columns) + TIED_ID_OFFSET

    def join(self, tokens, analyzer):
        """Generated tokens -> text, by the tokenizer's decoder."""
        return self.tokenizer.decode([self.vocabulary[t] - TIED_ID_OFFSET for t in tokens])

    @property
    def output_tokens(self):
        return list(self._tokens)


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
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    _require("safetensors")
    from safetensors.numpy import load_file

    tensors = load_file(str(path / "model.safetensors"))
    return config, tensors, Tokenizer.from_file(path / "tokenizer.json")


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
                array = np.asarray(self.tensors[key], DTYPE)
                if shape is not None and array.shape != tuple(shape):
                    raise ValueError(f"Checkpoint tensor {key} has shape {array.shape}, expected "
                                     f"{tuple(shape)} from config.json.")
                return array
        raise ValueError(f"Checkpoint has no tensor {name!r} (looked for {', '.join(candidates)}).")

    def linear(self, name, n_in, n_out):
        """A torch ``Linear`` (weight (out, in)) as our {"W": (in, out), "b"}."""
        return {"W": self(name + ".weight", (n_out, n_in)).T.copy(), "b": self(name + ".bias", (n_out,))}

    def conv1d(self, name, n_in, n_out):
        """GPT-2's ``Conv1D``, whose weight is (in, out) already."""
        return {"W": self(name + ".weight", (n_in, n_out)), "b": self(name + ".bias", (n_out,))}

    def norm(self, name, d):
        return {"gamma": self(name + ".weight", (d,)), "beta": self(name + ".bias", (d,))}


def _activation(name):
    if name not in _ACTIVATIONS:
        raise ValueError(f"Unsupported activation {name!r} in config.json: supported are "
                         f"{', '.join(map(repr, _ACTIVATIONS))}.")
    return _ACTIVATIONS[name]


def _fused_qkv(q, k, v):
    """Three projections -> one ``W_qkv`` = [W_Q | W_K | W_V] (our head split matches theirs)."""
    return {"W": np.concatenate([q["W"], k["W"], v["W"]], axis=1),
            "b": np.concatenate([q["b"], k["b"], v["b"]])}


def _encoder_architecture(config, model_type):
    """Sizes of a BERT or DistilBERT config.json, with what our model cannot do refused."""
    if model_type == "bert":
        kind = config.get("position_embedding_type", "absolute")
        if kind != "absolute":
            raise ValueError(f"Unsupported position_embedding_type={kind!r}: only absolute learned "
                             "positions are supported.")
        return dict(d_model=config["hidden_size"], n_layers=config["num_hidden_layers"],
                    n_heads=config["num_attention_heads"], d_ff=config["intermediate_size"],
                    activation=_activation(config.get("hidden_act", "gelu")),
                    eps=float(config.get("layer_norm_eps", 1e-12)),
                    n_positions=config["max_position_embeddings"],
                    n_token_types=config.get("type_vocab_size", 2), vocab=config["vocab_size"])
    return dict(d_model=config["dim"], n_layers=config["n_layers"], n_heads=config["n_heads"],
                d_ff=config["hidden_dim"], activation=_activation(config.get("activation", "gelu")),
                eps=1e-12, n_positions=config["max_position_embeddings"], n_token_types=0,
                vocab=config["vocab_size"])


def _encoder_block_names(model_type, i):
    """Checkpoint names of layer i's parts, in our order: q, k, v, attention out, LN, FFN in, out, LN."""
    if model_type == "bert":
        p = f"encoder.layer.{i}."
        return (p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
                p + "attention.output.dense", p + "attention.output.LayerNorm",
                p + "intermediate.dense", p + "output.dense", p + "output.LayerNorm")
    p = f"transformer.layer.{i}."
    return (p + "attention.q_lin", p + "attention.k_lin", p + "attention.v_lin",
            p + "attention.out_lin", p + "sa_layer_norm", p + "ffn.lin1", p + "ffn.lin2",
            p + "output_layer_norm")


def encoder_params(arch, model_type, tensors):
    """Our {"embed", "encoder"} parameter tree from a BERT or DistilBERT state dict (post-LN blocks)."""
    w = _Weights(tensors, ("bert.", "distilbert."))
    d, f = arch["d_model"], arch["d_ff"]
    embed = {"W": w("embeddings.word_embeddings.weight", (arch["vocab"], d)),
             "positions": w("embeddings.position_embeddings.weight", (arch["n_positions"], d)),
             "ln": w.norm("embeddings.LayerNorm", d)}
    if arch["n_token_types"]:
        embed["token_types"] = w("embeddings.token_type_embeddings.weight", (arch["n_token_types"], d))
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
    """Our {"embed", "decoder"} tree from a GPT-2 state dict; the output layer is the tied embedding."""
    w = _Weights(tensors, ("transformer.",))
    d, f, n_vocab = arch["d_model"], arch["d_ff"], arch["vocab"]
    table = w("wte.weight", (n_vocab, d))
    embed = {"W": np.concatenate([np.zeros((TIED_ID_OFFSET, d), DTYPE), table]),  # + padding, unknown
             "positions": w("wpe.weight", (arch["n_positions"], d))}
    blocks = []
    for i in range(arch["n_layers"]):
        p = f"h.{i}."
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
    if config.get("scale_attn_weights", True) is False:
        raise ValueError("Unsupported GPT-2 option scale_attn_weights=false in config.json.")
    d = config["n_embd"]
    return dict(d_model=d, n_layers=config["n_layer"], n_heads=config["n_head"],
                d_ff=config.get("n_inner") or 4 * d,
                activation=_activation(config.get("activation_function", "gelu_new")),
                eps=float(config.get("layer_norm_epsilon", 1e-5)), n_positions=config["n_positions"],
                vocab=config["vocab_size"])


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


def load_encoder(cls, path, params):
    """A fitted ``cls`` (TransformerEncoder) holding a BERT or DistilBERT checkpoint."""
    config, tensors, tokenizer = read_checkpoint(path)
    model_type = _model_type(config, ENCODER_TYPES, cls.__name__)
    arch = _encoder_architecture(config, model_type)
    params = dict(params)
    params.setdefault("warm_start", True)  # fit continues from the checkpoint's weights
    estimator = cls(**_estimator_params(arch, params, cls.__name__), norm_first=False)
    tree = encoder_params(arch, model_type, tensors)
    # One extra embedding row is the [MASK] id of masked-token training (the last id, as in
    # fit); it starts as the tokenizer's own [MASK] vector where there is one.
    mask_token = tokenizer.vocabulary.get("[MASK]")
    table = tree["embed"]["W"]
    extra = table[mask_token] if mask_token is not None else table.mean(axis=0)
    tree["embed"]["W"] = np.concatenate([table, extra[None, :]])
    model_config = ModelConfig(
        input_kind="tokens", input_size=arch["vocab"] + 1, d_model=arch["d_model"],
        n_heads=arch["n_heads"], n_layers=arch["n_layers"], d_ff=arch["d_ff"],
        dropout=float(estimator.dropout), positional_encoding="learned",
        pooling="first" if estimator.pooling == "cls" else "mean", norm_first=False,
        activation=arch["activation"], max_len=arch["n_positions"], layer_norm_eps=arch["eps"],
        scale_embedding=False, n_token_types=arch["n_token_types"], embedding_norm=True)
    rng = make_rng(estimator.random_state)
    tree["mlm"] = init_linear(rng, arch["d_model"], arch["vocab"])
    estimator._target_mean = estimator._target_scale = None
    adapter = TokenizerAdapter(tokenizer, estimator.max_len, arch["vocab"] + 1)
    estimator._codec = adapter
    estimator._initialize(model_config, tree, rng)
    return estimator


def load_language_model(cls, path, params):
    """A fitted ``cls`` (TransformerLanguageModel) holding a GPT-2 checkpoint."""
    config, tensors, tokenizer = read_checkpoint(path)
    _model_type(config, DECODER_TYPES, cls.__name__)
    arch = _gpt2_architecture(config)
    params = dict(params)
    params.setdefault("warm_start", True)
    if "analyzer" in params:
        raise ValueError(f"{cls.__name__}.from_pretrained: the analyzer is the checkpoint's tokenizer.")
    estimator = cls(**_estimator_params(arch, params, cls.__name__), norm_first=True,
                    analyzer=tokenizer)
    end_id = config.get("eos_token_id")
    if end_id is None:
        end_id = tokenizer.vocabulary.get("<|endoftext|>")
    if end_id is None:
        raise ValueError("Checkpoint names no end-of-text token (eos_token_id in config.json, or "
                         "<|endoftext|> in tokenizer.json).")
    if tokenizer.backend.get_vocab_size() > arch["vocab"]:
        raise ValueError(f"tokenizer.json has {tokenizer.backend.get_vocab_size()} tokens, more than "
                         f"the model's vocab_size={arch['vocab']}.")
    vocab = CheckpointVocabulary(tokenizer, end_id)
    model_config = ModelConfig(
        input_kind="tokens", input_size=arch["vocab"] + TIED_ID_OFFSET, d_model=arch["d_model"],
        n_heads=arch["n_heads"], n_layers=arch["n_layers"], d_ff=arch["d_ff"],
        dropout=float(estimator.dropout), positional_encoding="learned", norm_first=True,
        activation=arch["activation"], max_len=arch["n_positions"], n_outputs=arch["vocab"],
        layer_norm_eps=arch["eps"], scale_embedding=False, tie_embeddings=True)
    if vocab.n_outputs != arch["vocab"]:  # a model row with no token: pad the vocabulary
        vocab.n_outputs = arch["vocab"]
        vocab._tokens += [f"<unused{i}>" for i in range(len(vocab._tokens), arch["vocab"])]
    estimator._codec = vocab
    estimator._initialize(model_config, gpt2_params(arch, tensors), make_rng(estimator.random_state))
    return estimator
