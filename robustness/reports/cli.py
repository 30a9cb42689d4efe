"""The command of each generic report kind, generated (jobs.runs.cli.RunCommand: options from its params dataclass),
run as `manage.py report <kind> MODEL_ID VERSION_ID [--option ...] [--enqueue] [--user U]`."""

from functools import cache
from typing import Any

from jobs.models import Job
from jobs.runs.cli import RunCommand
from jobs.runs.kinds import RunKind


def _summary(self: RunCommand, run: Any) -> dict[str, Any]:
    """The report's id and what its execute function returned (the job's result)."""
    result = Job.objects.filter(pk=run.job_id).values_list("result", flat=True).first() or {}
    return {**result, "report": run.pk, "kind": run.kind}


@cache
def report_command(kind: RunKind) -> type[RunCommand]:
    """The RunCommand class of `kind` (one per kind)."""
    name = "".join(part.title() for part in kind.slug.split("_")) + "ReportCommand"
    attributes = {"help": kind.description, "run_kind": kind, "run_id": "report", "summary": _summary}
    return type(name, (RunCommand,), {**attributes, "__module__": __name__})
