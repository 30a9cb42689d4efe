"""The contract between job kinds and the job runner.

A job kind is a service function registered by name with the queue it runs on:

    @job_kind("import_dataset", queue="default")
    def dataset_import_job(ctx: JobContext) -> dict: ...

The runner (jobs.services.job_execute) loads the Job row, calls the function with a
JobContext, and records the returned dict as the job's result. The function reports
progress with `ctx.progress(done, total, message)` between batches; that call also
raises JobCancelled when a cancel was requested, so work stops at a batch boundary.
"""

import gc
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from jobs.models import Job


class JobCancelled(Exception):
    """Raised inside a job function at a batch boundary after a cancel request."""


class JobInterrupted(BaseException):
    """Raised in a job function's thread when its heartbeat stops it (a cancel it did not act on, or
    the attempt was ended by the reaper); a BaseException so that `except Exception` cannot swallow it."""


class JobFailed(Exception):
    """A job function's clear, user-facing reason to fail (no traceback shown)."""


class JobContext(Protocol):
    job: "Job"

    @property
    def params(self) -> dict[str, Any]: ...

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Record progress (and heartbeat); raises JobCancelled if cancel was requested."""

    def log(self, line: str) -> None:
        """Append a line to the job's log tail."""

    def check_cancelled(self) -> None:
        """Raise JobCancelled if cancel was requested."""


JobFunction = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    function: JobFunction
    queue: str = "default"
    description: str = ""
    capability: str = "curate"
    cleanup: Callable[["Job"], None] | None = field(default=None)
    # Seconds a running job may go without reporting progress or a log line before the reaper fails
    # it as stalled; None: settings.JOB_STALL_TIMEOUT (JOB_STALL_TIMEOUTS may override either).
    stall_timeout: int | None = None


JOB_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    queue: str = "default",
    description: str = "",
    capability: str = "curate",
    cleanup: Callable[["Job"], None] | None = None,
    stall_timeout: int | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register a job function. `cleanup(job)` undoes partial writes after a failure or cancel.

    `stall_timeout`: seconds without a progress or log call after which the job counts as stalled
    (default: settings.JOB_STALL_TIMEOUT).
    """

    def register(function: JobFunction) -> JobFunction:
        if name in JOB_KINDS and JOB_KINDS[name].function is not function:
            raise ValueError(f"job kind {name!r} is registered twice")
        JOB_KINDS[name] = JobKind(
            name,
            function,
            queue,
            description or (function.__doc__ or "").strip(),
            capability,
            cleanup,
            stall_timeout,
        )
        return function

    return register


def job_stall_timeout(name: str) -> int:
    """Seconds a running job of kind `name` may go without progress before the reaper fails it.

    JOB_STALL_TIMEOUTS (kind -> seconds, from WINNOW_JOB_STALL_TIMEOUTS) wins; then the kind's own
    `stall_timeout`; then JOB_STALL_TIMEOUT.
    """
    overrides = getattr(settings, "JOB_STALL_TIMEOUTS", {})
    if name in overrides:
        return int(overrides[name])
    kind = JOB_KINDS.get(name)
    if kind is not None and kind.stall_timeout is not None:
        return kind.stall_timeout
    return int(settings.JOB_STALL_TIMEOUT)


def job_kind_get(name: str) -> JobKind:
    try:
        return JOB_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown job kind {name!r}; known: {', '.join(sorted(JOB_KINDS))}") from None


def deferred(target: str) -> Callable[..., Any]:
    """A callable for `module:function` that imports the module on first call.

    Job-kind modules are imported by every process at start-up (web, worker, commands); their
    functions and cleanups go through this so registering a kind does not load torch or faiss.
    """
    module_name, _, attribute = target.partition(":")
    resolved: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not resolved:
            resolved.append(getattr(importlib.import_module(module_name), attribute))
        return resolved[0](*args, **kwargs)

    call.__name__ = attribute
    call.__qualname__ = attribute
    return call


@contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Hide the objects alive before a long job (Django, every app, the worker: about half a million)
    from the garbage collector while it runs, with `gc.freeze`; undone afterwards.

    An export or an import allocates a few short-lived objects per row, and the full collections this triggers
    walk every tracked object: on 100k-row manifests they cost more than the export's own work
    (measured by bench/export_bench.py). A process that froze its objects itself is left as it was.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
