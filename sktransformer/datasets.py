"""Small generated data sets that ship with the package (no download).

They are made to need what a Transformer brings: dependencies between
tokens that are far apart, or that depend on order.
"""


import numbers

import numpy as np

from ._runtime import make_rng

__all__ = ["make_negation_reviews", "make_review_ratings", "make_story_corpus",
           "make_translation_pairs", "spell_number"]


def _check_count(value, name, low=0, high=None):
    """``value`` as an int in [low, high]; a TypeError or ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{name} must be {bounds}, got {value}.")
    return int(value)

_NAMES = ["anna", "bruno", "clara", "dmitri", "elena", "farid", "greta", "hugo"]
_NOUNS = [("cat", "cats"), ("dog", "dogs"), ("bird", "birds"), ("child", "children"),
          ("farmer", "farmers"), ("teacher", "teachers")]
_ADJECTIVES = ["old", "small", "happy", "clever", "quiet", "brave"]
_VERBS = [("sees", "see"), ("likes", "like"), ("follows", "follow"), ("helps", "help"),
          ("watches", "watch"), ("finds", "find")]
_INTRANSITIVE = [("sleeps", "sleep"), ("runs", "run"), ("sings", "sing"), ("waits", "wait")]
_PLACES = ["in the garden", "near the river", "at the market", "under the tree", "by the school"]
_TIMES = ["in the morning", "at night", "every day", "after lunch"]


def _noun_phrase(rng):
    """(words, is_plural): a name, or 'the [adjective] noun(s)'."""
    if rng.random() < 0.3:
        return _NAMES[rng.integers(len(_NAMES))], False
    plural = bool(rng.random() < 0.5)
    noun = _NOUNS[rng.integers(len(_NOUNS))][int(plural)]
    if rng.random() < 0.5:
        noun = f"{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} {noun}"
    return f"the {noun}", plural


def _sentence(rng):
    subject, plural = _noun_phrase(rng)
    words = [subject]
    if rng.random() < 0.3:
        words.append(_PLACES[rng.integers(len(_PLACES))])
    if rng.random() < 0.5:  # a relative clause between subject and verb: agreement at a distance
        verb = _VERBS[rng.integers(len(_VERBS))]
        other, other_plural = _noun_phrase(rng)
        words.append(f"who {verb[int(plural)]} {other}")
    if rng.random() < 0.5:
        verb = _VERBS[rng.integers(len(_VERBS))][int(plural)]
        obj, _ = _noun_phrase(rng)
        words.append(f"{verb} {obj}")
    else:
        words.append(_INTRANSITIVE[rng.integers(len(_INTRANSITIVE))][int(plural)])
    if rng.random() < 0.5:
        words.append(_PLACES[rng.integers(len(_PLACES))])
    if rng.random() < 0.3:
        words.append(_TIMES[rng.integers(len(_TIMES))])
    return " ".join(words) + "."


def make_story_corpus(n_sentences=2000, random_state=None):
    """Sentences of a small English-like grammar, e.g. "the old dogs who see anna sleep near the river."

    Verbs agree in number with their subject, also across a relative
    clause ("the cats who like bruno sing"), so predicting a verb's ending
    needs context several words back — more than a character n-gram sees.

    Parameters
    ----------
    n_sentences : int, default=2000
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    sentences : list of str

    Examples
    --------
    >>> from sktransformer.datasets import make_story_corpus
    >>> sentences = make_story_corpus(3, random_state=0)
    >>> len(sentences), all(s.endswith(".") for s in sentences)
    (3, True)
    """
    n_sentences = _check_count(n_sentences, "n_sentences")
    rng = make_rng(random_state)
    return [_sentence(rng) for _ in range(n_sentences)]


def make_translation_pairs(n_pairs=2000, max_number=999, random_state=None):
    """Numbers spelled in English words paired with their digits, e.g. ("three hundred twelve", "312").

    A small translation task: the output's order differs from the input's
    ("fourteen" -> "14", "forty" -> "40"), so it needs attention to the source.

    Parameters
    ----------
    n_pairs : int, default=2000
    max_number : int, default=999
        The numbers are drawn from 0 to ``max_number`` (at most 999).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    words : list of str
    digits : list of str

    Raises
    ------
    TypeError, ValueError
        If ``n_pairs`` is not an int >= 0 or ``max_number`` not an int from 0 to 999.

    Examples
    --------
    >>> from sktransformer.datasets import make_translation_pairs
    >>> words, digits = make_translation_pairs(2, random_state=0)
    >>> all(str(int(d)) == d for d in digits)
    True
    """
    n_pairs = _check_count(n_pairs, "n_pairs")
    max_number = _check_count(max_number, "max_number", 0, 999)
    rng = make_rng(random_state)
    drawn = rng.integers(0, max_number + 1, size=n_pairs)
    return [spell_number(int(n)) for n in drawn], [str(int(n)) for n in drawn]


_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def spell_number(n):
    """0..999 in English words.

    Parameters
    ----------
    n : int
        A number from 0 to 999.

    Returns
    -------
    words : str

    Raises
    ------
    TypeError
        If ``n`` is not an int (a bool neither).
    ValueError
        If ``n`` is outside 0..999.

    Examples
    --------
    >>> spell_number(342), spell_number(14), spell_number(0)
    ('three hundred forty two', 'fourteen', 'zero')
    """
    n = _check_count(n, "n", 0, 999)
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        words.append(_TENS[rest // 10])
        if rest % 10:
            words.append(_ONES[rest % 10])
    elif rest or not hundreds:
        words.append(_ONES[rest])
    return " ".join(words)


# ------------------------------------------------------------------ reviews with negation

_NEUTRAL = ("the movie was film it is a this plot actors story and scenes of with at "
            "ending music very quite").split()
_POSITIVE = "great good excellent wonderful brilliant superb lovely amazing fine enjoyable".split()
_NEGATIVE = "awful bad terrible boring dull poor horrible weak lame tedious".split()
_FILLER = [w for w in _NEUTRAL if w not in ("very", "quite")]
_STRONG = {"excellent", "wonderful", "brilliant", "superb", "amazing", "awful", "terrible",
           "horrible"}
_POLARITY = {**{w: (2 if w in _STRONG else 1) for w in _POSITIVE},
             **{w: (-2 if w in _STRONG else -1) for w in _NEGATIVE}}
_INTENSIFIERS = ("very", "really", "truly", "extremely", "so")
_DOWNTONERS = ("slightly", "somewhat", "rather", "fairly")
_NEGATIONS = ("not", "never", "hardly")
_ASPECTS = ("plot", "acting", "music", "ending", "story", "dialogue", "camera work", "cast")


def _clause(rng, negated):
    """Words ``[negation] [modifiers] adjective [at all]`` and their score."""
    adjective = str(rng.choice(list(_POLARITY)))
    score = float(_POLARITY[adjective])
    words = []
    if negated:
        words.append(str(rng.choice(_NEGATIONS)))
        score *= -0.5
    kind = rng.integers(3)  # 0: none, 1: intensifier(s), 2: downtoner
    if kind == 1:
        words += [str(w) for w in rng.choice(_INTENSIFIERS, size=rng.integers(1, 3), replace=False)]
        score *= 1.5
    elif kind == 2:
        words.append(str(rng.choice(_DOWNTONERS)))
        score *= 0.5
    words.append(adjective)
    if negated and words[0] != "hardly" and rng.random() < 0.3:
        words += ["at", "all"]
    return words, score


def make_negation_reviews(n_samples=2000, random_state=None):
    """One-clause reviews whose negation flips the adjective, e.g. "this plot was not very good at all".

    The label is the clause's polarity: 20 adjectives (8 of them strong),
    half the clauses negated ("not", "never", "hardly"), with intensifiers
    or downtoners between the negation and the adjective, among 2-7 neutral
    words. Word 1-2-gram counts leave many reviews ambiguous (TF-IDF +
    logistic regression: about 0.69); reading how the words combine gets
    nearly all of them.

    Parameters
    ----------
    n_samples : int, default=2000
    random_state : int, Generator, RandomState instance or None, default=None

    Returns
    -------
    X : list of str, length n_samples
    y : ndarray of shape (n_samples,), dtype str
        "pos" or "neg".

    Examples
    --------
    >>> from sktransformer.datasets import make_negation_reviews
    >>> X, y = make_negation_reviews(2, random_state=0)
    >>> len(X), set(y.tolist()) <= {"pos", "neg"}
    (2, True)
    """
    n_samples = _check_count(n_samples, "n_samples")
    rng = make_rng(random_state)
    X, y = [], []
    for _ in range(n_samples):
        words, score = _clause(rng, negated=rng.random() < 0.5)
        before = [str(w) for w in rng.choice(_FILLER, size=rng.integers(2, 6))]
        after = [str(w) for w in rng.choice(_FILLER, size=rng.integers(0, 3))]
        X.append(" ".join(before + ["was"] + words + after))
        y.append("pos" if score > 0 else "neg")
    return X, np.array(y)


def make_review_ratings(n_samples=2000, random_state=None):
    """Reviews of 1-3 clauses ("the plot was not good but the music was very lovely") and a rating.

    Each clause rates one aspect as :func:`make_negation_reviews` does (40%
    negated; "not" halves and flips the score, intensifiers raise it by half,
    downtoners halve it); the target is 3 + the clauses' mean score + noise
    of standard deviation 0.25 (stars, about 0 to 6). Ridge on word
    1-2-gram TF-IDF: R² about 0.38.

    Parameters
    ----------
    n_samples : int, default=2000
    random_state : int, Generator, RandomState instance or None, default=None

    Returns
    -------
    X : list of str, length n_samples
    y : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> from sktransformer.datasets import make_review_ratings
    >>> X, y = make_review_ratings(3, random_state=0)
    >>> len(X), y.shape
    (3, (3,))
    """
    n_samples = _check_count(n_samples, "n_samples")
    rng = make_rng(random_state)
    X, y = [], []
    for _ in range(n_samples):
        aspects = rng.choice(_ASPECTS, size=rng.integers(1, 4), replace=False)
        parts, scores = [], []
        for k, aspect in enumerate(aspects):
            words, score = _clause(rng, negated=rng.random() < 0.4)
            joiner = [] if k == 0 else [str(rng.choice(["and", "but"]))]
            parts += joiner + ["the", str(aspect), "was"] + words
            scores.append(score)
        X.append(" ".join(parts))
        y.append(3 + np.mean(scores) + rng.normal(0, 0.25))
    return X, np.array(y)
