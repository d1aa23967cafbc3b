"""Quickstart: classify handwritten digits with a Transformer, read as 8 rows of 8 pixels.
=======================================================================================

Each 8x8 image becomes a sequence of 8 positions (its rows), each carrying
8 channels (the pixels of that row). Self-attention lets every row look at
every other row. Runs in well under a minute on two CPU cores.

    python examples/quickstart.py
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sktransformer import TransformerClassifier

# 40 epochs is a fixed budget here, not convergence: silence that reminder.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X.reshape(-1, 8, 8) / 16.0  # (n_samples, seq_len=8 rows, n_channels=8 pixels)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                    stratify=y)

clf = TransformerClassifier(d_model=64, n_heads=4, n_layers=2, max_iter=40, early_stopping=False,
                            random_state=0, verbose=1)
start = time.perf_counter()
clf.fit(X_train, y_train)
seconds = time.perf_counter() - start

baseline = LogisticRegression(max_iter=2000).fit(X_train.reshape(len(X_train), -1), y_train)
accuracy = clf.score(X_test, y_test)
baseline_accuracy = baseline.score(X_test.reshape(len(X_test), -1), y_test)
print()
print(f"TransformerClassifier test accuracy: {accuracy:.3f} "
      f"({clf.n_iter_} epochs, {seconds:.1f} s, "
      f"{clf.n_parameters_:,} "
      "parameters)")
print(f"LogisticRegression on raw pixels:    {baseline_accuracy:.3f}")
proba = clf.predict_proba(X_test[:1])[0]
print(f"first test image: true {y_test[0]}, predicted {clf.predict(X_test[:1])[0]} "
      f"with probability {proba.max():.2f}")
# one line for scripts (tests/test_examples.py compares it with the README)
print(f"figures: test_accuracy={accuracy:.3f} logistic_regression={baseline_accuracy:.3f}")
