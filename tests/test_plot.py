"""sktransformer.plot draws what the model computed: weights, token labels, loss and validation curves."""

import importlib
import re
import sys

import numpy as np
import pytest
from configs import SMALL as _SMALL
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError

from sktransformer import TransformerClassifier, TransformerEncoder, TransformerLanguageModel
from sktransformer.plot import INSTALL_HINT, plot_attention, plot_attention_heads, plot_loss_curve

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # no display in tests; must precede the pyplot import
import matplotlib.pyplot as plt  # noqa: E402

SENTENCES = ["the cat sat", "a dog ran far away", "the dog sat", "a cat ran", "cats sat far"] * 4
LABELS = [0, 1, 0, 1, 1] * 4

SMALL = {k: v for k, v in _SMALL.items() if k != "n_layers"} | {"max_iter": 2}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def text_clf():
    """Two layers, [CLS] pooling: the labels must include "[CLS]" and layer indices must resolve."""
    return TransformerClassifier(n_layers=2, pooling="cls", **SMALL).fit(SENTENCES, LABELS)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def numeric_clf(iris):
    X, y = iris
    # no validation split (linear_blend would hold one out from 100 samples)
    return TransformerClassifier(n_layers=1, linear_blend=False, **SMALL).fit(X, y)


@pytest.fixture(scope="module")
def validated_clf(iris):
    X, y = iris
    return TransformerClassifier(n_layers=1, d_model=16, n_heads=2, max_iter=3,
                                 random_state=0).fit(X, y, X_val=X[::3], y_val=y[::3])


def labels(tick_labels):
    return [t.get_text() for t in tick_labels]


def expected(estimator, batch, layer, head):
    """(weights of the real positions, their labels) straight from attention_weights."""
    weights, tokens = estimator.attention_weights(batch)
    n = len(tokens[0])
    return weights[layer][0, head, :n, :n], [str(t) for t in tokens[0]]


# ------------------------------------------------------------ plot_attention


def test_heat_map_is_the_attention_weights_labelled_with_tokens(text_clf):
    fig, ax = plot_attention(text_clf, "a dog ran far away", layer=0, head=1)
    weights, tokens = expected(text_clf, ["a dog ran far away"], layer=0, head=1)
    assert tokens == ["[CLS]", "a", "dog", "ran", "far", "away"]
    image = ax.images[0]
    assert image.get_array().shape == (6, 6)
    np.testing.assert_allclose(image.get_array(), weights)
    np.testing.assert_allclose(image.get_array().sum(axis=1), 1.0, rtol=1e-5)  # rows are queries
    assert labels(ax.get_xticklabels()) == tokens
    assert labels(ax.get_yticklabels()) == tokens
    assert image.colorbar is not None
    assert "layer 0" in ax.get_title() and "head 1" in ax.get_title()
    assert fig is ax.figure


def test_negative_layer_and_head_count_from_the_end(text_clf):
    _, ax = plot_attention(text_clf, "the cat sat", layer=-1, head=-1)
    assert "layer 1" in ax.get_title() and "head 1" in ax.get_title()
    np.testing.assert_allclose(ax.images[0].get_array(), expected(text_clf, ["the cat sat"], 1, 1)[0])


@pytest.mark.parametrize("x", ["the cat sat", ["the", "cat", "sat"], ("the", "cat", "sat")],
                         ids=["string", "token list", "token tuple"])
def test_a_sample_may_be_a_string_or_a_token_list(text_clf, x):
    _, ax = plot_attention(text_clf, x)
    weights, tokens = expected(text_clf, ["the cat sat"], -1, 0)
    np.testing.assert_allclose(ax.images[0].get_array(), weights)
    assert labels(ax.get_xticklabels()) == tokens


def test_an_array_row_or_a_batch_of_one_gives_the_same_map(numeric_clf, iris):
    X, _ = iris
    weights, tokens = expected(numeric_clf, X[7:8], -1, 0)
    for x in (X[7], X[7:8], list(X[7])):
        _, ax = plot_attention(numeric_clf, x)
        np.testing.assert_allclose(ax.images[0].get_array(), weights)
        assert labels(ax.get_yticklabels()) == tokens == ["x0", "x1", "x2", "x3"]


