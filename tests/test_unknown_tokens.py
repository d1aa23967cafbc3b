"""Words never seen in fit: the unknown token means "no evidence" (word dropout)."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sktransformer import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktransformer._vocabulary import PAD_ID, UNKNOWN_ID, Vocabulary, drop_words

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from unknown_tokens import sentiment_toy, unseen_documents  # noqa: E402

SEEDS = (0, 1, 2)
AWFUL, GREAT, UNSEEN = "the movie was awful", "the movie was great", " zqa zqb zqc"


@pytest.fixture(scope="module")
def classifiers():
    """The default classifier on the balanced sentiment toy, one per seed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {s: TransformerClassifier(random_state=s).fit(*sentiment_toy(200, s)) for s in SEEDS}


@pytest.fixture(scope="module")
def networks():
    """The network alone (``linear_blend=False``): what word dropout gives it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {s: TransformerClassifier(random_state=s, linear_blend=False).fit(
            *sentiment_toy(200, s)) for s in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_text_of_unseen_words_gets_the_class_prior_within_the_issues_bound(classifiers, seed):
    p = classifiers[seed].predict_proba(unseen_documents(5, seed))[:, 1]
    # measured (seeds 0-5): 0.54, 0.57, 0.58, 0.52, 0.47, 0.55 (the network alone: 0.34-0.62)
    assert np.all(np.abs(p - 0.5) <= 0.15), p


@pytest.mark.parametrize("seed", SEEDS)
def test_the_network_alone_gives_unseen_words_about_the_class_prior(networks, seed):
    p = networks[seed].predict_proba(unseen_documents(5, seed))[:, 1]
    # measured: 0.34, 0.46, 0.45 (0.00 on every seed without word dropout)
    assert np.all(np.abs(p - 0.5) <= 0.2), p


@pytest.mark.parametrize("seed", SEEDS)
def test_unseen_words_appended_move_a_prediction_little(classifiers, networks, seed):
    for model in (classifiers[seed], networks[seed]):
        p = model.predict_proba([AWFUL, AWFUL + UNSEEN, GREAT, GREAT + UNSEEN])[:, 1]
        # without word dropout, seed 2 turned "great" from 1.00 to 0.41
        assert abs(p[1] - p[0]) <= 0.15 and abs(p[3] - p[2]) <= 0.15, p


@pytest.mark.parametrize("blend", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_the_regressor_predicts_inside_the_training_targets_for_unseen_words(seed, blend):
    X, y = sentiment_toy(200, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = TransformerRegressor(random_state=seed, linear_blend=blend).fit(X, 10.0 * y)
    predicted = reg.predict(unseen_documents(5, seed))
    # without word dropout: 1.35, 3.50, -1.39 (seed 3: 16.7); with it 4.3-5.2 (network alone)
    assert np.all((predicted >= 0) & (predicted <= 10)), predicted
    assert np.all(np.abs(predicted - 5) <= 2.5), predicted


def test_word_dropout_replaces_tokens_only():
    ids = np.array([[2, 3, 4, 5, 0, 0], [1, 6, 7, 0, 0, 0]])
    out = drop_words(ids, 1.0, 6, np.random.default_rng(0))
    # tokens (ids 2 .. 5) become unknown; padding, the unknown id and specials (>= 6) stay
    np.testing.assert_array_equal(out, [[1, 1, 1, 1, 0, 0], [1, 6, 7, 0, 0, 0]])
    some = drop_words(np.full((200, 50), 3), 0.1, 4, np.random.default_rng(0))
    assert set(np.unique(some)) == {UNKNOWN_ID, 3}
    assert abs((some == UNKNOWN_ID).mean() - 0.1) < 0.01
    assert not (drop_words(ids, 0.5, 6, np.random.default_rng(1)) == PAD_ID).sum() > (ids == 0).sum()


def test_vocabulary_token_end_is_past_the_tokens_before_the_specials():
    vocabulary = Vocabulary({"a": 2, "b": 3}, specials=("eos", "bos"))
    assert vocabulary.token_end == 4 and vocabulary.eos == 4


def test_prediction_never_drops_words():
    X, y = sentiment_toy(60, 0)
    clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=5, word_dropout=0.5,
                                random_state=0).fit(X, y)
    texts = [AWFUL, GREAT + UNSEEN, "the plot"]
    first = clf.predict_proba(texts)
    np.testing.assert_array_equal(first, clf.predict_proba(texts))
    np.testing.assert_array_equal(first[1], clf.predict_proba([texts[1]])[0])  # batch invariant
    np.testing.assert_array_equal(first, clf.predict_proba(texts))


def test_the_unknown_embedding_is_trained():
    """Without word dropout only weight decay moves the unknown token's row: it stays parallel."""
    X, y = sentiment_toy(60, 0)
    rows = {}
    for rate in (0.0, 0.2):
        clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=20, max_ngram=1,
                                    word_dropout=rate, random_state=0).fit(X, y)
        rows[rate] = clf.params_["embed"]["W"][UNKNOWN_ID]
    cosine = rows[0.0] @ rows[0.2] / np.linalg.norm(rows[0.0]) / np.linalg.norm(rows[0.2])
    assert cosine < 0.9999, cosine  # weight decay alone: 1 up to rounding


def test_encoder_features_are_deterministic_and_trained_with_word_dropout():
    X, _ = sentiment_toy(60, 0)
    enc = TransformerEncoder(d_model=16, n_heads=2, n_layers=1, max_iter=3, word_dropout=0.5,
                             random_state=0).fit(X)
    unseen = unseen_documents(3, 0)
    np.testing.assert_array_equal(enc.transform(unseen), enc.transform(unseen))
    plain = TransformerEncoder(d_model=16, n_heads=2, n_layers=1, max_iter=3, word_dropout=0.0,
                               random_state=0).fit(X)
    assert not np.allclose(enc.params_["embed"]["W"][UNKNOWN_ID],
                           plain.params_["embed"]["W"][UNKNOWN_ID])


def test_numeric_input_ignores_word_dropout():
    X = np.random.default_rng(0).normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    fits = [TransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_iter=3, word_dropout=w,
                                  random_state=0).fit(X, y) for w in (0.0, 0.5)]
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_word_dropout_is_validated():
    with pytest.raises(ValueError, match="word_dropout"):
        TransformerClassifier(word_dropout=1.0).fit(["a b", "c d"], [0, 1])
