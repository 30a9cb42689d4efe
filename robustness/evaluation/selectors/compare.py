"""Several runs side by side, and the pruning frontier (accuracy vs the share of data kept).

Keep fraction of a model's training version: its sample count over that of the nearest ancestor
that was not made by pruning (1.0 for an unpruned version), so chains of prunes multiply out and
the x axis is comparable across methods. The method is read from the version's operation params.
"""

from typing import Any

from core.figures import BLUE, GREEN, ORANGE, RED
from curation.models import DatasetVersion, VersionOperation
from robustness.evaluation.models import EvaluationRun, Suite
from robustness.evaluation.selectors.figures import ACCURACY_AXIS, eval_figure
from robustness.evaluation.selectors.runs import evaluation_summary, run_label

COMPARE_METRICS = (
    ("top1", "clean top-1"),
    ("corruption_accuracy", "mean corruption accuracy"),
    ("pgd_robust_accuracy", "PGD robust accuracy"),
    ("background_swap_accuracy", "background-swap accuracy"),
    ("worst_group_accuracy", "worst-group accuracy"),
    ("calibration", "1 − ECE"),
)
FRONTIER_METRICS = (
    ("top1", "clean top-1", BLUE),
    ("corruption_accuracy", "mean corruption accuracy", ORANGE),
    ("worst_group_accuracy", "worst-group accuracy", RED),
    ("pgd_robust_accuracy", "PGD robust accuracy", GREEN),
)


def training_keep_fraction(version: DatasetVersion) -> tuple[float, str]:
    """(share of the unpruned ancestor's samples this version kept, the pruning method or 'unpruned')."""
    source, methods = version, []
    while source.operation == VersionOperation.PRUNE and source.parent is not None:
        methods.append(str((source.operation_params or {}).get("method", "prune")))
        source = source.parent
    if not methods:
        return 1.0, "unpruned"
    return (version.sample_count / source.sample_count if source.sample_count else 0.0), " + ".join(reversed(methods))


def comparison_row(run: EvaluationRun) -> dict[str, Any]:
    """The compare table's row: the summary plus derived accuracies (corruption mean, background swap, 1 − ECE)."""
    summary = evaluation_summary(run)
    corruption_error = summary.get("corruption_mean_error")
    attributes = run.results.get(Suite.ATTRIBUTES) or {}
    swap = (attributes.get("edits") or {}).get("background_swap") or {}
    fraction, method = training_keep_fraction(run.trained_model.trained_on)
    return {
        **summary,
        "label": run_label(run),
        "corruption_accuracy": None if corruption_error is None else 1 - corruption_error,
        "background_swap_accuracy": swap.get("accuracy"),
        "background_swap_drop": swap.get("drop"),
        "null_edit_drop": ((attributes.get("edits") or {}).get("null") or {}).get("drop"),
        "calibration": None if summary.get("ece") is None else 1 - summary["ece"],
        "keep_fraction": fraction,
        "prune_method": method,
        "trained_on": f"{run.trained_model.trained_on.dataset.name} v{run.trained_model.trained_on.number}",
    }


def sample_group_compare(runs: list[EvaluationRun]) -> list[dict[str, Any]]:
    """Per group set (a failure-slice report) that any run scored: one row per group, one cell per run.

    A cell is the run's accuracy on the group's members it evaluated (Wilson 95%), its count and the members
    it missed, or None where the run did not score that set; `change` is the last scored run minus the first.
    Groups are fixed sample sets, so equal counts mean the runs were scored on the same samples.
    """
    tables: dict[tuple[str, int], dict[str, Any]] = {}
    for index, run in enumerate(runs):
        for group_set in (run.results.get(Suite.CLEAN) or {}).get("sample_groups") or []:
            table = tables.setdefault(
                (group_set["source"], group_set["id"]),
                {"source": group_set["source"], "id": group_set["id"], "label": group_set["label"], "rows": {}},
            )
            for group in group_set["groups"]:
                row = table["rows"].setdefault(
                    group["key"],
                    {"key": group["key"], "name": group["name"], "members": group["members"],
                     "cells": [None] * len(runs)},
                )  # fmt: skip
                row["cells"][index] = {
                    k: group[k] for k in ("accuracy", "ci_low", "ci_high", "count", "correct", "missing")
                }
    result = []
    for table in tables.values():
        rows = list(table["rows"].values())
        for row in rows:
            scored = [c for c in row["cells"] if c is not None and c["accuracy"] is not None]
            row["change"] = scored[-1]["accuracy"] - scored[0]["accuracy"] if len(scored) >= 2 else None
        result.append({**table, "rows": rows})
    return result


def compare_figures(rows: list[dict[str, Any]], runs: list[EvaluationRun]) -> dict[str, dict[str, Any]]:
    """Grouped bars of the headline accuracies per run, mean accuracy vs severity and robust accuracy vs ε."""
    categories = [label for _, label in COMPARE_METRICS]
    bars = [
        {"type": "bar", "name": row["label"], "x": categories, "y": [row.get(key) for key, _ in COMPARE_METRICS]}
        for row in rows
    ]
    severity, robust = [], []
    for run, row in zip(runs, rows, strict=True):
        corruptions = run.results.get(Suite.CORRUPTIONS)
        if corruptions and row["top1"] is not None:
            cells = corruptions["corruptions"].values()
            means = [sum(c[str(s)]["accuracy"] for c in cells) / len(cells) for s in corruptions["severities"]]
            severity.append({"type": "scatter", "mode": "lines+markers", "name": row["label"],
                             "x": [0, *corruptions["severities"]], "y": [row["top1"], *means]})  # fmt: skip
        adversarial = run.results.get(Suite.ADVERSARIAL)
        if adversarial and "pgd" in adversarial["curves"]:
            curve = adversarial["curves"]["pgd"]
            x, y = [p["eps"] * 255 for p in curve], [p["robust_accuracy"] for p in curve]
            robust.append({"type": "scatter", "mode": "lines+markers", "name": row["label"], "x": x, "y": y})
    return {
        "compare-figure": eval_figure(bars, barmode="group", yaxis=ACCURACY_AXIS),
        "compare-severity-figure": eval_figure(
            severity, xaxis={"title": {"text": "Severity (0 = clean)"}, "dtick": 1}, yaxis=ACCURACY_AXIS
        ),
        "compare-robust-figure": eval_figure(robust, xaxis={"title": {"text": "PGD ε (× 1/255)"}}, yaxis=ACCURACY_AXIS),
    }


def pruning_frontier_figure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy vs keep fraction of the training data, one line per metric, for runs of one evaluation version.

    Only meaningful when the runs share the evaluation version and their models were trained on
    versions of one dataset (pruned or not); the page says when that is not the case.
    """
    ordered = sorted(rows, key=lambda row: row["keep_fraction"])
    traces = []
    for key, name, colour in FRONTIER_METRICS:
        points = [row for row in ordered if row.get(key) is not None]
        if not points:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [row["keep_fraction"] for row in points],
                "y": [row[key] for row in points],
                "text": [f"{row['label']} ({row['prune_method']}, trained on {row['trained_on']})" for row in points],
                "hovertemplate": "%{text}<br>keep %{x:.0%}: %{y:.1%}<extra></extra>",
                "line": {"color": colour},
            }
        )
    xaxis = {"title": {"text": "Keep fraction of the training data"}, "range": [0, 1.05], "tickformat": ".0%"}
    return eval_figure(traces, xaxis=xaxis, yaxis=ACCURACY_AXIS)
