"""Real text: the Transformer's defaults against character n-gram TF-IDF + logistic regression.

Two tasks on real, freely licensed text, measured in one run:

- ``language_id``: word-level language identification, 8 European
  languages (en, fr, de, es, it, nl, pt, sv), one word per sample, from
  the ``wordfreq`` package's frequency lists (data CC BY-SA 4.0; install
  with ``pip install wordfreq``; nothing is shipped here). Words that occur
  in more than one language's list, digits and one-letter words are
  dropped; 1,000 training and 500 test words per language (different words).
- ``docstring_topic``: which standard-library module a function's
  docstring comes from (8 packages: asyncio, email, unittest, logging,
  argparse, tarfile, http, xml; at most 80 docstrings of up to 60 words
  each, 70% train / 30% test), a short-document topic task on text that
  every Python install carries (PSF licence).
- ``docstring_topic20``: the same kind of task at the size of the report's
  topic task: 8 larger packages (asyncio, email, logging, xml,
  multiprocessing, tkinter, idlelib, importlib), at most 400 docstrings
  each cut to their first 20 words, about 2,400 documents (70/30).

Run from the repository root::

    python benchmarks/real_text.py [--tasks language_id docstring_topic] [--configs ...]

Prints task x model x accuracy x fit seconds (and the n-gram order that
``max_ngram="auto"`` chose). Characters are the tokens for language ID,
words for the docstring tasks.
"""

import argparse
import importlib
import inspect
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sktransformer import SequenceVectorizer, TransformerClassifier

LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt", "sv")
MODULES = ("asyncio", "email", "unittest", "logging", "argparse", "tarfile", "http", "xml")
PER_MODULE = 80  # docstrings per module at most (balanced classes)
MODULES20 = ("asyncio", "email", "logging", "xml", "multiprocessing", "tkinter", "idlelib",
             "importlib")


def language_id(n_train=1000, n_test=500, seed=0):
    """(train words, train labels, test words, test labels) of 8 languages."""
    import wordfreq

    lists = {lang: wordfreq.top_n_list(lang, 20000) for lang in LANGUAGES}
    counts = {}
    for words in lists.values():
        for w in set(words):
            counts[w] = counts.get(w, 0) + 1
    rng = np.random.default_rng(seed)
    train, test = ([], []), ([], [])
    for label, lang in enumerate(LANGUAGES):
        words = [w for w in lists[lang] if counts[w] == 1 and w.isalpha() and len(w) > 1]
        picked = rng.permutation(len(words))[: n_train + n_test]
        for k, i in enumerate(picked):
            part = train if k < n_train else test
            part[0].append(words[i])
            part[1].append(label)
    return train[0], np.array(train[1]), test[0], np.array(test[1])


def docstring_topic(seed=0, modules=MODULES, per_module=PER_MODULE, n_words=60):
    """Docstrings of the public functions, classes and methods of several stdlib modules."""
    texts, labels = [], []
    for label, name in enumerate(modules):
        docs = {}
        for module in _submodules(name):
            for _, obj in inspect.getmembers(module):
                members = [obj] + ([m for _, m in inspect.getmembers(obj)] if inspect.isclass(obj)
                                   else [])
                for member in members:
                    doc = inspect.getdoc(member) if callable(member) else None
                    if doc and str(getattr(member, "__module__", "")).split(".")[0] == name:
                        docs.setdefault(" ".join(doc.split()[:n_words]), None)
        for doc in sorted(docs) if len(docs) <= per_module else [
                sorted(docs)[i] for i in np.random.default_rng(seed).choice(len(docs), per_module,
                                                                           replace=False)]:
            texts.append(doc)
            labels.append(label)
    order = np.random.default_rng(seed).permutation(len(texts))
    texts, labels = [texts[i] for i in order], np.array(labels)[order]
    cut = int(0.7 * len(texts))
    return texts[:cut], labels[:cut], texts[cut:], labels[cut:]


def docstring_topic20(seed=0):
    """The topic task at the report's size: 8 packages, <= 400 docstrings of <= 20 words each."""
    return docstring_topic(seed, MODULES20, per_module=400, n_words=20)


def _submodules(name):
    """A package and its submodules (those that import without side effects)."""
    import pkgutil

    package = importlib.import_module(name)
    modules = [package]
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        if "test" in info.name or "__main__" in info.name:
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except Exception:  # platform-specific modules
            continue
    return modules


def models(task):
    """(name, unfitted model) pairs: the baseline, then the Transformer's defaults."""
    analyzer = "char" if task == "language_id" else "word"
    tfidf = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4) if task ==
                                          "language_id" else (2, 5), sublinear_tf=True),
                          LogisticRegression(max_iter=2000, C=10))
    return [
        ("char n-gram TF-IDF + LR", tfidf),
        ("TransformerClassifier() defaults",
         make_pipeline(SequenceVectorizer(analyzer=analyzer),
                       TransformerClassifier(random_state=0))),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+",
                        default=["language_id", "docstring_topic", "docstring_topic20"])
    args = parser.parse_args()
    print(f"{'task':>17}  {'model':>36}  {'accuracy':>8}  {'fit s':>7}  notes")
    for task in args.tasks:
        X, y, X_test, y_test = {"language_id": language_id, "docstring_topic": docstring_topic,
                                "docstring_topic20": docstring_topic20}[task]()
        for name, model in models(task):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
            seconds = time.perf_counter() - start
            last = model[-1]
            notes = (f"max_ngram_={last.max_ngram_}, {last.n_iter_} epochs"
                     if hasattr(last, "max_ngram_") else "")
            print(f"{task:>17}  {name:>36}  {model.score(X_test, y_test):>8.3f}  {seconds:>7.1f}  "
                  f"{notes}", flush=True)


if __name__ == "__main__":
    main()
