"""What the README promises about installing and testing the package.

- Only numpy, scipy, scikit-learn and autograd are needed: the package imports,
  trains and predicts with every optional package blocked from import, and
  pyproject.toml's dependencies are exactly those four.
- ``.ci/run`` runs exactly the README's docs command, then its test command, and pytest's default
  options do not leave the slow tests out.
- ``requires-python`` agrees with the README's "Python ≥ 3.10".
"""

import ast
import os
import pathlib
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

REQUIRED = {"numpy", "scipy", "scikit-learn", "autograd"}
# every optional package the extras bring in, and torch, which no part of the package uses
OPTIONAL = ("torch", "pandas", "matplotlib", "skops", "safetensors", "tokenizers", "dask", "tqdm",
            "distributed", "dask_ml")


def _requirement_name(requirement):
    """The normalised project name of a PEP 508 requirement string ("scikit-learn>=1.6" -> ...)."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1)
    return re.sub(r"[-_.]+", "-", name).lower()


def _clean_env():
    """The environment for a child Python: this checkout first on the path, no pytest options."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH")
                                                       else []))
    return env


# ------------------------------------------------ only four packages are needed

BLOCKER = f"""
import sys

BLOCKED = {OPTIONAL!r}


class Blocked:
    \"\"\"An import finder for which the optional packages are not installed.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"No module named {{name!r}} (blocked)", name=name)
        return None


assert not [m for m in sys.modules if m.partition(".")[0] in BLOCKED], "imported before the block"
sys.meta_path.insert(0, Blocked())
"""

WITHOUT_EXTRAS = BLOCKER + """
import warnings

import numpy as np

import sktransformer
from sktransformer import (SequenceVectorizer, TransformerClassifier, TransformerEncoder,
                           TransformerRegressor)

warnings.simplefilter("ignore")  # ConvergenceWarning of the two-epoch fits
small = dict(d_model=8, n_heads=2, n_layers=1, max_iter=2, random_state=0)

texts = ["a good film", "bad film", "great fun", "awful and bad", "good fun", "bad bad"] * 2
labels = [1, 0, 1, 0, 1, 0] * 2
clf = TransformerClassifier(**small, verbose=2).fit(texts, labels)  # verbose=2: a bar without tqdm
assert clf.predict(["good film"]).shape == (1,)
assert clf.predict_proba(texts).shape == (12, 2)
assert "good" in clf.vocabulary_

rng = np.random.default_rng(0)
X = rng.normal(size=(30, 4))
y = (X[:, 0] > 0).astype(int)
numeric = TransformerClassifier(**small).fit(X, y)
assert set(numeric.predict(X)) <= {0, 1} and numeric.predict_proba(X).shape == (30, 2)

reg = TransformerRegressor(**small).fit(X, X[:, 0])  # the README's "Use" block
assert reg.predict(X).shape == (30,) and np.isfinite(reg.score(X, X[:, 0]))

ids = SequenceVectorizer(analyzer="char").fit_transform(texts)
features = TransformerEncoder(**small).fit(ids).transform(ids)
assert features.shape == (12, 8)

# examples/quickstart.py itself, with a tiny model instead of its 40-epoch one
import runpy

full_size = sktransformer.TransformerClassifier


def tiny(**params):
    return full_size(**dict(params, d_model=16, n_heads=2, n_layers=1, max_iter=2, verbose=0))


sktransformer.TransformerClassifier = tiny
runpy.run_path(sys.argv[1], run_name="__main__")

leaked = sorted({m.partition(".")[0] for m in sys.modules} & set(BLOCKED))
assert not leaked, leaked
print("ran without the optional packages")
"""


def test_the_package_trains_and_predicts_with_every_optional_package_blocked():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True, text=True, cwd=ROOT, env=_clean_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ran without the optional packages" in result.stdout
    assert re.search(r"figures: test_accuracy=\d\.\d{3}", result.stdout)  # the quickstart ran to its end


