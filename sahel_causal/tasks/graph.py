"""Run tasks with declared inputs and outputs in dependency order, independent ones in parallel.

A :class:`Task` names the function that makes it (``"module:function"``, so that worker
processes can import it), the tasks whose in-memory values it needs (``deps``), the input files
it reads and the specification it follows. :func:`run_tasks` runs them in topological order;
with ``jobs > 1`` tasks whose dependencies are done run at the same time in separate processes.
Each task writes only its own files and every computation is deterministic (single-threaded
BLAS, fixed seeds), so the outputs are byte-identical whatever ``jobs`` is; the list of written
files is returned in task declaration order.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sahel_causal.errors import SahelCausalError
from sahel_causal.estimators import resolve

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TaskContext:
    """What every task receives: the panel, its file checksum and the output folder."""

    panel: pd.DataFrame
    panel_sha256: str
    results_dir: Path


@dataclass(frozen=True)
class TaskOutput:
    """Files a task wrote and an optional in-memory value for the tasks that depend on it."""

    files: list[Path]
    value: Any = None


@dataclass(frozen=True)
class Task:
    """One output step.

    ``run`` is ``"module:function"`` with signature ``(ctx: TaskContext, deps: dict[str, Any]) ->
    TaskOutput`` (``deps`` maps each dependency's name to its value). ``make`` tasks (built with
    :meth:`from_make`) call ``make(panel, results_dir, progress) -> list[Path]`` instead.
    """

    name: str
    run: str
    made_by: str
    spec: str
    deps: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    kind: str = "task"
    label: str = ""

    @classmethod
    def from_make(cls, name: str, make: str, *, spec: str, made_by: str | None = None, label: str = "",
                  inputs: tuple[str, ...] = ()) -> "Task":
        """A task from a topic module's ``make(panel, results_dir, progress)`` function."""
        return cls(name=name, run=make, made_by=made_by or make.split(":")[0].replace(".", "/") + ".py", spec=spec,
                   inputs=inputs, kind="make", label=label or name)


def execute(task: Task, ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    """Run one task in this process (single-threaded BLAS)."""
    from threadpoolctl import threadpool_limits

    from sahel_causal import writing

    writing.allow(ctx.results_dir)  # the caller chose it; worker processes start with the defaults
    with threadpool_limits(limits=1, user_api="blas"):
        fn = resolve(task.run)
        if task.kind == "make":
            return TaskOutput(files=list(fn(ctx.panel, ctx.results_dir, lambda _m: None)))
        out = fn(ctx, deps)
    if not isinstance(out, TaskOutput):
        raise SahelCausalError(f"task {task.name} returned {type(out).__name__}, not a TaskOutput")
    return out


def order(tasks: list[Task]) -> list[Task]:
    """Topological order (declaration order among ready tasks); unknown or cyclic deps are errors."""
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise SahelCausalError(f"duplicate task names: {sorted({n for n in names if names.count(n) > 1})}")
    for t in tasks:
        bad = [d for d in t.deps if d not in names]
        if bad:
            raise SahelCausalError(f"task {t.name} depends on unknown task(s) {bad}")
    done: list[Task] = []
    left = list(tasks)
    while left:
        ready = [t for t in left if all(d in {x.name for x in done} for d in t.deps)]
        if not ready:
            raise SahelCausalError(f"tasks depend on each other in a cycle: {[t.name for t in left]}")
        done.append(ready[0])
        left.remove(ready[0])
    return done


def run_tasks(tasks: list[Task], ctx: TaskContext, *, jobs: int = 1,
              progress: Progress = lambda _m: None) -> dict[str, TaskOutput]:
    """Run every task; return outputs by task name, in declaration order."""
    seq = order(tasks)
    results: dict[str, TaskOutput] = {}
    if jobs <= 1:
        for t in seq:
            progress(f"making {t.label or t.name}")
            results[t.name] = execute(t, ctx, {d: results[d].value for d in t.deps})
            progress(f"done {t.label or t.name}")
        return {t.name: results[t.name] for t in tasks}
    pending = list(seq)
    running: dict[Future, Task] = {}
    # spawn, not fork: the parent may hold BLAS or matplotlib threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        while pending or running:
            for t in [t for t in pending if all(d in results for d in t.deps)]:
                if len(running) >= jobs:
                    break
                progress(f"making {t.label or t.name}")
                running[pool.submit(execute, t, ctx, {d: results[d].value for d in t.deps})] = t
                pending.remove(t)
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for f in finished:
                t = running.pop(f)
                results[t.name] = f.result()
                progress(f"done {t.label or t.name}")
    return {t.name: results[t.name] for t in tasks}


def default_jobs() -> int:
    """Local cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