def test_a_dataframe_row_is_labelled_with_the_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal length", "sepal width", "petal length", "petal width"])
    clf = TransformerClassifier(n_layers=1, **SMALL).fit(frame, y)
    weights, tokens = expected(clf, frame.iloc[[3]], -1, 0)
    for x in (frame.iloc[3], frame.iloc[[3]]):  # a Series, a one-row frame
        _, ax = plot_attention(clf, x)
        np.testing.assert_allclose(ax.images[0].get_array(), weights)
        assert labels(ax.get_xticklabels()) == tokens == list(frame.columns)


def test_an_array_of_string_tokens_is_a_token_list(text_clf):
    _, ax = plot_attention(text_clf, np.array(["the", "cat", "sat"]))
    np.testing.assert_allclose(ax.images[0].get_array(), expected(text_clf, ["the cat sat"], -1, 0)[0])


def test_a_series_sample_is_a_2d_array():
    X = np.random.default_rng(0).normal(size=(12, 5, 3))  # (samples, steps, channels)
    encoder = TransformerEncoder(n_layers=1, **SMALL).fit(X)
    _, ax = plot_attention(encoder, X[2])
    np.testing.assert_allclose(ax.images[0].get_array(), expected(encoder, X[2:3], -1, 0)[0])
    assert labels(ax.get_xticklabels()) == ["t0", "t1", "t2", "t3", "t4"]


def test_padding_is_cropped_from_token_id_rows():
    X = np.array([[3, 4, 5, 0, 0], [5, 4, 3, 2, 0], [2, 3, 0, 0, 0], [4, 4, 2, 5, 3]] * 3)
    clf = TransformerClassifier(n_layers=1, **SMALL).fit(X, [0, 1, 0, 1] * 3)
    _, ax = plot_attention(clf, X[0])
    assert labels(ax.get_xticklabels()) == ["3", "4", "5"]
    np.testing.assert_allclose(ax.images[0].get_array(), clf.attention_weights(X[:1])[0][0][0, 0, :3, :3])


def test_a_decoder_map_is_causal_and_starts_at_bos():
    lm = TransformerLanguageModel(n_layers=1, **SMALL).fit(["abcabc", "cabca"] * 5)
    _, ax = plot_attention(lm, "abca")
    assert labels(ax.get_xticklabels()) == ["<bos>", "a", "b", "c", "a"]
    np.testing.assert_array_equal(np.triu(ax.images[0].get_array(), k=1), 0)  # no looking ahead


def test_draws_into_the_given_axes(text_clf):
    fig, (left, right) = plt.subplots(1, 2)
    returned_fig, returned_ax = plot_attention(text_clf, "the cat sat", ax=right, cmap="magma")
    assert returned_fig is fig and returned_ax is right
    assert len(right.images) == 1 and not left.images
    assert right.images[0].get_cmap().name == "magma"


# ------------------------------------------------------ plot_attention_heads


def test_heads_grid_has_one_map_per_head(text_clf):
    fig, axes = plot_attention_heads(text_clf, "a dog ran far away", layer=0)
    assert len(axes) == text_clf.n_heads
    for head, ax in enumerate(axes):
        weights, tokens = expected(text_clf, ["a dog ran far away"], 0, head)
        np.testing.assert_allclose(ax.images[0].get_array(), weights)
        assert labels(ax.get_xticklabels()) == tokens
        assert ax.get_title() == f"head {head}"
    assert labels(axes[0].get_yticklabels()) == tokens
    assert "layer 0" in fig.get_suptitle()
    # one shared colour scale, so heads compare by colour
    assert len({ax.images[0].get_clim() for ax in axes}) == 1


def test_heads_grid_drops_the_unused_cells_of_its_last_row():
    clf = TransformerClassifier(d_model=15, n_heads=5, n_layers=1, max_iter=1, random_state=0)
    clf.fit(SENTENCES, LABELS)
    fig, axes = plot_attention_heads(clf, "the cat sat")
    assert len(axes) == 5
    assert sum(bool(ax.images) for ax in fig.axes) == 5  # 2 rows of 4 columns: 3 cells removed


