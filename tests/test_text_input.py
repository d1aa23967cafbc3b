"""How text becomes tokens: Unicode forms, grapheme clusters, text columns, truncation."""

import unicodedata
import warnings

import numpy as np
import pandas as pd
import pytest
from configs import SMALL
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline

from sktransformer import SequenceVectorizer, TransformerClassifier
from sktransformer._sequences import read_token_lists
from sktransformer._text import analyze, graphemes, words

FAST = {**SMALL, "d_model": 8, "max_iter": 1}

NFC = unicodedata.normalize("NFC", "café naïve")
NFD = unicodedata.normalize("NFD", NFC)
ZWJ, VS16 = "\u200d", "\ufe0f"
WOMAN_TECHNOLOGIST = "\U0001f469\u200d\U0001f4bb"
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"
FLAG_FR = "\U0001f1eb\U0001f1f7"
HEART = "\u2764\ufe0f"


def _is_extender(c):
    return (unicodedata.category(c) in ("Mn", "Mc", "Me") or c in "\u200c\u200d"
            or "\ufe00" <= c <= "\ufe0f" or "\U0001f3fb" <= c <= "\U0001f3ff")


# --------------------------------------------------------- normalisation


def test_decomposed_text_gets_the_ids_of_composed_text():
    vec = SequenceVectorizer().fit([NFC])
    assert NFC != NFD
    np.testing.assert_array_equal(vec.transform([NFD]), vec.transform([NFC]))
    assert (vec.transform([NFD]) >= 2).all()  # no unknowns


def test_vocabulary_fitted_on_decomposed_text_holds_whole_words():
    vec = SequenceVectorizer().fit([NFD])
    assert set(vec.vocabulary_) == {"café", "naïve"}
    chars = SequenceVectorizer(analyzer="char").fit([NFD])
    assert "é" in chars.vocabulary_ and "\u0301" not in chars.vocabulary_
    assert not any(_is_extender(t[0]) for t in chars.vocabulary_)


def test_marks_without_a_precomposed_form_stay_in_their_word():
    assert words("q\u0307 x\u0323\u0304") == ["q\u0307", "x\u0323\u0304"]
    assert words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # spacing vowel signs and virama


def test_orphan_marks_are_never_word_tokens():
    assert words("\u0301abc \u0301 d" + ZWJ + " " + VS16) == ["abc", "d" + ZWJ]


def test_emoji_sequences_are_single_tokens():
    text = f"{WOMAN_TECHNOLOGIST} {THUMBS_UP_MEDIUM}{FLAG_FR}{HEART}!"
    expected = [WOMAN_TECHNOLOGIST, THUMBS_UP_MEDIUM, FLAG_FR, HEART, "!"]
    assert words(text) == expected
    assert graphemes(text) == [WOMAN_TECHNOLOGIST, " ", THUMBS_UP_MEDIUM, FLAG_FR, HEART, "!"]
    vec = SequenceVectorizer(analyzer="char").fit([text])
    assert ZWJ not in vec.vocabulary_ and "\U0001f3fd" not in vec.vocabulary_


def test_grapheme_clusters():
    assert graphemes("e\u0301a") == ["e\u0301", "a"]
    assert graphemes("a\r\nb") == ["a", "\r\n", "b"]
    assert graphemes("\U0001f1eb\U0001f1f7\U0001f1e9") == [FLAG_FR, "\U0001f1e9"]
    assert graphemes("\u1100\u1161\u11a8\u1100") == ["\u1100\u1161\u11a8", "\u1100"]
    assert graphemes("1\ufe0f\u20e3") == ["1\ufe0f\u20e3"]  # keycap


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_clusters_cover_the_text_and_tokens_never_start_with_an_extender(text):
    assert "".join(graphemes(text)) == text
    for token in words(text):
        assert token and not _is_extender(token[0]) and not token[0].isspace()


@pytest.mark.parametrize("normalize, expected", [("NFC", ["ﬁne", "１"]), ("NFKC", ["fine", "1"])])
def test_normalize_forms(normalize, expected):
    assert analyze("ﬁne １", normalize=normalize) == expected
    vec = SequenceVectorizer(normalize=None).fit([NFD])
    assert vec.transform([NFC]).tolist() == [[1, 1]]  # None: the forms stay different


