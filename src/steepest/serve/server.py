"""Running the app: `serve` binds the socket and runs uvicorn; `ensure_server` finds or starts
a server for `steepest train --live`.

The socket is bound here, before uvicorn starts, so that a port in use is one clear error
rather than uvicorn's log, and port 0 picks a free port whose number the app then knows (the
Host check needs it). FastAPI and uvicorn are imported only in `serve`.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: Ports `ensure_server` tries after the first, looking for its server or a free port.
PORT_TRIES = 20


class ServeError(Exception):
    """A server that cannot start: the message is one line for the user."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); ServeError if the port is
    taken or the address is not this machine's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say they are TCP, and without it every answer on a kept-alive connection
    # waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {host} is in use (another steepest serve? give "
                             f"--port, e.g. --port {port + 1})") from None
        if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise ServeError(f"cannot listen on {host}: not an address of this machine") \
                from None
        if error.errno == errno.EACCES:
            raise ServeError(f"not allowed to listen on port {port} (ports below 1024 need "
                             f"privileges); give --port 8765 or another") from None
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") \
            from None
    return sock


def url_of(host: str, port: int, path: str = "/") -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}{path}"


def serve(db: Any = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          extra_hosts: Iterable[str] = (), ready: Callable[[str], None] | None = None,
          preload: bool = True, log_level: str = "warning") -> None:
    """Serve the app until Ctrl-C (or SIGTERM). ready(url) is called once the socket listens
    and the store checked. Raises ServeError (one line) for what the user can fix."""
    import uvicorn

    from steepest.serve.app import create_app

    sock = bind(host, port)
    try:
        bound_port = sock.getsockname()[1]
        names = list(extra_hosts)
        if not is_loopback(host) and host not in ("0.0.0.0", "::"):
            names.append(host)
        if host in ("0.0.0.0", "::"):
            names += [socket.gethostname(), socket.getfqdn()]
        app = create_app(db, port=bound_port, extra_hosts=names, preload=preload)
        _check_store(app)
        config = uvicorn.Config(app, log_level=log_level, access_log=False,
                                proxy_headers=False, server_header=False,
                                timeout_graceful_shutdown=1, lifespan="on")
        server = uvicorn.Server(config)
        if ready is not None:
            ready(url_of(host, bound_port))
        server.run(sockets=[sock])
    finally:
        sock.close()


def _check_store(app: Any) -> None:
    """Open the store now, so a file that is not a steepest store is one line at startup."""
    from steepest.serve.app import dashboard_of

    try:
        dashboard_of(app).store()
    except (ValueError, OSError) as error:
        raise ServeError(str(error)) from None


# ---------------------------------------------------------------------------- --live
def _health(port: int, timeout: float = 1.0) -> dict[str, Any] | None:
    """What answers /api/health on 127.0.0.1:port, or None if nothing (or nothing steepest)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(f"http://127.0.0.1:{port}/api/health", timeout=timeout) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return answer if isinstance(answer, dict) and answer.get("app") == "steepest" else None


def _port_free(port: int) -> bool:
    try:
        bind(DEFAULT_HOST, port).close()
    except ServeError:
        return False
    return True


def ensure_server(db: str | os.PathLike, port: int | None = None,
                  wait_seconds: float = 20.0) -> tuple[str, int | None]:
    """A server for the store `db` on 127.0.0.1: the one already running on `port` (default
    $STEEPEST_SERVE_PORT or 8765) or the next ports, else a new `steepest serve` started in
    the background (it outlives the caller). Returns (base URL, pid of a server it started,
    or None when one was reused). ServeError if none can be found or started."""
    db_path = str(Path(db).absolute())
    first = port if port is not None else int(os.environ.get("STEEPEST_SERVE_PORT",
                                                             DEFAULT_PORT))
    for candidate in range(first, first + PORT_TRIES):
        health = _health(candidate)
        if health is not None and health.get("db") == db_path:
            return url_of(DEFAULT_HOST, candidate, ""), None
        if health is None and _port_free(candidate):
            return url_of(DEFAULT_HOST, candidate, ""), _start(db_path, candidate,
                                                                wait_seconds)
    raise ServeError(f"no free port from {first} to {first + PORT_TRIES - 1} for steepest "
                     f"serve; set STEEPEST_SERVE_PORT")


def _start(db: str, port: int, wait_seconds: float) -> int:
    """Start `steepest serve` detached (its own session: Ctrl-C in the training's terminal
    does not stop it) and wait until it answers; returns its pid."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "steepest", "serve", "--db", db, "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
            start_new_session=True, close_fds=True)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                errors.seek(0)
                lines = errors.read().decode("utf-8", "replace").strip().splitlines()
                reason = lines[-1] if lines else f"exit status {process.returncode}"
                raise ServeError(f"steepest serve did not start: {reason}")
            if _health(port, timeout=0.5) is not None:
                return process.pid
            time.sleep(0.1)
        process.terminate()
        raise ServeError(f"steepest serve did not answer on port {port} within "
                         f"{wait_seconds:g} s")
