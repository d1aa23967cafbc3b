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

FLOAT32_WEIGHTS = (
    "trained in float32: fitting with integer sample weights and fitting on repeated rows "
    "agree to ~1e-6, not the 1e-7 the check asks for"
)



def _expected_failed_checks(estimator):
    if isinstance(estimator, TransformerClassifier | TransformerRegressor):
        return {"check_sample_weight_equivalence_on_dense_data": FLOAT32_WEIGHTS}
    return {}


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
