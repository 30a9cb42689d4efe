"""Plans from a spurious-feature report: its suspected background features become the avoid lists.

The report comes from explain.spurious (another app); it is read through that app's selector only,
imported when a plan asks for it.
"""

from __future__ import annotations

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
