"""A dask.distributed cluster (a LocalCluster on loopback): grid search, out-of-core partial_fit, and
batch prediction and embedding of dask collections: what a user who outgrows one machine does."""

import numpy as np
import pytest
from configs import SMALL

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from sklearn.model_selection import GridSearchCV  # noqa: E402

from sktransformer import TransformerClassifier, TransformerEncoder  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return X, (X[:, 0] > 0).astype(int)


def test_grid_search_on_dask_matches_local_search(client):
    X, y = _data()
    grid = {"n_heads": [1, 2], "n_layers": [1, 2]}
    local = GridSearchCV(TransformerClassifier(**SMALL), grid, cv=2).fit(X, y)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(TransformerClassifier(**SMALL), grid, cv=2).fit(X, y)
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_


def _fit_and_report_blas_threads(X, y):
    """Fit on a worker, recording the BLAS threads in use during training."""
    from threadpoolctl import threadpool_info

    seen = []

    class Spy(TransformerClassifier):
        def _loss(self, *args, **kwargs):  # called at every training step
            seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
            return super()._loss(*args, **kwargs)

    Spy(**SMALL).fit(X, y)
    return seen


def test_blas_threads_are_limited_inside_workers(client):
    X, y = _data()
    seen = client.submit(_fit_and_report_blas_threads, X, y, pure=False).result()
    assert seen and set(seen) == {1}


def test_out_of_core_partial_fit_with_dask_ml_incremental(client):
    dask_ml = pytest.importorskip("dask_ml.wrappers")
    import dask.array as da

    X, y = _data()
    X_blocks, y_blocks = da.from_array(X, chunks=20), da.from_array(y, chunks=20)
    model = dask_ml.Incremental(TransformerClassifier(**SMALL), scoring="accuracy",
                                shuffle_blocks=False)
    model.fit(X_blocks, y_blocks, classes=[0, 1])
    assert model.estimator_.n_iter_ == 3  # one partial_fit epoch per block
    # the same model as three partial_fit calls on the blocks in memory
    local = TransformerClassifier(**SMALL)
    for start in range(0, len(X), 20):
        local.partial_fit(X[start : start + 20], y[start : start + 20], classes=[0, 1])
    np.testing.assert_allclose(model.estimator_.predict_proba(X), local.predict_proba(X), rtol=1e-5)
    accuracy = np.mean(local.predict_proba(X).argmax(axis=1) == y)
    assert model.score(X_blocks, y_blocks) == pytest.approx(accuracy)


def test_batch_prediction_of_a_dask_array_with_dask_ml_parallel_post_fit(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    import dask.array as da

    X, y = _data()
    model = wrappers.ParallelPostFit(TransformerClassifier(**SMALL)).fit(X, y)
    X_blocks = da.from_array(X, chunks=20)  # each block predicted by a worker
    proba = model.predict_proba(X_blocks)
    assert isinstance(proba, da.Array)
    # bitwise: a sample's outputs do not depend on the rest of its block
    np.testing.assert_array_equal(proba.compute(), model.estimator.predict_proba(X))
    np.testing.assert_array_equal(model.predict(X_blocks).compute(), model.estimator.predict(X))


def test_embedding_a_dask_dataframe_of_texts_with_map_partitions(client):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")

    words = ["red", "green", "blue", "cat", "dog", "bird", "runs", "sleeps"]
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=rng.integers(2, 7))) for _ in range(45)]
    encoder = TransformerEncoder(**SMALL).fit(texts)
    columns = [f"embedding_{i}" for i in range(SMALL["d_model"])]

    def embed(partition):
        return pd.DataFrame(encoder.transform(partition["text"].tolist()), index=partition.index,
                            columns=columns)

    frame = dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=3)
    meta = pd.DataFrame({name: pd.Series(dtype=np.float32) for name in columns})
    embedded = frame.map_partitions(embed, meta=meta).compute()
    assert list(embedded.index) == list(range(len(texts)))
    np.testing.assert_array_equal(embedded.to_numpy(), encoder.transform(texts))
