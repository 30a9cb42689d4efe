"""Reads of spurious-feature reports: lists, one report, its suspected features, summary and figures.

`suspected_spurious_features` is the contract the synthetic counter-examples build on: keep its
signature and SuspectedFeature's fields stable.
"""

from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import QuerySet

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

    Suspected = enough support and the Wilson lower bound of the flip rate above the class's null flip rate.
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
