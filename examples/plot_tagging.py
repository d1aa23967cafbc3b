"""Tag the day, month and year of dates written in sentences, whatever the format.
===============================================================================

Each sentence holds one date in one of eight formats ("12 march 2024",
"march 12 , 2024", "2024 - 03 - 12", "12 . 03 . 2024", "03 / 12 / 2024",
"tuesday , 12 march 2024", "the 12th of march 2024", "12 mar 24") between
words such as "paid on" and "at 10 : 30" or "in room 12". Every token is
tagged DAY, MONTH, YEAR, WEEKDAY or O (not part of the date). No position
and no token decides alone: "03" is the month in "2024 - 03 - 12" and in
"12 . 03 . 2024" but the day in "04 / 03 / 2024" (the US order), and
"12" may be a day, a month, a two-digit year, an hour or a room. The
TransformerTagger reads the whole sentence to decide.

The script prints the token accuracy on 500 sentences it never saw, and
that of a per-token logistic regression on the token and its position
(words such as "march" or "," tag themselves: the difference is in the
numbers, whose accuracy it prints too), tags an example, and saves
``tagging.png``: the confusion matrix of the test tokens and the attention
of one sentence.

    python examples/plot_tagging.py
"""

import time
import warnings

import matplotlib

matplotlib.use("Agg")  # write files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402

from sktransformer import TransformerTagger  # noqa: E402
from sktransformer.plot import plot_attention  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed epoch budget below

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
BEFORE = [["paid", "on"], ["due"], ["born", "on"], ["meeting", "on"], ["deadline", ":"],
          ["see", "you", "on"], [], ["signed"]]
AFTER = [[], [], ["at", "{h}", ":", "{m}"], ["in", "room", "{r}"], ["."],
         ["for", "{r}", "guests"]]


def date(rng):
    """The (token, tag) pairs of one random date in one of eight formats."""
    d, m, y = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1950, 2040))
    day, month, year, name = str(d), f"{m:02d}", str(y), MONTHS[m - 1]
    D, M, Y, O = "DAY", "MONTH", "YEAR", "O"
    formats = [
        [(day, D), (name, M), (year, Y)],
        [(name, M), (day, D), (",", O), (year, Y)],
        [(year, Y), ("-", O), (month, M), ("-", O), (f"{d:02d}", D)],
        [(f"{d:02d}", D), (".", O), (month, M), (".", O), (year, Y)],
        [(month, M), ("/", O), (f"{d:02d}", D), ("/", O), (year, Y)],
        [(WEEKDAYS[int(rng.integers(7))], "WEEKDAY"), (",", O), (day, D), (name, M), (year, Y)],
        [("the", O), (day + ("st" if d % 10 == 1 and d != 11 else "th"), D), ("of", O),
         (name, M), (year, Y)],
        [(day, D), (name[:3], M), (f"{y % 100:02d}", Y)],
    ]
    return formats[int(rng.integers(len(formats)))]


def sentences(n, seed):
    """Token lists with one date among other words, and a tag per token."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        fill = {"{h}": str(rng.integers(1, 24)), "{m}": f"{rng.integers(0, 60):02d}",
                "{r}": str(rng.integers(1, 40))}
        words = [(fill.get(w, w), "O") for w in BEFORE[rng.integers(len(BEFORE))]]
        words += date(rng)
        words += [(fill.get(w, w), "O") for w in AFTER[rng.integers(len(AFTER))]]
        X.append([w for w, _ in words])
        y.append([t for _, t in words])
    return X, y


X_train, y_train = sentences(2000, seed=0)
X_test, y_test = sentences(500, seed=1)

start = time.perf_counter()
tagger = TransformerTagger(d_model=32, n_heads=2, n_layers=2, max_iter=20, random_state=0)
tagger.fit(X_train, y_train)
seconds = time.perf_counter() - start
accuracy = tagger.score(X_test, y_test)
predicted = tagger.predict(X_test)
exact = np.mean([list(p) == t for p, t in zip(predicted, y_test, strict=True)])
print(f"token accuracy on {len(X_test)} new sentences: {accuracy:.3f} ({tagger.n_iter_} epochs, "
      f"{seconds:.1f} s); sentences tagged without a mistake: {exact:.3f}")


def token_and_position(X):
    return np.array([[t, i] for x in X for i, t in enumerate(x)], dtype=object)


one_hot = OneHotEncoder(handle_unknown="ignore").fit(token_and_position(X_train))
baseline = LogisticRegression(max_iter=2000).fit(one_hot.transform(token_and_position(X_train)),
                                                 np.concatenate(y_train))
baseline_accuracy = baseline.score(one_hot.transform(token_and_position(X_test)),
                                   np.concatenate(y_test))
numbers = np.array([t.isdigit() for x in X_test for t in x])  # day, month, year, hour or room?
truth = np.concatenate(y_test)
figures = {"token_accuracy": accuracy, "baseline_accuracy": baseline_accuracy,
           "number_accuracy": np.mean((np.concatenate(predicted) == truth)[numbers]),
           "baseline_number_accuracy": np.mean(
               (baseline.predict(one_hot.transform(token_and_position(X_test))) == truth)[numbers])}
print(f"per-token logistic regression on token and position: {baseline_accuracy:.3f}")
print(f"on the {numbers.sum()} number tokens: tagger {figures['number_accuracy']:.3f}, "
      f"logistic regression {figures['baseline_number_accuracy']:.3f}")

example = ["paid", "on", "04", "/", "03", "/", "2024", "at", "12", ":", "30"]
print("\n" + "  ".join(f"{w}/{t}" for w, t in zip(example, tagger.predict([example])[0], strict=True)))

fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), layout="constrained")
ConfusionMatrixDisplay.from_predictions(np.concatenate(y_test), np.concatenate(predicted),
                                        labels=["DAY", "MONTH", "YEAR", "WEEKDAY", "O"],
                                        ax=left, colorbar=False)
left.set_title(f"test tokens (token accuracy {accuracy:.3f})")
plot_attention(tagger, example, layer=0, head=0, ax=right)
right.set_title("layer 0, head 0: " + " ".join(example))
fig.savefig("tagging.png", dpi=110)
print("\nsaved tagging.png")
# one line for scripts (tests/test_examples.py checks it)
print("figures: " + " ".join(f"{name}={value:.3f}" for name, value in figures.items()))
