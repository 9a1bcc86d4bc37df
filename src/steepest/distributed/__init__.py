"""Distributed and asynchronous training: synchronous data-parallel and an asynchronous parameter
server on Ray, and a deterministic single-process simulator that runs the same strategy code.

Importing this package imports neither Ray nor anything heavy: Ray is imported only when a Ray
run starts (`pip install 'steepest[distributed]'`).
"""

from steepest.distributed.strategies import STRATEGIES, make_strategy

__all__ = ["STRATEGIES", "make_strategy"]
