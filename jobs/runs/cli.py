"""The commands of run kinds (`evaluate`, `explain`, `find_spurious`, `find_slices`): start a run, then follow it.

A kind's command is `class Command(RunCommand)` with its `help`, `run_kind`, `run_id` and `summary`: the
options are generated from the kind's params dataclass (core.params: the model and the version as
positional ids, one option per parameter, the default in its help), as the start API and form are.
"""

from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any, ClassVar

from core.api_errors import ApplicationError
from core.params import add_params_arguments, param_related_get, params_fields, params_values_from_options
from jobs.cli import JobCommand
from jobs.models import JobStatus
from jobs.runs.kinds import RunKind, run_request
from jobs.runs.models import JobRun
from jobs.runs.services import run_create


class RunCommand(JobCommand):
    """A JobCommand that creates a run of `run_kind` (not sent when run inline) and follows it (`run_follow`)."""

    run_kind: ClassVar[RunKind]
    run_id: ClassVar[str]  # the JSON line's name of the run's id ("evaluation_run")

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        add_params_arguments(parser, self.run_kind.params)

    def run(self, **options: Any) -> dict[str, Any]:
        run = run_create(
            kind=self.run_kind, requested_by=self.job_user(), enqueue=options["enqueue"], **self.start_request(options)
        )
        return self.run_follow(run, run_id=self.run_id, summary=self.summary, enqueue=options["enqueue"])

    def start_request(self, options: dict[str, Any]) -> dict[str, Any]:
        """The kind's start request from the parsed options (a related row's id as the row: ApplicationError
        `not_found` when none has it)."""
        values = params_values_from_options(options, self.run_kind.params)
        for field in params_fields(self.run_kind.params):
            if field.spec.queryset is not None:
                values[field.attr] = param_related_get(field, values.get(field.attr))
        return run_request(self.run_kind, values)

    def summary(self, run: Any) -> dict[str, Any]:
        """What the last stdout line says of a finished run (after its id and the job's)."""
        raise NotImplementedError

    def run_follow(
        self, run: JobRun, *, run_id: str, summary: Callable[[Any], dict[str, Any]], enqueue: bool
    ) -> dict[str, Any]:
        """With `enqueue`: {"job", run_id, "status", "queue"} of the queued job. Inline: run the job here and
        return {"job": id, **summary(run)}; a failed or cancelled job raises ApplicationError with its reason."""
        job = run.job
        assert job is not None  # run_create always makes the job
        if enqueue:
            return {"job": job.pk, run_id: run.pk, "status": job.status, "queue": job.queue}
        job = self._execute_inline(job)
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        run.refresh_from_db()
        return {"job": job.pk, **summary(run)}
