"""Texts longer than a checkpoint's positions: overlapping windows, pooled per document, or truncation.

Windows are rebuilt here by hand from the tokenizer's ids ([CLS], 14 content
tokens, [SEP] at max_len=16; a new window every 7 tokens) and encoded one
at a time with the model's own forward pass.
"""

import pathlib
import warnings

import numpy as np
import pytest

pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")

from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from sktransformer import TransformerClassifier, TransformerEncoder, TransformerRegressor  # noqa: E402
from sktransformer._model import encode  # noqa: E402
from sktransformer._windows import Windows, split_document  # noqa: E402

BERT = pathlib.Path(__file__).parent / "fixtures" / "pretrained" / "bert"
MAX_LEN, ROOM, STEP = 16, 14, 7  # window, its content tokens ([CLS] and [SEP] around), its start step
LONG = "the cat sat on the mat and a dog ran in the park " * 4  # 52 content tokens: 7 windows
OTHER = "a dog ran in the park and the cat sat on the mat " * 3 + "on the mat"
SHORT = "a dog ran"
TOLERANCE = 1e-5  # a window by hand against the batch-invariant path (float32)


def loaded(**params):
    return TransformerEncoder.from_pretrained(BERT, max_len=MAX_LEN, **params)


def windows_by_hand(enc, text):
    """The token ids of each window of ``text``, and each token's position in the whole text."""
    ids = enc._codec.tokenizer.backend.encode(text).ids
    content = list(range(1, len(ids) - 1))  # between [CLS] and [SEP]
    windows, start = [], 0
    while True:
        positions = [0] + content[start : start + ROOM] + [len(ids) - 1]
        windows.append(([ids[p] for p in positions], positions))
        if start + ROOM >= len(content):
            return windows
        start += STEP


def vectors_by_hand(model, window_ids):
    """The last layer's vector of every token of one window, encoded alone."""
    h, _ = encode(model.params_, model.config_, np.array([window_ids]),
                  np.ones((1, len(window_ids)), bool))
    return h[0]


def test_windows_overlap_by_half_keep_the_special_tokens_and_cover_the_text():
    enc = loaded()
    windows = windows_by_hand(enc, LONG)
    assert len(windows) == 7  # 52 content tokens: starts 0, 7, ..., 42
    ids = enc._codec.tokenizer.backend.encode(LONG)
    assert split_document(ids.ids, ids.sequence_ids, MAX_LEN) == windows
    assert all(len(w) <= MAX_LEN and w[0] == ids.ids[0] and w[-1] == ids.ids[-1] for w, _ in windows)
    assert len(windows[-1][0]) > ROOM // 2 + 2  # the last ends with the text, more than half full
    assert set().union(*(p for _, p in windows)) == set(range(len(ids.ids)))
    # a text of max_len tokens is one window; one more token makes two
    fits = list(range(MAX_LEN)), [None] + [0] * (MAX_LEN - 2) + [None]
    assert len(split_document(*fits, MAX_LEN)) == 1
    assert len(split_document(fits[0] + [99], [None] + [0] * (MAX_LEN - 1) + [None], MAX_LEN)) == 2


def test_long_text_transform_is_the_mean_of_its_windows_by_hand():
    enc = loaded()
    windows = [vectors_by_hand(enc, ids).mean(axis=0) for ids, _ in windows_by_hand(enc, LONG)]
    features = enc.transform([LONG, SHORT])
    assert features.dtype == np.float32
    np.testing.assert_allclose(features[0], np.mean(windows, axis=0), rtol=0, atol=TOLERANCE)
    short_ids = enc._codec.tokenizer.backend.encode(SHORT).ids
    np.testing.assert_allclose(features[1], vectors_by_hand(enc, short_ids).mean(axis=0), rtol=0,
                               atol=TOLERANCE)
    maximum = loaded(long_documents="max").transform([LONG, SHORT])
    np.testing.assert_allclose(maximum[0], np.max(windows, axis=0), rtol=0, atol=TOLERANCE)
    np.testing.assert_array_equal(maximum[1], features[1])  # a text that fits: one window
    # [CLS] pooling: the mean of the windows' [CLS] vectors
    first = [vectors_by_hand(enc, ids)[0] for ids, _ in windows_by_hand(enc, LONG)]
    np.testing.assert_allclose(loaded(pooling="cls").transform([LONG])[0], np.mean(first, axis=0),
                               rtol=0, atol=TOLERANCE)


