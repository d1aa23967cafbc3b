"""The linear model beside the network (``linear_blend``): the network learns what it leaves over.

A classic linear model is fitted first, on the training rows: logistic
regression (classes) or ridge (values) on TF-IDF-weighted n-grams of the
tokens (text), or on the standardised features (numeric rows). Its outputs
(log-probabilities, or standardised values) are then an offset the network's
head adds to its own,

    logits(x) = linear(x) + network(x),

as gradient boosting starts from an initial prediction (``init_score``): the
network learns the residual of the linear model. For the training rows the
offset is the linear model's out-of-fold prediction (``FOLDS``-fold
cross-fitting, as in stacking; Wolpert 1992), so the network learns what the
linear model gets wrong on rows it did not see, not on rows it has fitted;
the regularisation strength is the one with the lowest out-of-fold loss, and
the linear model that makes the offsets of the validation rows and of
``predict`` is refitted on every training row (and, with the validation split,
on those rows too for ``predict``). On numeric rows gradient boosting is
cross-fitted on the same folds (:func:`boosting_if_better`); where its
out-of-fold loss is lower by a standard error it is the model the network must
beat, though the network still learns the linear model's residual. After
training, the estimator keeps the network only where it lowers the validation
loss below the best classic model's by a margin (three standard errors of the
per-row gains); otherwise its head is set to zero and that model's
predictions stand alone.

Why: a network trained from scratch on a few thousand short texts or a few
hundred table rows learns what a linear model on n-gram counts or on the
features learns, less reliably, and on a few hundred table rows gradient
boosting is hard to beat; the network is what learns order, interactions and
attention. The wide and deep split is Cheng et al. 2016,
"Wide & Deep Learning for Recommender Systems".

How the text is read: when (nearly) every token is one character (a
character vectorizer in front), the linear model reads character 1-5-grams
of the joined characters; otherwise word 1-2-grams and the character 2-5-grams
inside each word (as scikit-learn's ``char_wb``), so words never seen in fit
still count through their pieces. The vectorizers and models are
scikit-learn's.
"""

import functools
import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn import config_context
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

from ._inputs import text_column

# Inverse regularisation strengths tried (ridge: alpha = 1 / C); the out-of-fold error chooses
# (_choose). By log loss alone, language of a word chose C=100 (test accuracy 0.865).
STRENGTHS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
FOLDS = 3  # cross-fitting folds of the training rows' offsets
FLOOR = -30.0  # log-probability offsets are kept above this (a class a fold never saw: about 1e-13)
CHARACTER_TOKENS = 0.9  # this share of one-character tokens (or more): the tokens are characters
MAX_ITER = 1000  # lbfgs iterations of the logistic regression


