"""Training pages: the runs list with a start form (admins), a run's live page, checkpoint downloads.

The run page's live part is the named partial `frontend/training/_live.html` (status, progress,
loss and accuracy curves, per-epoch table): htmx requests to the run page get it alone. It polls
every 2 s while the job is not finished and renders without the trigger once it is.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.api_errors import ApplicationError
from core.roles import Capability, capability_required, user_can
from core.storage import blob_open
from frontend.htmx import wants_partial
from frontend.model_choices import CPU_TRAINING_DEFAULTS, architecture_choices, gpu_worker_seen
from frontend.pages.run_lists import newest_first_page, start_form_initial
from robustness.forms import TrainingStartForm
from robustness.models import TrainingRun
from robustness.selectors import training_curves_figures, training_run_get, training_run_list, training_run_summary

RUN_PAGE_SIZE = 50
CHECKPOINTS = ("best", "last")


@capability_required(Capability.VIEW)
def training_run_list_page(request: HttpRequest) -> HttpResponse:
    """Runs newest first in keyset pages (`?before=<id>`); admins also get the start form."""
    if not user_can(request.user, Capability.RUN_GPU_JOBS):
        return _list_page(request, None)
    initial: dict[str, Any] = {} if gpu_worker_seen() else dict(CPU_TRAINING_DEFAULTS)
    return _list_page(request, TrainingStartForm(initial={**initial, **start_form_initial(request, ("version",))}))


def _list_page(request: HttpRequest, form: TrainingStartForm | None, status: int = 200) -> HttpResponse:
    if form is not None:
        form.fields["arch"].choices = architecture_choices()  # type: ignore[attr-defined]
    shown, next_before = newest_first_page(request, training_run_list(), RUN_PAGE_SIZE)
    context = {
        "runs": [(run, training_run_summary(run)) for run in shown],
        "next_before": next_before,
        "form": form,
        "cpu_defaults": form is not None and not gpu_worker_seen(),
        "nav_section": "training",
    }
    return render(request, "frontend/training/run_list.html", context, status=status)


@require_POST
@capability_required(Capability.RUN_GPU_JOBS)
def training_run_start_page(request: HttpRequest) -> HttpResponse:
    """Start a run from the form and go to its page; an invalid form comes back with its errors (400)."""
    form = TrainingStartForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    from robustness.services.training import training_run_start  # noqa: PLC0415 - torch: loaded on use, not at start-up

    try:
        user = cast(User, request.user)  # capability_required let only signed-in admins in
        run = training_run_start(requested_by=user, **form.cleaned_data)
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _list_page(request, form, status=error.status_code)
    return redirect("frontend:training_run_detail", run_id=run.pk)


@capability_required(Capability.VIEW)
def training_run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run's page: what it was trained on and with, and the live part (curves); htmx gets the live part alone."""
    run = _run_or_404(run_id)
    context = _live_context(run)
    if wants_partial(request):
        return render(request, "frontend/training/_live.html", context)
    context.update(nav_section="training", trained_model=getattr(run, "trained_model", None))
    return render(request, "frontend/training/run_detail.html", context)


@capability_required(Capability.VIEW)
def training_checkpoint_download(request: HttpRequest, run_id: int, which: str) -> FileResponse:
    """The run's best or last checkpoint file (a torch.save dict; see robustness.ml.checkpoints)."""
    run = _run_or_404(run_id)
    if which not in CHECKPOINTS:
        raise Http404("Checkpoints are 'best' or 'last'.")
    key = run.checkpoint_best_key if which == "best" else run.checkpoint_last_key
    if not key:
        raise Http404(f"Run {run.pk} has no {which} checkpoint yet.")
    try:
        handle = blob_open(key)
    except FileNotFoundError:
        raise Http404(f"The {which} checkpoint of run {run.pk} is missing from storage.")
    return FileResponse(handle, as_attachment=True, filename=f"run-{run.pk}-{key.rsplit('/', 1)[-1]}")


def _run_or_404(run_id: int) -> TrainingRun:
    run = training_run_get(run_id=run_id)
    if run is None:
        raise Http404(f"Training run {run_id} does not exist.")
    return run


def _live_context(run: TrainingRun) -> dict[str, Any]:
    figures = training_curves_figures(run)
    return {
        "run": run,
        "job": run.job,
        "summary": training_run_summary(run),
        "loss_figure": figures["loss"],
        "accuracy_figure": figures["accuracy"],
        "epoch_rows": list(reversed(run.epoch_metrics)),
    }
