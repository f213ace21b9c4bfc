"""The ``{{ name }}`` command."""

import argparse
import sys

from . import __version__


def greeting(name):
    """The greeting for ``name``.

    >>> greeting("world")
    'Hello, world!'
    >>> greeting("  Ada ")
    'Hello, Ada!'
    """
    return f"Hello, {name.strip()}!"


def parser():
    """The command line: ``{{ name }} [--name NAME]``, ``--version``, ``--help``."""
    p = argparse.ArgumentParser(prog="{{ name }}", description="{{ description }}")
    p.add_argument("--name", default="world", help="who to greet (default: world)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def main(argv=None):
    """Runs the command; returns its exit status."""
    args = parser().parse_args(argv)
    print(greeting(args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
