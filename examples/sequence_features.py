"""Sequences -> features -> any scikit-learn model, and pretraining when labels are few.
=====================================================================================

The data: sequences of 10 distinct token ids sorted either upwards or
downwards. Both classes contain exactly the same kinds of tokens, so a
bag-of-tokens model is at chance; only the order tells them apart.

1. A TransformerEncoder is pretrained without labels (BERT-style masked
   token prediction) and its pooled features feed a LogisticRegression.
2. With only 20 labelled sequences, a TransformerClassifier that starts
   from the pretrained encoder is compared with one trained from scratch.

    python examples/sequence_features.py
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from sktransformer import TransformerClassifier, TransformerEncoder

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budgets below


def up_down(n_samples, seed, length=10, vocab=30):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_samples)
    X = np.array([np.sort(rng.choice(np.arange(1, vocab), length, replace=False))[:: 1 if up else -1]
                  for up in y])
    return X, y


def bag_of_tokens(X, vocab=30):
    return np.stack([np.bincount(row, minlength=vocab) for row in X])


X, y = up_down(2000, seed=0)  # treat as unlabeled for pretraining
X_test, y_test = up_down(500, seed=1)

start = time.perf_counter()
encoder = TransformerEncoder(d_model=32, n_heads=2, max_iter=20, random_state=0).fit(X)
print(f"pretrained encoder in {time.perf_counter() - start:.1f} s; held-out masked-token "
      f"log-likelihood {encoder.score(X_test):.2f} nats (uniform guess: {-np.log(29):.2f})")

features_lr = LogisticRegression(max_iter=2000).fit(encoder.transform(X), y)
bag_lr = LogisticRegression(max_iter=2000).fit(bag_of_tokens(X), y)
figures = {"encoder_features": features_lr.score(encoder.transform(X_test), y_test),
           "bag_of_tokens": bag_lr.score(bag_of_tokens(X_test), y_test)}
print(f"LogisticRegression on encoder features: {figures['encoder_features']:.3f}")
print(f"LogisticRegression on bag of tokens:    {figures['bag_of_tokens']:.3f}")

few = np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y == 1)[:10]]
scratch = TransformerClassifier(d_model=32, n_heads=2, max_iter=30, random_state=0)
tuned = TransformerClassifier(encoder=encoder, max_iter=30, random_state=0)
figures["from_scratch_20_labels"] = scratch.fit(X[few], y[few]).score(X_test, y_test)
figures["fine_tuned_20_labels"] = tuned.fit(X[few], y[few]).score(X_test, y_test)
print(f"20 labels, classifier from scratch:     {figures['from_scratch_20_labels']:.3f}")
print(f"20 labels, fine-tuned from the encoder: {figures['fine_tuned_20_labels']:.3f}")
# one line for scripts (tests/test_examples.py compares it with the README)
print("figures: " + " ".join(f"{name}={value:.3f}" for name, value in figures.items()))
