"""A live dashboard in the browser: ``nasforge dashboard`` serves pages over a read-only store.

- :mod:`nasforge.dashboard.data`: the read model (summaries, trials told since K, insights, compare).
- :mod:`nasforge.dashboard.app`: the Starlette app (pages, JSON API under ``/api/``, security headers).

Needs the ``dashboard`` extra (``pip install 'nasforge[dashboard]'``: Starlette and Uvicorn).
"""

from __future__ import annotations

from nasforge.dashboard.data import DashboardData, draw_architecture

__all__ = ["DashboardData", "create_app", "draw_architecture", "serve"]


def create_app(storage: str, *, host: str = "127.0.0.1") -> object:
    """The dashboard's ASGI app (see :func:`nasforge.dashboard.app.create_app`)."""
    from nasforge.dashboard.app import create_app as _create

    return _create(storage, host=host)


def serve(storage: str, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the dashboard of ``storage`` until interrupted (blocking)."""
    import uvicorn

    uvicorn.run(create_app(storage, host=host), host=host, port=port, log_level="warning", access_log=False)
