# Over 300 lines: the find_duplicates job's params, thresholds, calibration warnings and stored groups are one
# pipeline, step after step.
"""The `find_duplicates` job: exact groups (aliases), near duplicates (the same photo) and semantic ones.

Exact duplicates were already merged at import (one sample, one alias per file name), so an exact
group is a member of the version with several distinct file names. Near duplicates are copies of one
photo (re-encoded, resized, shifted or cropped a little, recoloured): candidates come from the
embedding search, tuned for recall (cosine at or above a candidate threshold below the calibrated
one, at most CANDIDATE_NEIGHBOURS per image), and a candidate is a copy when its pixel verification
score (curation.ml.similarity.verify) reaches the verification threshold. Near groups are the
connected components of the verified pairs. Candidates at or above the cosine threshold that the
pixels do not confirm are "semantic" near duplicates (similar content, what SemDeDup removes), kept in
their own groups and never mixed with copies. Both thresholds are calibrated once per embedding set
(services/duplicate_calibration.py) and reused; each pair keeps its cosine and its pixel score.
When more than SEPARATION_WARNING of the sampled images' nearest neighbours reach the cosine threshold,
the encoder cannot tell copies from neighbours: the run says so (warnings) and only the pixel
verification decides. Pairs are searched exactly up to 50k rows and within k-means cells beyond, with
the recall of the cell search measured against the exact search on a sample of rows. The run and its
groups are written in one transaction when the job ends, so a failed or cancelled job leaves nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from core.api_errors import ApplicationError
from core.bulk_rows import columns_write
from core.params import param, params_from_data
from curation.embeddings.files import CorruptEmbeddingFile
from curation.embeddings.ml.calibration import DEFAULT_TARGET
from curation.embeddings.models import (
    DuplicateCalibration,
    DuplicateGroup,
    DuplicateKind,
    DuplicateMember,
    DuplicateRun,
    EmbeddingSet,
    EmbeddingSetStatus,
)
from curation.embeddings.selectors import embedding_set_arrays
from curation.embeddings.services.duplicate_calibration import duplicate_calibration_get_or_compute
from curation.embeddings.services.duplicate_truth import demo_truth_metrics
from curation.embeddings.services.duplicate_verification import verification_thumbnails_read
from curation.models import SampleAlias
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed
from jobs.services import job_submit

if TYPE_CHECKING:  # FAISS and torch load when the job runs, not when the duplicates API is imported
    from curation.ml.similarity import DuplicateGroup as FoundGroup

FIND_DUPLICATES_JOB_KIND = "find_duplicates"
DEFAULT_CALIBRATION_IMAGES = 100
METHODS = ("auto", "exact", "cells")
CANDIDATE_NEIGHBOURS = 5
SEPARATION_WARNING = 0.05  # share of nearest neighbours at or above the cosine threshold


def _cosine_param(what: str, help_text: str, label: str) -> Any:
    return param(
        None,
        min=-1.0,
        max=1.0,
        code="invalid",
        message="{name} is a " + what + " between -1 and 1, got {value}",
        label=label,
        help=help_text,
        default_text="calibrated",
    )


@dataclass(frozen=True)
class DuplicateParams:
    """What a find_duplicates job needs, declared once (core.params): the API, the page form and
    `manage.py find_duplicates` come from here. Thresholds left empty are calibrated on perturbed copies
    of the set's own images, once per set, and reused unless `recalibrate`."""

    embedding_set_id: int = param(
        name="embedding_set", cli="embedding_set_id", api=False, help="Id of a ready embedding set (see embed)."
    )
    threshold: float | None = _cosine_param(
        "cosine", "Cosine of semantic near duplicates and of near-duplicate candidates.", "Near-duplicate cosine"
    )
    target: float = param(
        DEFAULT_TARGET,
        min=0.5,
        max=1.0,
        code="invalid",
        message="{name} must lie between 0.5 and 1, got {value}",
        label="Calibration target",
        help="Share of perturbed pairs the calibrated thresholds must catch.",
    )
    calibration_images: int = param(
        DEFAULT_CALIBRATION_IMAGES,
        min=1,
        max=10_000,
        code="invalid",
        message="{name} must lie between 1 and 10000, got {value}",
        label="Calibration images",
        help="Images perturbed for the calibration.",
    )
    method: str = param(
        "auto",
        choices=METHODS,
        code="invalid",
        message="{name} must {verb} {bounds}, got {value!r}",
        label="Pair search",
        help="auto: exact up to 50k rows, k-means cells beyond; exact; cells.",
    )
    seed: int = param(0, label="Seed", help="Seed of the calibration's perturbations and of the cells.")
    verify_threshold: float | None = _cosine_param("score", "Pixel verification score of a copy.", "Verification score")
    flips: bool = param(False, label="Mirrored copies", help="A mirrored image counts as a copy.")
    recalibrate: bool = param(
        False, label="Recalibrate", help="Calibrate again instead of reusing the set's stored calibration."
    )

    def as_job_params(self) -> dict[str, Any]:
        return asdict(self)