def test_strip_accents_like_countvectorizer():
    assert analyze("Café Ñandú", strip_accents="unicode") == ["cafe", "nandu"]
    assert analyze("Café 한국", strip_accents="ascii") == ["cafe"]
    assert analyze("한국어", strip_accents="unicode") == ["한국어"]  # syllables recomposed
    vec = SequenceVectorizer(strip_accents="unicode").fit(["café"])
    assert vec.transform([NFD.split()[0], "cafe"]).tolist() == [[2], [2]]


def test_bad_normalize_and_strip_accents_values_are_refused():
    with pytest.raises(ValueError, match="normalize"):
        SequenceVectorizer(normalize="NFD").fit(["a"])
    with pytest.raises(ValueError, match="strip_accents"):
        SequenceVectorizer(strip_accents=True).fit(["a"])


def test_string_tokens_in_lists_are_normalised_not_lowercased():
    vec = SequenceVectorizer().fit([["Café", "x"]])
    assert vec.transform([[unicodedata.normalize("NFD", "Café")]]).tolist() == [[2, 0]]
    assert analyze(["Café", 3]) == ["Café", 3]


def test_estimators_apply_the_same_normalisation():
    clf = TransformerClassifier(**FAST).fit([NFD, "other words"], [0, 1])
    assert "café" in clf.vocabulary_
    assert not any(isinstance(t, str) and _is_extender(t[0]) for t in clf.vocabulary_)
    np.testing.assert_array_equal(clf.predict_proba([NFC]), clf.predict_proba([NFD]))


# --------------------------------------------------------- text columns

REVIEWS = pd.DataFrame({"review": ["a good film", "bad", "good good film, really"],
                        "stars": [4, 1, 5], "title": ["Fine one", "Meh", "Great film"]})


def test_one_text_column_is_read_cell_by_cell():
    expected = SequenceVectorizer().fit_transform(REVIEWS["review"])
    ct = make_column_transformer((SequenceVectorizer(), ["review"]))
    np.testing.assert_array_equal(ct.fit_transform(REVIEWS), expected)
    as_array = REVIEWS[["review"]].to_numpy(dtype=object)
    assert as_array.shape == (3, 1)
    vec = SequenceVectorizer().fit(as_array)
    np.testing.assert_array_equal(vec.transform(as_array), expected)
    assert vec.n_features_in_ == 1 and vec.width_ == 5


def test_one_text_column_frame_keeps_its_feature_names():
    vec = SequenceVectorizer().fit(REVIEWS[["review"]])
    assert list(vec.feature_names_in_) == ["review"]
    assert "film" in vec.vocabulary_ and "a good film" not in vec.vocabulary_
    with pytest.raises(ValueError, match="2-D array with 1 column"):
        vec.transform(["a list of texts"])


def test_a_model_fitted_on_a_text_column_refuses_a_frame_of_another_column():
    """Recorded no name and read the titles where it was fitted on the reviews; the vectorizer,
    language model and seq2seq already refused (scikit-learn's rule for a frame's columns)."""
    from sktransformer import TransformerEncoder, TransformerRegressor

    frame = pd.concat([REVIEWS] * 4, ignore_index=True)
    y = [0, 1, 1] * 4
    for model, method in ((TransformerClassifier(**FAST).fit(frame[["review"]], y), "predict"),
                          (TransformerRegressor(**FAST).fit(frame[["review"]], y), "predict"),
                          (TransformerEncoder(**FAST).fit(frame[["review"]]), "transform")):
        assert list(model.feature_names_in_) == ["review"]
        with pytest.raises(ValueError, match="feature names should match.*'review'.*'title'"):
            getattr(model, method)(frame[["title"]])
        expected = getattr(model, method)(frame[["review"]])
        np.testing.assert_array_equal(getattr(model, method)(frame["review"]), expected)
        np.testing.assert_array_equal(getattr(model, method)(list(frame["review"])), expected)
    assert not hasattr(TransformerClassifier(**FAST).fit(list(frame["review"]), y),
                       "feature_names_in_")


def test_several_text_columns_are_refused_naming_the_scalar_selector():
    selector = r'make_column_transformer\(\(SequenceVectorizer\(\), "review"\)\)'
    with pytest.raises(ValueError, match=selector) as info:
        SequenceVectorizer().fit(REVIEWS[["review", "title"]])
    message = str(info.value)
    assert "review, title" in message and "np.str_" not in message
    with pytest.raises(ValueError, match="own SequenceVectorizer"):
        make_column_transformer((SequenceVectorizer(), ["review", "title"])).fit(REVIEWS)


