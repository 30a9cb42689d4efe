"""The import page: upload a zip (admins may instead name a server path), then follow the job.

The form posts with htmx so the browser can show upload progress (htmx:xhr:progress); a valid
request answers with HX-Redirect to the job page, an invalid one with the form partial
`frontend/imports/_form.html` and its errors. Without JavaScript the same view takes a plain
multipart POST and redirects.
"""

from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from core.api_errors import ApplicationError
from core.params import params_form
from core.roles import Capability, capability_required, user_can
from curation.services.imports import (
    IMPORT_FORMATS,
    ImportParams,
    dataset_import_submit,
    dataset_import_upload_submit,
    import_params_validate,
)
from frontend.htmx import HtmxHttpRequest, render_partial
from jobs.models import Job

FORMAT_LABELS = {
    "auto": "Detect automatically",
    "imagefolder": "ImageFolder (class/… or split/class/…)",
    "zip": "Zip archive (ImageFolder or a manifest inside)",
    "csv": "CSV manifest",
    "jsonl": "JSONL manifest",
}
ERROR_FIELDS = {
    "name_required": "name",
    "name_taken": "name",
    "invalid_format": "format",
    "invalid_upload": "file",
    "upload_too_large": "file",
    "invalid_source": "source",
    "source_not_found": "source",
    "server_path_forbidden": "source",
    "server_path_disabled": "source",
}


class DatasetImportForm(params_form(ImportParams, name="ImportParamsForm")):  # type: ignore[misc]
    """ImportParams (core.params) with the page's own file field; a zip or (admins) a server path."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, initial="", widget=forms.Textarea(attrs={"rows": 2}))
    file = forms.FileField(required=False, widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}))
    source = forms.CharField(required=False, max_length=1000, help_text="Absolute path on the server (admins).")

    def __init__(self, *args: Any, allow_server_path: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = [(f, FORMAT_LABELS[f]) for f in IMPORT_FORMATS]  # type: ignore[attr-defined]
        if not allow_server_path:
            del self.fields["source"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("file")) == bool(data.get("source")):
            choice = "a zip archive or a server path" if "source" in self.fields else "a zip archive"
            raise forms.ValidationError(f"Choose {choice} to import.")
        return data


def _submit(request: HttpRequest, data: dict[str, Any]) -> Job:
    user = cast(User, request.user)  # capability_required let only signed-in curators in
    common = {"name": data["name"], "format": data["format"], "description": data["description"]}
    if data.get("file"):
        upload = data["file"]
        return dataset_import_upload_submit(upload=upload, upload_name=upload.name, requested_by=user, **common)
    params = import_params_validate(source=data["source"], user=user, **common)
    return dataset_import_submit(params=params, requested_by=user)


@capability_required(Capability.CURATE)
def dataset_import(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the import form. POST: start the import job and go to its page (HX-Redirect for htmx)."""
    allow_server_path = user_can(request.user, Capability.MANAGE)
    form = DatasetImportForm(request.POST or None, request.FILES or None, allow_server_path=allow_server_path)
    if request.method == "POST" and form.is_valid():
        try:
            job = _submit(request, form.cleaned_data)
        except ApplicationError as exc:
            field = ERROR_FIELDS.get(exc.code)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            job_url = reverse("frontend:job_detail", args=[job.pk])
            return HttpResponseClientRedirect(job_url) if request.htmx else redirect(job_url)
    context = {"form": form, "nav_section": "import"}
    return render_partial(request, "frontend/imports/dataset_import.html", "frontend/imports/_form.html", context)