# ----------------------------------------------------------- plot_loss_curve


def test_loss_curve_without_validation(numeric_clf):
    fig, ax, validation_ax = plot_loss_curve(numeric_clf)
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_ydata(), numeric_clf.loss_curve_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, numeric_clf.n_iter_ + 1))
    assert validation_ax is None and fig.axes == [ax]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "training loss")
    assert labels(ax.get_legend().get_texts()) == ["training loss"]


def test_loss_curve_with_validation_scores(validated_clf):
    _, ax, validation_ax = plot_loss_curve(validated_clf)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), validated_clf.loss_curve_)
    (line,) = validation_ax.lines
    np.testing.assert_allclose(line.get_ydata(), validated_clf.validation_scores_)
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    assert validation_ax.get_ylabel() == "validation score"
    assert labels(ax.get_legend().get_texts()) == ["training loss", "validation score"]


def test_loss_curve_draws_into_the_given_axes(validated_clf):
    fig, ax = plt.subplots()
    assert plot_loss_curve(validated_clf, ax=ax)[:2] == (fig, ax)


# -------------------------------------------------------------------- errors


@pytest.mark.parametrize("plot", [plot_attention, plot_attention_heads])
def test_layer_out_of_range(text_clf, plot):
    with pytest.raises(ValueError, match=re.escape("layer=2 is out of range")) as error:
        plot(text_clf, "the cat", layer=2)
    assert "from -2 to 1" in str(error.value)


@pytest.mark.parametrize("head", [2, -3, 0.5, True])
def test_head_out_of_range(text_clf, head):
    with pytest.raises(ValueError, match=r"head=.* out of range.*from -2 to 1"):
        plot_attention(text_clf, "the cat", head=head)


def test_more_than_one_sample_is_refused(text_clf, numeric_clf, iris):
    with pytest.raises(ValueError, match="one sample"):
        plot_attention(text_clf, [["the", "cat"], ["a", "dog"]])
    with pytest.raises(ValueError, match=r"one sample.*shape \(2, 4\)"):
        plot_attention(numeric_clf, iris[0][:2])


@pytest.mark.parametrize("call", [
    lambda est: plot_attention(est, "the cat"),
    lambda est: plot_attention_heads(est, "the cat"),
    lambda est: plot_loss_curve(est),
], ids=["plot_attention", "plot_attention_heads", "plot_loss_curve"])
def test_unfitted_estimator(call):
    with pytest.raises(NotFittedError):
        call(TransformerClassifier())


def test_without_matplotlib_import_works_and_calls_say_how_to_install(monkeypatch, text_clf):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: "import" fails
    monkeypatch.delitem(sys.modules, "sktransformer.plot")
    plot = importlib.import_module("sktransformer.plot")
    for call in (lambda: plot.plot_attention(text_clf, "the cat"),
                 lambda: plot.plot_attention_heads(text_clf, "the cat"),
                 lambda: plot.plot_loss_curve(text_clf)):
        with pytest.raises(ImportError, match=re.escape(INSTALL_HINT)):
            call()


def test_validation_scores_are_drawn_at_the_epochs_they_were_measured():
    """A fit with validation, partial_fit (no score), a warm-start fit with validation again: the
    scores were drawn at the last epochs (3, 4, 5 and 5 again), not at 1, 2, 4, 5."""
    X, y = load_iris(return_X_y=True)
    clf = TransformerClassifier(**SMALL).fit(X, y, X_val=X, y_val=y)
    clf.partial_fit(X, y)
    clf.set_params(warm_start=True).fit(X, y, X_val=X, y_val=y)
    assert clf.n_iter_ == 5 and len(clf.validation_scores_) == 4
    _, _, validation_ax = plot_loss_curve(clf)
    np.testing.assert_array_equal(validation_ax.lines[0].get_xdata(), [1, 2, 4, 5])
    np.testing.assert_array_equal(validation_ax.lines[0].get_ydata(), clf.validation_scores_)
