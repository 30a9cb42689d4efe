"""Who may call what: one row per named URL of the project, checked for every role (docs/ARCHITECTURE.md §9).

The test walks the whole URLconf, so a new URL that has no row here FAILS with
"add <name> to the permission matrix". To add a row, put an entry in PERMISSION_MATRIX keyed by
the URL name (with its namespace, e.g. "frontend:dataset_detail"):

    "api-job-cancel": [post(CURATOR, lambda w: {"job_id": w.job.pk})],

- `get(min_role, kwargs)` / `post(...)` / `delete(...)`: the method, the least role allowed
  (ANONYMOUS < NO_ROLE < VIEWER < REVIEWER < CURATOR < ADMIN; every higher role is allowed too)
  and a function that builds the URL kwargs from the `World` fixture below (add rows there if
  your URL needs another object).
- Several entries per name check several methods (e.g. a page read by viewers, posted by curators).
- POSTs send `data` (default empty): a 400 for an invalid payload counts as allowed, because
  permissions are checked before validation.

Allowed means: not 401/403, no redirect to the login page, no 5xx. Denied means: 403 for a
signed-in user; for anonymous, a redirect to login on pages and 401/403 with a structured error
body on the API. Django admin (its own staff checks), static files and the login/logout views
are not in the matrix.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from core.roles import Role
from jobs.models import Job
from tests.curation.pruning.factories import pruning_world
from tests.curation.review.factories import item_kwargs, proposal_run_kwargs, queue_kwargs
from tests.factories import DatasetVersionFactory, ExportFactory, UserFactory, VersionSampleFactory
from tests.url_inventory import Route, project_routes

ANONYMOUS, NO_ROLE, VIEWER, REVIEWER, CURATOR, ADMIN = "anonymous", "no_role", "viewer", "reviewer", "curator", "admin"
ROLE_LADDER = (ANONYMOUS, NO_ROLE, VIEWER, REVIEWER, CURATOR, ADMIN)
NOT_IN_MATRIX_PREFIXES = ("admin/", "accounts/", settings.STATIC_URL.lstrip("/"))


@dataclass
class World:
    """One of each object a URL may point at."""

    dataset: Any
    version: Any
    sample: Any
    job: Any
    export: Any = None


@dataclass(frozen=True)
class Access:
    method: str
    min_role: str
    kwargs: Callable[[World], dict[str, Any]] = field(default=lambda world: {})
    data: dict[str, Any] = field(default_factory=dict)


def get(min_role: str, kwargs: Callable[[World], dict[str, Any]] | None = None) -> Access:
    return Access("GET", min_role, kwargs or (lambda world: {}))


def post(min_role: str, kwargs: Callable[[World], dict[str, Any]] | None = None, data: dict | None = None) -> Access:
    return Access("POST", min_role, kwargs or (lambda world: {}), data or {})


def delete(min_role: str, kwargs: Callable[[World], dict[str, Any]] | None = None) -> Access:
    return Access("DELETE", min_role, kwargs or (lambda world: {}))


def dataset_kwargs(world: World) -> dict[str, Any]:
    return {"dataset_id": world.dataset.pk}


def version_kwargs(world: World) -> dict[str, Any]:
    return {"version_id": world.version.pk}


def sample_kwargs(world: World) -> dict[str, Any]:
    return {"sample_id": world.sample.pk}


def job_kwargs(world: World) -> dict[str, Any]:
    return {"job_id": world.job.pk}


def page_version_kwargs(world: World) -> dict[str, Any]:
    return {"dataset_id": world.dataset.pk, "number": world.version.number}


def embedding_set_kwargs(world: World) -> dict[str, Any]:
    """An embedding set of the world's version (not ready: reads answer 409, which counts as allowed)."""
    from curation.embeddings.models import EmbeddingSet

    embedding_set, _ = EmbeddingSet.objects.get_or_create(
        version=world.version, encoder_name="permission-matrix", defaults={"dataset": world.dataset}
    )
    return {"embedding_set_id": embedding_set.pk}


def duplicate_run_kwargs(world: World) -> dict[str, Any]:
    from curation.embeddings.models import DuplicateRun

    embedding_set_id = embedding_set_kwargs(world)["embedding_set_id"]
    run, _ = DuplicateRun.objects.get_or_create(
        embedding_set_id=embedding_set_id,
        version=world.version,
        defaults={"threshold": 0.99, "threshold_source": "user"},
    )
    return {"run_id": run.pk}


