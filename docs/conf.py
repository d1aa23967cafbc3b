"""Sphinx configuration: the API reference from the numpydoc docstrings, the user guide from
README.md's sections (myst-parser), and the gallery of examples/ executed at build time
(sphinx-gallery).

Built offline: no intersphinx, no remote images, scripts or fonts (the site test checks).

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html
"""

import os
import re

import sktransformer

project = "sktransformer"
author = "the sktransformer developers"
copyright = "the sktransformer developers"  # noqa: A001 (Sphinx's name)
release = version = sktransformer.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json",
                    "auto_examples/*.md5", "auto_examples/*.zip"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

# Offline: nothing is fetched at build time.
intersphinx_mapping = {}

# API reference: one page per public class and function (api.rst lists them).
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_validation_checks = set()


def _skip_foreign_member(app, what, name, obj, skip, options):
    """Document sktransformer's own methods only; scikit-learn's inherited ones (``set_params``,
    ``set_fit_request``, a mixin's ``score``) are documented by scikit-learn, with references to
    its own user guide that do not resolve here."""
    if what == "class" and not skip:
        module = getattr(obj, "__module__", None) or getattr(getattr(obj, "fget", None), "__module__", "")
        if not (module or "").startswith("sktransformer"):
            return True
    return None


# User guide: README.md's sections, included between comment markers.
myst_heading_anchors = 3  # README's links to its own headings ("#what-the-defaults-cost-...")
suppress_warnings = ["myst.header"]  # a page made of a README section starts at its "##" heading

# Gallery: every example runs once, in order of its file name; the checkpoint example needs a
# checkpoint that is not installed by default, so it is shown without being run.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": re.escape(os.sep) + r"(?!pretrained_finetune)[^" + re.escape(os.sep) + r"]+\.py$",
    "download_all_examples": False,
    "backreferences_dir": "auto_examples/backreferences",  # "Examples using X" on each API page
    "doc_module": ("sktransformer",),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 0,
    "write_computation_times": False,  # its page loads jQuery and DataTables from CDNs
    "show_memory": False,
    "show_signature": False,
    # every build runs every example, so the figures the tests read from it are this code's
    "run_stale_examples": True,
    "abort_on_example_error": False,  # run them all, then fail the build naming each that failed
}

html_theme = "pydata_sphinx_theme"
html_title = f"sktransformer {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
