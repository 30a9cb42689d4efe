"""The confidence-threshold report (`confidence_report`): at which confidence can a model's predictions be
accepted without a look, and how many would that be?

The model predicts the split's labelled members once; predictions sorted by confidence (the top softmax
probability) give, for each threshold, the share kept (coverage) and their accuracy. The report's threshold
is the lowest confidence whose kept predictions still reach `target_accuracy` (the most coverage), or none
when even the most confident prediction alone misses it. Per class (the true label): how many, the accuracy,
the mean confidence, and the share and accuracy of those kept at the threshold. The figure (accuracy against
coverage) is stored with the numbers: the report page draws it as stored.
"""

from typing import Any

import numpy as np
from django.utils import timezone

from core.api_errors import ApplicationError
from core.figures import GREEN, INK, figure
from jobs.runtime import JobContext, JobFailed
from robustness.evaluation.services.dataset import evaluation_classes_check, evaluation_set_load
from robustness.reports.models import ModelReport

CURVE_POINTS = 101  # the most points the stored curve keeps (evenly spread over the thresholds)


def confidence_curve(
    confidence: np.ndarray, correct: np.ndarray, *, target_accuracy: float
) -> tuple[list[dict[str, float]], dict[str, float] | None]:
    """The accuracy-coverage curve (≤ CURVE_POINTS points, most confident first) and the operating point: the
    lowest threshold whose kept predictions (confidence ≥ it) reach `target_accuracy`, or None."""
    n = len(confidence)
    if n == 0:
        return [], None
    order = np.argsort(-confidence, kind="stable")
    sorted_confidence = confidence[order]
    kept_accuracy = np.cumsum(correct[order]) / np.arange(1, n + 1)
    # A threshold keeps every prediction tied with it: only the last of each run of equal confidences is one.
    ends = np.flatnonzero(np.append(sorted_confidence[1:] != sorted_confidence[:-1], True))

    def point(end: int) -> dict[str, float]:
        return {
            "threshold": float(sorted_confidence[end]),
            "coverage": (end + 1) / n,
            "accuracy": float(kept_accuracy[end]),
            "kept": end + 1,
        }

    shown = ends[np.unique(np.linspace(0, len(ends) - 1, min(CURVE_POINTS, len(ends))).round().astype(int))]
    reaching = ends[kept_accuracy[ends] >= target_accuracy - 1e-12]
    return [point(int(end)) for end in shown], point(int(reaching[-1])) if reaching.size else None