def _arrays_out(fn):
    """``fn`` with scikit-learn's transformers returning arrays, whatever the global setting
    (``set_config(transform_output="pandas")`` would hand the models here DataFrames)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with config_context(transform_output="default"):
            return fn(*args, **kwargs)
    return wrapper


def reads(codec):
    """Which reading of ``X`` the linear model takes for ``codec``'s family, or None (none fits).

    "numeric", "ids", or "tokens" (decided at fit by :func:`documents`: "characters" or "words").
    """
    if getattr(codec, "from_checkpoint", False):
        return None
    embedding = getattr(codec, "embedding", None)
    if embedding == "numeric":
        return "numeric"
    if embedding == "tokens":
        return "ids" if hasattr(codec, "_seen") else "tokens"
    return None


def documents(codec, estimator, X, kind):
    """(``X`` as the linear model's vectorizers read it, the reading): floats, or a string per sample.

    Token lists (``kind="tokens"`` at fit) are read as "characters" when at
    least ``CHARACTER_TOKENS`` of their tokens are one character long, else
    as "words"; later calls pass the reading fit chose.
    """
    if kind == "numeric":
        return codec.read(estimator, X).X.astype(np.float64), kind
    if kind == "ids":
        ids = np.asarray(codec.read(estimator, X).X)
        return [" ".join(map(str, row[row != 0].tolist())) for row in ids], kind
    token_lists = codec.analyze(text_column(estimator, X))
    if kind == "tokens":
        n_tokens = sum(map(len, token_lists))
        single = sum(isinstance(t, str) and len(t) == 1 for tokens in token_lists for t in tokens)
        kind = "characters" if n_tokens and single >= CHARACTER_TOKENS * n_tokens else "words"
    if kind == "characters":  # spaces among them separate words, as in the text they came from
        return ["".join(tokens) for tokens in token_lists], kind
    return [" ".join(str(t).replace(" ", "_") for t in tokens) for tokens in token_lists], kind


def _vectorizer(kind):
    """The feature extractor of reading ``kind`` (unfitted)."""
    if kind == "numeric":
        return StandardScaler()
    if kind == "ids":
        return TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2),
                               lowercase=False, sublinear_tf=True, dtype=np.float64)
    if kind == "characters":  # n-grams within words, each padded by a space (suffixes count)
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), lowercase=False,
                               sublinear_tf=True, dtype=np.float64)
    return make_union(
        TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), lowercase=False,
                        sublinear_tf=True, dtype=np.float64),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False, sublinear_tf=True,
                        dtype=np.float64))


def _linear(classification, strength, seed):
    if classification:
        return LogisticRegression(C=strength, max_iter=MAX_ITER, random_state=seed)
    return Ridge(alpha=1.0 / strength)


def _boosting(classification, seed):
    """Gradient boosting with scikit-learn's defaults: the other candidate on numeric rows."""
    if classification:
        return HistGradientBoostingClassifier(random_state=seed)
    return HistGradientBoostingRegressor(random_state=seed)


def _fit(model, features, target, weight):
    if isinstance(model, HistGradientBoostingRegressor):  # one value per row, as a 1-D array
        target = target.reshape(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, target, sample_weight=weight)
    return model


def offsets(model, features, n_outputs):
    """(N, n_outputs) float32 outputs of a fitted linear model, in the network's units.

    Logistic regression: log-probabilities of every class (a class it never
    saw: ``FLOOR``), kept above ``FLOOR``; ridge: its (standardised) values.
    """
    if hasattr(model, "classes_"):
        out = np.full((features.shape[0], n_outputs), FLOOR)
        with np.errstate(divide="ignore"):  # a probability of 0 (log: -inf) is kept at FLOOR
            out[:, model.classes_] = np.maximum(np.log(model.predict_proba(features)), FLOOR)
    else:
        out = model.predict(features).reshape(features.shape[0], -1)
    return out.astype(np.float32)


def _fold_offsets(features, target, weight, train, test, classification, seed, n_outputs):
    """Offsets of rows ``test``, one (len(test), n_outputs) array per strength, fitted on ``train``.

    The strengths are fitted in increasing order, each starting from the
    previous one's coefficients (warm start). A fold whose training rows
    hold one class predicts that class.
    """
    if classification and len(np.unique(target[train])) < 2:
        out = np.full((len(test), n_outputs), FLOOR, np.float32)
        if len(train):
            out[:, target[train][0]] = 0.0
        return [out] * len(STRENGTHS)
    model, outputs = _linear(classification, STRENGTHS[0], seed), []
    if classification:
        model.set_params(warm_start=True)
    for strength in STRENGTHS:
        model.set_params(**{"C": strength} if classification else {"alpha": 1.0 / strength})
        _fit(model, features[train], target[train], weight[train])
        outputs.append(offsets(model, features[test], n_outputs))
    return outputs


def _loss(outputs, target, weight, classification):
    """Sample-weighted mean log loss (offsets as logits) or squared error."""
    outputs = outputs.astype(np.float64)
    if classification:
        outputs = outputs - logsumexp(outputs, axis=1, keepdims=True)
        per_row = -outputs[np.arange(len(target)), target]
    else:
        per_row = np.square(outputs - target.reshape(len(target), -1)).sum(axis=1)
    return float(np.average(per_row, weights=weight)) if weight.sum() > 0 else float(per_row.mean())


@_arrays_out
def fit_linear(kind, docs, target, weight, classification, n_outputs, seed):
    """(pipeline fitted on every row, the rows' out-of-fold offsets (N, n_outputs) float32), or None.

    ``docs`` as :func:`documents` gives them, ``target`` class indices or
    standardised values, ``weight`` sample weights. The strength of
    ``STRENGTHS`` chosen by :func:`_choose` is kept. None when the rows hold
    a single class.
    """
    if classification and len(np.unique(target[weight > 0])) < 2:
        return None
    vectorizer = _vectorizer(kind)
    features = vectorizer.fit_transform(docs)
    fold = _folds(len(target), seed)
    out = np.zeros((len(STRENGTHS), len(target), n_outputs), np.float32)
    for k in range(fold.max() + 1):
        test = np.flatnonzero(fold == k)
        out[:, test] = _fold_offsets(features, target, weight, np.flatnonzero(fold != k), test,
                                     classification, seed, n_outputs)
    strength, out_of_fold = _choose(out, target, weight, classification)
    model = _fit(_linear(classification, strength, seed), features, target, weight)
    return make_pipeline(vectorizer, model), out_of_fold


def _folds(n_rows, seed):
    """The cross-fitting fold (0 .. FOLDS - 1) of each of ``n_rows`` rows."""
    return np.random.default_rng(seed).permutation(n_rows) % min(FOLDS, n_rows)


@_arrays_out
def boosting_if_better(pipeline, docs, target, weight, out_of_fold, classification, n_outputs,
                       seed):
    """Gradient boosting on numeric rows, fitted on every row, if it beats the linear model; else None.

    ``pipeline`` and ``out_of_fold`` are :func:`fit_linear`'s, and ``seed``
    the one it was given: the same folds give boosting's out-of-fold outputs, and it is returned only when its
    out-of-fold loss (0/1 loss, or squared error) is lower by more than one
    standard error of the per-row differences. The network still learns the
    linear model's residual (measured: on a 3,000-row regression with
    interactions, the residual of boosting left the network at R² 0.82
    against 0.91); boosting is what it must beat to be kept.
    """
    if not classification and n_outputs != 1:  # scikit-learn's boosting predicts one value
        return None
    features = pipeline[:-1].transform(docs)
    fold = _folds(len(target), seed)
    boosted = out_of_fold.copy()
    for k in range(fold.max() + 1):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if classification and len(np.unique(target[train])) < 2:
            continue  # that fold's rows keep the linear model's outputs
        booster = _fit(_boosting(classification, seed), features[train], target[train],
                       weight[train])
        boosted[test] = offsets(booster, features[test], n_outputs)
    if not clearly_better(boosted, out_of_fold, target, weight, classification):
        return None
    return make_pipeline(*pipeline[:-1], _fit(_boosting(classification, seed), features, target,
                                              weight))


def row_losses(outputs, target, classification):
    """Per-row 0/1 loss (classes) or summed squared error (values) of outputs (N, n_outputs).

    What the validation score of early stopping counts, and so what the
    models are compared by. Not log loss: on sentiment with negation a
    network that raised the validation accuracy from 0.69 to 0.85, but was
    confidently wrong on a few rows, lost to the linear model by log loss
    (test: 0.70 instead of 0.85-0.89).
    """
    if classification:
        return (np.asarray(outputs).argmax(axis=1) != target).astype(np.float64)
    outputs = np.asarray(outputs, np.float64)
    return np.square(outputs - target.reshape(len(target), -1)).sum(axis=1)


def clearly_better(candidate, incumbent, target, weight, classification, t=1.0):
    """True if ``candidate``'s mean loss is below ``incumbent``'s by ``t`` standard errors.

    Losses per row (:func:`row_losses`), weighted by ``weight`` (scaled to
    mean 1); the standard error is that of the per-row differences.
    """
    scale = weight / max(weight.mean(), 1e-12)
    gains = (row_losses(incumbent, target, classification)
             - row_losses(candidate, target, classification)) * scale
    return gains.mean() > t * gains.std() / np.sqrt(len(gains))


def _choose(out, target, weight, classification):
    """(strength, its out-of-fold outputs): ``out`` holds one (N, n_outputs) array per strength.

    Ridge: the lowest squared error. Logistic regression: among the
    strengths whose out-of-fold error rate is within one standard error (of
    the per-row differences) of the lowest, the one with the lowest log loss
    (the one-standard-error rule, Breiman et al. 1984). Where the features
    tell little (an order puzzle), every error rate is within noise and log
    loss picks strong regularisation, so the offsets stay small; by error
    rate alone a C of 100 gave query order offsets of several logits of
    noise, and the network stayed on its plateau (0.537).
    """
    losses = np.array([_loss(o, target, weight, classification) for o in out])
    if not classification:
        best = int(np.argmin(losses))
        return STRENGTHS[best], out[best]
    scale = weight / max(weight.mean(), 1e-12)
    errors = np.stack([row_losses(o, target, True) * scale for o in out])  # (S, N)
    lowest = int(np.argmin(errors.mean(axis=1)))
    gaps = errors - errors[lowest]
    close = gaps.mean(axis=1) <= gaps.std(axis=1) / np.sqrt(errors.shape[1])
    best = int(np.argmin(np.where(close, losses, np.inf)))
    return STRENGTHS[best], out[best]


@_arrays_out
def refit(pipeline, docs, target, weight):
    """A fresh copy of ``pipeline`` (same strength) fitted on ``docs``: the training and validation rows."""
    vectorizer = clone(pipeline[:-1])
    features = vectorizer.fit_transform(docs)
    return make_pipeline(*vectorizer, _fit(clone(pipeline[-1]), features, target, weight))


@_arrays_out
def predict_offsets(pipeline, docs, n_outputs):
    """The offsets of ``docs`` from a pipeline of :func:`fit_linear`."""
    return offsets(pipeline[-1], pipeline[:-1].transform(docs), n_outputs)
