"""Tests of the ``{{ name }}`` command."""

import pytest

from {{ module }} import __version__
from {{ module }}.cli import main


def test_greets_the_world_by_default(capsys):
    assert main([]) == 0
    assert capsys.readouterr().out == "Hello, world!\n"


def test_greets_by_name(capsys):
    assert main(["--name", "Ada"]) == 0
    assert capsys.readouterr().out == "Hello, Ada!\n"


def test_prints_its_version(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out == f"{{ name }} {__version__}\n"
