"""Training the top of a network only: frozen lower layers whose outputs are computed once per fit.

Fine-tuning every layer of a checkpoint costs a forward and a backward pass
through all of them at every step of every epoch. With ``trainable_layers=k``
the embeddings and the first ``n_layers - k`` blocks are frozen: their
outputs on the training (and validation) data are computed once, without
dropout and batch-invariantly, and each step runs the top ``k`` blocks and
the head alone. ``k = 0`` trains the head alone on the cached pooled vectors
(as fast as a logistic regression on frozen features). Howard & Ruder 2018
(ULMFiT) and Kumar et al. 2022 ("Fine-Tuning can Distort Pretrained
Features") discuss what freezing trades: less adaptation, less forgetting.

:class:`FrozenLower` is what the training template asks: the trainable
sub-tree, the cached data, and the loss and validation score of the sub-tree
as functions of it alone, so autograd differentiates and AdamW updates (and
decays) only trainable weights.
"""

from dataclasses import replace

from ._inputs import Inputs
from ._loop import History, train
from ._model import encode
from ._optim import AdamW
from ._recipe import HEAD_ALONE, HEAD_PATIENCE
from ._windows import is_windowed, rows_of


class PooledFeatures(Inputs):
    """Cached pooled vectors (N, D) in ``X``, one per document: what the head reads."""

    def take(self, index):
        return PooledFeatures(self.X[index])


class FrozenLower:
    """The frozen lower part of a network with ``n_trainable`` top blocks (0: the head alone).

    Parameters
    ----------
    estimator : _PooledEncoderModel
        Fitted (``config_`` set); its ``_loss``, ``_validation_score`` and
        ``_map_batches`` are used.
    params : dict
        The whole parameter tree, as training starts.
    n_trainable : int
        Blocks trained, counted from the top, ``0 <= n_trainable < n_layers``.
    """

    def __init__(self, estimator, params, n_trainable):
        self.estimator, self.params = estimator, params
        self.first_layer = estimator.config_.n_layers - n_trainable

    def trainable(self):
        """The sub-tree that is trained: the head, and the top blocks (with the final norm and pooler)."""
        params = self.params
        if self.first_layer == self.estimator.config_.n_layers:
            return {"head": params["head"]}
        encoder = dict(params["encoder"], blocks=params["encoder"]["blocks"][self.first_layer:])
        return {k: v for k, v in dict(params, encoder=encoder).items() if k != "embed"}

    def merged(self, sub):
        """The whole tree with ``sub``'s weights in place of the trainable ones."""
        if "encoder" not in sub:
            return dict(self.params, head=sub["head"])
        blocks = self.params["encoder"]["blocks"][: self.first_layer] + list(sub["encoder"]["blocks"])
        return {**self.params, **sub, "encoder": dict(sub["encoder"], blocks=blocks)}

    def cache(self, data):
        """``data`` (a TrainingData, or None) with the frozen part's outputs in place of its inputs."""
        if data is None:
            return None
        inputs = data.inputs
        if self.first_layer == self.estimator.config_.n_layers:
            cached = PooledFeatures(self.estimator._document_vectors(inputs, self.params))
        else:
            states = self.estimator._map_batches(self._lower, rows_of(inputs), self.params,
                                                 width_axes=(1,))
            cached = _with_states(inputs, states, self.first_layer)
        return type(data)(cached, **data.arrays)

    def _lower(self, params, config, chunk):
        h, _ = encode(params, config, chunk.X, chunk.mask, token_types=chunk.token_types,
                      layers=range(self.first_layer))
        return h

    def loss(self, sub, batch, rng):
        return self.estimator._loss(self.merged(sub), batch, rng)

    def validation_score(self, sub, data):
        return self.estimator._validation_score(self.merged(sub), data)


def probe_head(estimator, params, data, val_data, settings, rng):
    """``params`` with the head trained alone on the frozen network's cached pooled vectors.

    The first stage of LP-FT (Kumar et al. 2022): a new head trained on
    features that do not move, so the fine-tuning after it starts from a
    head that fits them instead of a random one, whose large early
    gradients would distort the pretrained layers. Validation data (the
    split of the fine-tuning that follows) stop it and pick its best epoch.
    """
    frozen = FrozenLower(estimator, params, 0)
    head = frozen.trainable()
    optimizer = AdamW(head, HEAD_ALONE["learning_rate_init"], estimator.alpha, estimator.max_grad_norm)
    history = History(0, [], None if val_data is None else [], float("inf"), None, 0)
    early_stopping = val_data is not None
    settings = replace(settings, n_epochs=HEAD_ALONE["max_iter"], n_iter_no_change=HEAD_PATIENCE,
                       early_stopping=early_stopping, verbose=0, stop_when_converged=True)
    train(frozen.loss, frozen.validation_score, head, optimizer, frozen.cache(data),
          frozen.cache(val_data), history, settings, rng)
    if early_stopping and history.best_params is not None:
        head = history.best_params
    return frozen.merged(head)


def _with_states(inputs, states, first_layer):
    """``inputs`` (plain or windows) carrying the hidden states its rows start from."""
    if is_windowed(inputs):
        return type(inputs)(inputs.X, inputs.mask, inputs.starts, inputs.position, inputs.lengths,
                            inputs.combine, states, first_layer)
    return Inputs(inputs.X, inputs.mask, inputs.token_types, states, first_layer)
