"""Where does a Transformer look to tell which of two tokens comes first?
======================================================================

Each sequence is 6 to 14 filler tokens ("x0" ... "x9") with one "A" and one
"B" at random places; the label says which of the two comes first. The
same tokens appear in both classes, so only their positions decide. A
one-layer TransformerClassifier with [CLS] pooling learns the task; since
its prediction is read from the [CLS] position after a single attention
layer, the [CLS] row of the attention map shows which positions it uses.
Token n-gram vectors are turned off (``max_ngram=1``): they show local
order too (with them, the model without positional encoding scores about
0.94), and here order should reach the model through attention and
positions only.

The script prints the test accuracy (and that of the same model without
positional encoding, which cannot see order), measures on the test set how
much attention [CLS] and B give to A, to B and to filler tokens, and saves
both heads' maps of one test sequence to ``attention_order.png``.

    python examples/plot_attention_order.py
"""

import time
import warnings

import matplotlib

matplotlib.use("Agg")  # write files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sktransformer import TransformerClassifier  # noqa: E402
from sktransformer.plot import plot_attention  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budgets below


def a_before_b(n_samples, seed, n_fillers=10):
    """Token lists with one "A" and one "B" among fillers; label: which comes first."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n_samples):
        tokens = [f"x{i}" for i in rng.integers(0, n_fillers, rng.integers(6, 15))]
        a, b = rng.choice(len(tokens), 2, replace=False)
        tokens[a], tokens[b] = "A", "B"
        X.append(tokens)
        y.append("A first" if a < b else "B first")
    return X, np.array(y)


def mean_attention(weights, tokens, query):
    """Mean weight (over sequences) from ``query`` to A, to B, and to one filler, per head."""
    rows = []
    for w, labels in zip(weights, tokens, strict=True):  # w: (H, T, T), padded beyond len(labels)
        q, a, b = labels.index(query), labels.index("A"), labels.index("B")
        fillers = [k for k, t in enumerate(labels) if t.startswith("x")]
        rows.append(np.stack([w[:, q, a], w[:, q, b], w[:, q, fillers].mean(axis=1)], axis=1))
    return np.mean(rows, axis=0)  # (H, 3)


X_train, y_train = a_before_b(2000, seed=0)
X_test, y_test = a_before_b(500, seed=1)

# the network alone (no linear model beside it): attention is what this example shows
settings = dict(d_model=32, n_heads=2, n_layers=1, pooling="cls", max_ngram=1, max_iter=15,
                linear_blend=False, random_state=0)
start = time.perf_counter()
clf = TransformerClassifier(**settings).fit(X_train, y_train)
seconds = time.perf_counter() - start
blind = TransformerClassifier(positional_encoding=None, **settings).fit(X_train, y_train)
figures = {"test_accuracy": clf.score(X_test, y_test),
           "without_positional_encoding": blind.score(X_test, y_test)}
print(f"test accuracy: {figures['test_accuracy']:.3f} ({clf.n_iter_} epochs, {seconds:.1f} s); "
      f"same model without positional encoding: {figures['without_positional_encoding']:.3f}")

(weights,), tokens = clf.attention_weights(X_test)  # one layer: (n_test, H, T, T)
uniform = np.mean([1 / len(t) for t in tokens])
print(f"\nmean attention weight over {len(X_test)} test sequences "
      f"(uniform attention would give {uniform:.3f} to each position):")
print(f"{'from':>12} {'to A':>7} {'to B':>7} {'to a filler':>12}")
for query in ("[CLS]", "B"):
    for head, (to_a, to_b, to_filler) in enumerate(mean_attention(weights, tokens, query)):
        print(f"{query + ' head ' + str(head):>12} {to_a:7.3f} {to_b:7.3f} {to_filler:12.3f}")
        if query == "[CLS]":
            figures[f"cls_head_{head}_to_a"], figures[f"cls_head_{head}_to_b"] = to_a, to_b

example = next(x for x in X_test if len(x) == 10)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
for head, ax in enumerate(axes):
    plot_attention(clf, example, head=head, ax=ax)
predicted = clf.predict([example])[0]
fig.suptitle(f"{' '.join(example)}   (predicted: {predicted})")
fig.savefig("attention_order.png", dpi=120)
print("\nsaved attention_order.png")
# one line for scripts (tests/test_examples.py compares it with the README)
print("figures: " + " ".join(f"{name}={value:.3f}" for name, value in figures.items()))
