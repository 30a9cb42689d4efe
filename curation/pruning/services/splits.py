"""Which members a prune run may remove: those of the chosen splits (train only unless the user widens it).

Members of the other splits (evaluation data, by default) are never a method's candidates: they are
kept with reason OUTSIDE_PRUNED_SPLITS and copied into the applied version like any kept member.
The mask over the members comes from one count per split and, only when some members are outside
the chosen splits, one query for the ids of the smaller side; no Python object per member.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Count

from core.api_errors import ApplicationError
from curation.ml.clustering import ClusterAssignment
from curation.ml.pruning import PruneReason, PruneResult
from curation.models import DatasetVersion, Split, VersionSample

SPLITS: tuple[str, ...] = tuple(Split.values)  # train, val, test, unassigned
DEFAULT_SPLITS: tuple[str, ...] = (Split.TRAIN.value,)
CLASS_LOSS_WARNING_SHARE = 0.5


def splits_normalize(splits: Iterable[str]) -> tuple[str, ...]:
    """The chosen splits in canonical order, without repeats; ApplicationError `invalid_splits` otherwise."""
    chosen = {splits} if isinstance(splits, str) else {str(name) for name in splits}
    unknown = sorted(chosen - set(SPLITS))
    if unknown:
        raise ApplicationError(
            f"Unknown split {', '.join(map(repr, unknown))}; choose among {', '.join(SPLITS)}.", code="invalid_splits"
        )
    if not chosen:
        raise ApplicationError(f"Choose at least one split to prune ({', '.join(SPLITS)}).", code="invalid_splits")
    return tuple(name for name in SPLITS if name in chosen)


def version_split_counts(version: DatasetVersion) -> dict[str, int]:
    """Members per split (splits without members left out), in canonical order."""
    rows = VersionSample.objects.filter(version=version).values("split").annotate(n=Count("sample_id"))
    counts = {row["split"]: int(row["n"]) for row in rows.order_by()}
    return {name: counts[name] for name in SPLITS if counts.get(name)}


def splits_check(*, version: DatasetVersion, splits: tuple[str, ...] | None) -> tuple[str, ...]:
    """The splits to prune (`None`: train only); refused when they hold no member of the version.

    Raises ApplicationError `no_samples_in_splits`, naming the splits present.
    """
    chosen = DEFAULT_SPLITS if splits is None else splits_normalize(splits)
    counts = version_split_counts(version)
    if sum(counts.get(name, 0) for name in chosen) > 0:
        return chosen
    present = ", ".join(f"{name} ({n:,})" for name, n in counts.items()) or "none"
    if splits is None:
        message = (
            f"Version {version.pk} has no train samples (splits present: {present}). Pruning never touches "
            "other splits by default: choose the splits to prune explicitly."
        )
    else:
        message = f"Version {version.pk} has no samples in {', '.join(chosen)} (splits present: {present})."
    raise ApplicationError(message, code="no_samples_in_splits", details={"splits_present": counts})


@dataclass(frozen=True, eq=False)
class SplitScope:
    """Members of a version inside the pruned splits: `mask` over the member order, None when all are."""

    splits: tuple[str, ...]
    counts: dict[str, int]  # members per split, whole version
    mask: np.ndarray | None

    @property
    def outside(self) -> dict[str, int]:
        return {name: n for name, n in self.counts.items() if name not in self.splits}


def split_scope(*, version: DatasetVersion, sample_ids: np.ndarray, splits: Sequence[str]) -> SplitScope:
    """Which of `sample_ids` (the version's members, ascending) lie in `splits`."""
    chosen = tuple(splits)
    counts = version_split_counts(version)
    n_inside = sum(n for name, n in counts.items() if name in chosen)
    if n_inside == sample_ids.size:
        return SplitScope(chosen, counts, None)
    inside_smaller = n_inside <= sample_ids.size - n_inside
    members = VersionSample.objects.filter(version=version)
    members = members.filter(split__in=chosen) if inside_smaller else members.exclude(split__in=chosen)
    ids = np.fromiter(members.values_list("sample_id", flat=True).iterator(chunk_size=50_000), dtype=np.int64)
    mask = np.isin(sample_ids, ids, assume_unique=True)
    return SplitScope(chosen, counts, mask if inside_smaller else ~mask)


def cluster_assignment_subset(clusters: ClusterAssignment, mask: np.ndarray) -> ClusterAssignment:
    """A reused cluster run restricted to the pruned members (centroids unchanged, sizes recounted)."""
    labels = clusters.labels[mask]
    sizes = np.bincount(labels, minlength=clusters.centroids.shape[0]).astype(np.int64)
    return ClusterAssignment(clusters.centroids, labels, clusters.dist_to_centroid[mask], sizes, int(labels.size))


def result_over_members(result: PruneResult, mask: np.ndarray) -> PruneResult:
    """A result computed on the members in `mask` spread over all members: the others kept, reason outside."""
    n = mask.size
    rows = np.flatnonzero(mask)
    keep = np.ones(n, dtype=bool)
    keep[rows] = result.keep
    reason = np.full(n, PruneReason.OUTSIDE_PRUNED_SPLITS, dtype=np.int8)
    reason[rows] = result.reason
    score = np.full(n, np.nan, dtype=np.float32)
    score[rows] = result.score
    cluster = None
    if result.cluster is not None:
        cluster = np.full(n, -1, dtype=np.int64)
        cluster[rows] = result.cluster
    duplicate_of = None
    if result.duplicate_of is not None:
        duplicate_of = np.full(n, -1, dtype=np.int64)
        duplicate_of[rows] = np.where(result.duplicate_of >= 0, rows[np.maximum(result.duplicate_of, 0)], -1)
    return PruneResult(
        method=result.method,
        params=result.params,
        keep=keep,
        reason=reason,
        score=score,
        cluster=cluster,
        duplicate_of=duplicate_of,
        cluster_budgets=result.cluster_budgets,
        stages=result.stages,
    )


def class_losses(
    *, label_codes: np.ndarray, label_names: list[str], keep: np.ndarray, in_scope: np.ndarray | None
) -> dict[str, tuple[int, int]]:
    """{label: (members in the pruned splits, removed)} from per-member label codes and decisions."""
    codes = label_codes if in_scope is None else label_codes[in_scope]
    kept = keep if in_scope is None else keep[in_scope]
    before = np.bincount(codes, minlength=len(label_names))
    removed = np.bincount(codes[~kept], minlength=len(label_names))
    return {label_names[i]: (int(before[i]), int(removed[i])) for i in np.flatnonzero(before)}


def class_loss_warnings(
    losses: dict[str, tuple[int, int]], *, share: float = CLASS_LOSS_WARNING_SHARE, most: int = 10
) -> list[str]:
    """One sentence per class that loses more than `share` of its members (the `most` hardest hit; then a count)."""
    hit = [(removed / before, label, before, removed) for label, (before, removed) in losses.items()]
    hit = sorted((entry for entry in hit if entry[3] > share * entry[2]), key=lambda entry: (-entry[0], entry[1]))
    warnings = [
        f"Class {label or '(unlabelled)'!r} loses {removed:,} of its {before:,} samples in the pruned splits "
        f"({lost:.0%}); check that this is intended before applying."
        for lost, label, before, removed in hit[:most]
    ]
    if len(hit) > most:
        warnings.append(f"{len(hit) - most:,} more classes lose more than half of their samples in the pruned splits.")
    return warnings


def keep_explanation(
    *,
    method: str,
    keep_fraction: float | None,
    scope_counts: tuple[int, int],
    outside: dict[str, int],
    target: object = None,
    dbp_candidates: int | None = None,
) -> str:
    """One line: the fraction asked for, the number kept, and why they differ.

    `scope_counts` is (candidates in the pruned splits, kept among them); `target` the SemDeDup keep_target, if any;
    `dbp_candidates` what the DBP stage of semdedup+dbp was given (the earlier stages' survivors).
    """
    n_pruned, n_kept = scope_counts
    n_outside = sum(outside.values())
    total = n_pruned + n_outside
    where = "the pruned splits" if n_outside else "the version"
    parts = []
    if keep_fraction is None:
        parts.append(f"{method} kept {n_kept:,} of {n_pruned:,} samples in {where} (eps decides, no keep fraction)")
    elif isinstance(target, dict) and not target.get("target_met", True):
        parts.append(
            f"keep {keep_fraction:g} asked for {int(target['n_target']):,} of {n_pruned:,}; {method} kept "
            f"{n_kept:,}: exact copies make {keep_fraction:g} unreachable (at most {int(target['n_reachable']):,})"
        )
    elif method in ("dbp", "semdedup+dbp"):
        n_dbp = n_pruned if dbp_candidates is None else dbp_candidates
        head = f"{method} keeps floor({keep_fraction:g} × {n_dbp:,}) = {math.floor(keep_fraction * n_dbp):,}"
        if method == "semdedup+dbp":
            head = (
                f"{method}: the dedup stages keep {n_dbp:,} of {n_pruned:,}, then DBP keeps "
                f"floor({keep_fraction:g} × {n_dbp:,}) = {math.floor(keep_fraction * n_dbp):,}"
            )
        parts.append(f"{head}; kept {n_kept:,} of {n_pruned:,} in {where}")
    else:
        parts.append(f"keep {keep_fraction:g} of {n_pruned:,} in {where}: {method} kept {n_kept:,}")
    if n_outside:
        names = ", ".join(f"{n:,} {name}" for name, n in outside.items())
        parts.append(f"{names} samples were not pruned, so {n_kept + n_outside:,} of {total:,} are kept")
        parts[-1] += f" ({(n_kept + n_outside) / total:.3f})"
    return "; ".join(parts) + "."
