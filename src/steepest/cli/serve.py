"""`steepest serve`: the web app (live runs, optimizer race, live network) on 127.0.0.1.
Argument checks here; the app is `steepest.serve`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from steepest.cli import UsageError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `serve` and its options on an argparse subparsers object; returns its parser."""
    parser = subparsers.add_parser(
        "serve",
        help="a local web app: live charts of runs, an optimizer race, a live network",
        description="Serve the run store's runs (read-only, updated live), the optimizer race "
                    "and the live network in the browser. Listens on 127.0.0.1 only, unless "
                    "--host says otherwise.",
    )
    parser.add_argument("--db", help="run store (default runs/steepest.db, or $STEEPEST_DB)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this machine only)")
    parser.add_argument("--port", default="8765",
                        help="port (default: %(default)s; 0 picks a free one)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="another name the browser may use for this server (the Host "
                             "header is checked, against DNS rebinding); repeat for several")
    parser.add_argument("--no-preload", action="store_true",
                        help="do not read the newest runs' losses into memory at start (each "
                             "run is then read when first shown)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the server until Ctrl-C. Raises UsageError (one line) on a bad option, a busy
    port, a missing extra or a file that is not a steepest run store."""
    try:
        port = int(args.port)
    except ValueError:
        raise UsageError(f"--port must be an integer, got {args.port!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {port}")
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("steepest serve needs FastAPI and uvicorn: pip install "
                         "'steepest[serve]'") from None
    from steepest.serve.server import ServeError, is_loopback, serve
    from steepest.store import resolve_db_path

    db = resolve_db_path(args.db)

    def ready(url: str) -> None:
        # warned once it listens: an address it cannot listen on is one line, the error
        if not is_loopback(args.host):
            print(f"steepest serve: warning: listening on {args.host}, so anyone who can "
                  f"reach this machine can read the runs and use the optimizer race and "
                  f"network; the default 127.0.0.1 keeps it to this machine", file=sys.stderr)
        where = f"runs from {db}" if db.exists() else f"no run store at {db} yet"
        print(f"steepest serve: {url} ({where}); Ctrl-C stops it", flush=True)

    try:
        serve(db, host=args.host, port=port, extra_hosts=args.allow_host, ready=ready,
              preload=not args.no_preload)
    except ServeError as error:
        raise UsageError(str(error)) from None
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, raised again by uvicorn once it has stopped
        pass
    print("steepest serve: stopped", file=sys.stderr)
    return 0
