"""The built documentation site: an API page for every public class and function, every example's
page with its figure and its printed figures, no broken local link, nothing loaded from the network.

The README's docs command builds the site into ``docs/_build/html``; without it these tests are
skipped, unless ``SKTRANSFORMER_DOCS_SITE`` names the built site (``.ci/run`` sets it after the
build), and then a missing site fails.
"""

import inspect
import os
import pathlib
import urllib.parse
from functools import cache
from html.parser import HTMLParser

import pytest

import sktransformer
from sktransformer import datasets, performance, plot

ROOT = pathlib.Path(__file__).parent.parent
SITE = pathlib.Path(os.environ.get("SKTRANSFORMER_DOCS_SITE", ROOT / "docs" / "_build" / "html"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NOT_RUN = {"pretrained_finetune.py": "needs a checkpoint that is not installed by default"}
# (tag, attribute) pairs that load or link to something
URL_ATTRIBUTES = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"),
                  ("iframe", "src"), ("source", "src"), ("image", "href")}
LOADED_LINKS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut"}


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        if "SKTRANSFORMER_DOCS_SITE" in os.environ:
            pytest.fail(f"SKTRANSFORMER_DOCS_SITE is set, but no site is built at {SITE}")
        pytest.skip("the documentation site is not built (the README's docs command builds it)")
    return SITE


class _Page(HTMLParser):
    """The ids, the URLs (as (tag, attribute, url, rel)) and the text of an HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.urls, self.text = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name"):
            if attrs.get(name):
                self.ids.add(attrs[name])
        for attribute in ("href", "src"):
            if (tag, attribute) in URL_ATTRIBUTES and attrs.get(attribute) is not None:
                self.urls.append((tag, attribute, attrs[attribute], attrs.get("rel") or ""))

    def handle_data(self, data):
        self.text.append(data)


@cache
def _page(path):
    parser = _Page()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _public_callables():
    """``sktransformer.X`` for every class and function of ``__all__``, and the public functions
    of the plot, datasets and performance modules."""
    names = [name for name in sktransformer.__all__
             if inspect.isclass(getattr(sktransformer, name))
             or inspect.isfunction(getattr(sktransformer, name))]
    for module in (plot, datasets, performance):
        short = module.__name__.removeprefix("sktransformer.")
        names += [f"{short}.{name}" for name, obj in vars(module).items()
                  if inspect.isfunction(obj) and obj.__module__ == module.__name__
                  and not name.startswith("_")]
    return [f"sktransformer.{name}" for name in names]


@pytest.mark.parametrize("name", _public_callables())
def test_every_public_class_and_function_has_an_api_page(site, name):
    page = site / "generated" / f"{name}.html"
    assert page.is_file(), f"no API page for {name}: add it to docs/api.rst"
    assert name in _page(page).ids, f"{page} does not document {name}"


@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
def test_every_example_has_a_gallery_page_with_its_figure(site, example):
    page = site / "auto_examples" / f"{example[:-3]}.html"
    assert page.is_file(), f"no gallery page for examples/{example}"
    if example in NOT_RUN:
        return
    parsed = _page(page)
    assert "figures: " in "".join(parsed.text), f"{page} does not show the example's printed figures"
    if "savefig(" in (ROOT / "examples" / example).read_text(encoding="utf-8"):
        images = [url for tag, _, url, _ in parsed.urls
                  if tag == "img" and f"sphx_glr_{example[:-3]}_" in url]
        assert images, f"{page} does not show the figure examples/{example} draws"


def test_the_gallery_runs_at_least_six_examples_with_figures(site):
    drawn = [p for p in EXAMPLES if p.name not in NOT_RUN and "savefig(" in p.read_text(encoding="utf-8")]
    assert len(drawn) >= 6, [p.name for p in drawn]


def _html_files(site):
    """The site's pages (``_static`` holds the theme's templates, not pages)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def test_no_local_link_is_broken(site):
    broken = []
    for page in _html_files(site):
        for tag, attribute, url, _ in _page(page).urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme or parts.netloc or not (parts.path or parts.fragment):
                continue  # remote (the next test), or a bare "#" of a button
            target = page if not parts.path else (page.parent / urllib.parse.unquote(parts.path))
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: <{tag} {attribute}={url!r}>: no such file")
            elif parts.fragment and target.suffix == ".html" and \
                    urllib.parse.unquote(parts.fragment) not in _page(target.resolve()).ids:
                broken.append(f"{page.relative_to(site)}: <{tag} {attribute}={url!r}>: no such anchor")
    assert not broken, "\n".join(broken[:50])


def test_nothing_is_loaded_from_the_network(site):
    """Scripts, stylesheets, fonts and images are the site's own: it works offline."""
    remote = []
    for page in _html_files(site):
        for tag, attribute, url, rel in _page(page).urls:
            loads = tag != "a" and not (tag == "link" and not LOADED_LINKS & set(rel.split()))
            if loads and urllib.parse.urlsplit(url).scheme not in ("", "data"):
                remote.append(f"{page.relative_to(site)}: <{tag} {attribute}={url!r}>")
    assert not remote, "\n".join(remote[:50])
