"""Apps: DAG templates of model invocations, their random draws, and job creation."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from simsched.config.schema import AppSpec, ClosedArrival, GeneratorSpec, IntDist
from simsched.platform.profiles import ModelProfile
from simsched.platform.soc import Platform
from simsched.rng import Batched, stream
from simsched.workload.arrivals import OpenArrivals, open_arrivals, scaled_arrival
from simsched.workload.jobs import Job, Task
from simsched.workload.states import SKIPPED


@dataclass(frozen=True)
class TaskTemplate:
    """A node of an app's DAG; ``preds`` are (index, transfer_ms, transfer_kb, prob)."""

    name: str
    model: str
    preds: tuple[tuple[int, float, float, float], ...]
    prompt_tokens: IntDist | None = None
    output_tokens: IntDist | None = None


def template_from_graph(graph: dict) -> list[TaskTemplate]:
    """Topologically ordered templates of a validated ``graph`` mapping (ties keep file order)."""
    # Kahn's algorithm with a heap of file positions: each step takes the first task
    # in file order whose predecessors are placed, as a rescan from the top would,
    # in O(n log n) rather than O(n^2) for a chain listed sink-first.
    names = list(graph)
    pos = {n: i for i, n in enumerate(names)}
    waiting = [len(graph[n].edges()) for n in names]
    succs: list[list[int]] = [[] for _ in names]
    for n in names:
        for p in graph[n].edges():
            succs[pos[p]].append(pos[n])
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(names[i])
        for j in succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) < len(names):  # pragma: no cover - validation rejects cycles first
        raise ValueError("cycle")
    index = {n: i for i, n in enumerate(order)}
    out = []
    for n in order:
        t = graph[n]
        preds = tuple((index[p], e.transfer_ms, e.transfer_kb, e.prob) for p, e in t.edges().items())
        out.append(TaskTemplate(n, t.model, preds, t.prompt_tokens, t.output_tokens))
    return out


def random_dag(rng: np.random.Generator, spec: GeneratorSpec) -> list[TaskTemplate]:
    """A random cAI DAG: ``n`` tasks drawn from the model mix, edges i->j (i<j) with ``edge_prob``.

    Node order is a topological order by construction, so the graph is acyclic.
    """
    names = list(spec.models)
    w = np.array([spec.models[m] for m in names], dtype=float)
    p = w / w.sum() if w.sum() > 0 else np.full(len(names), 1 / len(names))
    n = int(rng.integers(spec.tasks[0], spec.tasks[1] + 1))
    picks = rng.choice(len(names), size=n, p=p)
    edges = rng.random((n, n)) < spec.edge_prob
    out = []
    for j in range(n):
        preds = tuple((i, spec.transfer_ms, 0.0, 1.0) for i in range(j) if edges[i, j])
        out.append(TaskTemplate(f"t{j}", names[picks[j]], preds))
    return out


def draw_int(rng: np.random.Generator, d: IntDist) -> int:
    """One draw of a positive integer distribution."""
    if d.type == "constant":
        return int(d.value)  # type: ignore[arg-type]
    if d.type == "uniform":
        return int(rng.integers(d.low, d.high + 1))  # type: ignore[operator]
    if d.type == "lognormal":
        s2 = math.log1p(d.cv**2)  # type: ignore[operator]
        x = rng.lognormal(math.log(d.mean) - s2 / 2, math.sqrt(s2))  # type: ignore[arg-type]
        return max(1, round(x))
    w = np.array(d.weights or [1.0] * len(d.values), dtype=float)  # type: ignore[arg-type]
    return int(d.values[int(rng.choice(len(d.values), p=w / w.sum()))])  # type: ignore[index]


