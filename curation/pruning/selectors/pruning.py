"""Prune runs: the per-cluster budget chart, the eps sweep chart, and the preview of what goes.

The preview groups removed samples by (reason, cluster), largest groups first, and shows each removed
duplicate beside the sample it duplicates; class and split counts before and after come from one
grouped query over the source version's members (cached: a run never changes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, QuerySet

from core.figures import BLUE, INK, figure
from curation.ml.pruning import PruneReason
from curation.models import DatasetVersion, VersionSample
from curation.pruning.blobs import arrays_load
from curation.pruning.models import PruneDecision, PruneRun

logger = logging.getLogger(__name__)

KEPT_COLOR, REMOVED_COLOR = BLUE, "#d8613b"


def reason_name(code: int) -> str:
    return PruneReason(code).name.lower().replace("_", " ")


@dataclass(frozen=True)
class RemovedItem:
    member: VersionSample | None
    sample_id: int
    score: float | None
    duplicate_of: VersionSample | None  # the sample it duplicates (SemDeDup, exact dedup)


@dataclass(frozen=True)
class PreviewGroup:
    reason: str
    cluster: int | None
    removed_count: int
    removed: list[RemovedItem]
    kept: list[VersionSample]


def prune_runs_of_version(version: DatasetVersion) -> QuerySet[PruneRun]:
    return PruneRun.objects.filter(version=version).select_related("resulting_version", "created_by").order_by("-id")


def prune_run_get(prune_run_id: int) -> PruneRun | None:
    related = ("version__dataset", "resulting_version", "embedding_set", "cluster_run", "job", "created_by")
    return PruneRun.objects.select_related(*related).filter(pk=prune_run_id).first()


def prune_decisions(
    prune_run: PruneRun, *, keep: bool | None = None, reason: int | None = None, cluster: int | None = None
) -> QuerySet[PruneDecision]:
    """The run's decisions in sample order, optionally filtered (for the API's cursor pages)."""
    decisions = PruneDecision.objects.filter(prune_run=prune_run)
    if keep is not None:
        decisions = decisions.filter(keep=keep)
    if reason is not None:
        decisions = decisions.filter(reason=reason)
    if cluster is not None:
        decisions = decisions.filter(cluster=cluster)
    return decisions.order_by("sample_id")


def _members(version_id: int, sample_ids: set[int]) -> dict[int, VersionSample]:
    rows = VersionSample.objects.filter(version_id=version_id, sample_id__in=sample_ids).select_related("sample")
    return {member.sample_id: member for member in rows}


def prune_preview(prune_run: PruneRun, *, groups: int = 8, per_group: int = 6) -> list[PreviewGroup]:
    """The `groups` largest (reason, cluster) groups of removed samples, `per_group` shown of each
    (SemDeDup's clearest duplicates first), with a few kept members of the same cluster."""
    removed = PruneDecision.objects.filter(prune_run=prune_run, keep=False)
    top = list(removed.values("reason", "cluster").annotate(n=Count("pk")).order_by("-n", "reason", "cluster")[:groups])
    picked = []
    for group in top:
        rows = removed.filter(reason=group["reason"], cluster=group["cluster"])
        rows = rows.order_by("-score" if group["reason"] == PruneReason.SEMANTIC_DUPLICATE else "score", "sample_id")
        kept = PruneDecision.objects.filter(prune_run=prune_run, keep=True, cluster=group["cluster"])
        kept_ids = list(kept.order_by("sample_id").values_list("sample_id", flat=True)[:per_group])
        picked.append((group, list(rows[:per_group]), kept_ids if group["cluster"] is not None else []))
    wanted = {d.sample_id for _, rows, _ in picked for d in rows}
    wanted |= {d.duplicate_of_id for _, rows, _ in picked for d in rows if d.duplicate_of_id}
    wanted |= {sample_id for _, _, kept_ids in picked for sample_id in kept_ids}
    members = _members(prune_run.version_id, wanted)
    return [
        PreviewGroup(
            reason=reason_name(group["reason"]),
            cluster=group["cluster"],
            removed_count=group["n"],
            removed=[
                RemovedItem(
                    members.get(d.sample_id),
                    d.sample_id,
                    d.score,
                    members.get(d.duplicate_of_id) if d.duplicate_of_id else None,
                )
                for d in rows
            ],
            kept=[members[sample_id] for sample_id in kept_ids if sample_id in members],
        )
        for group, rows, kept_ids in picked
    ]


def prune_class_changes(prune_run: PruneRun) -> list[dict[str, Any]]:
    """Per (label, split) of the source version: members before, kept and removed by the run."""
    cache_key = f"winnow:prune-class-changes:{prune_run.pk}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    kept = PruneDecision.objects.filter(prune_run=prune_run, sample_id=OuterRef("sample_id"), keep=True)
    rows = (
        VersionSample.objects.filter(version_id=prune_run.version_id)
        .annotate(kept=Exists(kept))
        .values("label", "split", "kept")
        .annotate(n=Count("pk"))
        .order_by("label", "split")
    )
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = table.setdefault((row["label"], row["split"]), {"label": row["label"], "split": row["split"]})
        entry["kept" if row["kept"] else "removed"] = entry.get("kept" if row["kept"] else "removed", 0) + row["n"]
    changes = [
        {**entry, "kept": entry.get("kept", 0), "removed": entry.get("removed", 0)}
        | {"before": entry.get("kept", 0) + entry.get("removed", 0)}
        for entry in table.values()
    ]
    cache.set(cache_key, changes, timeout=None)
    return changes


def budget_arrays(prune_run: PruneRun) -> dict[str, np.ndarray]:
    """The run's per-cluster budgets; none when it has no file or the file is gone from storage (the page then
    shows "No data." for the chart instead of failing: the decisions, which the rest of the page reads, are rows)."""
    if not prune_run.budgets_key:
        return {}
    try:
        return dict(arrays_load(prune_run.budgets_key))
    except FileNotFoundError:
        logger.warning("prune run %s: budgets file %s is missing from storage", prune_run.pk, prune_run.budgets_key)
        return {}


def budget_figure(prune_run: PruneRun) -> dict[str, Any]:
    """Plotly stacked bars per cluster: kept (the budget N_j) and removed; clusters by complexity, most complex left."""
    arrays = budget_arrays(prune_run)
    if "sizes" not in arrays:
        return figure([])
    sizes, kept = arrays["sizes"].astype(np.int64), arrays["budgets"].astype(np.int64)
    order = np.argsort(-arrays["complexity"], kind="stable") if "complexity" in arrays else np.argsort(-sizes)
    names = [f"#{int(i)}" for i in order]
    hover = "%{x}: %{y} %{fullData.name}<extra></extra>"
    traces = [
        {"type": "bar", "name": "kept", "x": names, "y": kept[order].tolist(), "marker": {"color": KEPT_COLOR}},
        {
            "type": "bar",
            "name": "removed",
            "x": names,
            "y": (sizes - kept)[order].tolist(),
            "marker": {"color": REMOVED_COLOR},
        },
    ]
    for trace in traces:
        trace["hovertemplate"] = hover
    if "complexity" in arrays:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "complexity C",
                "x": names,
                "y": arrays["complexity"][order].round(5).tolist(),
                "yaxis": "y2",
                "line": {"color": INK, "width": 1.5},
            }
        )
    return figure(
        traces,
        barmode="stack",
        bargap=0.05,
        xaxis={
            "title": {"text": "Cluster (most complex first)"},
            "type": "category",
            "showticklabels": len(names) <= 60,
        },
        yaxis={"title": {"text": "Samples"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "C"}, "overlaying": "y", "side": "right", "showgrid": False},
    )


def sweep_figure(prune_run: PruneRun) -> dict[str, Any]:
    """Plotly line: kept fraction for each eps of the sweep (log x), the run's own eps marked."""
    if not prune_run.sweep:
        return figure([])
    points = sorted(prune_run.sweep, key=lambda p: p["eps"])
    used = prune_run.params.get("eps")
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "kept fraction",
        "x": [p["eps"] for p in points],
        "y": [p["kept_fraction"] for p in points],
        "customdata": [p["n_kept"] for p in points],
        "hovertemplate": "eps %{x}: keeps %{customdata} (%{y:.1%})<extra></extra>",
        "marker": {"color": [REMOVED_COLOR if p["eps"] == used else KEPT_COLOR for p in points], "size": 9},
    }
    return figure(
        [trace],
        showlegend=False,
        xaxis={"title": {"text": "eps (remove when similarity > 1 - eps)"}, "type": "log"},
        yaxis={"title": {"text": "Kept fraction"}, "tickformat": ".0%", "rangemode": "tozero"},
    )
