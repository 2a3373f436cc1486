"""What ``search`` and ``resume`` do when a search produced no successful trial: say why and exit 1.

A search whose every trial failed has no result; exiting 0 would let scripts carry on as if it had
worked. The first trial error is printed on stderr, with the command that shows every trial's error.
"""

from __future__ import annotations

import sys
from typing import Any

import click

__all__ = ["exit_if_all_failed", "first_error"]


def first_error(storage: str, name: str) -> tuple[int, str] | None:
    """``(trial number, error)`` of the first failed trial of experiment ``name`` in ``storage``, if any."""
    from nasforge.api import open_store

    with open_store(storage) as store:
        rec = store.get_experiment(name)
        for t in store.trials(rec.id):
            if t.error:
                return t.number, t.error
    return None


def exit_if_all_failed(summary: Any, storage: str) -> None:
    """Exit with status 1 when ``summary`` counts trials and every one of them failed.

    Args:
        summary: the :class:`~nasforge.runner.SearchSummary` of the finished command.
        storage: the store the experiment lives in (to read the first error).
    """
    if not summary.trials or summary.failed < summary.trials:
        return
    found = first_error(storage, summary.experiment)
    where = f"`nasforge trials {summary.experiment} --storage {storage}`"
    if found is None:
        click.echo(f"error: all {summary.trials} trials failed; see {where}", err=True)
    else:
        number, error = found
        line = error.strip().splitlines()[-1] if error.strip() else error
        click.echo(f"error: all {summary.trials} trials failed; the first (trial {number}) failed with: {line}\n"
                   f"every trial's full error: {where}", err=True)
    sys.exit(1)
