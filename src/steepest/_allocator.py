"""Keep freed memory in the process, so that each training step does not page-fault afresh.

glibc returns large freed blocks to the OS (`munmap`, heap trimming). A training step allocates
and frees the same multi-megabyte temporaries (im2col buffers, activations) every time, so
with the default settings each step pays thousands of page faults to get the memory back: the
LeNet step ran 2-3x slower than with this setting. PyTorch avoids the same cost with its caching
allocator.

The setting changes the whole process, so `import steepest` does not make it: the `steepest`
command and `train.fit` call `keep_freed_memory()` (fit unless `keep_memory=False`), and a
program that trains otherwise can call `steepest.keep_freed_memory()` itself. Set
STEEPEST_KEEP_MEMORY=0 to leave glibc's defaults alone everywhere.
"""

from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit systems
_TRIM_THRESHOLD = 1024 * 1024 * 1024

_kept: bool | None = None  # the outcome of the first call (the setting is made once)


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process, once; True if the setting is
    in effect. Does nothing (False) off Linux, with another libc, or with
    STEEPEST_KEEP_MEMORY=0."""
    global _kept
    if os.environ.get("STEEPEST_KEEP_MEMORY") == "0":
        return bool(_kept)
    if _kept is not None:
        return _kept
    _kept = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mmap_ok = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        trim_ok = libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    except (OSError, AttributeError):  # not glibc (musl, another libc): nothing to do
        return False
    _kept = bool(mmap_ok and trim_ok)
    return _kept
