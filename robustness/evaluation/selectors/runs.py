"""Evaluation runs as the report, the API and the command show them: key numbers and the mCE table."""

from typing import Any

import numpy as np
from django.db.models import QuerySet

from curation.models import DatasetVersion
from robustness.evaluation.models import EvaluationRun, Suite
from robustness.ml.metrics import corruption_error_table

NO_BASELINE_NOTE = (
    "No baseline run was picked: errors are shown unnormalised (mean top-1 error over corruptions and "
    "severities), not as mCE."
)


def evaluation_run_list(
    *, version: DatasetVersion | None = None, dataset_id: int | None = None
) -> QuerySet[EvaluationRun]:
    """Runs newest first, with their model, version, dataset, job and baseline loaded."""
    runs = EvaluationRun.objects.select_related(
        "trained_model", "trained_model__trained_on", "version__dataset", "job", "baseline__trained_model"
    )
    if version is not None:
        runs = runs.filter(version=version)
    if dataset_id is not None:
        runs = runs.filter(version__dataset_id=dataset_id)
    return runs.order_by("-id")


def evaluation_run_get(run_id: int) -> EvaluationRun | None:
    return evaluation_run_list().filter(pk=run_id).first()


def evaluation_baseline_candidates(*, dataset_id: int | None) -> QuerySet[EvaluationRun]:
    """Finished runs (on one dataset, or any) that have corruption results: what mCE can be normalised by."""
    return evaluation_run_list(dataset_id=dataset_id).filter(results__has_key=Suite.CORRUPTIONS.value)


def run_label(run: EvaluationRun) -> str:
    """'#12 resnet18-demo on demo v1' — how reports name a run (and a baseline)."""
    return f"#{run.pk} {run.trained_model.name} on {run.version.dataset.name} v{run.version.number}"


def _errors(corruptions: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {name: {s: cell["error"] for s, cell in row.items()} for name, row in corruptions["corruptions"].items()}


def corruption_table(run: EvaluationRun) -> dict[str, Any] | None:
    """Per corruption: mean error over severities, CE and relative CE against the baseline, and mCE.

    Without a baseline (or one without corruption results) only unnormalised errors are given and
    `note` says so; `baseline` names the run used otherwise.
    """
    corruptions = run.results.get(Suite.CORRUPTIONS)
    if not corruptions:
        return None
    errors = _errors(corruptions)
    rows = {name: {"mean_error": float(np.mean(list(row.values())))} for name, row in errors.items()}
    table: dict[str, Any] = {
        "rows": rows,
        "mean_error": float(np.mean([r["mean_error"] for r in rows.values()])),
        "clean_error": corruptions["clean_error"],
        "baseline": None,
        "mce": None,
        "relative_mce": None,
        "note": NO_BASELINE_NOTE,
    }
    baseline = run.baseline
    base_results = baseline.results.get(Suite.CORRUPTIONS) if baseline is not None else None
    if baseline is None or not base_results:
        return table
    normalised = corruption_error_table(
        errors,
        _errors(base_results),
        clean_error=corruptions["clean_error"],
        baseline_clean_error=base_results["clean_error"],
    )
    for name, row in rows.items():
        row["ce"] = normalised["ce"].get(name)
        row["relative_ce"] = normalised["relative_ce"].get(name)
    averaged = normalised["corruptions_averaged"]
    note = f"Normalised by run {run_label(baseline)}; mCE averages {averaged} of {len(rows)} corruptions."
    if normalised["missing"]:
        note += f" The baseline lacks {', '.join(normalised['missing'])}."
    table |= {
        "baseline": {"id": baseline.pk, "label": run_label(baseline)},
        "mce": normalised["mce"],
        "relative_mce": normalised["relative_mce"],
        "note": note,
    }
    return table


def _curve_point(adversarial: dict[str, Any], attack: str, eps: float) -> float | None:
    for point in adversarial["curves"].get(attack, []):
        if abs(point["eps"] - eps) < 1e-9:
            return point["robust_accuracy"]
    return None


def evaluation_summary(run: EvaluationRun) -> dict[str, Any]:
    """The headline numbers of a run (None where a suite did not run); the command prints this as JSON."""
    results = run.results
    clean = results.get(Suite.CLEAN) or {}
    groups = clean.get("groups") or {}
    summary: dict[str, Any] = {
        "evaluation_run": run.pk,
        "status": run.status,
        "model": run.trained_model.name,
        "version": run.version_id,
        "split": run.split,
        "samples": clean.get("count"),
        "top1": clean.get("top1"),
        "top5": clean.get("top5"),
        "ece": clean.get("ece"),
        "worst_group_accuracy": groups.get("worst_accuracy"),
        "worst_group": groups.get("worst_group"),
        "worst_group_gap": groups.get("gap"),
        "real_top1": (clean.get("multi_label") or {}).get("real_top1"),
    }
    table = corruption_table(run)
    summary |= {
        "corruption_mean_error": table["mean_error"] if table else None,
        "mce": table["mce"] if table else None,
        "relative_mce": table["relative_mce"] if table else None,
        "baseline": table["baseline"]["id"] if table and table["baseline"] else None,
    }
    adversarial = results.get(Suite.ADVERSARIAL)
    if adversarial:
        eps = adversarial["settings"]["default_eps"]
        summary |= {
            "adversarial_eps": eps,
            "fgsm_robust_accuracy": _curve_point(adversarial, "fgsm", eps),
            "pgd_robust_accuracy": _curve_point(adversarial, "pgd", eps),
            "pgd_long_robust_accuracy": (adversarial.get("pgd_long") or {}).get("robust_accuracy"),
        }
    attributes = results.get(Suite.ATTRIBUTES)
    if attributes:
        summary["edit_drops"] = {name: edit["drop"] for name, edit in attributes["edits"].items()}
        summary["edits_without_masks"] = attributes["without_masks"]
    return summary
