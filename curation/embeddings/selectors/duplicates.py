"""Reads of duplicate runs: runs, keyset pages of groups with their samples, the calibration chart."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from core.figures import BLUE, figure, vertical_line
from curation.embeddings.models import DuplicateGroup, DuplicateRun
from curation.models import VersionSample

PAIR_COLOR = "#d64545"
NEIGHBOUR_COLOR = BLUE


def duplicate_run_list(*, embedding_set_id: int | None = None, version_id: int | None = None) -> QuerySet[DuplicateRun]:
    runs = DuplicateRun.objects.select_related("embedding_set", "version__dataset").order_by("-id")
    if embedding_set_id is not None:
        runs = runs.filter(embedding_set_id=embedding_set_id)
    if version_id is not None:
        runs = runs.filter(version_id=version_id)
    return runs


def duplicate_run_get(run_id: int) -> DuplicateRun | None:
    return duplicate_run_list().filter(pk=run_id).first()


@dataclass(frozen=True)
class GroupMember:
    sample_id: int
    label: str
    split: str
    name: str


@dataclass(frozen=True)
class GroupView:
    group: DuplicateGroup
    members: list[GroupMember]
    pairs: list[tuple[int, int, float, float | None]]  # (sample a, sample b, cosine, pixel score)
    part: int | None = None  # the n-th group the stored group splits into at a higher similarity

    @property
    def size(self) -> int:
        return self.group.size if self.part is None else len(self.members)


@dataclass(frozen=True)
class GroupPage:
    groups: list[GroupView]
    next_after: int | None  # the last group number shown, when there are more


def duplicate_similarity_floor(run: DuplicateRun) -> float:
    """The lowest cosine of a pair the run stored: its threshold, or the candidate threshold of its pixel-verified
    near groups when that is lower. Pairs below it were not stored, so groups cannot be re-formed below it."""
    candidate = run.calibration.get("candidate_threshold") if isinstance(run.calibration, dict) else None
    return min(run.threshold, float(candidate)) if isinstance(candidate, int | float) else run.threshold


def duplicate_group_page(
    *,
    run: DuplicateRun,
    kind: str | None = None,
    after_number: int | None = None,
    size: int = 30,
    min_similarity: float | None = None,
) -> GroupPage:
    """A keyset page of a run's groups (by number: near groups largest first, then semantic, then exact), each with its
    members' label, split and file name in the run's version.

    min_similarity (None: the run's groups as stored): re-form the near and semantic groups from their stored pairs
    with cosine >= min_similarity, without a new job. The run stored every pair at or above its thresholds, so the
    connected components of those pairs are the groups a run at min_similarity would have found (with the same
    pixel verification); a stored group may split into several parts or drop out. A page holds `size` stored groups.
    """
    groups = run.groups.order_by("number")
    if kind:
        groups = groups.filter(kind=kind)
    if min_similarity is not None:
        groups = groups.filter(Q(kind="exact") | Q(max_similarity__gte=min_similarity))
    if after_number is not None:
        groups = groups.filter(number__gt=after_number)
    rows = list(groups[: size + 1])
    shown = rows[:size]
    sample_ids = {sample_id for group in shown for sample_id in group.sample_ids}
    members = {
        member.sample_id: member
        for member in VersionSample.objects.filter(version_id=run.version_id, sample_id__in=sample_ids).select_related(
            "sample"
        )
    }
    views = []
    for group in shown:
        pairs = [(int(pair[0]), int(pair[1]), float(pair[2]), _pixel(pair)) for pair in group.pairs]
        # exact groups, and groups of runs that stored no pairs, cannot be re-formed
        if min_similarity is None or not pairs or min(pair[2] for pair in pairs) >= min_similarity:
            views.append(GroupView(group, [_member(members.get(i), i) for i in group.sample_ids], pairs))
            continue
        parts = _linked_parts([pair for pair in pairs if pair[2] >= min_similarity])
        for part, (part_ids, part_pairs) in enumerate(parts, start=1):
            whole = len(parts) == 1 and len(part_ids) == len(group.sample_ids)  # only weaker pairs left out
            views.append(
                GroupView(group, [_member(members.get(i), i) for i in part_ids], part_pairs, None if whole else part)
            )
    return GroupPage(groups=views, next_after=shown[-1].number if len(rows) > size else None)


def _linked_parts(
    pairs: list[tuple[int, int, float, float | None]],
) -> list[tuple[list[int], list[tuple[int, int, float, float | None]]]]:
    """Connected components of the pairs (union-find): (sample ids ascending, their pairs), by lowest sample id."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b, _score, _pixel_score in pairs:
        parent[root(a)] = root(b)
    members: dict[int, list[int]] = {}
    for node in sorted(parent):
        members.setdefault(root(node), []).append(node)
    return [
        (sample_ids, [pair for pair in pairs if root(pair[0]) == root(sample_ids[0])])
        for sample_ids in sorted(members.values())
    ]


def _pixel(pair: list[Any]) -> float | None:
    """The pair's pixel verification score (runs before verification stored none)."""
    return float(pair[3]) if len(pair) > 3 else None


def _member(member: VersionSample | None, sample_id: int) -> GroupMember:
    if member is None:
        return GroupMember(sample_id=sample_id, label="", split="", name="")
    return GroupMember(sample_id, member.label, member.split, member.sample.original_name)


def duplicate_group_get(*, run: DuplicateRun, number: int) -> DuplicateGroup | None:
    return run.groups.filter(number=number).first()


def sample_duplicate_groups(*, run: DuplicateRun) -> dict[int, int]:
    """sample id -> number of its near-duplicate group in the run (for map colours)."""
    numbers: dict[int, int] = {}
    for number, sample_ids in run.groups.filter(kind="near").values_list("number", "sample_ids"):
        for sample_id in sample_ids:
            numbers[int(sample_id)] = number
    return numbers


def calibration_figure(*, run: DuplicateRun) -> dict[str, Any] | None:
    """Plotly bars: cosine of perturbed pairs vs of each image's nearest neighbour, the threshold as a line."""
    calibration = run.calibration
    if not calibration:
        return None
    edges = calibration["bin_edges"]
    centres = [(low + high) / 2 for low, high in itertools.pairwise(edges)]
    width = edges[1] - edges[0] if len(edges) > 1 else 0.01
    traces = [
        {
            "type": "bar",
            "name": f"perturbed copy vs original ({calibration['pairs']})",
            "x": centres,
            "y": calibration["pair_histogram"],
            "width": width,
            "marker": {"color": PAIR_COLOR},
            "opacity": 0.75,
        },
        {
            "type": "bar",
            "name": f"nearest other image ({calibration['neighbours']})",
            "x": centres,
            "y": calibration["neighbour_histogram"],
            "width": width,
            "marker": {"color": NEIGHBOUR_COLOR},
            "opacity": 0.75,
        },
    ]
    return figure(
        traces,
        barmode="overlay",
        height=300,
        xaxis={"title": {"text": "Cosine similarity"}},
        yaxis={"title": {"text": "Pairs"}, "rangemode": "tozero"},
        shapes=[vertical_line(run.threshold)],
    )
