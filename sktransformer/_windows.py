"""Long documents of a checkpoint: overlapping windows, read one by one and combined per document.

A checkpoint's encoder has learned vectors for a fixed number of positions
(``max_len``, at most its ``max_position_embeddings``). A text whose tokens
(with the tokenizer's special tokens) do not fit is read, with
``long_documents="mean"`` (the default) or ``"max"``, as overlapping windows:

- the text is tokenized whole, without truncation;
- its content tokens (those between the special tokens the tokenizer's
  post-processor adds, e.g. BERT's ``[CLS]`` and ``[SEP]``) are cut into
  pieces of ``L = max_len - n_special`` tokens, each starting ``ceil(L / 2)``
  tokens after the last (half a window of overlap), the last piece ending
  with the text (it is then shorter, but longer than ``L / 2``);
- each piece gets the special tokens around it, as the post-processor would,
  and is one window: one row of model input, encoded on its own;
- a document's vector is the mean (``"max"``: the element-wise maximum) of
  its windows' pooled vectors, and a classifier's or regressor's head reads
  that vector (in training too: autograd carries the gradient through the
  mean to every window).

A text that fits is one window, read exactly as before. With
``long_documents="truncate"`` only the first window of each text is read
(its first ``L`` content tokens, the special tokens kept) and a warning says
how many texts were cut.

:class:`Windows` is the model input of a batch in which some text needs
several windows: rows are windows, ``len()`` counts documents, and
:meth:`Windows.take` selects documents with all their windows (minibatches
and validation splits are drawn over documents). Every result is per
document and depends on that document alone (its windows are encoded
batch-invariantly and combined in a fixed order).

Sentence pairs are never read in windows: a pair longer than ``max_len``
tokens is cut as transformers' ``tokenizer(text_a, text_b, truncation=True,
max_length=max_len)`` cuts it, "longest_first" (a token off the end of the
longer text at a time, special tokens kept), with a warning, whatever
``long_documents`` says (:func:`pair_inputs`). A window of one text would
hold only part of it against the other whole, and which part pairs with
which is the task's choice (a question kept whole against windows of a
passage), not this package's.
"""

import warnings

import autograd.numpy as anp
import numpy as np

from ._inputs import Inputs

LONG_DOCUMENTS = ("mean", "max", "truncate")


class Windows(Inputs):
    """Model inputs whose rows are windows of documents; ``len()`` is the number of documents.

    Parameters
    ----------
    X, mask : ndarray of shape (n_windows, width)
        Token ids (0 at padding) and the real positions of every window.
    starts : ndarray of shape (n_documents + 1,)
        Document ``d`` is windows ``starts[d]:starts[d + 1]`` (at least one each).
    position : ndarray of shape (n_windows, width)
        The position in its document's whole tokenization of each window
        token (the special tokens are shared by every window); -1 at padding.
    lengths : ndarray of shape (n_documents,)
        Tokens of each whole document, special tokens included.
    combine : {"mean", "max"}
        How a document's vector is made from its windows' vectors.
    """

    def __init__(self, X, mask=None, starts=None, position=None, lengths=None, combine="mean",
                 states=None, first_layer=0):
        super().__init__(X, mask, states=states, first_layer=first_layer)
        self.starts, self.position, self.lengths, self.combine = starts, position, lengths, combine

    def __len__(self):
        return len(self.X) if self.starts is None else len(self.starts) - 1

    def take(self, index):
        """Documents ``index`` with all their windows, trailing all-padding columns cut off."""
        index = np.arange(len(self))[index]
        counts = np.diff(self.starts)[index]
        rows = np.concatenate([np.arange(self.starts[d], self.starts[d + 1]) for d in index]
                              ) if len(index) else np.zeros(0, int)
        filled = np.flatnonzero(self.mask[rows].any(axis=0))
        width = filled[-1] + 1 if len(filled) else 1
        return Windows(self.X[rows, :width], self.mask[rows, :width],
                       np.concatenate([[0], np.cumsum(counts)]), self.position[rows, :width],
                       self.lengths[index], self.combine,
                       None if self.states is None else self.states[rows, :width], self.first_layer)


def is_windowed(inputs):
    """True for inputs with a document of several windows (a :class:`Windows` of documents)."""
    return isinstance(inputs, Windows) and inputs.starts is not None


def rows_of(inputs):
    """Plain ``Inputs`` with one row per window (``inputs`` itself when not windowed)."""
    if not is_windowed(inputs):
        return inputs
    return Inputs(inputs.X, inputs.mask, states=inputs.states, first_layer=inputs.first_layer)


def per_document(inputs, values):
    """One row per document from one row per window (identity when not windowed); differentiable.

    Row ``d`` is the mean (``combine="max"``: the element-wise maximum) of
    the rows of document ``d``'s windows, summed in window order, so it
    depends on that document's windows alone.
    """
    if not is_windowed(inputs):
        return values
    reduce = anp.max if inputs.combine == "max" else anp.mean
    starts = inputs.starts
    return anp.stack([reduce(values[starts[d] : starts[d + 1]], axis=0) for d in range(len(inputs))])


