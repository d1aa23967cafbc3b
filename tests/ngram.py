"""A smoothed character n-gram language model: the baseline a Transformer LM must beat."""

from collections import Counter, defaultdict

import numpy as np


class CharNGram:
    """Character n-gram model with interpolated Witten-Bell smoothing and an end-of-sequence symbol.

    p(c | h) = (count(h c) + t(h) * p(c | shorter h)) / (count(h) + t(h)), with
    t(h) the number of distinct characters seen after h, recursively down to
    a uniform distribution. Each text starts with ``order - 1`` padding
    characters, so the first characters have a context too.
    """

    START, END = "\1", "\0"

    def __init__(self, order):
        self.order = order

    def fit(self, texts):
        self.alphabet_size = len({c for t in texts for c in t} | {self.END})
        self.counts = defaultdict(Counter)  # context (0..order-1 chars) -> next-char counts
        for text in texts:
            seq = self.START * (self.order - 1) + text + self.END
            for i in range(self.order - 1, len(seq)):
                for k in range(self.order):
                    self.counts[seq[i - k:i]][seq[i]] += 1
        self.totals = {h: sum(c.values()) for h, c in self.counts.items()}
        return self

    def probability(self, context, c):
        p = 1.0 / self.alphabet_size
        for k in range(self.order):  # shortest context first
            h = context[len(context) - k:] if k else ""
            seen = self.counts.get(h)
            if seen:
                distinct = len(seen)
                p = (seen[c] + distinct * p) / (self.totals[h] + distinct)
        return p

    def score(self, texts):
        """Mean log-likelihood per character (end of sequence included), in nats."""
        total, n = 0.0, 0
        for text in texts:
            seq = self.START * (self.order - 1) + text + self.END
            for i in range(self.order - 1, len(seq)):
                total += np.log(self.probability(seq[i - self.order + 1:i], seq[i]))
                n += 1
        return total / n