def embedding_map_kwargs(world: World) -> dict[str, Any]:
    """A map whose points file is missing: its pages answer 409, which counts as allowed."""
    from curation.embeddings.models import EmbeddingMap

    embedding_set_id = embedding_set_kwargs(world)["embedding_set_id"]
    embedding_map, _ = EmbeddingMap.objects.get_or_create(
        embedding_set_id=embedding_set_id, defaults={"method": "pca", "points_key": "absent.npz", "point_count": 0}
    )
    return {"map_id": embedding_map.pk}


def spurious_report_kwargs(world: World) -> dict[str, Any]:
    """A spurious-feature report on the world's version (its job queued, no results: the page shows the status)."""
    from explain.spurious.models import SpuriousReport
    from tests.robustness.factories import TrainedModelFactory

    report = SpuriousReport.objects.filter(version=world.version).first() or SpuriousReport.objects.create(
        trained_model=TrainedModelFactory(run__version=world.version), version=world.version, split="train"
    )
    return {"report_id": report.pk}


def slice_report_kwargs(world: World) -> dict[str, Any]:
    """A failure-slice report on the world's version (its job queued, no slices yet: a slice page answers 404)."""
    from explain.slices.models import SliceReport
    from tests.robustness.factories import TrainedModelFactory

    report = SliceReport.objects.filter(version=world.version).first() or SliceReport.objects.create(
        trained_model=TrainedModelFactory(run__version=world.version), version=world.version, split="test"
    )
    return {"report_id": report.pk}


def confidence_report_kwargs(world: World) -> dict[str, Any]:
    """A confidence report (a generic report row) on the world's version (its job queued, no summary yet)."""
    from robustness.reports.models import ModelReport
    from tests.robustness.factories import TrainedModelFactory

    report = ModelReport.objects.filter(version=world.version, kind="confidence_report").first()
    report = report or ModelReport.objects.create(
        kind="confidence_report", trained_model=TrainedModelFactory(run__version=world.version), version=world.version
    )
    return {"report_id": report.pk}


def training_run_kwargs(world: World) -> dict[str, Any]:
    """A training run on the world's version (queued, no checkpoint yet: a download answers 404, allowed)."""
    from robustness.models import TrainingRun
    from tests.robustness.factories import TrainingRunFactory

    run = TrainingRun.objects.filter(job=world.job).first() or TrainingRunFactory(version=world.version, job=world.job)
    return {"run_id": run.pk}


def trained_model_kwargs(world: World) -> dict[str, Any]:
    from tests.robustness.factories import TrainedModelFactory

    return {"trained_model_id": TrainedModelFactory(run__version=world.version).pk}


def evaluation_run_kwargs(world: World) -> dict[str, Any]:
    """An evaluation run on the world's version (its job queued, no results yet: the report shows the status)."""
    from robustness.evaluation.models import EvaluationRun
    from tests.robustness.factories import TrainedModelFactory

    run = EvaluationRun.objects.filter(version=world.version).first() or EvaluationRun.objects.create(
        trained_model=TrainedModelFactory(run__version=world.version), version=world.version, suites=["clean"]
    )
    return {"run_id": run.pk}


def explanation_run_kwargs(world: World) -> dict[str, Any]:
    """An explanation run on the world's version with one sample row whose pictures are not stored (404, allowed)."""
    from explain.models import ExplanationRun, SampleExplanation
    from tests.robustness.factories import TrainedModelFactory

    run = ExplanationRun.objects.filter(version=world.version).first()
    if run is None:
        trained = TrainedModelFactory(run__version=world.version)
        run = ExplanationRun.objects.create(
            trained_model=trained, model_name=trained.name, model_arch=trained.arch, model_classes=trained.classes,
            model_img_size=trained.img_size, version=world.version, target_layer="body.blocks.3", split="test",
        )  # fmt: skip
        SampleExplanation.objects.create(
            run=run, sample=world.sample, label="cat", predicted="cat", explained_class="cat", confidence=0.9,
            correct=True, has_mask=False, raw_key="absent.npz", raw_index=0, input_key="absent-input.png",
            heatmap_key="absent-heatmap.png", overlay_key="absent-overlay.png",
        )  # fmt: skip
    return {"run_id": run.pk}