def test_columns_of_single_tokens_are_still_one_token_per_cell():
    events = pd.DataFrame({"first": ["login", "view"], "second": ["click", "login"]})
    vec = SequenceVectorizer().fit(events)
    assert vec.inverse_transform(vec.transform(events)) == [["login", "click"], ["view", "login"]]
    codes = np.array([[3, 1], [1, 2]])
    assert SequenceVectorizer().fit(codes).inverse_transform([[2, 3]]) == [[1, 3]]


@pytest.mark.parametrize("rows", [lambda t: [t], lambda t: (t,)], ids=["tolist", "fetchall"])
def test_a_list_of_one_cell_rows_of_texts_is_read_as_the_texts(rows):
    """``df[["review"]].values.tolist()`` or a cursor's ``fetchall()``: a column of texts, not one
    token per document, in every reader (the families, read_token_lists, the linear blend)."""
    from sktransformer import TransformerEncoder, TransformerLanguageModel

    texts = list(REVIEWS["review"]) * 4
    table = [rows(t) for t in texts]
    y = [0, 1, 1] * 4
    vec = SequenceVectorizer().fit(table)
    assert "film" in vec.vocabulary_ and "a good film" not in vec.vocabulary_
    np.testing.assert_array_equal(vec.transform(table), SequenceVectorizer().fit_transform(texts))
    clf = TransformerClassifier(**FAST)
    np.testing.assert_array_equal(clf.fit(table, y).predict_proba(table),
                                  TransformerClassifier(**FAST).fit(texts, y)
                                  .predict_proba(texts))
    assert "a good film" not in TransformerEncoder(**FAST).fit(table).vocabulary_
    assert (TransformerLanguageModel(**FAST).fit(table).vocabulary_
            == TransformerLanguageModel(**FAST).fit(texts).vocabulary_)


def test_one_cell_rows_read_as_the_fit_read_them_whatever_else_is_in_the_batch():
    """Read as texts only when some row of the same call held several words: a fetched row
    ("Great!",) gave other predictions alone than beside a longer review (review of the change)."""
    texts = list(REVIEWS["review"]) * 4
    y = [0, 1, 1] * 4
    for fitted_on in ([(t,) for t in texts], texts):  # fetched rows, or the texts themselves
        clf = TransformerClassifier(**FAST).fit(fitted_on, y)
        vec = SequenceVectorizer().fit(fitted_on)
        alone, batch = [("Great!",)], [("Great!",), ("a good film",)]
        np.testing.assert_array_equal(clf.predict_proba(alone), clf.predict_proba(batch)[:1])
        np.testing.assert_array_equal(clf.predict_proba(alone), clf.predict_proba(["Great!"]))
        np.testing.assert_array_equal(vec.transform(alone)[0], vec.transform(["Great!"])[0])
    tokens = [["new york", "is"], ["paris"], ["new york"]] * 4  # token lists: one-cell rows stay so
    vec = SequenceVectorizer().fit(tokens)
    np.testing.assert_array_equal(vec.transform([["new york"]]),
                                  vec.transform([["new york"], ["new york", "is"]])[:1])
    assert vec.inverse_transform(vec.transform([["new york"]])) == [["new york"]]


def test_seq2seq_reads_targets_given_as_one_cell_rows_as_texts():
    from sktransformer import TransformerSeq2Seq

    X = ["one two", "three four", "five six"] * 4
    y = ["un deux", "trois quatre", "cinq six"] * 4
    rows = TransformerSeq2Seq(**FAST).fit([(t,) for t in X], [(t,) for t in y])
    plain = TransformerSeq2Seq(**FAST).fit(X, y)
    assert rows._codec.target.vocabulary == plain._codec.target.vocabulary
    assert rows.score([(t,) for t in X], [(t,) for t in y]) == plain.score(X, y)


def test_one_cell_rows_of_single_words_stay_token_lists_and_a_tagger_labels_them_as_given():
    """Rows of one single-word token are token sequences; a tagger keeps a multi-word token."""
    from sktransformer import TransformerTagger

    assert "good" in SequenceVectorizer().fit([["good"], ["bad"]]).vocabulary_
    tagger = TransformerTagger(**FAST).fit([["new york"], ["paris"]] * 4, [["CITY"], ["CAP"]] * 4)
    assert [len(p) for p in tagger.predict([["new york"], ["paris"]])] == [1, 1]


@pytest.mark.parametrize("cell", [3.5, True, b"good film", ("good", "film")],
                         ids=["float", "bool", "bytes", "tuple"])
