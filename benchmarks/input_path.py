"""How far a list of strings travels before the model reads it: the structure figure of the input path.

Run: ``python benchmarks/input_path.py``. Records, while ``TransformerClassifier.fit``
runs on a list of strings, every package function called inside the fit
template's input hooks (``_new_codec`` and ``_read``): how many distinct
functions, in how many files, and which pairs of files call each other.
"""

import sys
import warnings

import sktransformer
from sktransformer import TransformerClassifier

ROOT = sktransformer.__file__.rsplit("/", 1)[0]
HOOKS = ("_new_codec", "_read")


def _in_hooks(frame):
    while frame is not None:
        if frame.f_code.co_name in HOOKS:
            return True
        frame = frame.f_back
    return False


def trace(fit):
    """(distinct (file, function) calls in order, cross-file edges) during ``fit()``."""
    calls, edges = [], []

    def profile(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(ROOT) or not _in_hooks(frame):
            return
        here = frame.f_code.co_filename[len(ROOT) + 1:]
        calls.append((here, frame.f_code.co_qualname))
        caller = frame.f_back.f_code.co_filename[len(ROOT) + 1:] if frame.f_back else ""
        if caller != here:
            edges.append((caller, here))

    sys.setprofile(profile)
    try:
        fit()
    finally:
        sys.setprofile(None)
    return list(dict.fromkeys(calls)), set(edges)


def main():
    warnings.simplefilter("ignore")
    X = ["the cat sat", "a dog ran", "the end", "cats and dogs"] * 3
    clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_iter=1, max_ngram=1,
                                random_state=0)
    calls, edges = trace(lambda: clf.fit(X, [0, 1] * 6))
    files = sorted({f for f, _ in calls})
    both_ways = sorted({tuple(sorted(e)) for e in edges if e[::-1] in edges})
    print(f"{len(calls)} distinct functions in {len(files)} files; files calling each other: "
          f"{both_ways or 'none'}")
    for f, name in calls:
        print(f"  {f:28s} {name}")


if __name__ == "__main__":
    main()
