"""Plans from reports: a spurious-feature report's suspected background features become the avoid lists; a
failure slice fixes the class, the contexts and the parents of a plan (plan_from_slice).

The reports come from explain.spurious and explain.slices (other apps); they are read through those apps'
selectors only, imported when a plan asks for them.
"""

from __future__ import annotations

from typing import Any

from core.api_errors import ApplicationError


def avoid_from_spurious_report(report_id: int) -> dict[str, list[str]]:
    """Per class, the values and descriptions of the report's suspected *background* features.

    Raises ApplicationError not_found for an unknown report, spurious_reports_unavailable where the
    spurious-feature app has no reports yet.
    """
    try:
        from explain.spurious import models as spurious_models  # noqa: PLC0415 - optional app: an ImportError answers spurious_reports_unavailable
        from explain.spurious.selectors import suspected_spurious_features  # noqa: PLC0415 - optional app: an ImportError answers spurious_reports_unavailable
    except ImportError:
        raise ApplicationError(
            "Spurious-feature reports are not available in this installation.", code="spurious_reports_unavailable"
        ) from None
    report_model = getattr(spurious_models, "SpuriousReport", None)
    if report_model is None:
        raise ApplicationError("Spurious-feature reports are not available.", code="spurious_reports_unavailable")
    report = report_model.objects.filter(pk=report_id).first()
    if report is None:
        raise ApplicationError(f"Spurious report {report_id} does not exist.", code="not_found", status_code=404)
    avoid: dict[str, list[str]] = {}
    for cls, features in suspected_spurious_features(report=report).items():
        terms = [t for f in features if f.kind == "background" for t in (str(f.value), str(f.description)) if t]
        if terms:
            avoid[cls] = list(dict.fromkeys(terms))
    return avoid


# A slice's plan (docs/METHODS.md §13): the slice's class in the usual surroundings of the other classes, those the
# slice is mistaken for first; img2img from the class's training images by default (never from the slice's held-out
# images unless asked: those are what the compare view measures after retraining).
SLICE_CONTEXT_TEMPLATE = "in the usual surroundings of a {other}"
SLICE_PARENTS = ("train", "slice")
SLICE_STRENGTH = 0.75
SLICE_MIN_PER_CLASS = 8


def _slice_report(report_id: int) -> Any:
    try:
        from explain.slices.selectors import slice_report_get  # noqa: PLC0415 - optional app: an ImportError answers slice_reports_unavailable
    except ImportError:
        raise ApplicationError(
            "Failure-slice reports are not available in this installation.", code="slice_reports_unavailable"
        ) from None
    report = slice_report_get(report_id)
    if report is None:
        raise ApplicationError(f"Failure-slice report {report_id} does not exist.", code="not_found", status_code=404)
    return report


def slice_contexts(found: dict[str, Any], classes: list[str]) -> list[str]:
    """Prompt contexts of a slice's plan: the usual surroundings of every other class, those the slice's samples
    are predicted as first (most often first), then the rest in taxonomy order; never the slice's own class's."""
    own = found["class"]
    confused = [p["class"] for p in found.get("predicted_as") or [] if p["class"] != own]
    others = list(dict.fromkeys([*confused, *(c for c in classes if c != own)]))
    return [SLICE_CONTEXT_TEMPLATE.format(other=other) for other in others]


def plan_from_slice(report_id: int, number: int, *, mode: str, parents: str = "train") -> dict[str, Any]:
    """The plan settings a slice fixes, to merge under the caller's own (which win):

    mode (as given), classes (the slice's class), contexts (slice_contexts), strength (0.75: the prompt's context
    replaces more of the parent's than a manual img2img's 0.6; img2img only), per_class (twice the slice's size,
    at least 8), the version (the report's), and with `parents="slice"` the slice's members as parents, most
    typical first (modes with parents). Raises ApplicationError not_found (report or slice), invalid_params
    (parents), slice_reports_unavailable.
    """
    if parents not in SLICE_PARENTS:
        raise ApplicationError(f"parents must be one of {', '.join(SLICE_PARENTS)}.", code="invalid_params")
    report = _slice_report(report_id)
    found = next((s for s in (report.results or {}).get("slices") or [] if s["number"] == number), None)
    if found is None:
        raise ApplicationError(
            f"Failure-slice report {report_id} has no slice {number}.", code="not_found", status_code=404
        )
    classes = list((report.results or {}).get("classes") or report.version.dataset.classes or [])
    fields: dict[str, Any] = {
        "version_id": report.version_id, "mode": mode, "classes": [found["class"]],
        "contexts": slice_contexts(found, classes),
        "per_class": max(SLICE_MIN_PER_CLASS, 2 * int(found["size"])), "parent_split": "train",
    }  # fmt: skip
    if mode == "img2img":
        fields["strength"] = SLICE_STRENGTH
    if parents == "slice" and mode != "text2img":
        fields |= {"parent_samples": [int(i) for i in found["sample_ids"]], "parent_split": "all"}
    return fields
