"""The `find_duplicates` job: exact groups (aliases), near-duplicate groups at a calibrated threshold.

Exact duplicates were already merged at import (one sample, one alias per file name), so an exact
group is a member of the version with several distinct file names. Near duplicates are the
connected components of the pairs whose cosine reaches the threshold (the user's, or one calibrated
on perturbed copies of the dataset's own images: curation.embeddings.ml.calibration), searched
exactly up to 50k rows and within k-means cells beyond, with the recall of the cell search measured
against the exact search on a sample of rows. The run and its groups are written in one transaction
when the job ends, so a failed or cancelled job leaves nothing behind.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from PIL import Image

from core.api_errors import ApplicationError
from core.storage import blob_read
from curation.embeddings.encoders import EncoderUnavailable, encoder_load
from curation.embeddings.files import CorruptEmbeddingFile
from curation.embeddings.ml.calibration import DEFAULT_TARGET, Calibration, calibrate
from curation.embeddings.ml.perturbations import perturbed_copies
from curation.embeddings.models import DuplicateGroup, DuplicateKind, DuplicateRun, EmbeddingSet, EmbeddingSetStatus
from curation.embeddings.selectors import EmbeddingArrays, embedding_set_arrays, embedding_set_index
from curation.embeddings.services.duplicate_truth import demo_truth_metrics
from curation.models import Sample, SampleAlias
from jobs.models import Job
from jobs.runtime import JobContext, JobFailed

if TYPE_CHECKING:  # FAISS and torch load when the job runs, not when the duplicates API is imported
    from curation.ml.similarity import DuplicateGroup as FoundGroup

FIND_DUPLICATES_JOB_KIND = "find_duplicates"
DEFAULT_CALIBRATION_IMAGES = 100
METHODS = ("auto", "exact", "cells")


@dataclass(frozen=True)
class DuplicateParams:
    """embedding_set_id; threshold: cosine for near duplicates (None: calibrate); target: share of perturbed
    pairs the calibrated threshold must catch (0.99); calibration_images: images perturbed (100);
    method: "auto" (exact up to 50k rows, k-means cells beyond), "exact" or "cells"; seed."""

    embedding_set_id: int
    threshold: float | None = None
    target: float = DEFAULT_TARGET
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES
    method: str = "auto"
    seed: int = 0

    def as_job_params(self) -> dict[str, Any]:
        return asdict(self)


def duplicate_params_validate(
    *,
    embedding_set_id: int,
    threshold: float | None = None,
    target: float = DEFAULT_TARGET,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    method: str = "auto",
    seed: int = 0,
) -> DuplicateParams:
    """ApplicationError: not_found (404), not_ready (409), invalid (a value out of range)."""
    embedding_set = EmbeddingSet.objects.filter(pk=embedding_set_id).first()
    if embedding_set is None:
        raise ApplicationError(f"embedding set {embedding_set_id} does not exist", code="not_found", status_code=404)
    if embedding_set.status != EmbeddingSetStatus.READY:
        message = f"embedding set {embedding_set_id} is {embedding_set.status}, not ready"
        raise ApplicationError(message, code="not_ready", status_code=409)
    if threshold is not None and not -1.0 <= threshold <= 1.0:
        raise ApplicationError(f"threshold is a cosine between -1 and 1, got {threshold}")
    if not 0.5 <= target <= 1.0:
        raise ApplicationError(f"target must lie between 0.5 and 1, got {target}")
    if not 1 <= calibration_images <= 10_000:
        raise ApplicationError(f"calibration_images must lie between 1 and 10000, got {calibration_images}")
    if method not in METHODS:
        raise ApplicationError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return DuplicateParams(embedding_set_id, threshold, target, calibration_images, method, seed)


def duplicate_run_submit(*, params: DuplicateParams, requested_by: User | None) -> Job:
    from jobs.services import job_submit

    return job_submit(kind=FIND_DUPLICATES_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)


def duplicates_job(ctx: JobContext) -> dict[str, Any]:
    """The `find_duplicates` job (params: DuplicateParams). Returns the run id, threshold and counts,
    the search's recall on a sample, and precision/recall against the demo truth when there is one."""
    from curation.embeddings.ml.near_duplicates import cell_search_recall, near_duplicate_pairs  # FAISS: the job only
    from curation.ml.similarity import duplicate_groups

    params = DuplicateParams(**{k: v for k, v in ctx.params.items() if k in DuplicateParams.__dataclass_fields__})
    embedding_set = EmbeddingSet.objects.select_related("version").filter(pk=params.embedding_set_id).first()
    if embedding_set is None or embedding_set.status != EmbeddingSetStatus.READY:
        raise JobFailed(f"embedding set {params.embedding_set_id} is missing or not ready")
    try:
        arrays = embedding_set_arrays(embedding_set)
    except (CorruptEmbeddingFile, FileNotFoundError) as exc:
        raise JobFailed(str(exc))
    steps = 3 if params.threshold is None else 2
    calibration = None
    if params.threshold is None:
        ctx.progress(0, steps, "calibrating the threshold on perturbed copies")
        calibration = duplicate_threshold_calibrate(embedding_set=embedding_set, arrays=arrays, params=params, ctx=ctx)
    threshold = calibration.threshold if calibration is not None else float(params.threshold or 0.0)
    ctx.progress(steps - 2, steps, f"searching pairs with cosine >= {threshold:.4f}")
    search = near_duplicate_pairs(arrays.embeddings, threshold, method=params.method)
    ctx.check_cancelled()
    recall: dict[str, float | int] = {}
    if search.method == "cells":  # what the cell search missed, measured against exact search on a sample
        recall = cell_search_recall(arrays.embeddings, search, threshold, seed=params.seed)
    found = duplicate_groups(arrays.row_ids[search.rows_a], arrays.row_ids[search.rows_b], search.scores)
    ctx.progress(steps - 1, steps, f"{len(found)} near-duplicate groups; writing them")
    search_summary: dict[str, Any] = {"method": search.method, "pairs": len(search.scores), "seconds": search.seconds}
    search_summary |= search.details
    search_summary["recall"] = recall
    run = _run_save(ctx.job, embedding_set, params, threshold, calibration, search_summary, found, arrays.row_ids)
    return duplicate_run_result(run)


