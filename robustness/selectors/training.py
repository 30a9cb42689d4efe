"""Reads of training runs and trained models, and the loss/accuracy curves figure."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.figures import SPLIT_COLOURS, figure, vertical_line
from robustness.models import TrainedModel, TrainingRun

CURVE_COLORS = {"train": SPLIT_COLOURS["train"], "val": SPLIT_COLOURS["val"]}


def training_run_list() -> QuerySet[TrainingRun]:
    """Runs newest first, with what a list shows (job, version and dataset, trained model)."""
    return TrainingRun.objects.select_related("job", "version__dataset", "requested_by", "trained_model").order_by(
        "-id"
    )


def training_run_get(*, run_id: int) -> TrainingRun | None:
    return training_run_list().filter(pk=run_id).first()


def trained_model_list() -> QuerySet[TrainedModel]:
    return TrainedModel.objects.select_related("trained_on__dataset", "run").order_by("-id")


def trained_model_get(*, trained_model_id: int) -> TrainedModel | None:
    return trained_model_list().filter(pk=trained_model_id).first()


def training_curves_figures(run: TrainingRun) -> dict[str, dict[str, Any]]:
    """Plotly figures {"loss": ..., "accuracy": ...}: train and val per epoch, the best epoch marked."""
    epochs = [row["epoch"] for row in run.epoch_metrics]
    x_axis = {"title": {"text": "Epoch"}, "dtick": 1, "range": [0.5, max(run.epochs, len(epochs), 1) + 0.5]}
    figures = {}
    for metric, title in (("loss", "Cross-entropy loss"), ("accuracy", "Top-1 accuracy")):
        traces = [
            {
                "type": "scatter", "mode": "lines+markers", "name": split, "x": epochs,
                "y": [row[f"{split}_{metric}"] for row in run.epoch_metrics], "line": {"color": CURVE_COLORS[split]},
            }
            for split in ("train", "val")
        ] if epochs else []  # fmt: skip
        y_axis: dict[str, Any] = {"title": {"text": title}, "rangemode": "tozero"}
        if metric == "accuracy":
            y_axis.update(range=[0, 1.02], tickformat=".0%")
        shapes = [vertical_line(run.best_epoch, colour="#6b7280", dash="dot", width=1)] if run.best_epoch else []
        figures[metric] = figure(traces, height=360, hovermode="x unified", xaxis=x_axis, yaxis=y_axis, shapes=shapes)
    return figures


def training_run_summary(run: TrainingRun) -> dict[str, Any]:
    """The run's latest and best epochs, for the page header and the list."""
    latest = run.epoch_metrics[-1] if run.epoch_metrics else None
    best = next((row for row in run.epoch_metrics if row["epoch"] == run.best_epoch), None)
    return {"epochs_done": len(run.epoch_metrics), "latest": latest, "best": best}
