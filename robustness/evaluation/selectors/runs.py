"""Evaluation runs as the report, the API and the command show them: key numbers and the mCE table."""

from typing import Any

import numpy as np
from django.db.models import QuerySet

from curation.models import DatasetVersion
from robustness.evaluation.models import EvaluationRun, Suite
from robustness.ml.corruptions import COMMON_CORRUPTIONS, HELD_OUT_CORRUPTIONS
from robustness.ml.metrics import corruption_error_table

NO_BASELINE_NOTE = (
    "No baseline run was picked: errors are shown unnormalised (mean top-1 error over the common corruptions "
    "and their severities; held-out corruptions apart), not as mCE."
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


def _mean_or_none(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def corruption_table(run: EvaluationRun) -> dict[str, Any] | None:
    """Per corruption: mean error over severities, CE and relative CE against the baseline, and mCE.

    mCE, relative mCE and the unnormalised `mean_error` cover the 15 common corruptions only; the
    held-out ones have their own `mce_held_out`, `relative_mce_held_out` and `mean_error_held_out`,
    and each row says whether it is `held_out`. Without a baseline (or one without corruption
    results) only unnormalised errors are given and `note` says so; `baseline` names the run used
    otherwise, and `note` lists severities or corruptions that one of the two runs lacks.
    """
    corruptions = run.results.get(Suite.CORRUPTIONS)
    if not corruptions:
        return None
    errors = _errors(corruptions)
    rows = {
        name: {"mean_error": float(np.mean(list(row.values()))), "held_out": name in HELD_OUT_CORRUPTIONS}
        for name, row in errors.items()
    }
    table: dict[str, Any] = {
        "rows": rows,
        "mean_error": _mean_or_none([r["mean_error"] for n, r in rows.items() if n in COMMON_CORRUPTIONS]),
        "mean_error_held_out": _mean_or_none([r["mean_error"] for r in rows.values() if r["held_out"]]),
        "clean_error": corruptions["clean_error"],
        "baseline": None,
        "mce": None,
        "relative_mce": None,
        "mce_held_out": None,
        "relative_mce_held_out": None,
        "severity_gaps": {},
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
    table |= {
        "baseline": {"id": baseline.pk, "label": run_label(baseline)},
        **{key: normalised[key] for key in ("mce", "relative_mce", "mce_held_out", "relative_mce_held_out")},
        "severity_gaps": normalised["severity_gaps"],
        "note": _normalised_note(baseline, normalised),
    }
    return table


def _normalised_note(baseline: EvaluationRun, normalised: dict[str, Any]) -> str:
    averaged = normalised["corruptions_averaged"]
    note = (
        f"Normalised by run {run_label(baseline)}; mCE averages {averaged} of the "
        f"{len(COMMON_CORRUPTIONS)} common corruptions."
    )
    if normalised["held_out_averaged"]:
        note += f" The {normalised['held_out_averaged']} held-out corruptions are averaged apart (held-out mCE)."
    if normalised["common_not_run"]:
        note += f" This run lacks {', '.join(normalised['common_not_run'])}."
    if normalised["missing"]:
        note += f" The baseline lacks {', '.join(normalised['missing'])}."
    for name, gaps in normalised["severity_gaps"].items():
        parts = [
            f"{who} lacks severities {', '.join(str(s) for s in gaps[key])}"
            for who, key in (("this run", "missing_in_run"), ("the baseline", "missing_in_baseline"))
            if gaps[key]
        ]
        note += f" {name}: {'; '.join(parts)} (CE sums the severities both have)."
    return note


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
        "corruption_mean_error_held_out": table["mean_error_held_out"] if table else None,
        "mce": table["mce"] if table else None,
        "relative_mce": table["relative_mce"] if table else None,
        "mce_held_out": table["mce_held_out"] if table else None,
        "relative_mce_held_out": table["relative_mce_held_out"] if table else None,
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
    if clean.get("sample_groups"):  # failure slices scored as groups: each set's worst group
        summary["slice_groups"] = [
            {k: group_set[k] for k in ("source", "id", "worst_group", "worst_accuracy")} | {
                "groups": len(group_set["groups"])}
            for group_set in clean["sample_groups"]
        ]  # fmt: skip
    attributes = results.get(Suite.ATTRIBUTES)
    if attributes:
        summary["edit_drops"] = {name: edit["drop"] for name, edit in attributes["edits"].items()}
        summary["edits_without_masks"] = attributes["without_masks"]
    return summary
