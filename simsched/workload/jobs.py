"""Jobs and tasks: the runtime instances of an app's DAG.

They are plain slotted objects: the engine mutates their state fields on the hot
path, and policies read them (``task.job.deadline_ms``, ``task.model.kind``, ...).
Policies must treat them as read-only and act only through the engine's API.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from simsched.workload.states import PENDING, TaskState

__all__ = ["Job", "Task", "TaskState"]  # TaskState: re-exported, its home is simsched.workload.states

if TYPE_CHECKING:
    from simsched.platform.profiles import ModelProfile
    from simsched.platform.soc import Processor
    from simsched.workload.apps import App


class Job:
    """One arrival of an app."""

    __slots__ = (
        "app",
        "arrival_ms",
        "deadline_ms",
        "dropped",
        "end_ms",
        "finish_ms",
        "id",
        "left",
        "priority",
        "tasks",
        "user",
    )

    def __init__(self, job_id: int, app: App, arrival_ms: float, user: int = 0) -> None:
        self.id = job_id
        self.app = app
        self.arrival_ms = arrival_ms
        self.deadline_ms = arrival_ms + app.deadline_ms if app.deadline_ms is not None else math.inf
        self.priority = app.priority
        self.tasks: list[Task] = []
        self.left = 0  # active tasks not yet done
        self.finish_ms = math.nan
        self.end_ms = math.nan  # when the job left the system (finished or dropped)
        self.dropped = False
        self.user = user

    @property
    def ended(self) -> bool:
        """Finished or dropped."""
        return not math.isnan(self.end_ms)

    def __repr__(self) -> str:
        return f"Job({self.id}, {self.app.name})"


class Task:
    """One model invocation of a job."""

    __slots__ = (
        "act",
        "factor",
        "finish_ms",
        "first_token_ms",
        "freeze_pending",
        "freezes",
        "job",
        "mean_output",
        "migrate_to",
        "migrations",
        "model",
        "n_left",
        "name",
        "output_tokens",
        "phase",
        "phases",
        "pred_names",
        "preds",
        "proc",
        "progress",
        "prompt_tokens",
        "ready_ms",
        "resume_delay",
        "row_t0",
        "seg_t0",
        "seg_time",
        "start_ms",
        "state",
        "succs",
        "target",
        "version",
    )

    def __init__(
        self, job: Job, name: str, model: ModelProfile, factor: float, prompt: int, output: int, pred_names: str = ""
    ) -> None:
        self.job = job
        self.name = name
        self.model = model
        self.factor = factor
        self.prompt_tokens = prompt
        self.output_tokens = output
        self.mean_output = output  # what a scheduler may assume before decoding (set by the app)
        # (predecessor, transfer ms if on another processor). The engine empties preds,
        # succs and job.tasks once the job has ended (reference counting then frees it).
        self.preds: list[tuple[Task, float]] = []
        self.succs: list[Task] = []
        self.pred_names = pred_names  # predecessors' names joined by ";" (tasks.csv), shared per template
        self.n_left = 0
        self.state = PENDING
        self.proc: Processor | None = None
        self.ready_ms = math.nan
        self.start_ms = math.nan
        self.finish_ms = math.nan
        self.first_token_ms = math.nan
        self.phase = 0
        self.progress = 0.0  # fraction of the current phase done
        self.phases: list[tuple[float, float, float, int]] = []  # on the current processor
        self.act = 0.0  # activity of the current phase while executing (set with the phase's timing)
        self.seg_t0 = 0.0  # when the current progress value was taken
        self.row_t0 = 0.0  # start of the current segments.csv row
        self.seg_time = 0.0  # duration of the whole current phase at the current frequency
        self.target = 1.0  # progress at which the pending engine event fires
        self.version = 0
        self.freeze_pending = False
        self.migrate_to: Processor | None = None
        self.freezes = 0
        self.resume_delay = 0.0  # context-save cost owed by an immediate preemption (ms)
        self.migrations = 0

    @property
    def priority(self) -> int:
        """The job's priority (higher is more important)."""
        return self.job.priority

    def __repr__(self) -> str:
        return f"Task({self.job.id}:{self.name})"
