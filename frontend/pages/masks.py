"""A version's masks page (issue #16): its mask sets with provider, coverage and the IoU measured against the
dataset's own masks, and (curators) the form that starts estimating them, generated from MaskParams."""

from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from core.api_errors import ApplicationError
from core.params import params_form
from core.roles import Capability, capability_required, user_can
from curation.masks.models import MaskSetStatus
from curation.masks.params import MaskParams
from curation.masks.selectors import mask_set_list
from curation.masks.services import mask_set_start
from curation.models import DatasetVersion

MaskForm = params_form(MaskParams, name="MaskForm")


@capability_required(Capability.VIEW)
@require_http_methods(["GET", "POST"])
def version_masks(request: HttpRequest, dataset_id: int, number: int) -> HttpResponse:
    """The version's mask sets; POST (curators) starts estimating with a provider and goes to the job's page
    (or back here for a set that is ready already)."""
    version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), dataset_id=dataset_id, number=number)
    can_start = user_can(request.user, Capability.CURATE)
    form = MaskForm(request.POST if request.method == "POST" else None) if can_start else None
    status = 200
    if request.method == "POST":
        if form is None:
            return HttpResponse("Estimating masks needs the 'curate' permission.", status=403)
        if form.is_valid():
            try:
                params = form.params(version_id=version.pk)
                mask_set = mask_set_start(
                    version=version, provider=params.provider, requested_by=cast(User, request.user)
                )
            except ApplicationError as exc:
                field = getattr(exc, "field", None)
                form.add_error(field if field in form.fields else None, exc.message)
                status = exc.status_code
            else:
                if mask_set.status == MaskSetStatus.READY:
                    return redirect("frontend:version_masks", dataset_id=dataset_id, number=number)
                return redirect("frontend:job_detail", job_id=mask_set.job_id)
        else:
            status = 400
    context = {
        "dataset": version.dataset,
        "version": version,
        "mask_sets": mask_set_list(version=version),
        "form": form,
        "nav_section": "datasets",
    }
    return render(request, "frontend/masks/version_masks.html", context, status=status)