def explanation_raw_maps_kwargs(world: World) -> dict[str, Any]:
    return {**explanation_run_kwargs(world), "file_name": "absent.npz"}


def explanation_image_kwargs(world: World) -> dict[str, Any]:
    return {**explanation_run_kwargs(world), "sample_id": world.sample.pk, "kind": "overlay"}


def _synthetic_batch_kwargs(world: World) -> dict[str, Any]:
    from tests.curation.synthetic.factories import synthetic_batch_kwargs

    return synthetic_batch_kwargs(world)


def _synthetic_image_kwargs(world: World) -> dict[str, Any]:
    from tests.curation.synthetic.factories import synthetic_image_kwargs

    return synthetic_image_kwargs(world)


PERMISSION_MATRIX: dict[str, list[Access]] = {
    # API: auth, self, schema
    "api-token": [post(ANONYMOUS)],
    "api-token-revoke": [post(NO_ROLE)],
    "api-me": [get(NO_ROLE)],
    "schema": [get(ANONYMOUS)],
    "swagger-ui": [get(ANONYMOUS)],
    # API: curation reads
    "api-dataset-list": [get(VIEWER)],
    "api-dataset-detail": [get(VIEWER, dataset_kwargs), delete(CURATOR, dataset_kwargs)],
    "api-version-list": [get(VIEWER, dataset_kwargs)],
    "api-version-detail": [get(VIEWER, version_kwargs), delete(CURATOR, version_kwargs)],
    "api-run-delete": [delete(CURATOR, lambda w: {"kind": "prune_run", "run_id": pruning_world(w).prune_run.pk})],
    "api-deletion-list": [get(CURATOR)],
    "api-sample-list": [get(VIEWER, version_kwargs)],
    "api-sample-detail": [get(VIEWER, sample_kwargs)],
    # API: imports (an empty payload is refused with 400 after the permission check)
    "api-dataset-import": [post(CURATOR)],
    # API: jobs. The world's job was requested by nobody here: only an admin may cancel another's job.
    "api-job-list": [get(VIEWER)],
    "api-job-detail": [get(VIEWER, job_kwargs)],
    "api-job-cancel": [post(ADMIN, job_kwargs)],
    # API: exports (curators; an export is its requester's or an admin's, and the world's was requested by nobody)
    "api-version-export-create": [post(CURATOR, version_kwargs)],
    "api-export-list": [get(CURATOR)],
    "api-export-detail": [get(ADMIN, lambda w: {"export_id": w.export.pk})],
    "api-export-download": [get(ADMIN, lambda w: {"export_id": w.export.pk, "file_name": "manifest.jsonl"})],
    # Pages: exports (an empty export form is re-rendered with its errors)
    "frontend:version_export": [get(CURATOR, page_version_kwargs), post(CURATOR, page_version_kwargs)],
    "frontend:export_list": [get(CURATOR)],
    # API and page: mask sets of a version (viewers read; curators start an estimate_masks job)
    "api-mask-set-list": [get(VIEWER, version_kwargs)],
    "api-mask-set-start": [post(CURATOR, version_kwargs)],
    "frontend:version_masks": [get(VIEWER, page_version_kwargs), post(CURATOR, page_version_kwargs)],
    # API: clusters and pruning (starting and applying need curate; an empty start payload is refused with 400)
    "api-cluster-run-start": [post(CURATOR)],
    "api-cluster-run-detail": [get(VIEWER, lambda w: {"cluster_run_id": pruning_world(w).cluster_run.pk})],
    "api-version-cluster-runs": [get(VIEWER, version_kwargs)],
    "api-prune-methods": [get(VIEWER)],
    "api-prune-run-start": [post(CURATOR)],
    "api-prune-run-detail": [get(VIEWER, lambda w: {"prune_run_id": pruning_world(w).prune_run.pk})],
    "api-prune-run-decisions": [get(VIEWER, lambda w: {"prune_run_id": pruning_world(w).prune_run.pk})],
    "api-prune-run-apply": [post(CURATOR, lambda w: {"prune_run_id": pruning_world(w).prune_run.pk})],
    "api-version-prune-runs": [get(VIEWER, version_kwargs)],
    "api-version-diff": [get(VIEWER, lambda w: {"version_id": w.version.pk, "other_id": w.version.pk})],
    # Pages: clusters, pruning and version diffs (reading needs view; starting a run or applying one, curate)
    "frontend:pruning_index": [get(VIEWER)],
    "frontend:cluster_runs": [get(VIEWER, page_version_kwargs), post(CURATOR, page_version_kwargs)],
    "frontend:cluster_detail": [get(VIEWER, lambda w: {"cluster_run_id": pruning_world(w).cluster_run.pk, "index": 0})],
    "frontend:prune_start": [get(VIEWER, page_version_kwargs), post(CURATOR, page_version_kwargs)],
    "frontend:prune_run_detail": [get(VIEWER, lambda w: {"prune_run_id": pruning_world(w).prune_run.pk})],
    "frontend:prune_run_apply": [post(CURATOR, lambda w: {"prune_run_id": pruning_world(w).prune_run.pk})],
    "frontend:version_diff": [
        get(VIEWER, lambda w: {"dataset_id": w.dataset.pk, "before": w.version.number, "after": w.version.number})
    ],
    # Pages: datasets and samples
    "frontend:dataset_list": [get(VIEWER)],
    "frontend:dataset_detail": [get(VIEWER, dataset_kwargs)],
    "frontend:sample_grid": [get(VIEWER, page_version_kwargs)],
    "frontend:sample_detail": [get(VIEWER, lambda w: {**page_version_kwargs(w), **sample_kwargs(w)})],
    # Pages: import form (an empty form is re-rendered with its errors)
    "frontend:dataset_import": [get(CURATOR), post(CURATOR)],
    # Pages: jobs (cancel: the requester or an admin; the world's job was requested by nobody)
    "frontend:job_list": [get(VIEWER)],
    "frontend:job_detail": [get(VIEWER, job_kwargs)],
    "frontend:job_cancel": [post(ADMIN, job_kwargs)],
    # Pages: sample media
    "frontend:sample_image": [get(VIEWER, sample_kwargs)],
    "frontend:sample_thumbnail": [get(VIEWER, sample_kwargs)],
    "frontend:sample_mask": [get(VIEWER, sample_kwargs)],
    "frontend:sample_mask_overlay": [get(VIEWER, sample_kwargs)],
    # API: embeddings (reads for viewers; starting a job for curators)
    "api-embedding-set-list": [get(VIEWER)],
    "api-embedding-set-detail": [get(VIEWER, embedding_set_kwargs)],
    "api-embedding-neighbours": [get(VIEWER, embedding_set_kwargs)],
    "api-embedding-text-search": [get(VIEWER, embedding_set_kwargs)],
    "api-embedding-set-create": [post(CURATOR, version_kwargs)],
    "api-embedding-map-create": [post(CURATOR, embedding_set_kwargs)],
    "api-duplicate-run-create": [post(CURATOR, embedding_set_kwargs)],
    "api-duplicate-run-detail": [get(VIEWER, duplicate_run_kwargs)],
    "api-duplicate-groups": [get(VIEWER, duplicate_run_kwargs)],
    # Pages: embeddings (a selection is read-only, so viewers may POST its ids; starting jobs needs curate)
    "frontend:embedding_set_index": [get(VIEWER)],
    "frontend:embeddings": [get(VIEWER, page_version_kwargs), post(CURATOR, page_version_kwargs)],
    "frontend:embedding_search": [get(VIEWER, embedding_set_kwargs)],
    "frontend:embedding_map": [get(VIEWER, embedding_map_kwargs)],
    "frontend:embedding_map_points": [get(VIEWER, embedding_map_kwargs)],
    "frontend:duplicate_run": [get(VIEWER, duplicate_run_kwargs)],
    "frontend:duplicate_run_keep_one": [post(CURATOR, duplicate_run_kwargs)],
    "frontend:sample_selection": [get(VIEWER, page_version_kwargs), post(VIEWER, page_version_kwargs)],
    "frontend:grid_selection_version": [post(CURATOR, page_version_kwargs)],
    "frontend:grid_selection_label": [post(REVIEWER, page_version_kwargs)],
    "frontend:grid_selection_map": [get(VIEWER, page_version_kwargs)],
    "frontend:grid_selection_tag": [post(CURATOR, page_version_kwargs)],
    "frontend:sample_similar": [get(VIEWER, lambda w: {**page_version_kwargs(w), **sample_kwargs(w)})],
    # Training (reads for viewers; starting a run needs run_gpu_jobs: admins. Empty payloads answer 400)
    "api-training-run-start": [post(ADMIN)],
    "api-training-run-list": [get(VIEWER)],
    "api-training-run-detail": [get(VIEWER, training_run_kwargs)],
    "api-trained-model-list": [get(VIEWER)],
    "api-trained-model-detail": [get(VIEWER, trained_model_kwargs)],
    "frontend:training_run_list": [get(VIEWER)],
    "frontend:training_run_start": [post(ADMIN)],
    "frontend:training_run_detail": [get(VIEWER, training_run_kwargs)],
    "frontend:training_checkpoint": [get(VIEWER, lambda w: {**training_run_kwargs(w), "which": "best"})],
    # API and pages: evaluations (start: admins; an empty payload is refused with 400 after the permission check)
    "api-evaluation-list": [get(VIEWER)],
    "api-evaluation-start": [post(ADMIN)],
    "api-evaluation-detail": [get(VIEWER, evaluation_run_kwargs)],
    "frontend:evaluation_list": [get(VIEWER)],
    "frontend:evaluation_start": [get(ADMIN), post(ADMIN)],
    "frontend:evaluation_compare": [get(VIEWER)],
    "frontend:evaluation_report": [get(VIEWER, evaluation_run_kwargs)],
    "frontend:evaluation_example": [get(VIEWER, lambda w: {**evaluation_run_kwargs(w), "name": "clean/none"})],
    # API: label proposals and review queues (reads for viewers; votes for reviewers assigned to the queue — the
    # world's queue has every user assigned; queues, apply and the taxonomy for curators; empty payloads answer 400)
    "api-proposal-run-start": [post(CURATOR)],
    "api-proposal-run-detail": [get(VIEWER, proposal_run_kwargs)],
    "api-version-proposal-runs": [get(VIEWER, version_kwargs)],
    "api-review-queue-list": [get(VIEWER)],
    "api-review-queue-create": [post(CURATOR, version_kwargs)],
    "api-review-queue-detail": [get(VIEWER, queue_kwargs)],
    "api-review-queue-reviewers": [post(CURATOR, queue_kwargs)],
    "api-review-queue-next": [get(REVIEWER, queue_kwargs)],
    "api-review-undo": [post(REVIEWER, queue_kwargs)],
    "api-review-queue-release": [post(REVIEWER, queue_kwargs)],
    "api-review-vote-list": [get(VIEWER, queue_kwargs)],
    "api-review-bulk-vote": [post(REVIEWER, queue_kwargs)],
    "api-review-disagreement-queue": [post(CURATOR, queue_kwargs)],
    "api-review-queue-apply": [post(CURATOR, queue_kwargs)],
    "api-review-item-detail": [get(VIEWER, item_kwargs)],
    "api-review-vote-cast": [post(REVIEWER, item_kwargs)],
    "api-review-item-submit": [post(REVIEWER, item_kwargs)],
    "api-review-item-skip": [post(REVIEWER, item_kwargs)],
    "api-taxonomy": [get(VIEWER, dataset_kwargs)],
    "api-taxonomy-change": [post(CURATOR, dataset_kwargs)],
    # Pages: review (reviewers work in queues they are assigned to; curators create, assign and apply)
    "frontend:review_queue_list": [get(VIEWER)],
    "frontend:review_queue_create": [get(CURATOR), post(CURATOR)],
    "frontend:review_proposal_start": [post(CURATOR)],
    "frontend:review_queue_detail": [get(VIEWER, queue_kwargs)],
    "frontend:review_queue_apply": [post(CURATOR, queue_kwargs)],
    "frontend:review_queue_disagreements": [post(CURATOR, queue_kwargs)],
    "frontend:review_queue_reviewers": [post(CURATOR, queue_kwargs)],
    "frontend:review_work": [get(REVIEWER, queue_kwargs)],
    "frontend:review_item": [get(REVIEWER, item_kwargs)],
    "frontend:review_bulk_label": [post(REVIEWER, queue_kwargs)],
    "frontend:review_taxonomy": [get(VIEWER, dataset_kwargs), post(CURATOR, dataset_kwargs)],
    # --- Grad-CAM explanations (explain app): rows go here ---
    # Start: admins (run_gpu_jobs; an empty payload is refused with 400 after the permission check); reads: viewers.
    "api-explanation-list": [get(VIEWER)],
    "api-explanation-start": [post(ADMIN)],
    "api-explanation-detail": [get(VIEWER, explanation_run_kwargs)],
    "api-explanation-samples": [get(VIEWER, explanation_run_kwargs)],
    "api-explanation-raw-maps": [get(VIEWER, explanation_raw_maps_kwargs)],
    "frontend:explanation_list": [get(VIEWER)],
    "frontend:explanation_start": [get(ADMIN), post(ADMIN)],
    "frontend:explanation_compare": [get(VIEWER)],
    "frontend:explanation_report": [get(VIEWER, explanation_run_kwargs)],
    "frontend:explanation_gallery": [get(VIEWER, explanation_run_kwargs)],
    "frontend:explanation_image": [get(VIEWER, explanation_image_kwargs)],
    # --- Spurious-feature reports (explain.spurious): rows go here ---
    # Start: admins (run_gpu_jobs; an empty payload is refused with 400 after the permission check); reads: viewers.
    "api-spurious-report-list": [get(VIEWER)],
    "api-spurious-report-start": [post(ADMIN)],
    "api-spurious-report-detail": [get(VIEWER, spurious_report_kwargs)],
    "frontend:spurious_report_list": [get(VIEWER)],
    "frontend:spurious_report_start": [get(ADMIN), post(ADMIN)],
    "frontend:spurious_report": [get(VIEWER, spurious_report_kwargs)],
    "frontend:spurious_report_example": [get(VIEWER, lambda w: {**spurious_report_kwargs(w), "name": "0/0/0/edited"})],
    # --- Failure slices (explain.slices): rows go here ---
    # Start and re-score: admins (run_gpu_jobs; empty payloads answer 400); reads: viewers; slice to queue: curators.
    "api-slice-report-list": [get(VIEWER)],
    "api-slice-report-start": [post(ADMIN)],
    "api-slice-report-detail": [get(VIEWER, slice_report_kwargs)],
    "api-slice-score-start": [post(ADMIN, slice_report_kwargs)],
    "frontend:slice_report_list": [get(VIEWER)],
    "frontend:slice_report_start": [get(ADMIN), post(ADMIN)],
    "frontend:slice_report": [get(VIEWER, slice_report_kwargs)],
    "frontend:slice_score_start": [post(ADMIN, slice_report_kwargs)],
    "frontend:slice_detail": [get(VIEWER, lambda w: {**slice_report_kwargs(w), "number": 0})],
    "frontend:slice_review_queue": [post(CURATOR, lambda w: {**slice_report_kwargs(w), "number": 0})],
    "frontend:slice_synthetic_plan": [post(CURATOR, lambda w: {**slice_report_kwargs(w), "number": 0})],
    "frontend:slice_evaluation_start": [post(ADMIN, slice_report_kwargs)],
    # --- Generic reports (robustness.reports: URLs generated per kind): start admins, reads viewers ---
    "api-confidence-report-list": [get(VIEWER)],
    "api-confidence-report-start": [post(ADMIN)],
    "api-confidence-report-detail": [get(VIEWER, confidence_report_kwargs)],
    "frontend:confidence_report_list": [get(VIEWER)],
    "frontend:confidence_report_start": [get(ADMIN), post(ADMIN)],
    "frontend:confidence_report": [get(VIEWER, confidence_report_kwargs)],
    # --- Synthetic counter-examples (curation.synthetic): rows go here ---
    # API and pages: synthetic counter-examples (reads for viewers; generating, reviewing and applying for curators;
    # empty payloads answer 400, the matrix batch has nothing approved so apply answers 400 too)
    "api-synthetic-batch-create": [post(CURATOR, version_kwargs)],
    "api-synthetic-batch-list": [get(VIEWER)],
    "api-synthetic-batch": [get(VIEWER, _synthetic_batch_kwargs)],
    "api-synthetic-batch-images": [get(VIEWER, _synthetic_batch_kwargs)],
    "api-synthetic-batch-review": [post(CURATOR, _synthetic_batch_kwargs)],
    "api-synthetic-batch-apply": [post(CURATOR, _synthetic_batch_kwargs)],
    "api-synthetic-image-review": [post(CURATOR, _synthetic_image_kwargs)],
    "frontend:synthetic_batch_list": [get(VIEWER)],
    "frontend:synthetic_batch_new": [get(CURATOR), post(CURATOR)],
    "frontend:synthetic_batch_detail": [get(VIEWER, _synthetic_batch_kwargs)],
    "frontend:synthetic_batch_review": [get(CURATOR, _synthetic_batch_kwargs)],
    "frontend:synthetic_batch_bulk": [post(CURATOR, _synthetic_batch_kwargs)],
    "frontend:synthetic_batch_apply": [post(CURATOR, _synthetic_batch_kwargs)],
}


