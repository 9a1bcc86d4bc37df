"""The FastAPI app of `steepest serve`: the pages, their static files, and the HTTP API
(docs/serve.md) over the run store (read-only) and the lab.

`create_app(db, port=...)` builds it; every request first passes `guard.Guard` (Host check,
bounded bodies, Content-Security-Policy). Errors are JSON `{"detail": message}`: 400 for a bad
request (never FastAPI's 422), 404 for what does not exist, 413 for a body too large.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from steepest.serve import network, playground
from steepest.serve.checks import BadRequest
from steepest.serve.dashboard import Dashboard
from steepest.serve.guard import Guard, allowed_hosts

STATIC_DIR = Path(__file__).parent / "static"
#: The bytes a request body may have (a race request is a few hundred).
MAX_BODY = 64 * 1024
#: Seconds between two looks at the store for a live run, and between keep-alive comments.
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
          ".png": "image/png", ".txt": "text/plain; charset=utf-8"}
PAGES = ("/", "/playground", "/network")


def static_files() -> dict[str, Path]:
    """The app's own static files by URL path under /static/: only these are ever served, so
    no request can reach another file (a traversal matches no key and gets 404)."""
    files = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file() and path.suffix in _TYPES and not path.name.startswith("."):
            files[path.relative_to(STATIC_DIR).as_posix()] = path
    return files


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("path", "query"))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def sse(event: str, data: Any) -> str:
    """One server-sent event: `event: name` and one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def create_app(db: str | os.PathLike | None = None, *, port: int = 8765,
               extra_hosts: Iterable[str] = (), poll_seconds: float = POLL_SECONDS,
               preload: bool = True) -> Any:
    """The app over the run store at `db` (see `store.resolve_db_path`; it may not exist yet:
    the dashboard then waits for it). port and extra_hosts decide the Host headers accepted.
    preload: read the newest runs' step losses into memory in the background at start."""
    dashboard = Dashboard(db)
    sessions = network.Sessions()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        loader = threading.Thread(target=dashboard.preload, args=(stop,), daemon=True,
                                  name="steepest-preload")
        if preload:
            loader.start()
        yield
        stop.set()
        if preload:
            loader.join(timeout=10)
        sessions.close()
        dashboard.close()

    # No /docs: FastAPI's would load Swagger UI from a CDN. The schema is at /api/openapi.json.
    app = FastAPI(title="steepest serve", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", lifespan=lifespan)
    files = static_files()
    index = (STATIC_DIR / "index.html").read_bytes()
    app.state.dashboard = dashboard
    app.state.sessions = sessions

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if error.status_code != 404 or error.detail != "Not Found" \
            else f"nothing at {request.url.path}"
        return _error(error.status_code, str(detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(400, _validation_message(error))

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, error: BadRequest) -> JSONResponse:
        return _error(400, str(error))

    @app.exception_handler(LookupError)
    async def not_found(request: Request, error: LookupError) -> JSONResponse:
        return _error(404, str(error.args[0]) if error.args else "not found")

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the request body must be JSON") from None

    # ------------------------------------------------------------------ pages and files
    def page() -> Response:
        return Response(index, media_type=_TYPES[".html"],
                        headers={"cache-control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)

    @app.get("/runs/{run_id}", include_in_schema=False)
    def run_page(run_id: str) -> Response:
        return page()

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in files:
            return _error(404, f"no static file {name!r}")
        path = files[name]
        return FileResponse(path, media_type=_TYPES[path.suffix],
                            headers={"cache-control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    # ------------------------------------------------------------------ the run store
    @app.get("/api/health")
    def health() -> dict[str, Any]:
        """Who is answering: the app's name and the store it serves (for `train --live`), and
        how many runs' losses it has read into memory so far."""
        return {"app": "steepest", "db": str(dashboard.path), "preloaded": dashboard.preloaded}

    @app.get("/api/runs")
    def runs() -> dict[str, Any]:
        """Every run with its status, config and command, newest last."""
        return dashboard.runs_payload()

    @app.get("/api/runs/{run_id}")
    def run(run_id: int) -> dict[str, Any]:
        """One run: its record, the metric names of each scope, the command reproducing it."""
        return dashboard.run_payload(run_id)

    @app.get("/api/runs/{run_id}/metrics")
    def metrics(run_id: int, scope: str = "step", names: str | None = None,
                points: int = 1000, start: float | None = None, end: float | None = None,
                axis: str = "step") -> dict[str, Any]:
        """A run's metrics, downsampled on the server to at most `points` bins, each keeping
        the mean, min and max of its rows (see docs/serve.md)."""
        return dashboard.metrics_payload(run_id, scope, names, points, start, end, axis)

    @app.get("/api/metrics")
    def aligned(runs: str, name: str, scope: str = "step", axis: str = "step",
                points: int = 1000, start: float | None = None,
                end: float | None = None) -> dict[str, Any]:
        """One metric of several runs in shared bins: what the chart draws."""
        return dashboard.aligned_payload(runs, name, scope, axis, points, start, end)

    @app.get("/api/runs/{run_id}/events")
    async def run_events(run_id: int, request: Request,
                         scope: str = "step", after: int = -1) -> StreamingResponse:
        """Server-sent events of a run: `metrics` with the new rows of the scope as they are
        written, `status` when the run's status changes."""
        await asyncio.to_thread(dashboard.run_payload, run_id)  # 404 before the stream

        async def stream() -> AsyncIterator[str]:
            async for event, data in dashboard.run_events(run_id, scope, after, poll_seconds):
                if await request.is_disconnected():
                    return
                yield sse(event, data) if event else ": keep-alive\n\n"

        return _event_stream(stream())

    @app.get("/api/events")
    async def store_events(request: Request) -> StreamingResponse:
        """Server-sent events of the store: `runs` whenever a run is added or changes."""
        async def stream() -> AsyncIterator[str]:
            async for event, data in dashboard.store_events(poll_seconds):
                if await request.is_disconnected():
                    return
                yield sse(event, data) if event else ": keep-alive\n\n"

        return _event_stream(stream())

    @app.get("/api/export.csv")
    def export(runs: str, metric: str, scope: str = "step", start: float | None = None,
               end: float | None = None, axis: str = "step") -> Response:
        """The raw values of one metric of the runs shown, over the x range shown."""
        text = dashboard.export_csv(runs, metric, scope, start, end, axis)
        return Response(text, media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="steepest-{_safe(metric)}.csv"'})

    # ------------------------------------------------------------------ the playground
    @app.get("/api/surfaces")
    def surfaces() -> list[dict[str, Any]]:
        """The lab's surfaces: formula, window, start, minima, default learning rates."""
        return playground.surfaces_payload()

    @app.get("/api/surfaces/{name}/grid")
    def grid(name: str, n: int = 160) -> dict[str, Any]:
        """f on an n×n grid over the surface's window (n points for a 1-D surface)."""
        return playground.surface_grid(name, n)

    @app.get("/api/optimizers")
    def optimizers() -> list[dict[str, Any]]:
        """The lab's optimizers and their hyperparameters with defaults."""
        return playground.optimizers_payload()

    @app.post("/api/race")
    async def race(request: Request) -> dict[str, Any]:
        """Race optimizers from one start (see docs/serve.md); the paths come from
        `steepest.lab.race`, as `steepest race` computes them."""
        body = await json_body(request)
        return await asyncio.to_thread(playground.run_race, body)

    # ------------------------------------------------------------------ the live network
    @app.get("/api/network/choices")
    def network_choices() -> dict[str, Any]:
        """Data sets, activations, initialisations, optimizers and regularisers."""
        return network.choices()

    @app.post("/api/network")
    async def network_create(request: Request) -> dict[str, Any]:
        """Build a network session (paused); returns its id, data and layers."""
        body = await json_body(request)
        session = await asyncio.to_thread(sessions.create, body)
        return session.describe()

    @app.post("/api/network/{session_id}/{action}")
    def network_control(session_id: str, action: str) -> dict[str, Any]:
        """play or pause a session."""
        session = sessions.get(session_id)
        if action == "play":
            session.play()
        elif action == "pause":
            session.pause()
        else:
            raise LookupError(f"no action {action!r}; use play or pause")
        return {"status": session.status}

    @app.delete("/api/network/{session_id}")
    def network_drop(session_id: str) -> dict[str, Any]:
        sessions.drop(session_id)
        return {"dropped": session_id}

    @app.get("/api/network/{session_id}/events")
    async def network_events(session_id: str, request: Request) -> StreamingResponse:
        """Server-sent `state` events of a session, a few times a second while it changes."""
        session = sessions.get(session_id)

        async def stream() -> AsyncIterator[str]:
            seen, sent_losses, quiet = -1, 0, 0.0
            while not await request.is_disconnected():
                if session.version != seen:
                    state = session.snapshot(sent_losses)
                    seen, quiet = state["version"], 0.0
                    sent_losses += len(state["losses"])
                    yield sse("state", state)
                elif quiet >= HEARTBEAT_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(network.SNAPSHOT_SECONDS)
                quiet += network.SNAPSHOT_SECONDS

        return _event_stream(stream())

    return Guard(app, hosts=allowed_hosts(port, extra_hosts), max_body=MAX_BODY)


def dashboard_of(app: Any) -> Dashboard:
    """The Dashboard of an app made by `create_app`."""
    return app.app.state.dashboard


def _event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


def _safe(text: str) -> str:
    """A metric name fit for a file name: letters, digits, - and _ only."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60] or "metric"
