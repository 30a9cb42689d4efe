"""Reads of failure-slice reports: lists, one report, one slice's samples, the compare rows and the figure."""

from typing import Any

from django.db.models import QuerySet

from core.figures import BLUE, figure
from explain.slices.models import SliceReport, SliceScore


def slice_report_list() -> QuerySet[SliceReport]:
    return SliceReport.objects.select_related("trained_model", "version__dataset", "job", "embedding_set").order_by(
        "-id"
    )


def slice_report_get(report_id: int) -> SliceReport | None:
    return slice_report_list().select_related("requested_by").filter(pk=report_id).first()


def slice_get(report: SliceReport, number: int) -> dict[str, Any] | None:
    """One slice of a report's results by its rank number (1 = worst), or None."""
    return next((s for s in (report.results or {}).get("slices") or [] if s["number"] == number), None)


def slice_sample_ids(report: SliceReport, number: int) -> list[int] | None:
    """A slice's sample ids, most typical first (the sample-list filter `slice_report` + `slice`)."""
    found = slice_get(report, number)
    return None if found is None else list(found["sample_ids"])


def slice_scores(report: SliceReport) -> QuerySet[SliceScore]:
    return report.scores.select_related("trained_model", "job").order_by("-id")


def slice_compare_rows(report: SliceReport, score: SliceScore) -> list[dict[str, Any]]:
    """One row per slice: its accuracy under the report's model and under the score's model (with intervals)."""
    other = (score.results or {}).get("slices") or {}
    other_classes = (score.results or {}).get("class_accuracy") or {}
    rows = []
    for entry in (report.results or {}).get("slices") or []:
        after = other.get(str(entry["number"]))
        class_after = (other_classes.get(entry["class"]) or {}).get("accuracy")
        rows.append(
            {
                "number": entry["number"], "class": entry["class"], "size": entry["size"],
                "before": {k: entry[k] for k in ("accuracy", "ci_low", "ci_high", "class_accuracy")},
                "after": after and {**after, "class_accuracy": class_after},
                "change": None if after is None else after["accuracy"] - entry["accuracy"],
            }
        )  # fmt: skip
    return rows


def slice_accuracy_figure(results: dict[str, Any], limit: int = 40) -> dict[str, Any]:
    """Slice accuracy (Wilson 95% interval) beside its class's accuracy, worst `limit` slices in rank order."""
    slices = (results.get("slices") or [])[:limit]
    if not slices:
        return figure([], height=420)
    names = [f"#{s['number']} {s['class']} (n={s['size']})" for s in slices]
    accuracy = {
        "type": "bar", "name": "slice accuracy", "x": names, "y": [s["accuracy"] for s in slices],
        "error_y": {"type": "data", "symmetric": False, "array": [s["ci_high"] - s["accuracy"] for s in slices],
                    "arrayminus": [s["accuracy"] - s["ci_low"] for s in slices]},
        "marker": {"color": ["#c0392b" if s["significant"] else "#e6a19a" for s in slices]},
    }  # fmt: skip
    own_class = {
        "type": "scatter", "mode": "markers", "name": "its class's accuracy", "x": names,
        "y": [s["class_accuracy"] for s in slices], "marker": {"color": BLUE, "symbol": "line-ew-open", "size": 22,
                                                                "line": {"width": 3}},
    }  # fmt: skip
    axis = {"title": {"text": "Accuracy"}, "range": [0, 1.05], "tickformat": ".0%"}
    return figure([accuracy, own_class], height=420, xaxis={"type": "category"}, yaxis=axis)
