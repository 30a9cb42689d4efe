"""Commands that run a job kind (docs/ARCHITECTURE.md §10): inline with a progress bar, or `--enqueue`.

class Command(JobCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("source")

    def run(self, **options):
        return self.run_job(kind="import_dataset", params={...}, enqueue=options["enqueue"])
"""

import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from tqdm import tqdm

from core.api_errors import ApplicationError
from core.cli import WinnowCommand
from core.params import add_params_arguments
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_execute, job_submit


class JobCommand(WinnowCommand):
    """A WinnowCommand that runs one job kind as the admin user, or `--user NAME`.

    `params_class`, where set, is the job kind's params dataclass (core.params): one option per parameter.
    """

    params_class: type | None = None

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--enqueue", action="store_true", help="submit the job to the workers and return")
        parser.add_argument("--user", help="run as this user (default: the admin user)")
        if self.params_class is not None:
            add_params_arguments(parser, self.params_class)

    def handle(self, *args: Any, **options: Any) -> None:
        self.options = options
        super().handle(*args, **options)

    def run_job(self, *, kind: str, params: dict[str, Any], enqueue: bool) -> dict[str, Any]:
        """Submit the job (`enqueue`) or run it here; returns the JSON summary the command prints.

        Inline, the result is {"job": id, **job.result}; a failed or cancelled job raises
        ApplicationError with its reason (the command exits 1 with that one line).
        """
        user = self.job_user()
        if enqueue:
            job = job_submit(kind=kind, params=params, requested_by=user)
            return {"job": job.pk, "status": job.status, "queue": job.queue}
        job = self._execute_inline(job_create(kind=kind, params=params, requested_by=user))
        if job.status != JobStatus.SUCCEEDED:
            raise ApplicationError(f"job {job.pk} {job.status}: {job.error or job.message}")
        return {"job": job.pk, **job.result}

    def job_user(self) -> User:
        """The user named by --user, else WINNOW_ADMIN_USER ("admin"), else the first superuser."""
        users = get_user_model().objects.filter(is_active=True)
        name = getattr(self, "options", {}).get("user")
        if name:
            user = users.filter(username=name).first()
            if user is None:
                raise ApplicationError(f"no active user named {name!r}")
            return user
        user = users.filter(username=os.environ.get("WINNOW_ADMIN_USER", "admin"), is_superuser=True).first()
        user = user or users.filter(is_superuser=True).order_by("id").first()
        if user is None:
            raise ApplicationError("no admin user: run `.venv/bin/python manage.py ensure_admin` or pass --user NAME")
        return user

    def _execute_inline(self, job: Job) -> Job:
        stream = getattr(self.stderr, "_out", sys.stderr)
        with tqdm(desc=f"job {job.pk} {job.kind}", file=stream, mininterval=0.5, unit="step") as bar:

            def report(done: int, total: int, message: str) -> None:
                if total and bar.total != total:
                    bar.total = total
                bar.set_postfix_str(message[:60], refresh=False)
                bar.update(done - bar.n)

            try:
                return job_execute(job.pk, progress_callback=report)
            except KeyboardInterrupt:
                raise ApplicationError(f"interrupted: job {job.pk} was cancelled")
