from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.roles import Capability, capability_required


@capability_required(Capability.VIEW)
def dataset_list(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/dataset_list.html", {})
