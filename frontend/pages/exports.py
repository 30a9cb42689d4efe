"""Export pages: the export form of a version, and the list of exports with their download links.

The list's rows are the named partial `frontend/exports/_export_rows.html`; htmx requests to the
list get it alone. It polls every 2 s while one of the shown exports is unfinished and renders
without the trigger once all are, so polling stops by itself. Downloads go through the API's
ranged download endpoint (session auth), so pages never read export files themselves.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from core.api_errors import ApplicationError
from core.params import params_form
from core.roles import Capability, capability_required
from curation.exports.models import ExportFormat
from curation.exports.params import ExportParams
from curation.exports.selectors import export_list
from curation.exports.services.exports import FORMAT_OPTIONS, export_submit
from frontend.htmx import render_partial
from frontend.pages.run_lists import newest_first_page
from frontend.selectors import version_of_dataset

EXPORT_PAGE_SIZE = 50


class ExportForm(params_form(ExportParams, name="ExportParamsForm")):  # type: ignore[misc]
    """ExportParams but the version (from the URL); the format starts on the ImageFolder zip."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["format"].initial = ExportFormat.IMAGEFOLDER_ZIP


@capability_required(Capability.CURATE)
def version_export(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """GET: the export form of a version. POST: start the export job, then go to the exports list."""
    version = version_of_dataset(dataset_id=dataset_id, number=number)
    if version is None:
        raise Http404("No such version.")
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.values()
        used = FORMAT_OPTIONS.get(data["format"], ())  # the page shows every option; each format takes its own
        options = {name: value for name, value in data.items() if name in used}
        try:
            export = export_submit(
                version=version, format=data["format"], options=options, requested_by=cast(User, request.user)
            )
        except ApplicationError as exc:
            field = getattr(exc, "field", None) or ("shard_size" if exc.code == "invalid_options" else None)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            return redirect(f"{reverse('frontend:export_list')}#export-{export.pk}")
    context = {"dataset": version.dataset, "version": version, "form": form, "nav_section": "exports"}
    return render(request, "frontend/exports/version_export.html", context)


@capability_required(Capability.CURATE)
def export_list_page(request: HttpRequest) -> HttpResponse:
    """The user's exports (an admin's: everyone's), newest first, in keyset pages (`?before=<id>`)."""
    shown, next_before = newest_first_page(request, export_list(user=request.user), EXPORT_PAGE_SIZE)
    before = request.GET.get("before", "")
    context: dict[str, Any] = {
        "exports": shown,
        "polling": any(export.job is not None and not export.job.is_finished for export in shown),
        "next_before": next_before,
        "before": before if before.isdigit() else "",
        "nav_section": "exports",
    }
    return render_partial(request, "frontend/exports/export_list.html", "frontend/exports/_export_rows.html", context)
