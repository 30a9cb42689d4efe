"""Plotly figures of one evaluation report, built here and sent to the page once as JSON.

Accuracy axes run from 0 to 1; ε is shown in units of 1/255 (how attacks are usually quoted).
A figure without data is {"data": [], ...}: the page says "No data." instead of an empty chart.
"""

from typing import Any

from core.figures import BLUE, GREEN, GREY, ORANGE, RED, figure
from robustness.evaluation.models import EvaluationRun, Suite

ACCURACY_AXIS = {"title": {"text": "Top-1 accuracy"}, "range": [0, 1.02], "tickformat": ".0%"}
ATTACK_COLOURS = {"fgsm": ORANGE, "pgd": BLUE}


def eval_figure(traces: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    """A figure of the evaluation pages: the shared layout (core.figures), 360 px high unless given."""
    return figure(traces, **{"height": 360, **overrides})


def severity_figure(run: EvaluationRun) -> dict[str, Any]:
    """Accuracy vs severity, one line per corruption (severity 0 = clean), and their mean in bold."""
    corruptions, clean = run.results.get(Suite.CORRUPTIONS), run.results.get(Suite.CLEAN)
    if not corruptions or not clean:
        return eval_figure([])
    severities = corruptions["severities"]
    x = [0, *severities]
    traces = []
    rows = corruptions["corruptions"]
    for name, row in rows.items():
        y = [clean["top1"], *(row[str(s)]["accuracy"] for s in severities)]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": x, "y": y, "opacity": 0.75})
    mean = [clean["top1"], *(sum(r[str(s)]["accuracy"] for r in rows.values()) / len(rows) for s in severities)]
    traces.append(
        {"type": "scatter", "mode": "lines", "name": "mean", "x": x, "y": mean, "line": {"color": "#111", "width": 4}}
    )
    xaxis = {"title": {"text": "Severity (0 = clean)"}, "dtick": 1}
    return eval_figure(traces, xaxis=xaxis, yaxis=ACCURACY_AXIS, height=420)


def corruption_error_figure(table: dict[str, Any] | None) -> dict[str, Any]:
    """CE per corruption when normalised by a baseline, else the mean error per corruption."""
    if not table:
        return eval_figure([])
    names = list(table["rows"])
    if table["baseline"]:
        y = [table["rows"][n].get("ce") for n in names]
        title = "CE (vs baseline)"
    else:
        y = [table["rows"][n]["mean_error"] for n in names]
        title = "Mean top-1 error (unnormalised)"
    trace = {"type": "bar", "x": names, "y": y, "marker": {"color": ORANGE}, "name": title}
    return eval_figure([trace], showlegend=False, xaxis={"type": "category"}, yaxis={"title": {"text": title}})


def adversarial_figure(run: EvaluationRun) -> dict[str, Any]:
    """Robust accuracy vs ε per attack, and PGD with more steps at the default ε as a marker."""
    adversarial = run.results.get(Suite.ADVERSARIAL)
    if not adversarial:
        return eval_figure([])
    traces = []
    for attack, curve in adversarial["curves"].items():
        steps = f"-{adversarial['settings']['steps']}" if attack == "pgd" else ""
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{attack.upper()}{steps}",
                "x": [p["eps"] * 255 for p in curve],
                "y": [p["robust_accuracy"] for p in curve],
                "line": {"color": ATTACK_COLOURS.get(attack, GREY)},
            }
        )
    long_run = adversarial.get("pgd_long")
    if long_run:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"PGD-{long_run['steps']}",
                "x": [long_run["eps"] * 255],
                "y": [long_run["robust_accuracy"]],
                "marker": {"color": "#111", "size": 11, "symbol": "x"},
            }
        )
    return eval_figure(
        traces, xaxis={"title": {"text": "ε (× 1/255)"}}, yaxis={**ACCURACY_AXIS, "title": {"text": "Robust accuracy"}}
    )


def attribute_figure(run: EvaluationRun) -> dict[str, Any]:
    """Accuracy on the originals and on each edit (the null control in grey)."""
    attributes = run.results.get(Suite.ATTRIBUTES)
    if not attributes or attributes.get("original_accuracy") is None:
        return eval_figure([])
    names = ["original", *attributes["edits"]]
    y = [attributes["original_accuracy"], *(edit["accuracy"] for edit in attributes["edits"].values())]
    colours = [GREEN, *(GREY if n == "null" else BLUE for n in attributes["edits"])]
    text = ["", *(f"−{edit['drop'] * 100:.1f} pt" for edit in attributes["edits"].values())]
    trace = {"type": "bar", "x": names, "y": y, "text": text, "textposition": "outside", "marker": {"color": colours}}
    return eval_figure([trace], showlegend=False, xaxis={"type": "category"}, yaxis=ACCURACY_AXIS)


