"""Small generated data sets that ship with the package (no download).

They are made to need what a Transformer brings: dependencies between
tokens that are far apart, or that depend on order.
"""


from ._runtime import make_rng

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
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    words : list of str
    digits : list of str

    Examples
    --------
    >>> from sktransformer.datasets import make_translation_pairs
    >>> words, digits = make_translation_pairs(2, random_state=0)
    >>> all(str(int(d)) == d for d in digits)
    True
    """
    rng = make_rng(random_state)
    numbers = rng.integers(0, max_number + 1, size=n_pairs)
    return [spell_number(int(n)) for n in numbers], [str(int(n)) for n in numbers]


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
    ValueError
        If ``n`` is outside 0..999.

    Examples
    --------
    >>> spell_number(342), spell_number(14), spell_number(0)
    ('three hundred forty two', 'fourteen', 'zero')
    """
    if not 0 <= n <= 999:
        raise ValueError(f"spell_number handles 0..999, got {n}.")
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


__all__ = ["make_story_corpus", "make_translation_pairs", "spell_number"]
