"""The dashboard web app: a Starlette application serving the pages and the JSON API.

The pages are one static HTML file, one script and one stylesheet (in ``static/``, with the uPlot
charting library shipped in the package: nothing is fetched from elsewhere). They call the JSON API
under ``/api/`` (documented in ``docs/dashboard.md``):

- ``GET /api/status``: the store served.
- ``GET /api/experiments``: one summary per experiment.
- ``GET /api/experiments/{name}``: one summary and the spec.
- ``GET /api/experiments/{name}/trials?after=K``: counted trials told after tell order ``K``.
- ``GET /api/experiments/{name}/insights?top=N``: op frequency, learning curves, arch-weight history.
- ``GET /api/experiments/{name}/trials/{number}``: one trial in full.
- ``GET /api/compare?names=a,b``: best-so-far curves on common grids, seed means and spreads.

Every response carries a Content-Security-Policy of ``'self'`` so the page can make no external
request, and the store is opened read-only.

Example:
    >>> import uvicorn  # doctest: +SKIP
    >>> uvicorn.run(create_app("runs.db"), host="127.0.0.1", port=8080)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nasforge.dashboard.data import DashboardData, clean_json
from nasforge.errors import ExperimentNotFoundError, InvalidConfigError, NasforgeError

__all__ = ["CSP", "LOOPBACK_HOSTS", "create_app"]

STATIC = Path(__file__).resolve().parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class _SecurityHeaders:
    """ASGI middleware adding the Content-Security-Policy and related headers to every response."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer")]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(storage: str | Path, *, host: str = "127.0.0.1") -> Any:
    """The Starlette app serving the dashboard of ``storage`` (opened read-only).

    Args:
        storage: the SQLite store to show.
        host: the address the server binds; on a loopback address only requests naming a loopback host
            are answered (a guard against DNS rebinding).

    Raises:
        StorageError: ``storage`` is missing or not a nasforge store.
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    DashboardData(storage).close()  # fail now, with a clear error, if the store cannot be read
    local = threading.local()
    lock = threading.Lock()

    def data() -> DashboardData:
        # sqlite3 connections belong to one thread; the cache of each is only touched under the lock
        if getattr(local, "data", None) is None:
            local.data = DashboardData(storage)
        return local.data  # type: ignore[no-any-return]

    def json_response(obj: Any, status: int = 200) -> Response:
        try:
            body = json.dumps(obj, allow_nan=False, separators=(",", ":"))
        except ValueError:  # a NaN or infinity somewhere: make it null (slower, so only when needed)
            body = json.dumps(clean_json(obj), allow_nan=False, separators=(",", ":"))
        return Response(body, status_code=status, media_type="application/json",
                        headers={"Cache-Control": "no-store"})

    def endpoint(fn: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
        def run(request: Request) -> Response:
            try:
                with lock:
                    return json_response(fn(request))
            except ExperimentNotFoundError as exc:
                return json_response({"error": str(exc)}, 404)
            except (InvalidConfigError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
            except NasforgeError as exc:
                return json_response({"error": str(exc)}, 500)

        async def handler(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(run, request)

        return handler

    def int_param(request: Request, key: str, default: int) -> int:
        raw = request.query_params.get(key)
        try:
            return default if raw is None else int(raw)
        except ValueError:
            raise InvalidConfigError(f"query parameter {key} must be an integer, but got {raw!r}") from None

    routes = [
        Route("/", lambda request: FileResponse(STATIC / "index.html")),
        Route("/api/status", endpoint(lambda r: data().status())),
        Route("/api/experiments", endpoint(lambda r: {"experiments": data().experiments()})),
        Route("/api/experiments/{name:path}/trials/{number:int}",
              endpoint(lambda r: data().trial(r.path_params["name"], r.path_params["number"]))),
        Route("/api/experiments/{name:path}/trials",
              endpoint(lambda r: data().trials(r.path_params["name"], int_param(r, "after", -1)))),
        Route("/api/experiments/{name:path}/insights",
              endpoint(lambda r: data().insights(r.path_params["name"], int_param(r, "top", 10)))),
        Route("/api/experiments/{name:path}", endpoint(lambda r: data().experiment(r.path_params["name"]))),
        Route("/api/compare", endpoint(lambda r: data().compare(
            [n for n in r.query_params.getlist("name") if n]))),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if host in LOOPBACK_HOSTS:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]"]))
    app = Starlette(routes=routes, middleware=middleware)
    return app
