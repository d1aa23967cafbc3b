"""Train a small character-level GPT on generated English-like text, measure it, and generate.
===========================================================================================

The text comes from a small grammar (``sktransformer.datasets``) in which
verbs agree with their subject across relative clauses ("the cats who see
anna sleep"). The script compares held-out perplexity with smoothed
character n-gram models trained on the same text, shows what the model
writes, and measures how much the key/value cache speeds up generation. It
saves ``text_generation.png``: the perplexities, and the attention of the
last layer over one sentence (each character sees only those before it).

    python examples/text_generation.py
"""

import time
import warnings
from collections import Counter, defaultdict

import matplotlib

matplotlib.use("Agg")  # write files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sktransformer import TransformerLanguageModel  # noqa: E402
from sktransformer.datasets import make_story_corpus  # noqa: E402
from sktransformer.plot import plot_attention  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed epoch budget below


def witten_bell_perplexity(train, test, order):
    """Perplexity of an interpolated Witten-Bell character n-gram model (end of text included)."""
    counts = defaultdict(Counter)
    pad, end = "\1" * (order - 1), "\0"
    for text in train:
        seq = pad + text + end
        for i in range(order - 1, len(seq)):
            for k in range(order):
                counts[seq[i - k:i]][seq[i]] += 1
    alphabet = len({c for t in train for c in t}) + 1
    total, n = 0.0, 0
    for text in test:
        seq = pad + text + end
        for i in range(order - 1, len(seq)):
            p = 1.0 / alphabet
            for k in range(order):
                seen = counts.get(seq[i - k:i])
                if seen:
                    p = (seen[seq[i]] + len(seen) * p) / (sum(seen.values()) + len(seen))
            total, n = total + np.log(p), n + 1
    return float(np.exp(-total / n))


train = make_story_corpus(1000, random_state=0)
held_out = make_story_corpus(300, random_state=1)
print(f"{len(train)} training sentences ({sum(map(len, train)):,} characters), e.g. {train[1]!r}")

lm = TransformerLanguageModel(d_model=64, n_heads=4, n_layers=2, max_len=64, max_iter=12,
                              dropout=0.0, learning_rate_init=3e-3, random_state=0)
start = time.perf_counter()
lm.fit(train)
print(f"trained in {time.perf_counter() - start:.1f} s ({lm.t_} steps)")

figures = {"transformer_perplexity": lm.perplexity(held_out)}
print(f"held-out perplexity per character: Transformer {figures['transformer_perplexity']:.3f}")
for order in (3, 5, 7):
    figures[f"witten_bell_{order}gram_perplexity"] = witten_bell_perplexity(train, held_out, order)
    print(f"  Witten-Bell {order}-gram: {figures[f'witten_bell_{order}gram_perplexity']:.3f}")

print("\nsamples (temperature 0.8):")
for seed in range(3):
    print("  the cats who" + lm.generate("the cats who", max_new_tokens=60, temperature=0.8,
                                         random_state=seed))

prompt = next(s for s in held_out if len(s) > 60)[:40]  # a 40-character start to continue
timings = {}
for use_cache in (False, True):
    start, n_tokens = time.perf_counter(), 0
    for seed in range(10):
        n_tokens += len(lm.generate(prompt, max_new_tokens=60, random_state=seed,
                                    use_cache=use_cache))
    timings[use_cache] = (time.perf_counter() - start) / max(n_tokens, 1) * 1000
    print(f"generation {'with' if use_cache else 'without'} key/value cache: "
          f"{timings[use_cache]:.2f} ms per token")
print(f"key/value cache speed-up: {timings[False] / timings[True]:.1f}x")

fig, (bars, attention) = plt.subplots(1, 2, figsize=(12, 5), width_ratios=(1, 2), layout="constrained")
bars.bar(["Transformer", "3-gram", "5-gram", "7-gram"], list(figures.values()), color=["C0"] + ["C7"] * 3)
bars.set(ylabel="held-out perplexity per character", ylim=(1, None),
         title="grey: Witten-Bell character n-grams")
plot_attention(lm, "the cats who see anna sleep.", head=0, ax=attention)
fig.savefig("text_generation.png", dpi=110)
print("saved text_generation.png")
# one line for scripts (tests/test_examples.py checks it)
print("figures: " + " ".join(f"{name}={value:.3f}" for name, value in figures.items()))