def routes_in_scope() -> list[Route]:
    return [r for r in project_routes() if not r.route.startswith(NOT_IN_MATRIX_PREFIXES)]


@pytest.fixture
def world(db) -> World:
    version = DatasetVersionFactory(number=1, sample_count=1)
    member = VersionSampleFactory(version=version)
    job = Job.objects.create(kind="import", params={"dataset_id": version.dataset_id})
    export = ExportFactory(version=version)  # requested by nobody: another user's export for every role
    return World(dataset=version.dataset, version=version, sample=member.sample, job=job, export=export)


@pytest.fixture
def clients(db) -> dict[str, Client]:
    """A client signed in as each role (the admin role by group, neither staff nor superuser)."""
    by_role = {ANONYMOUS: Client(raise_request_exception=False)}
    signed_in = [
        (NO_ROLE, None),
        (VIEWER, Role.VIEWER),
        (REVIEWER, Role.REVIEWER),
        (CURATOR, Role.CURATOR),
        (ADMIN, Role.ADMIN),
    ]
    for name, role in signed_in:
        client = Client(raise_request_exception=False)
        client.force_login(UserFactory(role=role))
        by_role[name] = client
    return by_role


def send(client: Client, access: Access, url: str, *, is_api: bool) -> Any:
    if access.method == "GET":
        return client.get(url)
    if is_api:
        return client.generic(access.method, url, json.dumps(access.data), content_type="application/json")
    return client.generic(access.method, url, access.data, content_type="application/x-www-form-urlencoded")


