"""scikit-learn's estimator checks, on small fast configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktransformer import (
    SequenceVectorizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerLanguageModel,
    TransformerRegressor,
    TransformerSeq2Seq,
)

# Measured reasons (scikit-learn 1.9, these configurations): fitting with integer sample weights
# and fitting on the rows repeated agree only to float32 precision, or not at all with dropout.
FLOAT32_WEIGHTS = (
    "trained in float32: with sample weights and with the rows repeated, the fitted models' "
    "predictions agree to ~2e-7 absolute, 1e-6 relative (measured), not the 1e-7 relative the "
    "check asks for"
)
DROPOUT_WEIGHTS = (
    "dropout draws one mask per row: a row of weight 3 gets one mask where its three copies get "
    "three, so the two fits see different noise; their probabilities differ by up to 0.10 "
    "(measured with dropout=0.1; with dropout=0 they agree to float32 precision)"
)


def _expected_failed_checks(estimator):
    if not isinstance(estimator, TransformerClassifier | TransformerRegressor):
        return {}
    reason = DROPOUT_WEIGHTS if estimator.dropout > 0 else FLOAT32_WEIGHTS
    return {"check_sample_weight_equivalence_on_dense_data": reason}


ESTIMATORS = [
    # numeric features -> one token per feature, mean pooling, pre-LN (the defaults)
    TransformerClassifier(d_model=16, n_heads=2, n_layers=1, max_iter=20, batch_size=64,
                          dropout=0.0, random_state=0),
    # [CLS] pooling, the paper's post-LN, ReLU, learned positions, dropout on
    TransformerClassifier(d_model=16, n_heads=4, n_layers=2, max_iter=20, batch_size=64,
                          pooling="cls", norm_first=False, activation="relu",
                          positional_encoding="learned", dropout=0.1, random_state=0),
    TransformerRegressor(d_model=16, n_heads=2, n_layers=1, max_iter=20, batch_size=64,
                         dropout=0.0, random_state=0),
    TransformerEncoder(d_model=16, n_heads=2, n_layers=1, max_iter=5, batch_size=64, dropout=0.0,
                       random_state=0),
    TransformerEncoder(d_model=16, n_heads=2, n_layers=2, max_iter=5, pooling="cls",
                       norm_first=False, random_state=0),
    SequenceVectorizer(),
    SequenceVectorizer(analyzer="char", max_len=5, min_count=2),
    # 2-D arrays are read row by row as token sequences (one token per cell)
    TransformerLanguageModel(d_model=16, n_heads=2, n_layers=1, max_iter=3, random_state=0),
    TransformerSeq2Seq(d_model=16, n_heads=2, n_layers=1, max_iter=3, random_state=0),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