def confidence_summary(
    probabilities: np.ndarray, targets: np.ndarray, classes: list[str], *, target_accuracy: float
) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready values (see the module docstring)."""
    confidence = probabilities.max(axis=1).astype(np.float64) if len(targets) else np.zeros(0)
    correct = probabilities.argmax(axis=1) == targets if len(targets) else np.zeros(0, dtype=bool)
    curve, operating = confidence_curve(confidence, correct, target_accuracy=target_accuracy)
    kept = confidence >= operating["threshold"] if operating is not None else np.zeros(len(targets), dtype=bool)
    per_class = []
    for index, name in enumerate(classes):
        members = targets == index
        count = int(members.sum())
        if count == 0:
            continue
        kept_here = kept & members
        per_class.append({
            "class": name, "count": count, "accuracy": float(correct[members].mean()),
            "mean_confidence": float(confidence[members].mean()), "kept_share": float(kept_here.sum() / count),
            "kept_accuracy": float(correct[kept_here].mean()) if kept_here.any() else None,
        })  # fmt: skip
    return {
        "count": len(targets),
        "accuracy": float(correct.mean()) if len(targets) else None,
        "mean_confidence": float(confidence.mean()) if len(targets) else None,
        "target_accuracy": target_accuracy,
        "operating_point": operating,
        "curve": curve,
        "per_class": per_class,
    }


def coverage_figure(summary: dict[str, Any]) -> dict[str, Any]:
    """Accuracy of the kept predictions against the share kept; the target as a dashed line, the threshold a dot."""
    curve = summary["curve"]
    if not curve:
        return figure([])
    traces: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines", "name": "kept predictions",
        "x": [p["coverage"] for p in curve], "y": [p["accuracy"] for p in curve],
        "customdata": [p["threshold"] for p in curve],
        "hovertemplate": "confidence ≥ %{customdata:.3f}: %{x:.1%} kept, %{y:.1%} right<extra></extra>",
    }]  # fmt: skip
    point = summary["operating_point"]
    if point is not None:
        traces.append({
            "type": "scatter", "mode": "markers", "name": f"threshold {point['threshold']:.3f}",
            "x": [point["coverage"]], "y": [point["accuracy"]], "marker": {"size": 11, "color": GREEN},
        })  # fmt: skip
    target = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": summary["target_accuracy"],
              "y1": summary["target_accuracy"], "line": {"color": INK, "dash": "dash"}}  # fmt: skip
    return figure(
        traces,
        shapes=[target],
        xaxis={"title": {"text": "Predictions kept (coverage)"}, "tickformat": ".0%", "range": [0, 1.02]},
        yaxis={"title": {"text": "Accuracy of those kept"}, "tickformat": ".0%"},
    )


def confidence_report_execute(report: ModelReport, ctx: JobContext) -> dict[str, Any]:
    """The `confidence_report` job's body: the model's predictions on the split, the curve, the stored summary."""
    from robustness.evaluation.services.inference import predict_probabilities  # noqa: PLC0415 - torch: loaded by the job, not at start-up
    from robustness.evaluation.services.runs import json_safe  # noqa: PLC0415 - torch: loaded by the job, not at start-up
    from robustness.ml.checkpoints import CheckpointInvalid  # noqa: PLC0415 - torch: loaded by the job, not at start-up
    from robustness.ml.devices import device_describe, device_resolve  # noqa: PLC0415 - torch: loaded by the job, not at start-up
    from robustness.ml.models import WeightsUnavailable  # noqa: PLC0415 - torch: loaded by the job, not at start-up
    from robustness.services import load_trained_model  # noqa: PLC0415 - torch: loaded by the job, not at start-up

    p, trained_model = report.params, report.trained_model
    try:
        model, classes, preprocessing = load_trained_model(trained_model)
        evaluation_classes_check(version=report.version, split=p["split"], classes=classes)
        device = device_resolve(p["device"])
    except (CheckpointInvalid, WeightsUnavailable, FileNotFoundError) as error:
        raise JobFailed(f"cannot load model {trained_model.name!r}: {error}")
    except (ApplicationError, ValueError) as error:
        raise JobFailed(getattr(error, "message", None) or str(error))
    ctx.log(f"model {trained_model.name} on {device_describe(device)}")
    evaluation_set = evaluation_set_load(
        version=report.version, split=p["split"], classes=classes, preprocessing=preprocessing,
        max_samples=p["max_samples"], seed=p["seed"],
        progress=lambda done, total: ctx.progress(0, 2, f"decoding images: {done} of {total}"),
    )  # fmt: skip
    ctx.progress(1, 2, f"predicting {len(evaluation_set)} samples")
    probabilities = predict_probabilities(
        model.to(device).eval(), evaluation_set.images, device=device, batch_size=p["batch_size"],
        on_batch=ctx.check_cancelled,
    )  # fmt: skip
    summary = confidence_summary(probabilities, evaluation_set.targets, classes, target_accuracy=p["target_accuracy"])
    summary["figures"] = {"confidence-coverage-figure": coverage_figure(summary)}
    report.summary = json_safe(summary)
    report.finished_at = timezone.now()
    report.save(update_fields=["summary", "finished_at"])
    ctx.progress(2, 2, "report stored")
    point = summary["operating_point"]
    return {"report": report.pk, "threshold": point and point["threshold"], "coverage": point and point["coverage"]}
