"""Two versions of a dataset compared: members per class and split before and after, and a chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.figures import BLUE, GREY, figure
from curation.models import DatasetVersion, Split
from curation.selectors import version_class_counts


@dataclass(frozen=True)
class DiffRow:
    label: str
    split: str
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class VersionDiff:
    before: DatasetVersion
    after: DatasetVersion
    rows: list[DiffRow]  # per (label, split), taxonomy order, splits in Split order

    def totals(self) -> tuple[int, int]:
        return sum(r.before for r in self.rows), sum(r.after for r in self.rows)

    def per_label(self) -> list[tuple[str, int, int]]:
        merged: dict[str, list[int]] = {}
        for row in self.rows:
            counts = merged.setdefault(row.label, [0, 0])
            counts[0] += row.before
            counts[1] += row.after
        return [(label, before, after) for label, (before, after) in merged.items()]


def version_diff(*, before: DatasetVersion, after: DatasetVersion) -> VersionDiff:
    """Counts per (primary label, split) in both versions (each from the cached per-version counts)."""
    counts_before, counts_after = version_class_counts(before), version_class_counts(after)
    keys = {(label, split) for counts in (counts_before, counts_after) for split in counts for label in counts[split]}
    classes = before.dataset.classes or []
    label_rank = {name: i for i, name in enumerate(classes)}
    split_rank = {name: i for i, name in enumerate(Split.values)}
    ordered = sorted(keys, key=lambda k: (label_rank.get(k[0], len(classes)), k[0], split_rank.get(k[1], 9)))
    rows = [
        DiffRow(label, split, counts_before.get(split, {}).get(label, 0), counts_after.get(split, {}).get(label, 0))
        for label, split in ordered
    ]
    return VersionDiff(before, after, rows)


def diff_figure(diff: VersionDiff) -> dict[str, Any]:
    """Plotly grouped bars: members per label in the two versions."""
    per_label = diff.per_label()
    names = [label or "(unlabeled)" for label, _, _ in per_label]
    traces = [
        {
            "type": "bar",
            "name": f"v{diff.before.number}",
            "x": names,
            "y": [before for _, before, _ in per_label],
            "marker": {"color": GREY},
        },
        {
            "type": "bar",
            "name": f"v{diff.after.number}",
            "x": names,
            "y": [after for _, _, after in per_label],
            "marker": {"color": BLUE},
        },
    ]
    return figure(
        traces if per_label else [],
        barmode="group",
        xaxis={"title": {"text": "Primary label"}, "type": "category"},
        yaxis={"title": {"text": "Samples"}, "rangemode": "tozero"},
    )