def duplicate_params_validate(**given: Any) -> DuplicateParams:
    """Keyword arguments as DuplicateParams (None: the default). ApplicationError: not_found (404),
    not_ready (409), invalid (a value out of range; details name the field)."""
    params = params_from_data(DuplicateParams, given)
    embedding_set = EmbeddingSet.objects.filter(pk=params.embedding_set_id).first()
    if embedding_set is None:
        raise ApplicationError(
            f"embedding set {params.embedding_set_id} does not exist", code="not_found", status_code=404
        )
    if embedding_set.status != EmbeddingSetStatus.READY:
        message = f"embedding set {params.embedding_set_id} is {embedding_set.status}, not ready"
        raise ApplicationError(message, code="not_ready", status_code=409)
    return params


def duplicate_run_submit(*, params: DuplicateParams, requested_by: User | None) -> Job:
    return job_submit(kind=FIND_DUPLICATES_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)


def duplicates_job(ctx: JobContext) -> dict[str, Any]:
    """The `find_duplicates` job (params: DuplicateParams). Returns the run id, thresholds and counts, the
    calibration (and whether it was reused), warnings, the search's recall on a sample, and precision/recall
    against the demo truth when there is one."""
    from curation.embeddings.ml.near_duplicates import cell_search_recall, near_duplicate_pairs  # noqa: PLC0415 - faiss: loaded on first use, not at start-up
    from curation.ml.similarity import duplicate_groups  # noqa: PLC0415 - faiss: loaded on first use, not at start-up
    from curation.ml.similarity.verify import pair_scores  # noqa: PLC0415 - cv2, faiss: loaded on first use, not at start-up

    params = DuplicateParams(**{k: v for k, v in ctx.params.items() if k in DuplicateParams.__dataclass_fields__})
    embedding_set = EmbeddingSet.objects.select_related("version").filter(pk=params.embedding_set_id).first()
    if embedding_set is None or embedding_set.status != EmbeddingSetStatus.READY:
        raise JobFailed(f"embedding set {params.embedding_set_id} is missing or not ready")
    try:
        arrays = embedding_set_arrays(embedding_set)
    except (CorruptEmbeddingFile, FileNotFoundError) as exc:
        raise JobFailed(str(exc))
    ctx.progress(0, 3, "calibrating the thresholds on perturbed copies (or reusing the set's calibration)")
    calibration, cached = duplicate_calibration_get_or_compute(
        embedding_set=embedding_set, arrays=arrays, params=params, ctx=ctx
    )
    thresholds = _thresholds(params, calibration)
    ctx.progress(1, 3, f"searching candidate pairs with cosine >= {thresholds['candidate']:.4f}")
    search = near_duplicate_pairs(arrays.embeddings, thresholds["candidate"], method=params.method)
    ctx.check_cancelled()
    recall: dict[str, float | int] = {}
    if search.method == "cells":  # what the cell search missed, measured against exact search on a sample
        recall = cell_search_recall(arrays.embeddings, search, thresholds["candidate"], seed=params.seed)
    rows_a, rows_b, cosines = _best_candidates(search.rows_a, search.rows_b, search.scores, CANDIDATE_NEIGHBOURS)
    ctx.progress(2, 3, f"verifying {len(cosines)} candidate pairs on their pixels")
    used = np.unique(np.concatenate([rows_a, rows_b]))
    thumbs, readable = verification_thumbnails_read(arrays.row_ids[used])
    local_a, local_b = np.searchsorted(used, rows_a), np.searchsorted(used, rows_b)
    pixels = pair_scores(thumbs, local_a, local_b, flips=params.flips)
    pixels = np.where(readable[local_a] & readable[local_b], pixels, np.float32(-1.0))
    copies = pixels >= thresholds["verify"]
    semantic = ~copies & (cosines >= thresholds["cosine"])
    ids_a, ids_b = arrays.row_ids[rows_a], arrays.row_ids[rows_b]
    found = duplicate_groups(ids_a[copies], ids_b[copies], cosines[copies])
    similar = duplicate_groups(ids_a[semantic], ids_b[semantic], cosines[semantic])
    pixel_of = {(int(a), int(b)): float(p) for a, b, p in zip(ids_a, ids_b, pixels, strict=True)}
    search_summary: dict[str, Any] = {"method": search.method, "pairs": len(search.scores), "seconds": search.seconds}
    search_summary |= search.details | {"recall": recall, "candidates": len(cosines), "verified": int(copies.sum())}
    summary = {"calibration": calibration, "cached": cached, "search": search_summary, "thresholds": thresholds}
    run = _run_save(ctx.job, embedding_set, params, summary, found, similar, pixel_of, arrays.row_ids)
    return duplicate_run_result(run)


