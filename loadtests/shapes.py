"""The two load shapes, as Locust ``LoadTestShape`` classes (one per scenario locustfile).

steady: ramp linearly to a fixed number of users, then hold. Stats are reset when the hold
        begins, so Locust's own table describes the hold only; the shape also records when
        each phase began (wall clock) so the report can cut the recorded samples the same way.
cold:   start every user at once (a burst of concurrent first requests against freshly
        forced environments), keep them going briefly, stop. Cold and warm responses are told
        apart afterwards by the app's ``x-cold-start`` header, not by timing.
step:   a steady baseline, then ``factor`` times the users at once, held, then back down to the
        baseline. The users are paced (``--pacing``), so 10x the users is 10x the offered load,
        whatever the server does with it; phases are marked for the per-window report.

A steady run also ends early, cleanly (in-flight requests finish, samples are written), once the
file named by ``LOADTEST_STOP_FILE`` exists (loadtests.faults.stop): the fault scenarios hold
load until they are done.

``tick()`` returns ``(users, spawn_rate)`` or ``None`` to stop. Both shapes return one tuple
for their whole run, so Locust calls ``runner.start`` once and does the ramp itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from locust import LoadTestShape

from loadtests.faults.stop import stop_requested


@dataclass(frozen=True)
class SteadyPlan:
    users: int = 8
    ramp_seconds: float = 10.0
    hold_seconds: float = 30.0

    @classmethod
    def from_options(cls, options: Any) -> SteadyPlan:
        return cls(
            users=options.steady_users, ramp_seconds=options.ramp_seconds, hold_seconds=options.hold_seconds
        )


@dataclass(frozen=True)
class ColdPlan:
    users: int = 4
    seconds: float = 10.0

    @classmethod
    def from_options(cls, options: Any) -> ColdPlan:
        return cls(users=options.burst_users, seconds=options.burst_seconds)


@dataclass(frozen=True)
class StepPlan:
    users: int = 2
    factor: int = 10
    baseline_seconds: float = 10.0
    step_seconds: float = 30.0
    after_seconds: float = 10.0

    @classmethod
    def from_options(cls, options: Any) -> StepPlan:
        return cls(
            users=options.step_users,
            factor=options.step_factor,
            baseline_seconds=options.baseline_seconds,
            step_seconds=options.step_seconds,
            after_seconds=options.after_seconds,
        )

    def phase_at(self, run_time: float) -> str | None:
        """``baseline``, ``step``, ``after``, or None once the run is over."""
        ends = (
            ("baseline", self.baseline_seconds),
            ("step", self.step_seconds),
            ("after", self.after_seconds),
        )
        elapsed = 0.0
        for phase, seconds in ends:
            elapsed += seconds
            if run_time < elapsed:
                return phase
        return None


class RecordedShape(LoadTestShape):
    """A shape that remembers when its phases began (epoch seconds), for the report."""

    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self.phase_marks: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        self.phase_marks.setdefault(phase, time.time())

    def options(self) -> Any:
        return self.runner.environment.parsed_options if self.runner is not None else None


class SteadyShape(RecordedShape):
    plan: SteadyPlan | None = None

    def current_plan(self) -> SteadyPlan:
        if self.plan is None:
            options = self.options()
            self.plan = SteadyPlan.from_options(options) if options is not None else SteadyPlan()
        return self.plan

    def tick(self) -> tuple[int, float] | None:
        plan = self.current_plan()
        run_time = self.get_run_time()
        self.mark("ramp")
        if run_time >= plan.ramp_seconds + plan.hold_seconds or stop_requested():
            self.mark("end")
            return None
        if run_time >= plan.ramp_seconds and "hold" not in self.phase_marks:
            self.mark("hold")
            self.reset_stats()
        return plan.users, plan.users / plan.ramp_seconds

    def reset_stats(self) -> None:
        if self.runner is not None:
            self.runner.stats.reset_all()


class ColdShape(RecordedShape):
    plan: ColdPlan | None = None

    def current_plan(self) -> ColdPlan:
        if self.plan is None:
            options = self.options()
            self.plan = ColdPlan.from_options(options) if options is not None else ColdPlan()
        return self.plan

    def tick(self) -> tuple[int, float] | None:
        plan = self.current_plan()
        self.mark("burst")
        if self.get_run_time() >= plan.seconds:
            self.mark("end")
            return None
        # A spawn rate equal to the user count starts them all in one go: a burst.
        return plan.users, float(plan.users)


class StepShape(RecordedShape):
    plan: StepPlan | None = None

    def current_plan(self) -> StepPlan:
        if self.plan is None:
            options = self.options()
            self.plan = StepPlan.from_options(options) if options is not None else StepPlan()
        return self.plan

    def tick(self) -> tuple[int, float] | None:
        plan = self.current_plan()
        phase = plan.phase_at(self.get_run_time())
        if phase is None:
            self.mark("end")
            return None
        self.mark(phase)
        users = plan.users * plan.factor if phase == "step" else plan.users
        # Every change in one go (spawn rate = the users wanted): a step, not a ramp. Going down,
        # Locust stops the surplus users at once.
        return users, float(plan.users * plan.factor)
