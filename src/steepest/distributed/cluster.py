"""Ray, started or joined: the one module that imports it, and the actors' CPU shares.

`connect()` starts a local Ray instance (or joins `address`) the first time it is called and
returns the `ray` module. A local instance is private to this machine: Ray binds 127.0.0.1 only,
has no dashboard, and sends no usage statistics. Joining checks that the address answers before
Ray is asked to (Ray itself would retry for minutes).

Every actor asks for `ACTOR_CPUS` of a CPU: Ray gives an actor one whole CPU by default, so more
workers than cores would wait forever for a CPU that never frees up.
"""

from __future__ import annotations

import os
import socket
from typing import Any

__all__ = ["ACTOR_CPUS", "RayUnavailable", "connect", "disconnect", "ray_module"]

#: The CPU share each actor reserves (so that 32 workers fit on 2 cores).
ACTOR_CPUS = 0.01

#: Seconds to wait for an --address to answer.
CONNECT_TIMEOUT = 5.0

INSTALL_HINT = "pip install 'steepest[distributed]'"


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster at the given address does not answer."""


def ray_module() -> Any:
    """The `ray` module, or RayUnavailable saying how to install it."""
    # Before the first import: Ray reads these when it loads.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"Ray is not installed: {INSTALL_HINT}") from None
    return ray


def _check_answers(address: str, timeout: float) -> None:
    host, _, port = address.rpartition(":")
    if address.startswith("ray://"):
        host, _, port = address[len("ray://"):].rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"--address {address!r}: expected HOST:PORT (e.g. "
                             f"127.0.0.1:6379), or 'auto'")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise RayUnavailable(f"--address {address}: no Ray cluster answers there within "
                             f"{timeout:g} s ({error.strerror or error})") from None


def connect(address: str | None = None, *, num_cpus: int | None = None,
            timeout: float | None = None) -> Any:
    """Start a local Ray (address None) or join the cluster at `address`; returns `ray`.

    Reuses a Ray already initialised in this process. num_cpus: the local instance's CPUs
    (default: this machine's count). timeout: seconds for `address` to answer (default
    `CONNECT_TIMEOUT`).
    """
    if address is None:
        # Before Ray loads: bind the loopback address, never look for the machine's own IP.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = ray_module()
    if address is not None and address != "auto":
        _check_answers(address, CONNECT_TIMEOUT if timeout is None else timeout)
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=True,
                                   configure_logging=True, logging_level="WARNING")
    if address is None:
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, _node_ip_address="127.0.0.1",
                 object_store_memory=_object_store_bytes(), **options)
    else:
        try:
            ray.init(address=address, **options)
        except (ConnectionError, TimeoutError, RuntimeError) as error:
            raise RayUnavailable(f"--address {address}: cannot join the Ray cluster "
                                 f"({error})") from None
    return ray


def disconnect() -> None:
    """Shut Ray down if this process started or joined it."""
    ray = ray_module()
    if ray.is_initialized():
        ray.shutdown()


def _object_store_bytes() -> int:
    """A modest object store: Ray's default takes 30% of memory in /dev/shm, more than the
    parameters and batches of the models here ever need."""
    try:
        shm = os.statvfs("/dev/shm")
        available = shm.f_bavail * shm.f_frsize
    except OSError:
        available = 1 << 30
    return int(max(min(1 << 30, available // 2), 80 << 20))
