"""Keep freed memory in the process, so that each training step does not page-fault afresh.

glibc returns large freed blocks to the OS (`munmap`, heap trimming). A training step allocates
and frees the same multi-megabyte temporaries (im2col buffers, activations) every time, so
with the default settings each step pays thousands of page faults to get the memory back: the
LeNet step ran 2-3x slower than with this setting. PyTorch avoids the same cost with its caching
allocator. Set STEEPEST_KEEP_MEMORY=0 to leave glibc's defaults alone.
"""

from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit systems
_TRIM_THRESHOLD = 1024 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; True if the setting took effect."""
    if not sys.platform.startswith("linux") or os.environ.get("STEEPEST_KEEP_MEMORY") == "0":
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mmap_ok = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        trim_ok = libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    except (OSError, AttributeError):  # not glibc (musl, another libc): nothing to do
        return False
    return bool(mmap_ok and trim_ok)


KEPT = keep_freed_memory()
