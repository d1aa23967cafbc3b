"""The three files of a checkpoint directory: config.json, model.safetensors, tokenizer.json."""

import json
import pathlib

import numpy as np

from .._tokenizer import Tokenizer, _require

# safetensors dtypes that safetensors.numpy reads; BF16 is read here; others (F8_*, ...) are not
_NUMPY_DTYPES = {"F64", "F32", "F16", "I64", "U64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL"}


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


class Unreadable:
    """A stored tensor of a type numpy has no dtype for (8-bit floats, ...): refused if it is read."""

    def __init__(self, dtype, shape):
        self.dtype, self.shape = dtype, tuple(shape)


def read_safetensors(path):
    """Tensors by name of a ``.safetensors`` file, bfloat16 ones as float32.

    ``safetensors.numpy`` cannot read bfloat16 (numpy has no such dtype), so
    those tensors are read from the file here: a bfloat16 number is the top
    16 bits of a float32. Tensors of types numpy lacks (8-bit floats, ...)
    are kept as ``Unreadable`` and refused only if the model needs them.

    Parameters
    ----------
    path : str or path-like
        A single-file safetensors checkpoint.

    Returns
    -------
    tensors : dict of str to ndarray
        The stored tensors by name.

    Raises
    ------
    ValueError
        If the file is not a readable safetensors file (truncated, as by an
        interrupted download, or not safetensors at all); the message names it.
    """
    _require("safetensors")
    import safetensors

    try:
        return _read_safetensors(path, safetensors.safe_open)
    except getattr(safetensors, "SafetensorError", RuntimeError) as error:
        raise ValueError(f"{path} is not a readable safetensors file ({error}); it may be "
                         "truncated, as by an interrupted download: copy it again.") from None


def _read_safetensors(path, safe_open):
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
                tensors[name] = Unreadable(spec["dtype"], spec["shape"])
    return tensors


def _read_bfloat16(raw, start, spec):
    """One bfloat16 tensor of an open safetensors file (data from byte ``start``) as float32."""
    begin, end = spec["data_offsets"]
    raw.seek(start + begin)
    words = np.frombuffer(raw.read(end - begin), "<u2")
    return (words.astype(np.uint32) << 16).view(np.float32).reshape(spec["shape"])


