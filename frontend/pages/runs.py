"""The run kit's pages (jobs.runs): a run kind's start form, the live status of its report, its stored images.

A family's page module keeps its own views (their URL names and docstrings) and hands the shared part to
these: `run_start_page` (the kind's generated form, run_create, open the report; a refusal is a 400 with the
reason),
`run_status_poll` (the htmx poll of a report: the partial frontend/runs/_status.html while the job runs,
HX-Refresh once it has finished) and `run_example_image` (one example image a run recorded by name).
"""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render

from core.api_errors import ApplicationError
from core.storage import blob_open
from frontend.pages.refusals import refusal_message
from frontend.pages.run_lists import start_form_initial, version_label
from jobs.runs.forms import run_start_form
from jobs.runs.kinds import RunKind
from jobs.runs.models import JobRun
from jobs.runs.services import run_create


def run_start_page(
    request: HttpRequest,
    *,
    kind: RunKind,
    template: str,
    list_url_name: str,
    nav_section: str,
    form_setup: Callable[[forms.Form], None] | None = None,
) -> HttpResponse:
    """The start form of `kind`, generated from its params (jobs.runs.forms; `?trained_model=&version=` fill
    it in): a valid POST creates the run and opens its report; a request the kind refuses shows the reason
    above the form (400). `form_setup(form)` adjusts how the page presents a field (narrower choices, labels)."""
    form: Any = run_start_form(kind)(request.POST or None, initial=start_form_initial(request))
    form.fields["version"].label_from_instance = version_label
    if form_setup is not None:
        form_setup(form)
    if request.method == "POST" and form.is_valid():
        try:
            run = run_create(kind=kind, requested_by=cast(User, request.user), **form.start_request())
        except ApplicationError as error:
            form.add_error(None, refusal_message(error))  # with a link to the fix where there is one
        else:
            return redirect(kind.report_url_name, run.pk)
    context = {"form": form, "kind": kind, "list_url_name": list_url_name, "nav_section": nav_section}
    return render(request, template, context, status=400 if form.errors else 200)


def run_finished(run: JobRun) -> bool:
    return run.job is None or run.job.is_finished


def run_status_poll(request: HttpRequest, kind: RunKind, run: JobRun) -> HttpResponse | None:
    """The answer to an htmx poll of a report page (None for a plain request: the page renders in full)."""
    if not getattr(request, "htmx", False):
        return None
    if run_finished(run):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "frontend/runs/_status.html", {"run": run, "kind": kind, "finished": False})


def run_example_image(run: JobRun, name: str) -> HttpResponseBase:
    """One stored example image of a run, by its name in the run's `examples` (e.g. corruptions/fog/3)."""
    key = (getattr(run, "examples", None) or {}).get(name)
    if not key:
        raise Http404("No such example image.")
    try:
        handle = blob_open(key)
    except FileNotFoundError:
        raise Http404("The example image is missing from storage.")
    response = FileResponse(handle, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"  # a retried run rewrites its examples
    return response
