"""Learning tests: tasks that a broken model (or a bag-of-tokens model) fails."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from tasks import order_task, query_order_task

from sktransformer import TransformerClassifier
from sktransformer.datasets import make_negation_reviews

pytestmark = pytest.mark.slow


def bag_of_tokens(X_train, X_test):
    """Counts of each token id per sequence: everything but the order."""
    vocab = int(max(X_train.max(), X_test.max())) + 1
    counts = [np.stack([np.bincount(row, minlength=vocab) for row in X]) for X in (X_train, X_test)]
    return counts


def test_order_sensitive_tokens_beat_bag_of_tokens():
    X, y = order_task(1200, seed=0)
    X_test, y_test = order_task(500, seed=1)
    bag_train, bag_test = bag_of_tokens(X, X_test)
    bag_score = LogisticRegression(max_iter=1000).fit(bag_train, y).score(bag_test, y_test)
    clf = TransformerClassifier(d_model=32, n_heads=2, max_iter=30, random_state=0).fit(X, y)
    score = clf.score(X_test, y_test)
    assert bag_score < 0.65, bag_score  # order is the only signal
    assert score >= 0.95, score


def test_order_is_invisible_without_positional_encoding():
    """Control: with no positions, attention is permutation-invariant and the task is unlearnable.

    (n-gram vectors would show local order: they are off here.)
    """
    X, y = order_task(600, seed=0)
    X_test, y_test = order_task(300, seed=1)
    clf = TransformerClassifier(d_model=32, n_heads=2, max_iter=10, positional_encoding=None,
                                max_ngram=1, random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) < 0.65


def test_digits_as_eight_rows_of_eight_pixels():
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8) / 16.0  # each image row is one position, its 8 pixels the channels
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    flat = lambda A: A.reshape(len(A), -1)  # noqa: E731
    baseline = LogisticRegression(max_iter=2000).fit(flat(X_train), y_train).score(flat(X_test), y_test)
    scores = [TransformerClassifier(max_iter=40, random_state=seed).fit(X_train, y_train)
              .score(X_test, y_test) for seed in range(3)]
    # the median of three seeds at least logistic regression on the 64 raw pixels (0.969 on this
    # split); measured 0.967, 0.973, 0.980 (seeds 0-2; one seed moves by 1-7 of 450 test images
    # with the last bits of the arithmetic, so a single seed's score is not the test)
    assert np.median(scores) >= baseline, (scores, baseline)


def _word_order_texts(n, seed):
    rng = np.random.default_rng(seed)
    fillers = ["the", "a", "cat", "dog", "sat", "ran", "on", "mat", "log", "big", "red"]
    texts, labels = [], []
    for _ in range(n):
        words = list(rng.choice(fillers, size=rng.integers(3, 10)))
        i, j = sorted(rng.choice(len(words) + 2, 2, replace=False))
        first, second = ("alpha", "beta") if rng.random() < 0.5 else ("beta", "alpha")
        words.insert(i, first)
        words.insert(j, second)
        texts.append(" ".join(words))
        labels.append(first)
    return texts, np.array(labels)


def test_variable_length_strings():
    texts, y = _word_order_texts(800, seed=0)
    texts_test, y_test = _word_order_texts(300, seed=1)
    vec = CountVectorizer().fit(texts)
    bag = LogisticRegression(max_iter=1000).fit(vec.transform(texts), y)
    assert bag.score(vec.transform(texts_test), y_test) < 0.65
    clf = TransformerClassifier(d_model=32, n_heads=2, max_iter=30, random_state=0).fit(texts, y)
    assert clf.score(texts_test, y_test) >= 0.9
    assert isinstance(clf.predict(texts_test)[0], str)


def test_numeric_features_learn_an_interaction():
    """An XOR-like interaction of two features that a linear model cannot fit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 5))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    assert LogisticRegression().fit(X_train, y_train).score(X_test, y_test) < 0.65
    clf = TransformerClassifier(d_model=32, n_heads=2, max_iter=40, random_state=0)
    assert clf.fit(X_train, y_train).score(X_test, y_test) >= 0.9




def test_query_order_is_learned_with_default_arguments_and_stops_by_itself():
    X, y = query_order_task(4000, seed=0)
    X_test, y_test = query_order_task(1000, seed=99)
    counts = lambda A: [" ".join(a) for a in A]  # noqa: E731
    bag = make_pipeline(CountVectorizer(token_pattern=r"\S+"), LogisticRegression(max_iter=1000))
    assert bag.fit(counts(X), y).score(counts(X_test), y_test) < 0.6  # order and content needed
    clf = TransformerClassifier(random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.n_iter_ < clf._recipe()["max_iter"] == 100  # early stopping ("auto": 4,000 samples) ended it


@pytest.mark.slow
def test_negation_is_learned_with_default_arguments_and_tokens_alone():
    """Between the probe's clusters: n-grams remove a third of a linear model's error, not half.

    Measured (3 seeds, the defaults benchmark): with 2-4-gram vectors, as the
    probe's earlier threshold of a fifth chose, 0.82-0.91; with tokens alone
    0.99-1.00; word 1-2-gram TF-IDF + logistic regression 0.69.
    """
    X, y = make_negation_reviews(2000, random_state=0)
    X_test, y_test = make_negation_reviews(1000, random_state=1)
    clf = TransformerClassifier(random_state=0).fit(X, y)
    assert 0.25 < clf.ngram_probe_[0] < 0.5 and clf.max_ngram_ == 1, clf.ngram_probe_
    accuracy = clf.score(X_test, y_test)
    assert accuracy >= 0.95, accuracy
