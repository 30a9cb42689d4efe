"""Reads of spurious-feature reports: lists, one report, its suspected features, summary and figures.

`suspected_spurious_features` is the contract the synthetic counter-examples build on: keep its
signature and SuspectedFeature's fields stable.
"""

from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import QuerySet

from core.figures import BLUE, GREY, figure
from explain.spurious.models import SpuriousReport

FeatureKind = Literal["background", "object"]


@dataclass(frozen=True)
class SuspectedFeature:
    """A feature the model relies on for a class: editing it away flips correct predictions above the control.

    kind: "background" | "object"; value: the background id (or caption attribute) or the object's
    class name; description: human words for it, usable in a prompt (the background's description,
    the object's class); flip_rate / null_flip_rate: share of flips when it is edited away / under the
    null edit; support: images of the class that carry it; rank: its place in the class's ranking (1 = first).
    """

    kind: FeatureKind
    value: str
    description: str
    flip_rate: float
    null_flip_rate: float
    support: int
    rank: int


def spurious_report_list() -> QuerySet[SpuriousReport]:
    return SpuriousReport.objects.select_related("trained_model", "version__dataset", "job").order_by("-id")


def spurious_report_get(report_id: int) -> SpuriousReport | None:
    return (
        SpuriousReport.objects.select_related(
            "trained_model__trained_on__dataset", "version__dataset", "job", "requested_by"
        )
        .filter(pk=report_id)
        .first()
    )


def feature_description(results: dict[str, Any], kind: str, value: str) -> str:
    """The words for a feature: a background's description from the bank, else the value itself."""
    if kind == "background":
        return str((results.get("background_bank") or {}).get("descriptions", {}).get(value) or value)
    return value


def suspected_spurious_features(*, report: SpuriousReport) -> dict[str, list[SuspectedFeature]]:
    """Per class (every class with a ranking), its suspected features in rank order; {} before the report has results.

    Suspected = enough support, the Wilson lower bound of the flip rate above the class's null flip rate and, for a
    background, most flips going to the class of the swapped-in background (the direction rule, ml/ranking.py).
    """
    results = report.results or {}
    suspected: dict[str, list[SuspectedFeature]] = {}
    for class_name, ranking in (results.get("rankings") or {}).items():
        suspected[class_name] = [
            SuspectedFeature(
                kind=feature["kind"],
                value=feature["value"],
                description=feature_description(results, feature["kind"], feature["value"]),
                flip_rate=feature["flip_rate"],
                null_flip_rate=feature["null_flip_rate"],
                support=feature["support"],
                rank=feature["rank"],
            )
            for feature in ranking["ranked"]
            if feature["suspected"]
        ]
    return suspected


RATE_AXIS = {"title": {"text": "Flip rate"}, "range": [0, 1.02], "tickformat": ".0%"}


def _figure(traces: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    return figure(traces, **{"height": 380, **overrides})


def flip_rate_figure(results: dict[str, Any]) -> dict[str, Any]:
    """Per class: the flip rate of its top-ranked feature (Wilson 95% interval) beside its null-edit flip rate."""
    rankings = results.get("rankings") or {}
    names = [name for name, ranking in rankings.items() if ranking["ranked"]]
    if not names:
        return _figure([])
    tops = [rankings[name]["ranked"][0] for name in names]
    feature = {
        "type": "bar", "name": "top feature", "x": names, "y": [t["flip_rate"] for t in tops],
        "text": [feature_description(results, t["kind"], t["value"]) for t in tops], "textposition": "outside",
        "error_y": {"type": "data", "symmetric": False, "array": [t["ci_high"] - t["flip_rate"] for t in tops],
                    "arrayminus": [t["flip_rate"] - t["ci_low"] for t in tops]},
        "marker": {"color": BLUE},
    }  # fmt: skip
    null = {
        "type": "bar", "name": "null edit (control)", "x": names,
        "y": [rankings[name]["null_flip_rate"] for name in names], "marker": {"color": GREY},
    }  # fmt: skip
    return _figure([feature, null], barmode="group", xaxis={"type": "category"}, yaxis=RATE_AXIS)


def pull_figure(results: dict[str, Any]) -> dict[str, Any]:
    """Heatmap of background pull: rows backgrounds, columns classes (share predicted c minus the control)."""
    pull = results.get("pull")
    if not pull or not pull.get("rows"):
        return _figure([])
    classes = results["classes"]
    values = list(pull["rows"])
    z = [[pull["rows"][v][c]["pull"] for c in classes] for v in values]
    labels = [feature_description(results, "background", v) for v in values]
    trace = {
        "type": "heatmap", "x": classes, "y": labels, "z": z, "colorscale": "RdBu", "reversescale": True,
        "zmid": 0, "colorbar": {"title": {"text": "pull"}},
    }  # fmt: skip
    return _figure([trace], xaxis={"type": "category"}, yaxis={"type": "category"}, height=420)


def report_figures(report: SpuriousReport) -> dict[str, dict[str, Any]]:
    """The report page's figures by element id."""
    results = report.results or {}
    return {"flip-rate-figure": flip_rate_figure(results), "pull-figure": pull_figure(results)}


def report_class_rows(report: SpuriousReport) -> list[dict[str, Any]]:
    """One row per class for the page: its ranking with descriptions, the injected background when known, pull top."""
    results = report.results or {}
    injected = results.get("class_backgrounds") or {}
    pull_ranking = (results.get("pull") or {}).get("ranking") or {}
    rows = []
    for name, ranking in (results.get("rankings") or {}).items():
        own = injected.get(name)
        features = [
            {**f, "description": feature_description(results, f["kind"], f["value"]), "is_injected": f["value"] == own}
            for f in ranking["ranked"]
        ]
        pull_top = [
            {**e, "description": feature_description(results, "background", e["value"])}
            for e in pull_ranking.get(name, [])[:3]
        ]
        described = feature_description(results, "background", own) if own else None
        rows.append(
            {
                "name": name,
                "ranking": ranking,
                "features": features,
                "injected": own,
                "injected_description": described,
                "pull_top": pull_top,
            }
        )
    return rows
