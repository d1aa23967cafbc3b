"""RoBERTa and XLM-RoBERTa encoders: BERT's network, with positions counted from ``padding_idx + 1``.

RoBERTa: Liu et al. 2019, "RoBERTa: A Robustly Optimized BERT Pretraining
Approach"; XLM-RoBERTa: Conneau et al. 2020, "Unsupervised Cross-lingual
Representation Learning at Scale". Both are BERT's post-norm blocks, learned
absolute positions and embedding layer norm (:mod:`.bert`), stored under
BERT's names with the prefix ``roberta.``. What differs is read at load:

- positions are fairseq's: the token at index ``t`` reads row
  ``padding_idx + 1 + t`` of the position table (``padding_idx`` is
  config.json's ``pad_token_id``, 1 in the released models), so rows
  ``0..padding_idx`` are never read and ``max_position_embeddings=514``
  gives 512 positions. :func:`roberta_positions` cuts the table at load; the
  network is unchanged.
- one token type (``type_vocab_size=1``): a pair is ``<s> a </s></s> b </s>``,
  every token of type 0 (a tokenizer typing ``b`` 1 is refused at the pair);
- the tokenizer is byte-level BPE (RoBERTa) or SentencePiece Unigram
  (XLM-R), read from tokenizer.json like any other; ``<mask>`` is the mask token.

Where this departs from transformers: it derives the position ids from the
input ids, skipping every id equal to ``pad_token_id``; here every real token
counts. The two agree on right-padded input (ours is, with a mask) unless a
text itself holds the padding token (``"<pad>"`` written in it).
"""

import numbers

from ._common import Family
from .bert import _encoder_params, _options, bert_architecture, masked_token_head, pooler_layer


def roberta_positions(table, padding_idx):
    """RoBERTa's position table as ours: token ``t`` reads row ``padding_idx + 1 + t`` (Liu et al. 2019)."""
    return table[padding_idx + 1 :]


def padding_idx(config):
    """config.json's ``pad_token_id`` (1 where absent, as in transformers): positions start after it."""
    value = config.get("pad_token_id", 1)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"config.json has pad_token_id={value!r}: RoBERTa and XLM-RoBERTa number "
                         "positions from pad_token_id + 1, so it must be an int >= 0 (1 in the "
                         "released models).")
    return int(value)


def roberta_architecture(config):
    """Sizes of a RoBERTa or XLM-RoBERTa config.json: BERT's, less the positions up to ``padding_idx``."""
    arch = bert_architecture(config)  # refuses is_decoder too
    pad = padding_idx(config)
    if pad >= arch["vocab"]:
        raise ValueError(f"config.json has pad_token_id={pad}, which is not a row of the token "
                         f"embedding (vocab_size={arch['vocab']}).")
    if arch["n_positions"] <= pad + 1:
        raise ValueError(f"config.json has max_position_embeddings={arch['n_positions']} and "
                         f"pad_token_id={pad}: positions start at pad_token_id + 1, which leaves none.")
    return dict(arch, n_positions=arch["n_positions"] - pad - 1, padding_idx=pad)


def roberta_params(arch, tensors):
    """Our parameter tree from a RoBERTa state dict: BERT's, with the position table cut."""
    pad = arch["padding_idx"]
    tree = _encoder_params(ROBERTA, "bert", dict(arch, n_positions=arch["n_positions"] + pad + 1),
                           tensors)
    tree["embed"]["positions"] = roberta_positions(tree["embed"]["positions"], pad)
    return tree


def roberta_pooler(arch, tensors):
    """RoBERTa's pooler layer (BERT's ``pooler.dense`` over ``<s>``), or None."""
    return pooler_layer(ROBERTA.weights(tensors), arch)


def roberta_mlm_head(arch, tensors):
    """RoBERTa's masked-token head (``lm_head``, whose activation is the exact GELU), or None."""
    return masked_token_head(ROBERTA.weights(tensors), arch, "roberta", activation="gelu_erf")


ROBERTA = Family(kind="encoder", prefixes=("roberta.",), layer="encoder.layer.{}.",
                 token_table="embeddings.word_embeddings.weight",
                 architecture=roberta_architecture, params=roberta_params, options=_options,
                 pooler=roberta_pooler, mask_token="<mask>", mlm_head=roberta_mlm_head)
