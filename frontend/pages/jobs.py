"""Job pages: the list of jobs and a job's live page (progress, message, log tail, result, cancel).

The live part is the named partial `frontend/jobs/_progress.html`: htmx requests to the job page
get it alone. It polls every second while the job is not finished and renders without the
trigger once it is, so polling stops by itself.
"""

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required
from frontend.htmx import is_htmx, render_partial, wants_partial
from frontend.pages.job_results import job_outcome
from frontend.pages.run_lists import newest_first_page
from jobs import selectors
from jobs.models import Job, JobStatus
from jobs.runtime import JOB_KINDS
from jobs.services import job_cancel_request

JOB_PAGE_SIZE = 50


@capability_required(Capability.VIEW)
def job_list(request: HttpRequest) -> HttpResponse:
    """Jobs newest first, filtered by kind and status, in keyset pages (`?before=<id>`); for htmx requests
    only the table, which polls itself while a job it shows is unfinished."""
    kind = request.GET.get("kind", "")[:64]
    status = request.GET.get("status", "")
    status = status if status in JobStatus.values else ""
    jobs = selectors.job_list(user=request.user, kind=kind or None, status=status or None)
    shown, next_before = newest_first_page(request, jobs, JOB_PAGE_SIZE)
    context = {
        "jobs": selectors.jobs_as_seen_by(shown, request.user),
        "next_before": next_before,
        "kind": kind,
        "status": status,
        "kinds": sorted(JOB_KINDS),
        "statuses": JobStatus.choices,
        "nav_section": "jobs",
        "any_unfinished": any(not job.is_finished for job in shown),
        "paging_query": urlencode({"kind": kind, "status": status}),
    }
    return render_partial(request, "frontend/jobs/job_list.html", "frontend/jobs/_job_table.html", context)


@capability_required(Capability.VIEW)
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job's page; for htmx requests only its live partial (details hidden as jobs_as_seen_by says)."""
    job = selectors.jobs_as_seen_by([_visible_job_or_404(request, job_id)], request.user)[0]
    context = _progress_context(request, job)
    if wants_partial(request):
        return render(request, "frontend/jobs/_progress.html", context)
    context.update(params_json=json.dumps(job.params, indent=2, sort_keys=True), nav_section="jobs")
    return render(request, "frontend/jobs/job_detail.html", context)


@require_POST
@capability_required(Capability.VIEW)
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    """Ask for a cancel (requester or admin, else 403); answers htmx with the partial, others with a redirect."""
    job = _visible_job_or_404(request, job_id)
    cancel_error = ""
    try:
        job = job_cancel_request(job=job, user=request.user)
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.message)
        cancel_error = exc.message
        job.refresh_from_db()
    job = selectors.jobs_as_seen_by([job], request.user)[0]
    if is_htmx(request):
        return render(request, "frontend/jobs/_progress.html", _progress_context(request, job, cancel_error))
    if cancel_error:
        messages.error(request, cancel_error)
    return redirect("frontend:job_detail", job_id=job.pk)


def _visible_job_or_404(request: HttpRequest, job_id: int) -> Job:
    job = selectors.job_get(job_id=job_id, user=request.user)
    if job is None:
        raise Http404(f"Job {job_id} does not exist.")
    return job


def _progress_context(request: HttpRequest, job: Job, cancel_error: str = "") -> dict[str, Any]:
    return {
        "job": job,
        "can_cancel": not job.is_finished and selectors.job_user_may_cancel(job=job, user=request.user),
        "cancel_error": cancel_error,
        "result_json": json.dumps(job.result, indent=2, sort_keys=True) if job.result else "",
        "outcome": job_outcome(job),
        "timing": _timing(job),
    }


def _timing(job: Job) -> str:
    """ "2 min running · about 3 min left" for a running job, from its progress rate so far ("" otherwise).

    The estimate assumes the rest goes at the average pace so far; it is shown once 2% is done.
    """
    if job.status != JobStatus.RUNNING or job.started_at is None:
        return ""
    elapsed = (timezone.now() - job.started_at).total_seconds()
    text = f"{_duration(elapsed)} running"
    if 0.02 <= job.progress < 1.0:
        text += f" · about {_duration(elapsed * (1.0 - job.progress) / job.progress)} left"
    return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
