"""What a token is: text normalised, then split into words or user-perceived characters.

The analyzer pipeline of scikit-learn's ``CountVectorizer``, as small named
steps: :func:`preprocess` (lowercase, Unicode normal form, accents), then
:func:`words` or :func:`graphemes` (or a callable), in :func:`analyze`, which
also checks tokens given as lists. Every estimator that reads raw text, and
:class:`~sktransformer.SequenceVectorizer`, goes through :func:`analyze`.
"""

import re
import unicodedata
from functools import cache

import numpy as np

NORMALIZATIONS = ("NFC", "NFKC")
ACCENT_STRIPPERS = ("ascii", "unicode")

# Code points that never start a token or a character of their own: they extend the one before
# them (Unicode's Grapheme_Extend and SpacingMark, roughly). Combining marks (Mn, Mc, Me) are
# read from ``unicodedata`` on first use; these are the ones outside those categories.
_EXTENDERS = [
    0x200C, 0x200D,  # zero-width non-joiner and joiner
    *range(0xFE00, 0xFE10),  # variation selectors (text / emoji presentation)
    *range(0x1F3FB, 0x1F400),  # emoji skin-tone modifiers
    *range(0xE0020, 0xE0080),  # tag characters (subdivision flags)
]
_REGIONAL_INDICATORS = list(range(0x1F1E6, 0x1F200))  # two of them make one flag
# Hangul jamo: leading consonants L, vowels V, trailing consonants T, syllables LV and LVT.
_HANGUL = ("[\u1100-\u115f\ua960-\ua97c]*"
           "(?:[\u1160-\u11a7\ud7b0-\ud7c6]+|{LV}[\u1160-\u11a7\ud7b0-\ud7c6]*|[\uac00-\ud7a3])"
           "[\u11a8-\u11ff\ud7cb-\ud7fb]*"
           "|[\u1100-\u115f\ua960-\ua97c]+|[\u11a8-\u11ff\ud7cb-\ud7fb]+")
_JAMO = [*range(0x1100, 0x1200), *range(0xA960, 0xA980), *range(0xD7B0, 0xD800)]


# Invisible characters that would otherwise be tokens of their own or split words: formatting
# controls (soft hyphen, byte-order mark / zero-width no-break space, word joiner, direction marks
# and embeddings, invisible operators, interlinear annotation) and control characters that are
# not whitespace (NUL, ...), as BERT's tokenizer drops them (its _clean_text). A zero-width space
# marks a word boundary (Thai, Khmer), so it becomes a space. Zero-width (non-)joiners and tag
# characters stay: they join emoji and scripts' letters. Visible format characters (Arabic
# number signs) stay too.
_INVISIBLE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in (
    0x00AD, 0x061C, 0x180E, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2060, 0x2065),
    *range(0x2066, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFC),
    *(cp for cp in range(0x20) if not chr(cp).isspace()), 0x7F,
    *(cp for cp in range(0x80, 0xA0) if not chr(cp).isspace()))) + "]")


def _visible(text):
    """``text`` without invisible characters, a zero-width space turned into a space."""
    text = well_formed(text)
    if _INVISIBLE.search(text) is not None:  # a regex pass in C; str.translate is slow beyond ASCII
        text = _INVISIBLE.sub("", text)
    return text.replace("\u200b", " ") if "\u200b" in text else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text):
    """``text`` as valid Unicode: UTF-16 surrogates (half characters, from JSON escapes such as
    a thumbs-up written ``"\\ud83d\\udc4d"``, or a cut PDF extraction) joined into the character
    a pair makes, a lone one replaced by U+FFFD, as tiktoken does. A tokenizer (``tokenizers``)
    refuses a string holding one ("TextInputSequence must be str"); the word analyzer would
    read it as a symbol.

    Examples
    --------
    >>> well_formed("ok \\ud83d\\udc4d") == "ok \\U0001f44d"
    True
    >>> well_formed("page \\ud835 3") == "page \\ufffd 3"
    True
    """
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _char_class(code_points):
    """Code points -> a regex matching any one of them.

    Characters beyond U+FFFF go in a class of their own: :mod:`re` compiles a
    class within the first plane to a fast bitmap, but tests a class that
    reaches beyond it range by range.
    """
    def ranges(cps):
        parts, start, previous = [], None, None
        for cp in [*cps, None]:
            if start is not None and cp == previous + 1:
                previous = cp
                continue
            if start is not None:
                parts.append(f"\\U{start:08x}" + (f"-\\U{previous:08x}" if previous > start else ""))
            start = previous = cp
        return "".join(parts)

    code_points = sorted(set(code_points))
    classes = [f"[{ranges(part)}]" for part in ([cp for cp in code_points if cp <= 0xFFFF],
                                              [cp for cp in code_points if cp > 0xFFFF]) if part]
    return f"(?:{'|'.join(classes)})"