def redirects_to_login(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL))


def has_structured_error(response: Any) -> bool:
    try:
        return bool(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return False


def verdict(response: Any, *, role: str, allowed: bool, is_api: bool) -> str | None:
    """None when the response matches the expectation, else what went wrong."""
    status = response.status_code
    if allowed:
        if status in (401, 403) or redirects_to_login(response) or status >= 500:
            return f"expected allowed, got {status}"
        return None
    if role == ANONYMOUS and not is_api:
        return None if redirects_to_login(response) else f"expected a redirect to login, got {status}"
    expected = (401, 403) if role == ANONYMOUS else (403,)
    if status not in expected:
        return f"expected {' or '.join(map(str, expected))}, got {status}"
    if is_api and not has_structured_error(response):
        return f"{status} without a structured error body"
    return None


def test_every_url_enforces_its_minimum_role(world, clients):
    routes = routes_in_scope()
    unnamed = [f"give the URL pattern {r.route!r} a name" for r in routes if r.name is None]
    unlisted = [f"add {r.name} to the permission matrix" for r in routes if r.name and r.name not in PERMISSION_MATRIX]
    if unnamed or unlisted:
        pytest.fail("\n".join(unnamed + unlisted) + "\n(see the docstring of tests/test_permission_matrix.py)")

    failures = []
    for route in routes:
        is_api = route.route.startswith("api/")
        for access in PERMISSION_MATRIX[route.name]:
            url = reverse(route.name, kwargs=access.kwargs(world))
            for rank, role in enumerate(ROLE_LADDER):
                response = send(clients[role], access, url, is_api=is_api)
                allowed = rank >= ROLE_LADDER.index(access.min_role)
                problem = verdict(response, role=role, allowed=allowed, is_api=is_api)
                if problem:
                    failures.append(f"{route.name}: {access.method} {url} as {role}: {problem}")

    assert failures == [], "\n".join(failures)


def test_matrix_has_no_rows_for_urls_that_no_longer_exist():
    names = {r.name for r in routes_in_scope()}

    stale = sorted(f"remove {name} from the permission matrix" for name in PERMISSION_MATRIX if name not in names)

    assert stale == []


def test_django_admin_sends_non_staff_users_to_its_own_login(clients):
    for role in (ANONYMOUS, CURATOR, ADMIN):
        response = clients[role].get("/admin/")

        assert response.status_code == 302, role
        assert response["Location"] == "/admin/login/?next=/admin/", role


def test_django_admin_opens_for_staff(db):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get("/admin/").status_code == 200
