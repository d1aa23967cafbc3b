"""Words never seen in training: what the defaults predict for them, over seeds.

Run from the repository root::

    python benchmarks/unknown_tokens.py [--seeds 0 1 2] [--word-dropout 0.0 0.1]

The task is a balanced sentiment toy: 200 documents of 4-8 words, each
drawn from 20 neutral words ("the", "movie", ...) plus one or two words of
its class (10 positive, 10 negative words), so every training word occurs
many times and no training token is rare. For each seed it prints:

- ``unseen P(pos)``: the mean probability of the positive class over 20
  documents made only of words never seen in fit (the class prior is 0.5;
  TF-IDF + logistic regression for comparison);
- ``awful`` / ``awful+3``: P(pos) of "the movie was awful", then with three
  unseen words appended;
- ``regressor``: a :class:`TransformerRegressor` fitted on the same texts
  with targets 0 (negative) and 10 (positive), its prediction on the
  unseen-word documents (the training targets' range is 0-10);
- ``test acc``: accuracy on 200 new documents of the toy.

``--word-dropout`` runs each value of the estimators' ``word_dropout``
(0.0 is the behaviour before it existed).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sktransformer import TransformerClassifier, TransformerRegressor
from sktransformer.datasets import _NEGATIVE as NEGATIVE  # noqa: E402
from sktransformer.datasets import _NEUTRAL as NEUTRAL  # noqa: E402
from sktransformer.datasets import _POSITIVE as POSITIVE  # noqa: E402


def sentiment_toy(n, seed):
    """``n`` balanced documents (strings) and labels 1 (positive) / 0 (negative)."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(NEUTRAL, size=rng.integers(3, 7)))
        for _ in range(rng.integers(1, 3)):
            words.insert(rng.integers(0, len(words) + 1),
                         str(rng.choice(POSITIVE if label else NEGATIVE)))
        X.append(" ".join(words))
        y.append(label)
    return X, np.array(y)


def unseen_documents(n, seed, length=5):
    """``n`` documents of words that are in no training document."""
    rng = np.random.default_rng(1000 + seed)
    return [" ".join(f"zq{rng.integers(10**6)}" for _ in range(length)) for _ in range(n)]


def measure(seed, **params):
    """One row of the table: a classifier and a regressor fitted with ``params``."""
    X, y = sentiment_toy(200, seed)
    X_test, y_test = sentiment_toy(200, seed + 100)
    unseen = unseen_documents(20, seed)
    awful = "the movie was awful"
    start = time.perf_counter()
    clf = TransformerClassifier(random_state=seed, **params).fit(X, y)
    seconds = time.perf_counter() - start
    p = clf.predict_proba(unseen + [awful, awful + " zqa zqb zqc"])[:, 1]
    reg = TransformerRegressor(random_state=seed, **params).fit(X, 10.0 * y)
    r = reg.predict(unseen)
    return {"unseen P(pos)": p[:-2].mean(), "min": p[:-2].min(), "max": p[:-2].max(),
            "awful": p[-2], "awful+3": p[-1], "regressor": r.mean(), "reg min": r.min(),
            "reg max": r.max(), "test acc": clf.score(X_test, y_test), "fit s": seconds}


def linear_baseline(seed):
    """TF-IDF + logistic regression's P(pos) of the unseen-word documents."""
    X, y = sentiment_toy(200, seed)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(X, y)
    return model.predict_proba(unseen_documents(20, seed))[:, 1].mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--word-dropout", type=float, nargs="+", default=None,
                        help="values of word_dropout to run (default: the estimators' default)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    settings = [{}] if args.word_dropout is None else [{"word_dropout": w} for w in args.word_dropout]
    columns = ("unseen P(pos)", "min", "max", "awful", "awful+3", "regressor", "reg min",
               "reg max", "test acc", "fit s")
    print("| setting | seed | " + " | ".join(columns) + " | TF-IDF+LR unseen |")
    print("|---" * (len(columns) + 3) + "|")
    for params in settings:
        name = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
        for seed in args.seeds:
            row = measure(seed, **params)
            cells = " | ".join(f"{row[c]:.2f}" for c in columns)
            print(f"| {name} | {seed} | {cells} | {linear_baseline(seed):.2f} |", flush=True)


if __name__ == "__main__":
    main()
