"""Django admin for training runs and trained models: read-only rows; admins start runs from here.

"Add training run" opens the start form (the same one as the training page) and calls the
service; the "Train again" action starts a new run with a selected run's exact settings.
"""

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from core.api_errors import ApplicationError
from core.roles import Capability, user_can
from robustness.forms import TrainingStartForm
from robustness.models import TrainedModel, TrainingRun


class ReadOnlyRowsAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyRowsAdmin):
    list_display = ("id", "arch", "version", "status", "best_epoch", "seed", "requested_by", "created_at")
    list_select_related = ("job", "version__dataset", "requested_by")
    list_filter = ("arch", "job__status")
    raw_id_fields = ("job", "version", "requested_by")
    actions = ["train_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return user_can(request.user, Capability.RUN_GPU_JOBS)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """The start form instead of a model form: the run is created by training_run_start."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TrainingStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            from robustness.services.training import training_run_start  # noqa: PLC0415 - torch: loaded on use, not at start-up

            try:
                run = training_run_start(requested_by=cast(User, request.user), **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"Training run {run.pk} started (job {run.job_id}).", messages.SUCCESS)
                return redirect("admin:robustness_trainingrun_change", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Start a training run",
        }
        return TemplateResponse(request, "admin/robustness/trainingrun/start_training.html", context)

    @admin.display(description="status")
    def status(self, run: TrainingRun) -> str:
        return run.job.status

    @admin.action(description="Train again with the same settings (new runs)")
    def train_again(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        if not user_can(request.user, Capability.RUN_GPU_JOBS):
            raise PermissionDenied
        from robustness.services.training import training_run_repeat  # noqa: PLC0415 - torch: loaded on use, not at start-up

        started, refused = [], []
        for run in queryset.select_related("version__dataset"):
            try:
                started.append(training_run_repeat(run=run, requested_by=cast(User, request.user)).pk)
            except ApplicationError as error:
                refused.append(f"{run.pk}: {error.message}")
        if started:
            self.message_user(request, f"Started training runs {', '.join(map(str, started))}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not started: " + "; ".join(refused), messages.WARNING)


@admin.register(TrainedModel)
class TrainedModelAdmin(ReadOnlyRowsAdmin):
    list_display = ("id", "name", "arch", "img_size", "trained_on", "run", "created_at")
    list_select_related = ("trained_on__dataset", "run")
    list_filter = ("arch",)
    search_fields = ("name",)
    raw_id_fields = ("trained_on", "run")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