@cache
def _patterns():
    """(word pattern, grapheme pattern, joiners), built once from this Python's Unicode database.

    ``joiners`` finds the characters of the first plane that can make a
    cluster of more than one code point; text without them (and without
    characters beyond U+FFFF) is one character per code point. Marks
    live in planes 0, 1 and 14 only, so the scan skips the ideograph planes.
    """
    marks, pictographs = [], []
    for cp in [*range(0x20000), *range(0xE0000, 0xE0200)]:
        category = unicodedata.category(chr(cp))
        if category in ("Mn", "Mc", "Me"):
            marks.append(cp)
        elif category == "So":
            pictographs.append(cp)
    extend = _char_class(marks + _EXTENDERS)
    flag = f"{_char_class(_REGIONAL_INDICATORS)}{{2}}"
    # after a zero-width joiner, a pictograph joins the cluster (emoji ZWJ sequences)
    tail = f"(?:\u200d{_char_class(pictographs)}|{extend})*"
    hangul = _HANGUL.format(LV=_char_class(range(0xAC00, 0xD7A4, 28)))
    # a word: a letter, digit or underscore, then more of them and their marks;
    # otherwise one symbol (a flag, or a punctuation mark or emoji with its modifiers)
    word = re.compile(f"\\w(?:\\w|{extend})*|{flag}|(?!\\s|{extend})\\W{tail}")
    grapheme = re.compile(f"\r\n|{flag}{tail}|(?:{hangul}){tail}|.{tail}", re.DOTALL)
    joiners = re.compile(_char_class(  # within the first plane: text beyond it takes the long way
        [cp for cp in [ord("\r"), *marks, *_EXTENDERS, *_JAMO] if cp <= 0xFFFF])[3:-1])
    return word, grapheme, joiners


def graphemes(text):
    """User-perceived characters of ``text`` (extended grapheme clusters, approximately).

    Implemented with :mod:`re` and :mod:`unicodedata` only, so a vocabulary
    does not depend on which optional packages are installed: a base
    character keeps its combining marks, variation selectors, skin-tone
    modifiers and zero-width-joined pictographs; two regional indicators
    make one flag; Hangul jamo make one syllable; CR LF is one character.
    Indic conjuncts (Unicode 15.1's rule GB9c) and prepended marks are not
    joined. The `regex` module's ``\\X`` gives the full rules.

    Examples
    --------
    >>> [len(g) for g in graphemes("e\\u0301!\\U0001f44d\\U0001f3fd\\U0001f1eb\\U0001f1f7")]
    [2, 1, 2, 2]
    """
    _, grapheme, joiners = _patterns()
    if joiners.search(text) or (text and max(text) > "\uffff"):
        return grapheme.findall(text)
    return list(text)


def words(text):
    """Words (letters, digits and their marks) and each other symbol alone, of ``text``.

    A combining mark, zero-width joiner, variation selector or skin-tone
    modifier stays with the character before it; one with nothing before
    it (at the start, or after a space) is dropped.

    Examples
    --------
    >>> [len(w) for w in words("Cafe\\u0301 nai\\u0308ve, \\U0001f469\\u200d\\U0001f4bb!")]
    [5, 6, 1, 3, 1]
    """
    return _patterns()[0].findall(text)


