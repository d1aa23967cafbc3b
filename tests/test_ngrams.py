"""Token n-gram embeddings (``max_ngram``): which row each position reads, and what they add."""

import numpy as np
import pytest
from configs import SMALL
from tasks import invented_words, query_order_task

from sktransformer import TransformerClassifier, TransformerRegressor, load, save
from sktransformer._families import choose_family
from sktransformer._ngrams import (
    MIN_COUNT,
    fit_ngrams,
    n_ngram_rows,
    ngram_keys,
    ngram_rows,
)
from sktransformer._probe import ngrams_help


def test_keys_are_the_tokens_ending_at_each_position_with_a_boundary_before_the_start():
    ids = np.array([[3, 4, 5, 0]])
    keys = ngram_keys(ids, 2, n_ids=10)  # base 11, boundary id 10
    assert keys.tolist() == [[10 * 11 + 3, 3 * 11 + 4, 4 * 11 + 5, -1]]
    assert ngram_keys(ids, 3, n_ids=10)[0, 0] == (10 * 11 + 10) * 11 + 3


def test_equal_ngrams_get_equal_keys_and_different_ones_differ_in_the_hashed_range():
    big = 2**40  # (big + 1) ** 3 > 2**63: keys are hashed
    ids = np.array([[5, big - 1, 7, 5, big - 1, 7], [7, big - 1, 5, 0, 0, 0]])
    keys = ngram_keys(ids, 3, n_ids=big)
    assert keys[0, 2] == keys[0, 5] and keys[0, 2] >= 0
    assert len({keys[0, 2], keys[1, 2], keys[0, 3], keys[0, 4]}) == 4
    assert (keys[1, 3:] == -1).all()


def test_rows_known_ngrams_their_own_and_rare_or_unseen_ones_the_order_rare_row():
    train = np.array([[1, 2, 3], [1, 2, 4], [5, 6, 7]])  # "1 2" twice, "5 6" once
    tables = fit_ngrams(train, 2, n_ids=8)
    assert MIN_COUNT == 2 and n_ngram_rows(tables) == len(tables[0]) + 2
    rows = ngram_rows(np.array([[1, 2, 6], [5, 6, 0]]), tables, n_ids=8)[..., 0]
    bigram_12 = rows[0, 1]
    assert bigram_12 >= 2  # seen twice: its own row
    assert rows[0, 2] == 0 and rows[1, 1] == 0  # unseen "2 6", once-seen "5 6": the rare row
    assert rows[1, 2] == 0  # padding: rare row (masked anyway)
    assert ngram_rows(np.array([[1, 2]]), tables, n_ids=8)[0, 1, 0] == bigram_12


def test_the_last_token_also_reads_the_ngram_that_ends_with_the_boundary():
    train = np.array([[1, 2, 3, 0], [4, 2, 3, 0], [2, 3, 0, 0]])  # "3 $" three times
    tables = fit_ngrams(train, 2, n_ids=8)
    rows = ngram_rows(np.array([[5, 2, 3, 0], [5, 5, 5, 5]]), tables, n_ids=8)
    suffix = rows[..., 1]
    assert suffix[0, 2] >= 2  # "3 $": a suffix seen three times has its own row
    assert (suffix[0, [0, 1, 3]] == 1).all()  # not the last token: the "not last" row
    assert suffix[1, 3] == 0  # "5 $" never seen: rare


def test_orders_have_separate_row_ranges():
    train = np.array([[1, 2, 3, 1, 2, 3]] * 2)
    tables = fit_ngrams(train, 3, n_ids=4)
    rows = ngram_rows(train, tables, n_ids=4)
    assert rows.shape == (2, 6, 4)  # bigram, trigram; their suffix slots
    first = len(tables[0]) + 2
    assert rows[..., 0].max() < first <= rows[..., 1].min()
    assert rows[..., 2].max() < first <= rows[..., 3].min()