def test_checkpoint_positions_are_the_default_window():
    enc = TransformerEncoder.from_pretrained(BERT)  # 64 positions
    text = LONG * 2  # 104 content tokens: windows start at 0, 31, 62
    ids = enc._codec.tokenizer.backend.encode(text).ids
    assert len(ids) > 64
    windows = [[ids[0]] + ids[1:-1][s : s + 62] + [ids[-1]] for s in (0, 31, 62)]
    expected = np.mean([vectors_by_hand(enc, w).mean(axis=0) for w in windows], axis=0)
    np.testing.assert_allclose(enc.transform([text])[0], expected, rtol=0, atol=TOLERANCE)


def test_truncate_warns_and_reads_the_first_window():
    enc = loaded(long_documents="truncate")
    (first, _), *_ = windows_by_hand(enc, LONG)
    with pytest.warns(UserWarning, match=r"1 of 2 texts in X have more than max_len=16 tokens and "
                                         r"were cut .*long_documents='mean'\) reads them whole"):
        features = enc.transform([LONG, SHORT])
    np.testing.assert_allclose(features[0], vectors_by_hand(enc, first).mean(axis=0), rtol=0,
                               atol=TOLERANCE)
    np.testing.assert_array_equal(features[1], loaded().transform([SHORT])[0])
    with pytest.warns(UserWarning, match="were cut"):
        H, mask = enc.transform_sequence([LONG])
    assert H.shape[1] == MAX_LEN and mask.all()
    np.testing.assert_allclose(H[0], vectors_by_hand(enc, first), rtol=0, atol=TOLERANCE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc.transform([SHORT])  # nothing cut, nothing said
        loaded().transform([LONG])  # the default reads it whole: nothing said


def test_transform_sequence_stitches_each_token_from_the_windows_that_hold_it():
    enc = loaded()
    windows = windows_by_hand(enc, LONG)
    per_window = [vectors_by_hand(enc, ids) for ids, _ in windows]
    H, mask = enc.transform_sequence([SHORT, LONG])
    n = len(enc._codec.tokenizer.backend.encode(LONG).ids)
    assert H.shape == (2, n, 32) and mask[1].all() and mask[0].sum() == 5
    assert not H[0, 5:].any()
    held_by = []
    for position in range(n):
        held = [h[p.index(position)] for h, (_, p) in zip(per_window, windows, strict=True)
                if position in p]
        held_by.append(len(held))
        np.testing.assert_allclose(H[1, position], np.mean(held, axis=0), rtol=0, atol=TOLERANCE)
    assert held_by[0] == held_by[-1] == len(windows)  # [CLS] and [SEP]: in every window
    assert set(held_by[1:-1]) == {1, 2}  # the text's tokens: one window, or two where they overlap


def test_attention_weights_show_a_long_text_s_first_window_with_the_warning():
    enc = loaded()
    with pytest.warns(UserWarning, match="were cut"):
        weights, tokens = enc.attention_weights([LONG, SHORT])
    assert weights[0].shape[-1] == MAX_LEN and len(tokens[0]) == MAX_LEN
    assert tokens[0][0] == "[CLS]" and tokens[0][-1] == "[SEP]" and tokens[1][-1] == "[SEP]"


# ------------------------------------------------------------------ classification

ENDINGS = {0: ["a dog ran", "dog in the park", "the dog", "dog and dog"],
           1: ["on the mat", "a cat sat", "the cat", "mat and mat"]}
PREFIX = "the cat sat on a mat and the dog ran in a park " * 2  # 28 tokens, the same in every text
TEXTS = [PREFIX + e for label in (0, 1) for e in ENDINGS[label]]
Y = [label for label in (0, 1) for _ in ENDINGS[label]]


def classifier(**params):
    return TransformerClassifier(**{**dict(encoder=str(BERT), max_len=MAX_LEN, max_iter=25, dropout=0.0,
                                           learning_rate_init=3e-3, learning_rate="constant",
                                           warmup_fraction=0.0, early_stopping=False,
                                           random_state=0), **params})


def test_classifier_learns_from_words_past_the_first_window():
    clf = classifier().fit(TEXTS, Y)
    assert clf.score(TEXTS, Y) == 1.0  # the label is in the last window only
    # predict_proba: the head of the mean of the windows' pooled vectors, by hand
    pooled = np.mean([vectors_by_hand(clf, ids).mean(axis=0)
                      for ids, _ in windows_by_hand(clf, TEXTS[0])], axis=0)
    logits = pooled @ clf.params_["head"]["W"] + clf.params_["head"]["b"]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(clf.predict_proba(TEXTS[:1])[0], expected, rtol=0, atol=1e-5)
    with pytest.warns(UserWarning, match="8 of 8 texts .* cut"):
        truncated = classifier(long_documents="truncate").fit(TEXTS, Y)
    with pytest.warns(UserWarning, match="were cut"):
        assert len(set(truncated.predict(TEXTS))) == 1  # every first window is the same


def test_regressor_and_encoder_fit_on_long_texts():
    y = np.array(Y, float)
    reg = TransformerRegressor(encoder=str(BERT), max_len=MAX_LEN, max_iter=25, dropout=0.0,
                               learning_rate_init=3e-3, learning_rate="constant",
                               warmup_fraction=0.0, early_stopping=False, linear_probe=False,
                               random_state=0).fit(TEXTS, y)
    assert reg.score(TEXTS, y) > 0.5  # truncated, every text reads the same: R² 0
    enc = loaded(max_iter=2, random_state=0)
    before = enc.transform([LONG])
    enc.fit([LONG, OTHER, SHORT])  # masked-token training on every window
    assert enc.n_iter_ == 2 and not np.allclose(before, enc.transform([LONG]))
    assert np.isfinite(enc.score([LONG, SHORT]))


def test_validation_data_and_sample_weights_count_documents_not_windows():
    clf = classifier(max_iter=2, early_stopping=True)
    clf.fit(TEXTS, Y, sample_weight=np.ones(len(TEXTS)), X_val=TEXTS[::2], y_val=Y[::2])
    assert len(clf.validation_scores_) == 2
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[8, 7\]"):
        classifier(max_iter=1).fit(TEXTS, Y[:-1])
    batch = clf._codec.read(clf, TEXTS + [SHORT])
    assert isinstance(batch, Windows) and len(batch) == 9 and len(batch.X) > 9
    picked = batch.take([8, 0])
    assert len(picked) == 2 and picked.starts[1] == 1  # SHORT: one window, then TEXTS[0]'s
    np.testing.assert_array_equal(picked.X[1:], batch.X[: batch.starts[1], : picked.X.shape[1]])


# ------------------------------------------------------------------ batch invariance


def test_a_long_text_s_outputs_do_not_depend_on_the_batch():
    enc = loaded()
    clf = classifier(max_iter=2).fit(TEXTS, Y)
    batch = [SHORT, LONG, OTHER, TEXTS[3], "x"]
    order = [4, 2, 0, 3, 1]
    for call in (enc.transform, clf.predict_proba, lambda X: enc.transform_sequence(X)[0][:, :80]):
        together = call(batch)
        shuffled = call([batch[i] for i in order])
        for i, text in enumerate(batch):
            alone = call([text])[0]
            np.testing.assert_array_equal(together[i][: len(alone)], alone)
            np.testing.assert_array_equal(shuffled[order.index(i)][: len(alone)], alone)


def test_long_documents_is_validated_where_it_is_read():
    with pytest.raises(InvalidParameterError, match="long_documents"):
        classifier(long_documents="average").fit(TEXTS, Y)
    enc = loaded()
    enc.set_params(long_documents="windows")
    with pytest.raises(InvalidParameterError, match="long_documents"):
        enc.transform([SHORT])
    assert TransformerClassifier().get_params()["long_documents"] == "mean"
    assert TransformerRegressor().get_params()["long_documents"] == "mean"
    assert TransformerEncoder().get_params()["long_documents"] == "mean"


# ------------------------------------------------------------ RoBERTa and XLM-RoBERTa


@pytest.mark.parametrize("name", ["roberta", "xlm_roberta"])
def test_roberta_windows_carry_s_and_end_and_the_first_is_transformers_truncation(name):
    """Windows of ``<s> ... </s>``; the first is ``tokenizer(text, truncation=True, max_length=16)``."""
    import json

    path = BERT.parent / name
    records = json.loads((path / "reference_pairs.json").read_text(encoding="utf-8"))["records"]
    cut = [r for r in records if r["text_b"] is None]
    assert cut
    for record in cut:
        text = record["text_a"]
        assert record["max_length"] == MAX_LEN  # the windows by hand are of MAX_LEN tokens
        enc = TransformerEncoder.from_pretrained(path, max_len=MAX_LEN)
        windows = windows_by_hand(enc, text)
        assert len(windows) > 2
        vocabulary = enc._codec.tokenizer.vocabulary
        for ids, _ in windows:
            assert ids[0] == vocabulary["<s>"] and ids[-1] == vocabulary["</s>"]
            assert vocabulary["<s>"] not in ids[1:-1] and vocabulary["</s>"] not in ids[1:-1]
        assert windows[0][0] == record["ids"]
        expected = np.mean([vectors_by_hand(enc, ids).mean(axis=0) for ids, _ in windows], axis=0)
        np.testing.assert_allclose(enc.transform([text])[0], expected, rtol=0, atol=TOLERANCE)
        with pytest.warns(UserWarning, match="were cut"):
            H, _ = enc.set_params(long_documents="truncate").transform_sequence([text])
        assert np.abs(H[0] - np.array(record["hidden"])).max() <= 1e-4  # transformers' numbers
