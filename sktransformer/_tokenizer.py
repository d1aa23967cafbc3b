"""Subword tokenizers from the optional ``tokenizers`` library, kept picklable.

Used by :class:`~sktransformer.SequenceVectorizer` (``analyzer="bpe"`` /
``"wordpiece"``, ``tokenizer=``) and by checkpoints loaded with
``from_pretrained`` (:mod:`sktransformer.pretrained`).
"""

import json
import pathlib

import numpy as np

from ._text import well_formed

_INSTALL = 'pip install "sktransformer[pretrained]"'


def _require(module):
    """Import an optional dependency, or say how to install it."""
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"Reading checkpoints and subword tokenizers needs the '{module}' "
                          f"package: {_INSTALL}") from None


# ---------------------------------------------------------------- tokenizer


class Tokenizer:
    """A ``tokenizers`` tokenizer that pickles and clones (it is kept as its JSON text).

    Calling it on a string gives the string's tokens (without special
    tokens), so it can stand as an estimator's ``analyzer``.
    """

    def __init__(self, json_text):
        self.json_text = json_text
        self._tokenizer = None

    @classmethod
    def from_file(cls, path):
        """Read ``tokenizer.json`` (or a directory that has one)."""
        path = pathlib.Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"No tokenizer file {path}: a tokenizer.json (the 'tokenizers' "
                                    "library's format) is needed.")
        try:
            tokenizer = cls(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as error:  # another encoding (UTF-16), or not a text file
            raise ValueError(f"{path} cannot be read as a tokenizer: it is not UTF-8 text "
                             f"({error}).") from None
        try:
            _ = tokenizer.backend  # parse now: a malformed file is named here, not at first use
        except Exception as error:  # the tokenizers library raises a bare Exception
            if isinstance(error, ImportError):
                raise
            raise ValueError(f"{path} cannot be read as a tokenizer: {error}") from None
        return tokenizer

    @classmethod
    def train(cls, texts, kind, vocab_size, lowercase=True):
        """A byte-level BPE (``kind="bpe"``) or WordPiece vocabulary of ``vocab_size``, learned on texts."""
        tk = _require("tokenizers")
        from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

        if kind == "bpe":
            tok = tk.Tokenizer(models.BPE())
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
            trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        else:
            tok = tk.Tokenizer(models.WordPiece(unk_token="[UNK]"))
            tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            tok.decoder = decoders.WordPiece()
            trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=["[UNK]"],
                                                show_progress=False)
        steps = [normalizers.NFC()] + ([normalizers.Lowercase()] if lowercase else [])
        tok.normalizer = normalizers.Sequence(steps)
        tok.train_from_iterator([well_formed(t) for t in texts], trainer)
        return cls(tok.to_str())

    @property
    def backend(self):
        """The ``tokenizers.Tokenizer`` itself (built on first use)."""
        if self._tokenizer is None:
            tokenizer = _require("tokenizers").Tokenizer.from_str(self.json_text)
            # A saved tokenizer may pad or truncate on its own; the estimator does both itself.
            tokenizer.no_padding()
            tokenizer.no_truncation()
            self._tokenizer = tokenizer
        return self._tokenizer

    def __call__(self, text):
        return self.backend.encode(well_formed(text), add_special_tokens=False).tokens

    def encode_one(self, text):
        """The encoding of one text, special tokens included (every text reaches the tokenizer
        through :func:`~sktransformer._text.well_formed`, which it requires)."""
        return self.backend.encode(well_formed(text))

    def encode(self, texts, max_len):
        """Texts -> ids (N, T) int32 padded with 0 and mask (N, T); special tokens added, cut to max_len."""
        encodings = [self.encode_one(t) for t in texts]
        width = max(1, min(max_len, max(len(e.ids) for e in encodings)))
        ids = np.zeros((len(texts), width), np.int32)
        mask = np.zeros((len(texts), width), bool)
        for i, e in enumerate(encodings):
            row = e.ids if len(e.ids) <= max_len else _truncate(e.ids, e.special_tokens_mask, max_len)
            ids[i, : len(row)] = row
            mask[i, : len(row)] = True
        return ids, mask

    def encode_pair(self, text_a, text_b, max_len=None):
        """(encoding, cut) of a sentence pair, as the checkpoint's tokenizer encodes pairs.

        The ids, ``type_ids`` and special tokens are its post-processor's
        (BERT: ``[CLS] a [SEP] b [SEP]``, types 0 up to the first [SEP], 1
        after), as ``tokenizer([text_a], [text_b])`` of transformers gives
        them (an empty text is a member of the pair too). A pair of more than
        ``max_len`` tokens is cut as ``truncation=True, max_length=max_len``
        cuts it there, "longest_first" (a token off the end of the longer
        text at a time), and ``cut`` is True.

        Raises
        ------
        ValueError
            If ``max_len`` leaves no token of a non-empty text beside the special tokens.
        """
        text_a, text_b = well_formed(text_a), well_formed(text_b)
        encoding = self.backend.encode(text_a, text_b)
        if max_len is None or len(encoding.ids) <= max_len:
            return encoding, False
        cut = self._truncating(max_len).encode(text_a, text_b)
        kept = set(cut.sequence_ids)
        if len(cut.ids) > max_len or not set(encoding.sequence_ids) <= kept:
            special = encoding.sequence_ids.count(None)
            raise ValueError(f"max_len={max_len} leaves no room for both texts of a sentence pair "
                             f"beside the tokenizer's {special} special tokens: use a max_len of at "
                             f"least {special + 2}.")
        return cut, True

    def encode_words(self, words):
        """The encoding of one sentence's words, as ``tokenizer(words, is_split_into_words=True)`` gives it.

        Each word is tokenized on its own (``is_pretokenized``), the special
        tokens are added around the sentence, and ``word_ids`` maps each
        token to its word (None at the special tokens). A byte-level BPE
        (RoBERTa, GPT-2: a ``ByteLevel`` pre-tokenizer) reads each word with a
        space before it, as transformers' token-classification examples load
        such a tokenizer (``add_prefix_space=True``, which its documentation
        requires for ``is_split_into_words``): in running text, the
        pretraining data, a word after another begins with a space.
        SentencePiece tokenizers (Metaspace) put "\u2581" before every word
        themselves; WordPiece (BERT) has no word-initial marker.
        """
        return self._word_backend().encode([well_formed(w) for w in words], is_pretokenized=True)

    def _word_backend(self):
        """A copy of the tokenizer whose byte-level pre-tokenizer adds a space before each word."""
        if "_words" not in self.__dict__:
            spec = json.loads(self.json_text)
            _add_prefix_space(spec.get("pre_tokenizer"))
            tokenizer = _require("tokenizers").Tokenizer.from_str(json.dumps(spec))
            tokenizer.no_padding()
            tokenizer.no_truncation()
            self.__dict__["_words"] = tokenizer
        return self.__dict__["_words"]

    def _truncating(self, max_len):
        """A copy of the tokenizer that cuts to ``max_len`` tokens, longest first (one per length)."""
        copies = self.__dict__.setdefault("_truncating_copies", {})
        if max_len not in copies:
            tokenizer = _require("tokenizers").Tokenizer.from_str(self.json_text)
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_len, strategy="longest_first", direction="right")
            copies[max_len] = tokenizer
        return copies[max_len]

    def decode(self, ids):
        return self.backend.decode(list(map(int, ids)))

    @property
    def vocabulary(self):
        """Token -> the tokenizer's id."""
        return self.backend.get_vocab()

    @property
    def special_ids(self):
        """Sorted ids of the special tokens ([CLS], [SEP], [PAD], [UNK], [MASK], <s>, ...)."""
        added = self.backend.get_added_tokens_decoder()
        return np.array(sorted(i for i, token in added.items() if token.special), dtype=np.int64)

    def __getstate__(self):
        return {"json_text": self.json_text}

    def __setstate__(self, state):
        self.json_text, self._tokenizer = state["json_text"], None

    def __repr__(self):
        return f"Tokenizer(<{self.backend.get_vocab_size()} tokens>)"


def _add_prefix_space(pre_tokenizer):
    """Switch on ``add_prefix_space`` of a ``ByteLevel`` pre-tokenizer (in a ``Sequence`` too), in place."""
    if not pre_tokenizer:
        return
    if pre_tokenizer.get("type") == "ByteLevel":
        pre_tokenizer["add_prefix_space"] = True
    for step in pre_tokenizer.get("pretokenizers") or ():
        _add_prefix_space(step)


def _truncate(ids, special, max_len):
    """Keep the first ``max_len`` ids, with a trailing special token (e.g. [SEP]) kept last."""
    if special and special[-1]:
        return ids[: max_len - 1] + ids[-1:]
    return ids[:max_len]
