"""``nasforge dashboard``: a live, read-only web dashboard over an experiment store."""

from __future__ import annotations

import importlib.util

import click

from nasforge.cli.common import handle_errors, storage_option
from nasforge.errors import NasforgeError

__all__ = ["register"]


def register(cli: click.Group) -> None:
    """Add ``dashboard`` to the ``nasforge`` command group."""

    @cli.command()
    @storage_option
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on. Anything but a loopback address exposes your experiments.")
    @click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
    @handle_errors
    def dashboard(storage: str, host: str, port: int) -> None:
        """Watch, compare and inspect the searches in a store, live, in the browser (read-only)."""
        missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
        if missing:
            raise NasforgeError(f"the dashboard needs {' and '.join(missing)}: pip install 'nasforge[dashboard]'")
        from nasforge.dashboard import serve
        from nasforge.dashboard.app import LOOPBACK_HOSTS, create_app

        create_app(storage, host=host)  # a missing or foreign store fails here, before the server starts
        if host not in LOOPBACK_HOSTS:
            click.echo(f"warning: listening on {host}: anyone who can reach this machine on port {port} can read "
                       "every experiment in the store (there is no login)", err=True)
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"nasforge dashboard: http://{shown}:{port}/  (store {storage}, read-only; Ctrl+C to stop)")
        serve(storage, host=host, port=port)