def stitch(inputs, vectors):
    """Each document's token vectors from its windows': (n_documents, longest document, D) and mask.

    A token's vector is the mean of its vectors in the windows that hold it
    (the special tokens, [CLS] and [SEP], are in every window); 0 at padding.
    """
    n_docs, D = len(inputs), vectors.shape[-1]
    out = np.zeros((n_docs, max(1, int(inputs.lengths.max())), D), vectors.dtype)
    count = np.zeros(out.shape[:2], vectors.dtype)
    for d in range(n_docs):
        for w in range(inputs.starts[d], inputs.starts[d + 1]):
            real = inputs.position[w] >= 0
            where = inputs.position[w, real]
            out[d, where] += vectors[w][real]
            count[d, where] += 1
    mask = count > 0
    out[mask] /= count[mask][:, None]
    return out, mask


# ----------------------------------------------------------------- splitting


def _special_counts(sequence_ids):
    """(leading, trailing) tokens that the post-processor added (no sequence id) around the content."""
    content = [i for i, s in enumerate(sequence_ids) if s is not None]
    if not content:
        return len(sequence_ids), 0
    return content[0], len(sequence_ids) - content[-1] - 1


def split_document(ids, sequence_ids, max_len, first_only=False):
    """The windows of one tokenized document: a list of (ids, positions in the document).

    ``ids`` is the whole tokenization, special tokens included, and
    ``sequence_ids`` the tokenizer's (None at the special tokens it added).
    A document of at most ``max_len`` tokens is one window.
    """
    n = len(ids)
    if n <= max_len:
        return [(list(ids), list(range(n)))]
    lead, trail = _special_counts(sequence_ids)
    room = max_len - lead - trail
    if room < 1:
        raise ValueError(f"max_len={max_len} leaves no room for text beside the tokenizer's "
                         f"{lead + trail} special tokens: use a max_len of at least {lead + trail + 1}.")
    head, tail = list(range(lead)), list(range(n - trail, n))
    n_content, step = n - lead - trail, room - room // 2
    windows, start = [], 0
    while True:
        piece = list(range(lead + start, lead + min(start + room, n_content)))
        positions = head + piece + tail
        windows.append(([ids[p] for p in positions], positions))
        if first_only or start + room >= n_content:
            return windows
        start += step


def document_windows(documents, max_len, long_documents, advice=""):
    """Model inputs of tokenized documents: ``Inputs`` if each is one window, else :class:`Windows`.

    ``documents`` are (ids, sequence ids) of whole tokenizations;
    ``long_documents`` is ``"mean"``, ``"max"`` or ``"truncate"`` (the first
    window only, with a warning, ending in ``advice``, when a document was cut).
    """
    truncate = long_documents == "truncate"
    split = [split_document(ids, seq, max_len, truncate) for ids, seq in documents]
    lengths = np.array([len(ids) for ids, _ in documents])
    cut = int((lengths > max_len).sum())
    if truncate and cut:
        warnings.warn(
            f"{cut} of {len(documents)} texts in X have more than max_len={max_len} tokens and "
            f"were cut to their first {max_len}, special tokens kept.{advice}",
            UserWarning, stacklevel=6)
    rows = [window for windows in split for window in windows]
    width = max(1, max(len(window_ids) for window_ids, _ in rows))
    X = np.zeros((len(rows), width), np.int32)
    position = np.full((len(rows), width), -1, np.int32)
    for r, (window_ids, positions) in enumerate(rows):
        X[r, : len(window_ids)] = window_ids
        position[r, : len(positions)] = positions
    mask = position >= 0
    if len(rows) == len(documents):
        return Inputs(X, mask)
    starts = np.concatenate([[0], np.cumsum([len(windows) for windows in split])])
    return Windows(X, mask, starts, position, lengths, long_documents)


def pair_inputs(encodings, max_len, n_cut, advice=""):
    """Model inputs of tokenized sentence pairs: one row each, with their token types.

    ``encodings`` (of at most ``max_len`` tokens each, as
    :meth:`~sktransformer._tokenizer.Tokenizer.encode_pair` gives them) have
    ``ids`` and ``type_ids``; ``n_cut`` of them were cut to ``max_len``,
    which a warning ending in ``advice`` says.
    """
    if n_cut:
        warnings.warn(
            f"{n_cut} of {len(encodings)} sentence pairs in X have more than max_len={max_len} "
            f"tokens and were cut to {max_len}, a token off the longer text at a time (as "
            f"tokenizer(text_a, text_b, truncation=True, max_length={max_len}) cuts them); pairs "
            f"are not read in windows.{advice}", UserWarning, stacklevel=6)
    width = max(1, max(len(e.ids) for e in encodings))
    X = np.zeros((len(encodings), width), np.int32)
    types = np.zeros((len(encodings), width), np.int32)
    mask = np.zeros((len(encodings), width), bool)
    for r, e in enumerate(encodings):
        X[r, : len(e.ids)] = e.ids
        types[r, : len(e.ids)] = e.type_ids
        mask[r, : len(e.ids)] = True
    return Inputs(X, mask, types)
