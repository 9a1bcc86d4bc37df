"""Going on past the end of a learning-rate schedule, by choice and never by accident.

Most schedules are shaped by the run's length (cosine, warm-up cosine, one-cycle, the step and
exponential decays, ...). Resuming a run with more steps than its schedule was made for would
run that shape past its end: a cosine climbs back to the initial rate, a one-cycle fails. So
extending asks for one of two choices (`EXTEND_CHOICES`):

- "keep-final": the schedule keeps its shape and the rate stays where it ended;
- "restart": the schedule starts again, over the steps from the resume point to the new end.

The schedule then covers the optimizer steps [start, start + steps) (`ScheduleSpan`), which is
recorded in the run's config (schedule_start, schedule_steps, extend_schedule) so that resuming
it again continues it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXTEND_CHOICES = ("keep-final", "restart")


class ScheduleExtensionError(ValueError):
    """A resumed run would go past the end of its schedule and no choice was made."""


@dataclass(frozen=True)
class Span:
    """The optimizer steps [start, start + steps) a schedule covers; how: None (the run's
    own length), "keep-final" or "restart"."""

    start: int
    steps: int
    how: str | None = None

    def config(self) -> dict[str, Any]:
        """What the run's config records, so that a later resume rebuilds the same span."""
        if self.how is None:
            return {}
        return {"schedule_start": self.start, "schedule_steps": self.steps,
                "extend_schedule": self.how}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def schedule_span(name: Any, resumed: Any, total_steps: int, extend: str | None = None,
                  option: str = "extend_schedule") -> Span:
    """The span of schedule `name` in a run of `total_steps` optimizer steps.

    resumed: the `io.CheckpointInfo` the run resumes from (None: a fresh run). extend: None,
    "keep-final" or "restart". option: how the choice is spelled in messages (the keyword
    argument, or the command-line option). Raises
    ScheduleExtensionError when the run goes past the schedule's end and `extend` is None
    (unless the run already chose to keep the final rate).
    """
    if extend is not None and extend not in EXTEND_CHOICES:
        raise ValueError(f"{option}: choose {' or '.join(EXTEND_CHOICES)}, got {extend!r}")
    from steepest.optim.registry import UNSIZED_SCHEDULES, schedule_name

    try:
        key = schedule_name(name)
    except ValueError:  # not a name (a scheduler object), or unknown: make_scheduler says so
        key = None
    if resumed is None or key is None or key in UNSIZED_SCHEDULES:
        return Span(0, total_steps)
    saved = resumed.config
    start = _count(saved.get("schedule_start")) or 0
    length = _count(saved.get("schedule_steps")) or _count(saved.get("total_steps"))
    before = saved.get("extend_schedule") if saved.get("extend_schedule") in EXTEND_CHOICES \
        else None
    if not length:
        return Span(0, total_steps)  # a run whose schedule length was not recorded
    end = start + length
    if total_steps <= end:  # within the schedule: it goes on as it was made
        return Span(start, length, before)
    if extend is None and before == "keep-final":
        return Span(start, length, before)
    if extend is None:
        given = f"{option} " if option.startswith("--") else f"{option}="
        raise ScheduleExtensionError(
            f"{total_steps} steps go past the end of the {key} schedule ({end} steps), whose "
            f"rate would then climb back or fail; choose how it goes on: {given}keep-final "
            f"(stay at the rate it ends with) or {given}restart (the {key} schedule again "
            f"over steps {resumed.step}..{total_steps})")
    if extend == "keep-final":
        return Span(start, length, "keep-final")
    return Span(resumed.step, total_steps - resumed.step, "restart")


class ScheduleSpan:
    """A scheduler built for `span.steps` steps, covering optimizer steps [start, start +
    steps) and holding its last rate after them.

    `step()` passes on to the scheduler for its first `span.steps` calls, then does nothing: the
    rate stays where the schedule ended (a cosine never climbs back, a one-cycle is never
    stepped past its end). A restart (`span.how == "restart"`) given the state of the schedule
    it replaces does not load it: it puts its own starting rates (and momenta) back into the
    optimizer instead, which the restored optimizer state had overwritten.
    """

    def __init__(self, scheduler: Any, span: Span) -> None:
        self.scheduler, self.span = scheduler, span
        self.optimizer = scheduler.optimizer
        self.taken = 0
        # What the fresh schedule set in each group (lr, initial_lr, momenta), for a restart.
        self._fresh = [{k: v for k, v in group.items() if k != "params"}
                       for group in self.optimizer.param_groups]

    @property
    def interval(self) -> str:  # the scheduler protocol (see train.Trainer): the wrapped one's
        return getattr(self.scheduler, "interval", "step")

    @property
    def monitor(self) -> str | None:
        return getattr(self.scheduler, "monitor", None)

    def step(self, *args: Any) -> None:
        if self.taken < self.span.steps:
            self.scheduler.step(*args)
            self.taken += 1

    def get_last_lr(self) -> list[float]:
        return self.scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return {"span": {"start": self.span.start, "steps": self.span.steps,
                         "how": self.span.how, "taken": self.taken},
                "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "span" in state:  # saved by a ScheduleSpan: this same schedule, going on
            taken = state["span"]["taken"]
            if not isinstance(taken, int) or isinstance(taken, bool) or taken < 0:
                raise ValueError(f"ScheduleSpan: invalid taken {taken!r} in the saved state")
            self.scheduler.load_state_dict(state["scheduler"])
            self.taken = taken
        elif self.span.how == "restart":  # the replaced schedule's state: start afresh
            for group, fresh in zip(self.optimizer.param_groups, self._fresh, strict=True):
                group.update(fresh)
        else:  # the run's own schedule from before it was extended: keep its shape
            self.scheduler.load_state_dict(state)
            self.taken = min(int(state.get("last_epoch", 0)), self.span.steps)

    def __repr__(self) -> str:
        return (f"ScheduleSpan({type(self.scheduler).__name__}, steps {self.span.start}.."
                f"{self.span.start + self.span.steps}, then {self.span.how or 'held'})")