def duplicate_threshold_calibrate(
    *, embedding_set: EmbeddingSet, arrays: EmbeddingArrays, params: DuplicateParams, ctx: JobContext | None = None
) -> Calibration:
    """Perturb up to ``params.calibration_images`` of the set's images, embed the copies with the set's encoder,
    and calibrate the threshold on (original, copy) similarities against nearest-neighbour similarities."""
    from curation.ml.embedding import embed_images  # torch: only the job calibrates

    try:
        encoder = encoder_load(embedding_set.encoder_name)
    except EncoderUnavailable as exc:
        raise JobFailed(f"cannot calibrate without the encoder: {exc}")
    rng = np.random.default_rng(params.seed)
    rows = np.sort(rng.choice(len(arrays.row_ids), min(params.calibration_images, len(arrays.row_ids)), False))
    keys = dict(Sample.objects.filter(pk__in=arrays.row_ids[rows].tolist()).values_list("pk", "image_key"))
    items: list[tuple[int, bytes]] = []
    owners: list[int] = []
    kinds: list[str] = []
    for row in rows.tolist():
        try:
            image = Image.open(io.BytesIO(blob_read(keys[int(arrays.row_ids[row])])))
            copies = perturbed_copies(image, seed=params.seed + row)
        except (OSError, KeyError):
            continue  # an image gone from storage since it was embedded: calibrate on the others
        for kind, data in copies:
            items.append((len(items), data))
            owners.append(row)
            kinds.append(kind)

    def report(done: int, total: int) -> None:
        if ctx is not None:
            ctx.progress(done, 3 * total, f"calibration: {done} of {total} perturbed copies embedded")

    embedded = embed_images(encoder, items, num_workers=0, on_batch=report)
    originals = np.asarray(arrays.embeddings[np.asarray(owners)[embedded.ids]], dtype=np.float32)
    pair_scores = np.sum(originals * embedded.embeddings.astype(np.float32), axis=1)
    return calibrate(
        pair_scores,
        [kinds[i] for i in embedded.ids],
        _nearest_neighbour_scores(embedding_set, arrays, rows),
        target=params.target,
    )


def _nearest_neighbour_scores(embedding_set: EmbeddingSet, arrays: EmbeddingArrays, rows: np.ndarray) -> np.ndarray:
    index = embedding_set_index(embedding_set)
    scores, ids = index.search(np.asarray(arrays.embeddings[rows], dtype=np.float32), 2)
    others = ids != arrays.row_ids[rows][:, None]  # the image itself comes first; take the best other
    best = np.where(others[:, 0], scores[:, 0], scores[:, 1])
    return best[np.isfinite(best)]


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
    threshold: float,
    calibration: Calibration | None,
    search: dict[str, Any],
    found: list[FoundGroup],
    row_ids: np.ndarray,
) -> DuplicateRun:
    """The run and all its groups, in one transaction: near groups by size (largest first), then exact ones."""
    embedded = set(row_ids.tolist())
    exact = _exact_groups(embedding_set, embedded)
    near = sorted(found, key=lambda group: (-len(group.ids), group.ids))
    run = DuplicateRun.objects.create(
        embedding_set=embedding_set,
        version_id=embedding_set.version_id,
        job=job,
        params=params.as_job_params(),
        threshold=threshold,
        threshold_source="user" if calibration is None else "calibrated",
        calibration=calibration.as_dict() if calibration is not None else {},
        search=search,
        truth=demo_truth_metrics(
            version=embedding_set.version, near_groups=near, exact_groups=exact, embedded=embedded
        ),
        exact_group_count=len(exact),
        near_group_count=len(near),
        near_duplicate_samples=sum(len(group.ids) for group in near),
    )
    rows = [
        DuplicateGroup(
            run=run,
            number=number,
            kind=DuplicateKind.NEAR,
            size=len(group.ids),
            sample_ids=list(group.ids),
            pairs=[[a, b, round(score, 6)] for a, b, score in group.pairs],
            max_similarity=max(score for _, _, score in group.pairs),
        )
        for number, group in enumerate(near, start=1)
    ]
    rows += [
        DuplicateGroup(
            run=run,
            number=len(near) + number,
            kind=DuplicateKind.EXACT,
            size=len(names),
            sample_ids=[sample_id],
            file_names=names,
            max_similarity=1.0,
        )
        for number, (sample_id, names) in enumerate(exact, start=1)
    ]
    DuplicateGroup.objects.bulk_create(rows, batch_size=2000)
    return run


def duplicate_run_result(run: DuplicateRun) -> dict[str, Any]:
    return {
        "duplicate_run": run.pk,
        "embedding_set": run.embedding_set_id,
        "dataset": run.embedding_set.dataset_id,
        "version": run.version_id,
        "threshold": round(run.threshold, 6),
        "threshold_source": run.threshold_source,
        "exact_groups": run.exact_group_count,
        "near_groups": run.near_group_count,
        "near_duplicate_samples": run.near_duplicate_samples,
        "search": run.search,
        "calibration": {k: run.calibration[k] for k in ("target", "pairs", "caught", "neighbours_flagged")}
        if run.calibration
        else None,
        "truth": run.truth,
    }