class Variation:
    """Draws multiplicative latency factors with mean 1 for one app."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._z = Batched(rng, lambda r, n: r.standard_normal(n))
        self._e = Batched(rng, lambda r, n: r.exponential(1.0, n))

    def factor(self, kind: str, cv: float) -> float:
        """A factor for variability ``kind`` with coefficient of variation ``cv``."""
        if kind == "constant":
            return 1.0
        if kind == "exponential":
            return self._e()
        if kind == "normal":
            # Truncated so a latency never becomes zero or negative; the bias is
            # negligible for cv <= 0.3 (the mass below 0.05 is under 1e-3).
            return max(0.05, 1.0 + cv * self._z())
        s2 = math.log1p(cv * cv)
        return math.exp(-s2 / 2 + math.sqrt(s2) * self._z())


class App:
    """Runtime app: arrival process, DAG template (or generator) and random streams.

    Parameters
    ----------
    seed : int
        Root seed of the run; the app's streams are named after the app, so adding an
        app does not change another app's arrivals or latencies.
    """

    def __init__(self, name: str, index: int, spec: AppSpec, platform: Platform, seed: int) -> None:
        self.name = name
        self.index = index
        self.spec = spec
        self.priority = spec.priority
        self.deadline_ms = spec.deadline_ms
        self.drop_late = spec.late == "drop"
        self.template = template_from_graph(spec.graph) if spec.graph is not None else None
        self.generator = spec.generator
        self.models: dict[str, ModelProfile] = platform.models
        self._platform = platform
        arrival = scaled_arrival(spec.arrival, spec._load_scale)
        self.arrivals: OpenArrivals | None = open_arrivals(arrival, stream(seed, f"arrivals/{name}"))
        self.closed: ClosedArrival | None = arrival if isinstance(arrival, ClosedArrival) else None
        if self.closed is not None:
            mean = self.closed.think_ms
            self._think = (
                Batched(stream(seed, f"think/{name}"), lambda r, n: r.exponential(mean, n))
                if self.closed.think == "exponential" and mean > 0
                else (lambda: mean)
            )
        self._variation = Variation(stream(seed, f"variability/{name}"))
        self._cascade = Batched(stream(seed, f"cascade/{name}"), lambda r, n: r.random(n))
        self._tokens = stream(seed, f"tokens/{name}")
        self._dag = stream(seed, f"dag/{name}")
        self._plan = self._make_plan(self.template) if self.template is not None else None

    def think_ms(self) -> float:
        """A closed-loop think time (ms)."""
        return self._think()

    def make_job(self, job_id: int, now: float, user: int = 0) -> Job:
        """Create a job arriving at ``now``: tasks, cascade outcomes and random draws."""
        job = Job(job_id, self, now, user)
        plan = self._plan if self._plan is not None else self._make_plan(random_dag(self._dag, self.generator))  # type: ignore[arg-type]
        tasks: list[Task] = []
        active: list[bool] = []
        cascade = self._cascade
        for name, model, var_type, var_cv, preds, pred_names, prompt_d, output_d, mean_output in plan:
            prompt = output = 0
            if prompt_d is not None:
                prompt = draw_int(self._tokens, prompt_d)
                output = draw_int(self._tokens, output_d)
            factor = 1.0 if var_type == "constant" else self._variation.factor(var_type, var_cv)
            task = Task(job, name, model, factor, prompt, output, pred_names)
            if prompt_d is not None:
                # Schedulers know the prompt but not the answer's length: they see its mean.
                task.mean_output = mean_output
            on = True
            tp = task.preds
            for pi, tr, prob in preds:
                # Draw for every probabilistic edge, fired or not, so one edge's
                # outcome does not shift the stream for the edges after it.
                fired = prob >= 1.0 or cascade() < prob
                on = on and fired and active[pi]
                tp.append((tasks[pi], tr))
            tasks.append(task)
            active.append(on)
        for task, on in zip(tasks, active, strict=True):
            if not on:
                task.state = SKIPPED
                continue
            for pred, _ in task.preds:
                pred.succs.append(task)
            task.n_left = len(task.preds)
            job.left += 1
        job.tasks = tasks
        return job

    def _make_plan(self, template: list[TaskTemplate]) -> list[tuple]:
        """What job creation needs of each template task, resolved once per template.

        Per task: name, model profile, variability type and CV, predecessors as
        (index, total transfer ms, probability), the predecessors' names joined by
        ";", the prompt and output length distributions (None unless an LLM) and
        the mean output length a scheduler may assume.
        """
        plan = []
        for tt in template:
            model = self.models[tt.model]
            preds = tuple((pi, tr_ms + self._platform.transfer_ms(tr_kb), prob) for pi, tr_ms, tr_kb, prob in tt.preds)
            pred_names = ";".join(template[pi].name for pi, *_ in tt.preds)
            prompt_d = output_d = None
            mean_output = 0
            if model.llm is not None:
                prompt_d = tt.prompt_tokens or model.llm.prompt_tokens
                output_d = tt.output_tokens or model.llm.output_tokens
                mean_output = max(1, round(output_d.mean_value()))
            plan.append(
                (tt.name, model, model.variability_type, model.variability_cv, preds, pred_names, prompt_d, output_d, mean_output)
            )
        return plan