def test_the_blocker_blocks():
    """The subprocess's finder really makes the optional packages unimportable."""
    code = BLOCKER + textwrap.dedent("""
        for name in BLOCKED:
            try:
                __import__(name)
            except ImportError:
                continue
            raise SystemExit(f"{name} was imported")
        import sklearn, scipy, autograd, numpy  # the four needed ones are not blocked
        print("blocked")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env=_clean_env(), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "blocked"


def test_pyproject_depends_on_exactly_the_four_packages():
    dependencies = PYPROJECT["project"]["dependencies"]
    assert {_requirement_name(d) for d in dependencies} == REQUIRED
    assert len(dependencies) == len(REQUIRED)
    for requirement in dependencies:  # none carries a marker or extra that could pull in more
        assert ";" not in requirement and "[" not in requirement, requirement


def test_the_readme_names_the_four_packages_as_all_that_is_needed():
    intro = " ".join(README.split("## Use")[0].split())
    assert "with nothing heavier than numpy, scipy, scikit-learn and [autograd]" in intro
    assert "No PyTorch" in intro


# ------------------------------------------------- .ci/run is the README's command


def _readme_commands():
    """The commands of the README's set-up blocks (```bash fences), one string per block."""
    return [" ".join(block.split()) for block in re.findall(r"```bash\n(.*?)```", README, re.S)]


def _script_commands():
    """.ci/run's command lines (comments, blank lines and shell options left out)."""
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


def test_ci_script_runs_exactly_the_readme_docs_and_test_commands():
    readme_test = [c for c in _readme_commands() if "pytest" in c]
    assert readme_test == ['pip install -e ".[test]" && python -m pytest']
    assert "(`.ci/run` runs exactly this)" in " ".join(README.split())
    readme_docs = [c for c in _readme_commands() if "sphinx-build" in c]
    assert readme_docs == ['pip install -e ".[docs]" && sphinx-build -W --keep-going -b html docs '
                           'docs/_build/html']
    commands = _script_commands()
    assert commands[-1] == readme_test[0]
    # before it shell options, a change to the repository root, the docs build, and where the
    # tests find what it built: nothing filters the run
    assert commands[0] == "set -euo pipefail"
    assert commands[1:-1] == ['cd "$(dirname "$0")/.."', readme_docs[0] + " || exit 1",
                              'export SKTRANSFORMER_DOCS_SITE="$PWD/docs/_build/html"',
                              'export SKTRANSFORMER_EXAMPLE_OUTPUTS="$PWD/docs/auto_examples"']
    assert shlex.split(commands[-1]) == ["pip", "install", "-e", ".[test]", "&&", "python", "-m", "pytest"]


def _fake(bin_dir, name, log, status):
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\necho "$(pwd) {name} $*" >> "{log}"\nexit {status}\n')
    path.chmod(0o755)


@pytest.mark.parametrize("pip_status, sphinx_status, pytest_status",
                         [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0)])
def test_ci_script_builds_the_docs_then_runs_pytest_from_the_root_and_fails_when_one_fails(
        tmp_path, pip_status, sphinx_status, pytest_status):
    """.ci/run with pip, sphinx-build and python replaced by recorders: what runs, where, and the
    exit status."""
    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir()
    _fake(bin_dir, "pip", log, pip_status)
    _fake(bin_dir, "sphinx-build", log, sphinx_status)
    _fake(bin_dir, "python", log, pytest_status)
    env = dict(_clean_env(), PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(["bash", str(ROOT / ".ci" / "run")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    ran = log.read_text().splitlines()
    expected = [f"{ROOT} pip install -e .[docs]"]
    if pip_status == 0:
        expected.append(f"{ROOT} sphinx-build -W --keep-going -b html docs docs/_build/html")
    if pip_status == 0 and sphinx_status == 0:
        expected += [f"{ROOT} pip install -e .[test]", f"{ROOT} python -m pytest"]
    assert ran == expected
    assert (result.returncode == 0) == (pip_status == sphinx_status == pytest_status == 0)


def test_pytest_defaults_keep_the_slow_tests():
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    addopts = shlex.split(options.get("addopts", ""))
    for flag in ("-m", "-k", "--deselect", "--ignore", "--ignore-glob", "-x", "--exitfirst",
                 "--maxfail", "--lf", "--last-failed", "--sw", "--stepwise"):
        assert not any(a == flag or a.startswith(flag + "=") for a in addopts), (flag, addopts)
    assert not any("slow" in a for a in addopts), addopts
    assert "slow" in " ".join(options.get("markers", []))
    assert set(options["testpaths"]) >= {"tests"}


def _collected(*options):
    """Test ids ``python -m pytest`` selects, with the project's configuration, in two test files."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *options,
         "tests/test_learning.py", "tests/test_encoder.py"],
        capture_output=True, text=True, cwd=ROOT, env=_clean_env(), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {line for line in result.stdout.splitlines() if "::" in line}, result.stdout


def test_slow_tests_are_collected_by_a_plain_pytest_run():
    """``python -m pytest`` selects the tests marked slow (whole-module and per-test marks)."""
    plain, output = _collected()
    slow, _ = _collected("-m", "slow")
    assert {s.split("::")[0] for s in slow} == {"tests/test_learning.py", "tests/test_encoder.py"}
    assert slow <= plain
    assert plain - slow  # and the others
    assert "deselected" not in output


# ------------------------------------------------------------ Python >= 3.10


def _readme_python():
    found = re.findall(r"Python ≥ (\d+)\.(\d+)", README)
    assert found, "the README states a minimum Python"
    assert len(set(found)) == 1, found
    return tuple(map(int, found[0]))


def test_requires_python_agrees_with_the_readme():
    minimum = _readme_python()
    assert minimum == (3, 10)
    requires = PYPROJECT["project"]["requires-python"].replace(" ", "")
    assert requires == ">={}.{}".format(*minimum)
    target = PYPROJECT["tool"]["ruff"]["target-version"]
    assert target == "py{}{}".format(*minimum)


# standard-library modules that appeared after Python 3.10
NEWER_STDLIB = {"tomllib", "wsgiref.types"}


def test_the_package_source_is_valid_python_3_10():
    minimum = _readme_python()
    for path in sorted((ROOT / "sktransformer").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=minimum)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = {node.module}
            else:
                continue
            assert not names & NEWER_STDLIB, (path.name, names)


def test_datasets_all_lists_every_public_generator():
    """``from sktransformer.datasets import *`` gives every public function the module defines."""
    import inspect

    from sktransformer import datasets

    public = {name for name, obj in vars(datasets).items()
              if inspect.isfunction(obj) and obj.__module__ == datasets.__name__
              and not name.startswith("_")}
    assert public == set(datasets.__all__)
