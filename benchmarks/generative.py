"""Do the generative estimators' defaults stop by themselves, in minutes, on a few thousand pairs?

Two tasks, each fitted with the defaults plus the architecture the report
used (``d_model=64, n_heads=4, n_layers=2``, the defaults anyway):

- ``seq2seq``: 5,000 pairs of a number written in words -> its digits, in
  four languages (English, French, German, Spanish, from the ``num2words``
  package: ``pip install num2words``); numbers 0-9999; 500 test pairs.
  Characters in, characters out (``analyzer="char"``); ``analyzer="word"``
  (the default) cannot read German, which writes numbers as one word.
  Reported: exact-match accuracy of the predicted digit strings.
- ``language_model``: about 2,700 first lines of docstrings of the standard
  library (PSF licence), characters; 300 held out. Reported: per-token
  perplexity on the held-out lines (the model's ``perplexity``).

Prints task x setting x score x epochs x fit seconds. Run from the
repository root::

    python benchmarks/generative.py [--tasks seq2seq language_model]
"""

import argparse
import importlib
import inspect
import sys
import time
import warnings

import numpy as np

from sktransformer import TransformerLanguageModel, TransformerSeq2Seq

LANGUAGES = ("en", "fr", "de", "es")


def number_pairs(n, seed=0):
    """(number words, digits) pairs of numbers 0-9999 in one of four languages."""
    from num2words import num2words

    rng = np.random.default_rng(seed)
    numbers = rng.integers(0, 10000, n)
    languages = rng.choice(LANGUAGES, n)
    return [num2words(int(k), lang=lang) for k, lang in zip(numbers, languages, strict=True)], [
        str(k) for k in numbers]


def docstring_lines(n=3300, seed=0):
    """First lines of standard-library docstrings (distinct, 20-120 characters)."""
    lines = set()
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or "test" in name or name in ("antigravity", "this", "idlelib"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(name)
        except BaseException:  # platform-specific or missing modules
            continue
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj) if callable(obj) else None
            if doc and 20 <= len(doc.splitlines()[0]) <= 120:
                lines.add(doc.splitlines()[0])
    lines = sorted(lines)
    order = np.random.default_rng(seed).permutation(len(lines))[:n]
    return [lines[i] for i in order]


def seq2seq():
    X, y = number_pairs(5500)
    model = TransformerSeq2Seq(d_model=64, n_heads=4, n_layers=2, analyzer="char", random_state=0)
    start = time.perf_counter()
    model.fit(X[:5000], y[:5000])
    seconds = time.perf_counter() - start
    accuracy = np.mean(np.asarray(model.predict(X[5000:])) == np.asarray(y[5000:]))
    return "exact match", accuracy, model.n_iter_, seconds


def language_model():
    lines = docstring_lines()
    cut = len(lines) - 300
    model = TransformerLanguageModel(d_model=64, n_heads=4, n_layers=2, random_state=0)
    start = time.perf_counter()
    model.fit(lines[:cut])
    seconds = time.perf_counter() - start
    return "perplexity", model.perplexity(lines[cut:]), model.n_iter_, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["seq2seq", "language_model"])
    args = parser.parse_args()
    print(f"{'task':>15}  {'metric':>11}  {'score':>7}  {'epochs':>6}  {'fit s':>7}")
    for task in args.tasks:
        metric, score, epochs, seconds = {"seq2seq": seq2seq, "language_model": language_model}[task]()
        print(f"{task:>15}  {metric:>11}  {score:>7.3f}  {epochs:>6}  {seconds:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