def _thresholds(params: DuplicateParams, calibration: DuplicateCalibration) -> dict[str, Any]:
    """cosine (semantic near duplicates), candidate (search, at most the cosine one), verify (pixels), sources."""
    cosine = params.threshold if params.threshold is not None else calibration.embedding["threshold"]
    candidate = min(float(cosine), float(calibration.embedding.get("candidate_threshold", cosine)))
    verify = params.verify_threshold if params.verify_threshold is not None else calibration.verification["threshold"]
    return {
        "cosine": float(cosine),
        "candidate": candidate,
        "verify": float(verify),
        "source": "user" if params.threshold is not None else "calibrated",
    }


def _best_candidates(
    rows_a: np.ndarray, rows_b: np.ndarray, scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs among the ``k`` best of either of their rows (a copy is among an image's nearest few; a
    crowd of look-alikes does not make every pair of it a candidate)."""
    if len(scores) == 0:
        return rows_a, rows_b, scores
    ends = np.concatenate([rows_a, rows_b])
    both = np.concatenate([scores, scores])
    order = np.lexsort((-both, ends))
    sorted_ends = ends[order]
    first = np.searchsorted(sorted_ends, sorted_ends, side="left")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    keep = (rank[: len(scores)] < k) | (rank[len(scores) :] < k)
    return rows_a[keep], rows_b[keep], scores[keep]


def _separation_warnings(calibration: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, str]]:
    flagged = float(calibration.get("neighbours_flagged", 0.0))
    if thresholds["source"] != "calibrated" or flagged <= SEPARATION_WARNING:
        return []
    message = (
        f"The encoder cannot separate copies from neighbours: {flagged:.0%} of the sampled images' nearest other "
        f"image reach the cosine threshold {thresholds['cosine']:.4f} that catches {calibration['caught']:.0%} of "
        "perturbed copies. Near duplicates are decided by pixel verification only; semantic groups are similar "
        "content, not copies."
    )
    return [{"code": "encoder_cannot_separate", "message": message}]


def _exact_groups(embedding_set: EmbeddingSet, sample_ids: set[int]) -> list[tuple[int, list[str]]]:
    """(sample id, file names) of embedded samples imported under several names."""
    names: dict[int, list[str]] = {}
    aliases = SampleAlias.objects.filter(sample__memberships__version_id=embedding_set.version_id)
    for sample_id, name in aliases.order_by("sample_id", "id").values_list("sample_id", "original_name"):
        if sample_id in sample_ids and name not in names.setdefault(sample_id, []):
            names[sample_id].append(name)
    return [(sample_id, found) for sample_id, found in sorted(names.items()) if len(found) > 1]


@transaction.atomic
def _run_save(
    job: Job,
    embedding_set: EmbeddingSet,
    params: DuplicateParams,
    summary: dict[str, Any],
    found: list[FoundGroup],
    similar: list[FoundGroup],
    pixel_of: dict[tuple[int, int], float],
    row_ids: np.ndarray,
) -> DuplicateRun:
    """The run and all its groups, in one transaction: near groups by size (largest first), then semantic
    ones, then exact ones."""
    embedded = set(row_ids.tolist())
    exact = _exact_groups(embedding_set, embedded)
    near = sorted(found, key=lambda group: (-len(group.ids), group.ids))
    semantic = sorted(similar, key=lambda group: (-len(group.ids), group.ids))
    calibration: DuplicateCalibration = summary["calibration"]
    thresholds = summary["thresholds"]
    run = DuplicateRun.objects.create(
        embedding_set=embedding_set,
        version_id=embedding_set.version_id,
        job=job,
        params=params.as_job_params(),
        threshold=thresholds["cosine"],
        threshold_source=thresholds["source"],
        verify_threshold=thresholds["verify"],
        calibration=calibration.embedding
        | {
            "cached": summary["cached"],
            "calibration_id": calibration.pk,
            "copies_embedded": calibration.copies_embedded,
            "seconds": calibration.seconds,
            "candidate_threshold": thresholds["candidate"],
            "verification": calibration.verification,
        },
        search=summary["search"],
        warnings=_separation_warnings(calibration.embedding, thresholds),
        truth=demo_truth_metrics(
            version=embedding_set.version, near_groups=near, exact_groups=exact, embedded=embedded
        ),
        exact_group_count=len(exact),
        near_group_count=len(near),
        near_duplicate_samples=sum(len(group.ids) for group in near),
        semantic_group_count=len(semantic),
        members_stored=True,
    )
    numbered = [(DuplicateKind.NEAR, group) for group in near] + [(DuplicateKind.SEMANTIC, g) for g in semantic]
    rows = [
        DuplicateGroup(
            run=run,
            number=number,
            kind=kind,
            size=len(group.ids),
            sample_ids=list(group.ids),
            pairs=[[a, b, round(score, 6), round(pixel_of.get((a, b), -1.0), 4)] for a, b, score in group.pairs],
            max_similarity=max(score for _, _, score in group.pairs),
        )
        for number, (kind, group) in enumerate(numbered, start=1)
    ]
    rows += [
        DuplicateGroup(
            run=run,
            number=len(numbered) + number,
            kind=DuplicateKind.EXACT,
            size=len(names),
            sample_ids=[sample_id],
            file_names=names,
            max_similarity=1.0,
        )
        for number, (sample_id, names) in enumerate(exact, start=1)
    ]
    DuplicateGroup.objects.bulk_create(rows, batch_size=2000)
    duplicate_members_write(run, rows)
    return run


def duplicate_members_write(run: DuplicateRun, groups: list[DuplicateGroup]) -> None:
    """One DuplicateMember per (group, sample) of the run; each sample's `largest` row is its biggest group
    (the lowest number among equals), which the grid's sort by group size walks."""
    pairs = sorted(((g.number, g.size, int(i)) for g in groups for i in g.sample_ids), key=lambda p: (-p[1], p[0]))
    largest_seen: set[int] = set()
    largest = []
    for _number, _size, sample_id in pairs:
        largest.append(sample_id not in largest_seen)
        largest_seen.add(sample_id)
    columns_write(
        DuplicateMember,
        {
            "run_id": np.full(len(pairs), run.pk, dtype=np.int64),
            "sample_id": np.array([p[2] for p in pairs], dtype=np.int64),
            "group_number": np.array([p[0] for p in pairs], dtype=np.int32),
            "size": np.array([p[1] for p in pairs], dtype=np.int32),
            "largest": np.array(largest, dtype=bool),
        },
    )


def duplicate_run_result(run: DuplicateRun) -> dict[str, Any]:
    calibration = run.calibration or {}
    verification = calibration.get("verification", {})
    return {
        "duplicate_run": run.pk,
        "embedding_set": run.embedding_set_id,
        "dataset": run.embedding_set.dataset_id,
        "version": run.version_id,
        "threshold": round(run.threshold, 6),
        "threshold_source": run.threshold_source,
        "verify_threshold": round(run.verify_threshold, 6) if run.verify_threshold is not None else None,
        "exact_groups": run.exact_group_count,
        "near_groups": run.near_group_count,
        "near_duplicate_samples": run.near_duplicate_samples,
        "semantic_groups": run.semantic_group_count,
        "warnings": run.warnings,
        "search": run.search,
        "calibration": {k: calibration[k] for k in ("target", "pairs", "caught", "neighbours_flagged", "cached")}
        | {"verification": {k: verification.get(k) for k in ("threshold", "caught", "neighbours_flagged")}}
        if calibration
        else None,
        "truth": run.truth,
    }
