"""Counts of a version's members (per split and label, per label/split/source, per longest image side), cached
once a version is complete, and the dataset page's plotly figures built from them (core.figures)."""

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import Greatest

from core.figures import BLUE, SPLIT_COLOURS, count_axis, figure
from curation.models import DatasetVersion, Split, VersionSample


def version_class_counts(version: DatasetVersion) -> dict[str, dict[str, int]]:
    """Member counts per split and primary label: {split: {label: count}}, splits then labels in order; "" is the
    unlabeled key.

    Read from `version_stats`, the dataset page's counts: on a cold cache one thread of the process counts while
    the others wait for it (the version API's first requests come together as the grid's do), and the version
    API, the diff page and the grid share one cached computation.
    """
    return version_stats(version=version).split_label_counts()


@dataclass(frozen=True)
class VersionStats:
    """Member counts of one version, computed once (a finished version never changes).

    member_counts: (primary label, split, source) → members; "" is the unlabeled label.
    longest_side_counts: longest image side in pixels → members.
    """

    member_counts: dict[tuple[str, str, str], int]
    longest_side_counts: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.member_counts.values())

    def matching(self, *, label: str | None = None, split: str | None = None, source: str | None = None) -> int:
        """Members matching the filters (as for `sample_list`), without touching the database."""
        return sum(
            count
            for (member_label, member_split, member_source), count in self.member_counts.items()
            if label in (None, member_label) and split in (None, member_split) and source in (None, member_source)
        )

    def split_label_counts(self) -> dict[str, dict[str, int]]:
        """{split: {label: members}}, splits then labels in order (sources summed)."""
        per_split_label: dict[tuple[str, str], int] = {}
        for (label, split, _source), count in self.member_counts.items():
            per_split_label[(split, label)] = per_split_label.get((split, label), 0) + count
        counts: dict[str, dict[str, int]] = {}
        for (split, label), count in sorted(per_split_label.items()):
            counts.setdefault(split, {})[label] = count
        return counts

    def label_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (label, _split, _source), count in self.member_counts.items():
            counts[label] = counts.get(label, 0) + count
        return counts


def version_stats(*, version: DatasetVersion) -> VersionStats:
    """Counts per (label, split, source) and per longest image side for a version.

    Two GROUP BY scans of the version's members; a version is immutable once its `sample_count` is
    written, so the result is cached without expiry when it agrees with `sample_count` (a version
    still being filled is recomputed on the next request instead of caching a partial count).
    """
    cache_key = f"winnow:version-stats:{version.pk}:{version.sample_count}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    with _computing(cache_key):  # one thread of the process counts; the others wait for its result
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
        stats = _version_stats_count(version)
        if stats.total == version.sample_count:
            cache.set(cache_key, stats, timeout=None)
        return stats


_COMPUTING_LOCK = threading.Lock()
_COMPUTING: dict[str, threading.Lock] = {}


def _computing(cache_key: str) -> threading.Lock:
    """The lock of one cached count in this process. On a cold cache (a new worker) the grid's first requests come
    together, and at 1M members each would otherwise run the same GROUP BYs (seconds each) at once: a bench warm-up
    of 20 clients ran them 32 times."""
    with _COMPUTING_LOCK:
        return _COMPUTING.setdefault(cache_key, threading.Lock())


def _version_stats_count(version: DatasetVersion) -> VersionStats:
    members = VersionSample.objects.filter(version=version).order_by()
    grouped = members.values_list("label", "split", "sample__source").annotate(n=Count("pk"))
    sides = (
        members.annotate(longest=Greatest("sample__width", "sample__height"))
        .values_list("longest")
        .annotate(n=Count("pk"))
    )
    return VersionStats(
        member_counts={(label, split, source): n for label, split, source, n in grouped},
        longest_side_counts=dict(sides),
    )


def _label_display_order(*, labels: Iterable[str], classes: list[str]) -> list[str]:
    """The dataset's taxonomy order first, then labels outside it alphabetically, unlabeled last."""
    present = set(labels)
    ordered = [name for name in classes if name in present]
    ordered += sorted(present - set(ordered) - {""})
    return ordered + ([""] if "" in present else [])


def version_label_options(*, stats: VersionStats, classes: list[str]) -> list[tuple[str, int]]:
    """(label, members) for a version's filter menu, in display order."""
    counts = stats.label_counts()
    return [(label, counts[label]) for label in _label_display_order(labels=counts, classes=classes)]


def class_split_figure(*, stats: VersionStats, classes: list[str]) -> dict[str, Any]:
    """Plotly figure: members per primary label, one bar per split (grouped)."""
    per_label_split: dict[tuple[str, str], int] = {}
    for (label, split, _source), count in stats.member_counts.items():
        per_label_split[(label, split)] = per_label_split.get((label, split), 0) + count
    labels = _label_display_order(labels=[label for label, _ in per_label_split], classes=classes)
    splits = [split for split in Split.values if any(s == split for _, s in per_label_split)]
    traces = [
        {
            "type": "bar",
            "name": split,
            "x": [label or "(unlabeled)" for label in labels],
            "y": [per_label_split.get((label, split), 0) for label in labels],
            "marker": {"color": SPLIT_COLOURS[split]},
        }
        for split in splits
    ]
    return figure(
        traces,
        barmode="group",
        xaxis={"title": {"text": "Primary label"}, "type": "category"},
        yaxis=count_axis(max(per_label_split.values(), default=0)),
    )


def _nice_step(raw: float) -> int:
    """The smallest 1, 2 or 5 × 10^k pixels that is at least `raw` (and at least 1)."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= raw:
                return factor * magnitude
        magnitude *= 10


def image_size_figure(*, stats: VersionStats, max_bins: int = 20) -> dict[str, Any]:
    """Plotly figure: histogram of the longest image side, binned server-side into at most
    `max_bins` equal bins of a round width (a bar per bin, empty bins included)."""
    sides = stats.longest_side_counts
    if not sides:
        return figure([])
    low, high = min(sides), max(sides)
    step = _nice_step((high - low + 1) / max_bins)
    start = low // step * step
    counts = [0] * ((high - start) // step + 1)
    for side, count in sides.items():
        counts[(side - start) // step] += count
    edges = [start + index * step for index in range(len(counts))]
    trace = {
        "type": "bar",
        "name": "samples",
        "x": [edge + step / 2 for edge in edges],
        "y": counts,
        "width": [step] * len(counts),
        "customdata": [[edge, edge + step - 1] for edge in edges],
        "hovertemplate": "%{customdata[0]}–%{customdata[1]} px: %{y} samples<extra></extra>",
        "marker": {"color": BLUE, "line": {"color": "#ffffff", "width": 1}},
    }
    return figure(
        [trace],
        showlegend=False,
        bargap=0,
        xaxis={"title": {"text": "Longest side (px)"}},
        yaxis=count_axis(max(counts)),
    )
