"""Shared helpers for CLI commands: errors, JSON output, progress, tables."""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

import click

from nasforge.errors import NasforgeError, SearchInterrupted

F = TypeVar("F", bound=Callable[..., Any])

storage_option = click.option("--storage", default="nasforge.db", show_default=True, metavar="DB",
                              help="SQLite file holding the experiments.")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so a search stops the same clean way."""

    signal_name = "SIGTERM"


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def handle_errors(fn: F) -> F:
    """Turn nasforge errors into one line on stderr and exit code 2.

    A search stopped by Ctrl-C or SIGTERM prints how to resume it and exits 130 (SIGINT) or
    143 (SIGTERM), the shell's codes for those signals.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return fn(*args, **kwargs)
        except NasforgeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except SearchInterrupted as exc:
            click.echo(exc.message(), err=True)
            sys.exit(143 if exc.signal_name == "SIGTERM" else 130)
        except KeyboardInterrupt as exc:
            click.echo(f"interrupted ({getattr(exc, 'signal_name', 'SIGINT')})", err=True)
            sys.exit(143 if isinstance(exc, _Terminated) else 130)

    return wrapper  # type: ignore[return-value]


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def echo_json(data: Any) -> None:
    """Print one JSON object (NaN/inf become null so the output is strict JSON)."""
    click.echo(json.dumps(_clean(data)))


def print_table(rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    """A table on stdout. Long cells (architecture strings, errors) wrap onto more lines; nothing is cut."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in rows[0]:
        table.add_column(str(h), overflow="fold")
    for r in rows[1:]:
        table.add_row(*[str(c) for c in r])
    Console().print(table)


class RichProgress:
    """A progress bar on stderr for the runner (hidden when stderr is not a terminal)."""

    def __init__(self, description: str, enabled: bool | None = None) -> None:
        self.description = description
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: float | None, unit: str) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn(unit), TimeElapsedColumn(), TextColumn("{task.fields[best]}"),
                                  console=Console(stderr=True), transient=False)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=total, best="")

    def advance(self, done: float, best: float | None, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, best=f"best {best:.2f}" if best is not None else "")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
