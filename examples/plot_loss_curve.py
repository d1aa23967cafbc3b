"""Training loss and validation accuracy per epoch, on one plot.
=============================================================

Handwritten digits are read as sequences of 8 rows of 8 pixels (as in
``quickstart.py``). Passing ``X_val, y_val`` to ``fit`` scores the model on
them after every epoch (``validation_scores_``) next to the training loss
(``loss_curve_``); ``plot_loss_curve`` draws both, the score on a second
y-axis, and the script saves the figure to ``loss_curve.png``.

    python examples/plot_loss_curve.py
"""

import time
import warnings

import matplotlib

matplotlib.use("Agg")  # write files only, no window
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sktransformer import TransformerClassifier  # noqa: E402
from sktransformer.plot import plot_loss_curve  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed budget of 25 epochs

X, y = load_digits(return_X_y=True)
X = X.reshape(-1, 8, 8) / 16.0  # (n_samples, seq_len=8 rows, n_channels=8 pixels)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

clf = TransformerClassifier(d_model=32, n_heads=2, n_layers=2, max_iter=25, random_state=0)
start = time.perf_counter()
clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
seconds = time.perf_counter() - start

scores = np.asarray(clf.validation_scores_)
print(f"{clf.n_iter_} epochs in {seconds:.1f} s: training loss {clf.loss_curve_[0]:.3f} -> "
      f"{clf.loss_curve_[-1]:.3f}; validation accuracy {scores[0]:.3f} -> {scores[-1]:.3f} "
      f"(best {scores.max():.3f} at epoch {scores.argmax() + 1})")

fig, ax, validation_ax = plot_loss_curve(clf)
ax.set_title("TransformerClassifier on digits (8 rows x 8 pixels)")
fig.savefig("loss_curve.png", dpi=120)
print("saved loss_curve.png")
# one line for scripts (tests/test_examples.py checks it)
print(f"figures: first_loss={clf.loss_curve_[0]:.3f} last_loss={clf.loss_curve_[-1]:.3f} "
      f"first_validation={scores[0]:.3f} best_validation={scores.max():.3f}")
