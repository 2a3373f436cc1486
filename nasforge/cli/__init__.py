"""The ``nasforge`` command line. Command modules are listed in :mod:`nasforge.cli.main`."""

from __future__ import annotations

from nasforge.cli.main import cli, main

__all__ = ["cli", "main"]