def confusion_figure(run: EvaluationRun) -> dict[str, Any]:
    """Heatmap of counts: rows the true class, columns the predicted one."""
    clean = run.results.get(Suite.CLEAN)
    if not clean:
        return eval_figure([])
    classes = clean["classes"]
    trace = {
        "type": "heatmap",
        "z": clean["confusion"],
        "x": classes,
        "y": classes,
        "colorscale": "Blues",
        "hovertemplate": "true %{y}, predicted %{x}: %{z}<extra></extra>",
    }
    side = max(360, 28 * len(classes) + 120)
    # The axes' automargin (core.figures) grows the margins to fit the class names (a fixed 56 px cut "mammals").
    axes = {"xaxis": {"title": {"text": "Predicted"}, "type": "category"}}
    axes["yaxis"] = {"title": {"text": "True"}, "type": "category", "autorange": "reversed"}
    return eval_figure([trace], height=side, **axes)


def reliability_figure(run: EvaluationRun) -> dict[str, Any]:
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration."""
    clean = run.results.get(Suite.CLEAN)
    if not clean:
        return eval_figure([])
    bins = [b for b in clean["reliability"] if b["count"]]
    width = 1 / clean["ece_bins"]
    bars = {
        "type": "bar",
        "name": "accuracy",
        "x": [(b["lower"] + b["upper"]) / 2 for b in bins],
        "y": [b["accuracy"] for b in bins],
        "width": [width] * len(bins),
        "customdata": [[b["count"], b["confidence"]] for b in bins],
        "hovertemplate": "%{customdata[0]} samples, confidence %{customdata[1]:.2f}, accuracy %{y:.2f}<extra></extra>",
        "marker": {"color": BLUE, "line": {"color": "#fff", "width": 1}},
    }
    diagonal = {"type": "scatter", "mode": "lines", "name": "perfect calibration", "x": [0, 1], "y": [0, 1],
                "line": {"color": GREY, "dash": "dash"}}  # fmt: skip
    xaxis = {"title": {"text": "Confidence (top-1 probability)"}, "range": [0, 1]}
    return eval_figure([bars, diagonal], bargap=0, xaxis=xaxis, yaxis={**ACCURACY_AXIS, "title": {"text": "Accuracy"}})


def per_class_figure(run: EvaluationRun) -> dict[str, Any]:
    clean = run.results.get(Suite.CLEAN)
    if not clean:
        return eval_figure([])
    names = list(clean["per_class"])
    trace = {"type": "bar", "x": names, "y": [clean["per_class"][n] for n in names], "marker": {"color": BLUE}}
    return eval_figure([trace], showlegend=False, xaxis={"type": "category"}, yaxis=ACCURACY_AXIS)


def group_figure(run: EvaluationRun) -> dict[str, Any]:
    """Accuracy per group (demo: class × own/other background), the worst group in red."""
    groups = (run.results.get(Suite.CLEAN) or {}).get("groups")
    if not groups:
        return eval_figure([])
    names = list(groups["groups"])
    colours = [RED if n == groups["worst_group"] else (GREEN if "/ own" in n else BLUE) for n in names]
    trace = {
        "type": "bar",
        "x": names,
        "y": [groups["groups"][n]["accuracy"] for n in names],
        "customdata": [groups["groups"][n]["count"] for n in names],
        "hovertemplate": "%{x}: %{y:.1%} of %{customdata}<extra></extra>",
        "marker": {"color": colours},
    }
    return eval_figure([trace], showlegend=False, xaxis={"type": "category"}, yaxis=ACCURACY_AXIS, height=420)


def report_figures(run: EvaluationRun, table: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Every figure of the report page by element id."""
    return {
        "severity-figure": severity_figure(run),
        "corruption-error-figure": corruption_error_figure(table),
        "adversarial-figure": adversarial_figure(run),
        "attribute-figure": attribute_figure(run),
        "confusion-figure": confusion_figure(run),
        "reliability-figure": reliability_figure(run),
        "per-class-figure": per_class_figure(run),
        "group-figure": group_figure(run),
    }
