"""A small translation with the encoder-decoder Transformer: numbers in words -> digits.
=====================================================================================

"three hundred forty two" -> "342". The order of the output does not follow
the input word for word ("fourteen" -> "14", "forty" -> "40"), so the
decoder must attend to the right source words (cross-attention). The model
is tested on numbers it never saw in training. The script saves
``translation.png``: the training loss per epoch, and how the encoder's
last layer attends over the words of one number.

    python examples/translation.py
"""

import time
import warnings

import matplotlib

matplotlib.use("Agg")  # write files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sktransformer import TransformerSeq2Seq  # noqa: E402
from sktransformer.datasets import spell_number  # noqa: E402
from sktransformer.plot import plot_attention, plot_loss_curve  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed epoch budget below

numbers = np.random.default_rng(0).permutation(1000)
train, test = numbers[:700], numbers[700:]  # 300 numbers never seen in training
X_train = [spell_number(int(n)) for n in train]
y_train = [str(n) for n in train]
X_test = [spell_number(int(n)) for n in test]
y_test = [str(n) for n in test]

model = TransformerSeq2Seq(d_model=64, n_heads=4, n_layers=2, target_analyzer="char",
                           max_iter=40, learning_rate_init=3e-3, random_state=0)
start = time.perf_counter()
model.fit(X_train, y_train)
print(f"trained on {len(X_train)} pairs in {time.perf_counter() - start:.1f} s")

figures = {}
for beam_width in (1, 4):
    model.set_params(beam_width=beam_width)
    start = time.perf_counter()
    exact = model.score(X_test, y_test)
    tokens = model.token_accuracy(X_test, y_test)
    figures[f"exact_beam_{beam_width}"] = exact
    print(f"beam width {beam_width}: exact-sequence accuracy {exact:.3f}, token accuracy "
          f"{tokens:.3f} on {len(X_test)} unseen numbers ({time.perf_counter() - start:.1f} s)")

for words, digits, predicted in zip(X_test[:6], y_test[:6], model.predict(X_test[:6]), strict=True):
    print(f"  {words!r:32} -> {predicted!r:6} (true {digits!r})")

fig, (loss, attention) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
plot_loss_curve(model, ax=loss)
plot_attention(model, "three hundred forty two", head=0, ax=attention)
fig.savefig("translation.png", dpi=110)
print("saved translation.png")
# one line for scripts (tests/test_examples.py compares it with the README)
print("figures: " + " ".join(f"{name}={value:.3f}" for name, value in figures.items()))
