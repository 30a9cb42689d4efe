"""Sample groups of an evaluation: named, fixed sets of samples (the slices of a failure-slice report) whose
accuracy, with its Wilson 95% interval, is reported next to the overall accuracy (docs/METHODS.md §13).

A group is a set of sample ids, not a rule: a second model evaluated with the same groups is scored on the
same samples, which is what the compare page sets side by side (before and after a fix). Members that the
evaluation set does not hold (another split, a seeded subset, a sample the version dropped) are counted as
missing, never guessed.

robustness sits below explain, so this module knows a group source only by name: the app that makes the sets
registers a resolver in its AppConfig.ready (explain.slices registers "slice_report"), as the sample list's set
filters do (curation.apis.sample_sets). A resolver raises ApplicationError for an id it cannot use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.api_errors import ApplicationError
from curation.models import DatasetVersion
from robustness.ml.metrics import wilson_interval


@dataclass(frozen=True)
class SampleGroup:
    """One group: `key` is stable within its set (a slice's rank number), `name` what the pages show."""

    key: str
    name: str
    sample_ids: tuple[int, ...]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupSet:
    """The groups of one source object (a failure-slice report), in its order."""

    source: str
    id: int
    label: str
    groups: list[SampleGroup]
    info: dict[str, Any] = field(default_factory=dict)


# Source name -> resolver(version evaluated, source id) -> GroupSet; registered by the app that owns the source.
GROUP_SOURCES: dict[str, Callable[[DatasetVersion, int], GroupSet]] = {}
# The evaluation parameter that lists ids of each source.
GROUP_PARAMS = {"slice_reports": "slice_report"}
MAX_GROUP_SETS = 10


def group_ids_check(name: str, value: Any) -> list[int]:
    """A parameter listing source ids: distinct positive integers, at most MAX_GROUP_SETS (invalid_params)."""
    values = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise ApplicationError(f"{name} must be a list of ids.", code="invalid_params", details={"field": name})
    ids = list(dict.fromkeys(values))
    if len(ids) > MAX_GROUP_SETS:
        raise ApplicationError(f"{name}: at most {MAX_GROUP_SETS} ids.", code="invalid_params", details={"field": name})
    return ids


def group_sets_resolve(*, version: DatasetVersion, params: dict[str, Any]) -> list[GroupSet]:
    """The group sets a run's params name, resolved against the version it evaluates (ApplicationError if not)."""
    sets: list[GroupSet] = []
    for name, source in GROUP_PARAMS.items():
        ids = params.get(name) or []
        if not ids:
            continue
        resolver = GROUP_SOURCES.get(source)
        if resolver is None:
            raise ApplicationError(
                f"{name}: {source.replace('_', ' ')}s are not available in this installation.",
                code="invalid_params", details={"field": name},
            )  # fmt: skip
        sets.extend(resolver(version, int(source_id)) for source_id in ids)
    return sets


def _group_result(group: SampleGroup, position: dict[int, int], correct: np.ndarray) -> dict[str, Any]:
    rows = np.array([position[s] for s in group.sample_ids if s in position], dtype=np.int64)
    hits = int(correct[rows].sum()) if rows.size else 0
    low, high = wilson_interval(hits, int(rows.size))
    return {
        "key": group.key, "name": group.name, **group.info, "members": len(group.sample_ids), "count": int(rows.size),
        "correct": hits, "accuracy": hits / rows.size if rows.size else None,
        "ci_low": low if rows.size else None, "ci_high": high if rows.size else None,
        "missing": len(group.sample_ids) - int(rows.size),
    }  # fmt: skip


def group_set_results(group_sets: list[GroupSet], sample_ids: np.ndarray, correct: np.ndarray) -> list[dict[str, Any]]:
    """Per set, each group's accuracy on the evaluated samples it holds (Wilson 95%), and its worst group."""
    position = {int(s): i for i, s in enumerate(sample_ids)}
    results = []
    for group_set in group_sets:
        groups = [_group_result(group, position, correct) for group in group_set.groups]
        scored = [g for g in groups if g["count"]]
        worst = min(scored, key=lambda g: (g["accuracy"], -g["count"]), default=None)
        results.append(
            {
                "source": group_set.source, "id": group_set.id, "label": group_set.label, **group_set.info,
                "groups": groups, "worst_group": worst and worst["key"],
                "worst_accuracy": worst and worst["accuracy"],
            }
        )  # fmt: skip
    return results
