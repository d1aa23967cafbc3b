"""The training recipe: what the ``"auto"`` training hyperparameters mean, from scratch or from a checkpoint.

A network trained from scratch and a pretrained checkpoint being fine-tuned
want different training. From scratch: a learning rate of 1e-3, constant,
up to 100 epochs, stopped by the validation score (the defaults measured on
the order and text tasks of ``benchmarks/defaults.py``). From a checkpoint:
a small learning rate with warm-up and linear decay over a few epochs, so the
pretrained weights are adjusted, not overwritten (Devlin et al. 2019, BERT,
section 4 and appendix A.3: 2e-5 to 5e-5, 2-4 epochs; Howard & Ruder 2018 on
warm-up), with the best epoch on a small validation split kept. The values
below were chosen with ``benchmarks/finetune_recipe.py`` on four text tasks.
A head trained alone on a checkpoint's frozen features (``trainable_layers=0``,
and the first stage of LP-FT) is a linear model: it takes a large constant
rate and as many epochs as its validation score keeps rising.

:func:`resolve` is the one place an ``"auto"`` is turned into a value; the
estimator's own hyperparameters are never changed (scikit-learn's rule).
"""

# Hyperparameters that may be "auto" (classifier, regressor, tagger) and their readings.
FROM_SCRATCH = {"learning_rate_init": 1e-3, "learning_rate": "constant", "warmup_fraction": 0.0,
                "max_iter": 100}
FINE_TUNING = {"learning_rate_init": 5e-5, "learning_rate": "linear", "warmup_fraction": 0.1,
               "max_iter": 3}
HEAD_ALONE = {"learning_rate_init": 1e-2, "learning_rate": "constant", "warmup_fraction": 0.0,
              "max_iter": 100}
RECIPES = {"scratch": FROM_SCRATCH, "fine-tuning": FINE_TUNING, "head": HEAD_ALONE}
RECIPE_PARAMS = tuple(FROM_SCRATCH)
HEAD_PATIENCE = 10  # epochs without a better validation score before the head alone stops
# early_stopping="auto" holds out validation_fraction of the training data from this many samples:
# from scratch as HistGradientBoosting does; from a checkpoint from 100 (10 held out at the default
# 10%), below which a validation score of a few samples would choose the epoch by noise (a
# regressor's R2 of one sample is 0 at every epoch).
AUTO_EARLY_STOPPING_FROM = {"scratch": 1000, "fine-tuning": 100, "head": 100}


def resolve(estimator, kind):
    """The training hyperparameters of ``estimator`` with each ``"auto"`` replaced.

    Parameters
    ----------
    estimator : estimator
        Read with ``get_params`` (nothing is set on it).
    kind : {"scratch", "fine-tuning", "head"}
        A network from scratch (or from an encoder fitted here), a
        checkpoint being fine-tuned, or a head trained alone on a
        checkpoint's frozen features.

    Returns
    -------
    values : dict
        ``learning_rate_init``, ``learning_rate``, ``warmup_fraction``,
        ``max_iter``, ``early_stopping`` (``"auto"`` stays ``"auto"``: the
        training set's size decides) and ``early_stopping_from``, the size
        from which ``"auto"`` holds out validation data.
    """
    params = estimator.get_params(deep=False)
    recipe = RECIPES[kind]
    values = {name: recipe[name] if params.get(name, recipe[name]) == "auto" else params[name]
              for name in RECIPE_PARAMS}
    values["early_stopping"] = params.get("early_stopping", False)
    values["early_stopping_from"] = AUTO_EARLY_STOPPING_FROM[kind]
    return values
