"""What the machine allows, asked before a file is trusted: the memory this process may still
use, and whether a path is a regular file at all (a folder or a FIFO is said to be one)."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def available_memory() -> int | None:
    """Bytes this process may still allocate: the memory the system reports available
    (MemAvailable), capped by an address-space limit (ulimit -v) less what is used; None if
    the system does not say."""
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = None
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as statm:
                used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            room = max(0, limit - used)
            available = room if available is None else min(available, room)
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return available


def _size(nbytes: int) -> str:
    if nbytes >= 10**300:  # a header's product of sizes can pass what a float can hold
        return f"about 10^{len(str(nbytes)) - 1} bytes"
    for unit, scale in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def memory_problem(nbytes: int) -> str | None:
    """None if `nbytes` fit in the memory available, else a phrase saying how much is
    needed and how much there is (for a one-line error)."""
    available = available_memory()
    if available is None or nbytes <= available:
        return None
    return f"needs {_size(nbytes)} of memory, and only {_size(available)} is available"


def not_a_file(path: str | os.PathLike) -> str | None:
    """None for a regular file (or a symlink to one); otherwise what the path is, as a phrase:
    "does not exist", "is a folder", "is a named pipe (FIFO)", ... Never opens the path, so a
    FIFO cannot block the caller."""
    try:
        mode = os.stat(Path(path)).st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    return "is not a regular file"
