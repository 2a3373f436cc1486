"""``nasforge benchmark ...``: tools for tabular benchmark data."""

from __future__ import annotations

import click

from nasforge.cli.common import echo_json, handle_errors


def register(cli: click.Group) -> None:
    @cli.group()
    def benchmark() -> None:
        """Tabular benchmark data tools."""

    @benchmark.command(name="import-nb201")
    @click.argument("source", type=click.Path())
    @click.option("--out", default="~/.cache/nasforge/nb201", show_default=True,
                  help="Folder to write nb201_core.csv into (use it with --benchmark-file or $NASFORGE_NB201_DIR).")
    @handle_errors
    def import_nb201_cmd(source: str, out: str) -> None:
        """Convert the official NATS-Bench/NAS-Bench-201 file SOURCE (needs `pip install nats_bench`)."""
        from nasforge.evaluators.nb201_import import import_nb201

        path = import_nb201(source, out)
        echo_json({"written": str(path)})

    @benchmark.command(name="import-nb101")
    @click.argument("source", type=click.Path())
    @click.option("--out", default="~/.cache/nasforge/nb101", show_default=True,
                  help="Folder to write nb101_108.npz into (nasforge looks here by default).")
    @handle_errors
    def import_nb101_cmd(source: str, out: str) -> None:
        """Convert the official NAS-Bench-101 file SOURCE (nasbench_only108.tfrecord; no TensorFlow needed)."""
        from nasforge.evaluators.nb101 import import_nb101

        path = import_nb101(source, out)
        echo_json({"written": str(path)})