def _order_only_task(n, seed=0):
    """Label: whether each "a" is followed by "b" or preceded by it; the bag of tokens is the same."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        filler = list(rng.choice(list("cdefgh"), size=6))
        pairs = [["a", "b"] if label else ["b", "a"] for _ in range(2)]
        seq = filler[:2] + pairs[0] + filler[2:4] + pairs[1] + filler[4:]
        X.append(seq)
        y.append(label)
    return X, np.array(y)


def test_bigram_vectors_see_order_that_a_model_without_positions_cannot():
    X, y = _order_only_task(400)
    X_test, y_test = _order_only_task(200, seed=1)
    params = dict(SMALL, positional_encoding=None, max_iter=30, early_stopping=False)
    blind = TransformerClassifier(**params, max_ngram=1).fit(X, y)
    bigrams = TransformerClassifier(**params, max_ngram=2).fit(X, y)
    assert blind.score(X_test, y_test) < 0.65  # order is invisible to it
    assert bigrams.score(X_test, y_test) >= 0.95


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_ngram_model_survives_save_and_load(Estimator, tmp_path):
    X, y = _order_only_task(60)
    model = Estimator(**SMALL, max_ngram=3).fit(X, y)
    assert model.params_["embed"]["ngrams"].shape[0] == model.config_.n_ngram_rows > 2
    save(model, tmp_path / "m.skops")
    loaded = load(tmp_path / "m.skops")
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_numeric_input_ignores_max_ngram():
    X = np.random.default_rng(0).normal(size=(40, 3))
    model = TransformerClassifier(**SMALL, max_ngram=3).fit(X, X[:, 0] > 0)
    assert model.config_.n_ngram_rows == 0 and "ngrams" not in model.params_["embed"]


def _ids(X):
    estimator = TransformerClassifier()
    return choose_family(estimator, X).read(estimator, X, fitting=True).X


def test_probe_finds_ngrams_pay_on_words_and_not_on_an_order_puzzle():
    words, labels = invented_words(1200, "cv-vc")
    ids = _ids([list(w) for w in words])
    assert ngrams_help(ids, labels, 4, int(ids.max()) + 1, classification=True)
    X, y = query_order_task(4000, seed=0)
    ids = _ids(X)
    assert not ngrams_help(ids, y, 4, int(ids.max()) + 1, classification=True)


def test_probe_for_real_valued_targets():
    words, labels = invented_words(1200, "cv-vc")
    ids = _ids([list(w) for w in words])
    noise = np.random.default_rng(0).normal(0, 0.1, size=(len(ids), 1))
    y = (labels == "orvi").astype(float)[:, None] + noise
    assert ngrams_help(ids, y, 4, int(ids.max()) + 1, classification=False)
    assert not ngrams_help(ids, np.random.default_rng(0).normal(size=(len(ids), 1)), 4,
                           int(ids.max()) + 1, classification=False)


def test_auto_chooses_ngrams_for_words_and_none_for_the_order_puzzle():
    words, labels = invented_words(400, "cv-vc")
    fast = dict(SMALL, max_iter=1)
    assert TransformerClassifier(**fast).fit([list(w) for w in words], labels).max_ngram_ == 4
    X, y = query_order_task(1000, seed=0)
    model = TransformerClassifier(**fast).fit(X, y)
    assert model.max_ngram_ == 1 and "ngrams" not in model.params_["embed"]
    assert TransformerClassifier(**fast, max_ngram=2).fit(X, y).max_ngram_ == 2


def test_hashed_keys_tell_neighbouring_last_tokens_apart():
    big = 2**20  # (big + 1) ** 4 > 2**63: hashed
    ids = np.array([[7, 8, 9, k] for k in range(2, 402)])
    keys = ngram_keys(ids, 4, n_ids=big)[:, 3]
    assert len(np.unique(keys)) == 400 and (keys >= 0).all()
    starts = ngram_keys(np.arange(1, 2001)[:, None], 4, n_ids=big)[:, 0]  # "^^^x"
    assert len(np.unique(starts)) == 2000


def test_left_padding_gives_the_same_ngrams_as_right_padding():
    train = np.array([[3, 4, 5, 0, 0], [3, 4, 6, 0, 0], [4, 5, 0, 0, 0]] * 2)
    tables = fit_ngrams(train, 3, n_ids=8)
    right = ngram_rows(np.array([[3, 4, 5, 0, 0]]), tables, n_ids=8)
    left = ngram_rows(np.array([[0, 0, 3, 4, 5]]), tables, n_ids=8)
    assert np.array_equal(left[0, 2:], right[0, :3])


def test_rows_without_tokens_add_no_ngrams():
    tables = fit_ngrams(np.array([[0, 0], [0, 0], [2, 3], [2, 3]]), 2, n_ids=5)
    assert len(tables[0]) == 3  # "^2", "2 3", "3 $": nothing from the empty rows


def test_tables_are_fixed_by_the_first_fit():
    words, labels = invented_words(200, "cv-vc")
    X = [list(w) for w in words]
    model = TransformerClassifier(**SMALL, max_ngram=3, warm_start=True).fit(X, labels)
    tables, rows = [t.copy() for t in model.config_.ngrams], model.config_.n_ngram_rows
    more, more_labels = invented_words(200, "cv-vc", seed=5)
    model.fit(X + [list(w) for w in more], np.concatenate([labels, more_labels]))
    assert model.config_.n_ngram_rows == rows
    assert all(np.array_equal(a, b) for a, b in zip(tables, model.config_.ngrams, strict=True))
    first = TransformerClassifier(**SMALL, max_ngram=3).partial_fit(X, labels, classes=["kalo", "orvi"])
    first_rows = first.config_.n_ngram_rows
    first.partial_fit([list(w) for w in more], more_labels)
    assert first.config_.n_ngram_rows == first_rows


def test_transfer_from_an_encoder_has_no_ngrams():
    from sktransformer import TransformerEncoder

    words, labels = invented_words(200, "cv-vc")
    X = [list(w) for w in words]
    encoder = TransformerEncoder(**SMALL).fit(X)
    model = TransformerClassifier(**SMALL, max_ngram=3, encoder=encoder).fit(X, labels)
    assert model.max_ngram_ == 1 and "ngrams" not in model.params_["embed"]


def test_probe_counts_a_rare_class_and_reads_rows_sorted_by_class():
    words, labels = invented_words(10000, "cv-vc")
    order = np.argsort(labels, kind="stable")  # ~5,000 "kalo" rows, then the "orvi" ones
    ids, y = _ids([list(words[i]) for i in order]), labels[order]
    assert ngrams_help(ids, y, 4, int(ids.max()) + 1, classification=True)
    rare = np.r_[np.flatnonzero(y == "kalo")[:3000], np.flatnonzero(y == "orvi")[:150]]  # 5% "orvi"
    assert ngrams_help(ids[rare], y[rare], 4, int(ids.max()) + 1, classification=True)


def test_max_ngram_true_is_refused_with_its_name():
    words, labels = invented_words(60, "cv-vc")
    with pytest.raises(ValueError, match="max_ngram"):
        TransformerClassifier(**SMALL, max_ngram=True).fit([list(w) for w in words], labels)