def test_a_text_column_refuses_a_cell_that_is_not_a_string(cell):
    """As a list or Series the same texts are refused; in a one-column frame the cell became its
    str() (classifier, encoder) or one token (vectorizer, language model: a float token)."""
    from sktransformer import TransformerEncoder, TransformerLanguageModel

    texts = list(REVIEWS["review"]) * 4
    texts[3] = cell
    frame = pd.DataFrame({"review": texts})
    for make in (lambda: TransformerClassifier(**FAST).fit(frame, [0, 1, 1] * 4),
                 lambda: TransformerEncoder(**FAST).fit(frame),
                 lambda: TransformerLanguageModel(**FAST).fit(frame),
                 lambda: SequenceVectorizer().fit(frame)):
        with pytest.raises(TypeError, match="Row 3 of X's text column is a"):
            make()


def test_read_token_lists_keeps_its_positional_signature():
    vec = SequenceVectorizer()
    assert read_token_lists(vec, ["A b"], True, "word", False) == [["A", "b"]]


# --------------------------------------------------------- messages, truncation


def test_inverse_transform_errors_name_x_and_show_plain_values():
    vec = SequenceVectorizer().fit(["a b"])
    with pytest.raises(ValueError, match="X to be a 2-D array of integer token ids, got a 1-D"):
        vec.inverse_transform([2, 3])
    with pytest.raises(ValueError, match="X to be a 2-D array.*dtype float64"):
        vec.inverse_transform([[2.5]])
    with pytest.raises(ValueError, match=r"never produces: \[-1, 9\] \(its ids run from 0 to 3\)"):
        vec.inverse_transform(np.array([[2, 9, -1]], dtype=np.int64))


def test_transform_errors_name_x():
    vec = SequenceVectorizer().fit(["a b"])
    with pytest.raises(TypeError, match="Expected X to be a list of sequences"):
        vec.transform("a b")
    with pytest.raises(TypeError, match="Sequence 1 of X is a int"):
        vec.transform(["a", 3])


def test_transform_warns_once_when_it_cuts_sequences():
    vec = SequenceVectorizer().fit(["a b", "a"])
    with pytest.warns(UserWarning, match="2 of 3 sequences in X are longer") as record:
        ids = vec.transform(["a b c", "a b a b", "a"])
    assert len(record) == 1 and ids.shape == (3, 2)


def test_no_truncation_warning_when_max_len_is_chosen_or_nothing_is_cut():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SequenceVectorizer(max_len=1).fit(["a b"]).transform(["a b c"])
        SequenceVectorizer().fit(["a b c", "a"]).transform(["a b", "c"])
        SequenceVectorizer().fit_transform(["a b c", "a"])


def test_text_pipeline_with_a_text_column():
    pipe = make_pipeline(make_column_transformer((SequenceVectorizer(), ["review"])),
                         TransformerClassifier(**FAST))
    pipe.fit(REVIEWS, [1, 0, 1])
    assert pipe.predict(REVIEWS).shape == (3,)


@pytest.mark.parametrize("returned, shown", [(None, "NoneType None"), ("A B", "str 'A B'"),
                                             (3, "int 3"), ({"a"}, "set {'a'}")])
def test_a_callable_analyzer_must_return_a_list_of_tokens(returned, shown):
    from sktransformer import TransformerLanguageModel, TransformerSeq2Seq

    def bad(text):
        return returned

    texts = ["a b", "c"]
    for fit in (lambda: SequenceVectorizer(analyzer=bad).fit(texts),
                lambda: TransformerLanguageModel(**FAST, analyzer=bad).fit(texts),
                lambda: TransformerSeq2Seq(**FAST, analyzer=bad).fit(texts, texts),
                lambda: TransformerSeq2Seq(**FAST, target_analyzer=bad).fit(texts, texts)):
        with pytest.raises(TypeError, match=f"analyzer must return a list of tokens, but it "
                                            f"returned {shown} for sequence 0"):
            fit()
    vec = SequenceVectorizer(analyzer=lambda text: (t for t in text.split())).fit(texts)
    assert vec.transform(["b a"]).tolist() == [[3, 2]]  # any other iterable of tokens is one


def test_utf16_surrogates_are_read_as_the_character_a_pair_makes_or_as_a_replacement():
    for analyzer in ("word", "char"):
        assert analyze("nice \ud83d\udc4d", analyzer) == analyze("nice \U0001f44d", analyzer)
        assert analyze("page \ud835 3", analyzer) == analyze("page \ufffd 3", analyzer)