def preprocess(text, lowercase=True, normalize="NFC", strip_accents=None):
    """Lowercase, normalise (``"NFC"``, ``"NFKC"`` or None) and strip accents from one string.

    ``strip_accents="unicode"`` removes combining marks after a compatibility
    decomposition (as :class:`~sklearn.feature_extraction.text.CountVectorizer`
    does), then recomposes what is left, so Hangul syllables stay whole;
    ``"ascii"`` keeps only what has an ASCII equivalent (emoji and most
    non-Latin scripts disappear). Invisible formatting and control
    characters (a byte-order mark, soft hyphen, direction marks, NUL, ...)
    are removed first, so text that looks the same reads the same; a
    zero-width space separates words.

    Examples
    --------
    >>> preprocess("Cafe\\u0301") == "caf\\u00e9", preprocess("Café", strip_accents="unicode")
    (True, 'cafe')
    """
    text = _visible(text)
    if lowercase:
        text = text.lower()
    if normalize is not None:
        text = unicodedata.normalize(normalize, text)
    if strip_accents == "unicode":
        decomposed = unicodedata.normalize("NFKD", text)
        text = unicodedata.normalize(
            "NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
    elif strip_accents == "ascii":
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text


def _hashable_token(token, position):
    if token is None:
        raise ValueError(f"Sequence {position} contains None, which is not a valid token.")
    if isinstance(token, float) and token != token:
        raise ValueError(f"Sequence {position} contains NaN, which is not a valid token.")
    try:
        hash(token)
    except TypeError:
        raise TypeError(
            f"Sequence {position} contains an unhashable token of type {type(token).__name__}."
        ) from None
    return token.item() if isinstance(token, np.generic) else token


def _analyzer_tokens(tokens, position):
    """What a callable analyzer returned, as a list: refused unless it is a sequence of tokens."""
    if isinstance(tokens, str | bytes | dict | set | frozenset) or not hasattr(tokens, "__iter__"):
        shown = repr(tokens) if len(repr(tokens)) <= 40 else repr(tokens)[:37] + "..."
        raise TypeError(f"The analyzer must return a list of tokens, but it returned "
                        f"{type(tokens).__name__} {shown} for sequence {position}.")
    return list(tokens)


def analyze(x, analyzer="word", lowercase=True, position=0, *, normalize="NFC",
            strip_accents=None):
    """One sequence -> its list of tokens.

    A string is first preprocessed (:func:`preprocess`: lowercased if
    ``lowercase``, normalised to Unicode form ``normalize``, accents stripped
    if ``strip_accents``), then split by ``analyzer``: ``"word"`` (:func:`words`:
    runs of letters and digits with their combining marks, and each other
    symbol alone), ``"char"`` (:func:`graphemes`: user-perceived characters,
    so an accented letter or an emoji with its modifiers is one token), or a
    callable ``str -> list`` (which receives the preprocessed string).

    A list of tokens is taken as it is, except that string tokens are
    normalised to ``normalize`` too (so "café" typed either way is one
    token); they are not lowercased.

    The defaults are the estimators' too: raw text passed to an estimator
    is NFC-normalised and lowercased.

    Examples
    --------
    >>> analyze("The cat, sat."), analyze("ab", analyzer="char"), analyze([3, 1])
    (['the', 'cat', ',', 'sat', '.'], ['a', 'b'], [3, 1])
    >>> analyze("Cafe\\u0301") == analyze("Caf\\u00e9") == ["caf\\u00e9"]
    True
    """
    if isinstance(x, str):
        x = preprocess(x, lowercase, normalize, strip_accents)
        if callable(analyzer):
            tokens = _analyzer_tokens(analyzer(x), position)
        elif analyzer == "char":
            tokens = graphemes(x)
        else:
            tokens = words(x)
        return [_hashable_token(t, position) for t in tokens]
    tokens = [_hashable_token(t, position) for t in x]
    if normalize is None:
        return tokens
    return [unicodedata.normalize(normalize, t) if isinstance(t, str) else t for t in tokens]


MAX_RUN = 8  # tokens in a run surface_forms keeps (a URL of 300 tokens would slow every join)


def surface_forms(texts, analyzer="word", token_lists=None):
    """{a token run joined by spaces: the chunk it came from}, for whitespace-free chunks of
    ``texts`` that ``analyzer`` splits into 2 to ``MAX_RUN`` tokens ("B-PER", "U.S.", "hello,").

    What lets a model that generates tokens give these back as its training
    texts wrote them (:func:`detokenize`), not as "B - PER". A run keeps its
    most frequent chunk (the first seen among equals), and only where the
    texts write it so more often than with spaces (``token_lists``, the
    texts' tokens, count those; analysed here if None): a corpus written
    "hello , world" keeps its spaces. Chunks are kept as the analyzer reads
    them (valid Unicode, NFC, no invisible characters); tokens are not
    lowercased, as targets are not.

    Examples
    --------
    >>> surface_forms(["B-PER went to the U.S.", "hello, world", "hello , there"])
    {'B - PER': 'B-PER', 'U . S .': 'U.S.'}
    """
    counts = {}
    for text in texts:
        for chunk in text.split():
            if chunk.isalnum():  # one token (or none to rebuild)
                continue
            tokens = analyze(chunk, analyzer, lowercase=False)
            if 1 < len(tokens) <= MAX_RUN:
                key = (" ".join(map(str, tokens)), preprocess(chunk, lowercase=False))
                counts[key] = counts.get(key, 0) + 1
    if not counts:
        return {}
    unspaced = {}
    for (run, _), n in counts.items():
        unspaced[run] = unspaced.get(run, 0) + n
    firsts = {run.split(" ", 1)[0] for run in unspaced}
    longest = max(run.count(" ") + 1 for run in unspaced)
    seen = dict.fromkeys(unspaced, 0)  # every occurrence of the runs, spaced or not
    if token_lists is None:
        token_lists = [analyze(text, analyzer, lowercase=False) for text in texts]
    for tokens in token_lists:
        tokens = [str(t) for t in tokens]
        for i, token in enumerate(tokens):
            if token in firsts:
                for n in range(2, min(longest, len(tokens) - i) + 1):
                    run = " ".join(tokens[i : i + n])
                    if run in seen:
                        seen[run] += 1
    forms = {}
    for (run, chunk), _ in sorted(counts.items(), key=lambda item: -item[1]):  # stable: first seen
        if unspaced[run] > seen[run] - unspaced[run]:  # written without spaces more often than with
            forms.setdefault(run, chunk)
    return forms


def detokenize(tokens, forms, longest=None):
    """Tokens joined by spaces, each longest run that is a key of ``forms`` written as its chunk.

    ``longest``: the most tokens in a run of ``forms`` (computed if None;
    pass it when detokenizing many sequences).

    Examples
    --------
    >>> detokenize(["hello", ",", "world", "!"], {"hello ,": "hello,"})
    'hello, world !'
    """
    tokens = [str(t) for t in tokens]
    if not forms:
        return " ".join(tokens)
    if longest is None:
        longest = max(run.count(" ") for run in forms) + 1
    out, i = [], 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 1, -1):
            chunk = forms.get(" ".join(tokens[i : i + n]))
            if chunk is not None:
                out.append(chunk)
                i += n
                break
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)
