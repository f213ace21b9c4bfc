"""Sphinx configuration: `sphinx-build docs docs/_build` (python3-sphinx)."""

import os
import sys

sys.path.insert(0, os.path.abspath("../src"))

from {{ module }} import __version__  # noqa: E402

project = "{{ name }}"
author = "{{ author | split(pat=" <") | first }}"
copyright = "{{ year }}, " + author
version = release = __version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest"]
exclude_patterns = ["_build"]
