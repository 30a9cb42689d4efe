"""A populated database for the every-page browser test: one run of every kind, made by the real jobs in this
process (tiny models), over samples whose image, thumbnail and mask files exist in storage.

The version holds two classes of coloured squares with masks (tests/robustness/evaluation/conftest.py), in
train, val and test. Over it: an embedding set of the tiny open_clip saved to disk, a duplicate run, a PCA map,
a cluster run, a prune run (not applied: the dataset page shows its newest version, which must be this one),
label proposals and a review queue with a vote, a small CNN trained
for 2 epochs (its curves), an evaluation with every suite, Grad-CAM maps, a spurious-feature report, a
failure-slice report, a confidence report (a generic report), estimated masks, a synthetic batch (compositing)
and an export.
"""

from dataclasses import dataclass

from curation.embeddings.models import EmbeddingSet
from curation.embeddings.services.duplicates import duplicate_params_validate
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, map_params_validate
from curation.exports.services import export_create_inline
from curation.masks.services.mask_sets import mask_set_start
from curation.models import DatasetVersion
from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.params import cluster_params_validate, prune_params_validate
from curation.pruning.services.pruning import prune_run_create
from curation.review.services.proposal_params import proposal_params_validate
from curation.review.services.proposals import proposal_run_create
from curation.review.services.queues import review_queue_create
from curation.synthetic.services.plans import plan_params_validate, synthetic_batch_create
from explain.services.runs import explanation_run_create
from explain.slices.services import slice_report_create
from explain.spurious.services import spurious_report_create
from jobs.models import Job, JobStatus
from jobs.runs.services import run_create
from jobs.services import job_create, job_execute
from robustness.evaluation.services import evaluation_run_create
from robustness.models import TrainedModel
from robustness.services.training import training_run_start
from tests.curation.embeddings.conftest import embed
from tests.factories import DatasetFactory, DatasetVersionFactory
from tests.robustness.evaluation.conftest import add_member

SPLITS = {"train": 6, "val": 2, "test": 4}  # per class
CLASSES = ["cat", "dog"]


@dataclass(frozen=True)
class Populated:
    version: DatasetVersion
    embedding_set: EmbeddingSet
    model: TrainedModel


def succeeded(job: Job) -> Job:
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error)
    return job


def run_job(kind: str, params: dict, user) -> Job:
    return succeeded(job_execute(job_create(kind=kind, params=params, requested_by=user).pk))


def populate(admin, encoder_name: str) -> Populated:
    dataset = DatasetFactory(name="populated", classes=CLASSES)
    version = DatasetVersionFactory(dataset=dataset, number=1)
    index = 0
    for split, per_class in SPLITS.items():
        for label in CLASSES:
            for _ in range(per_class):
                add_member(version, label=label, split=split, index=index)
                index += 1
    version.refresh_from_db()

    embedding_set = embed(version, encoder_name)
    run_job("find_duplicates", duplicate_params_validate(embedding_set_id=embedding_set.pk).as_job_params(), admin)
    run_job(EMBEDDING_MAP_JOB_KIND, map_params_validate(embedding_set_id=embedding_set.pk).as_job_params(), admin)
    cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=2)
    )
    prune_params = prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5)
    prune_run_create(params=prune_params)
    proposal_run_create(params=proposal_params_validate(version_id=version.pk, source="confident_learning"))
    review_queue_create(version=version, name="populated queue", reviewer_ids=[admin.pk], user=admin)

    training = training_run_start(
        version=version, arch="small-cnn", requested_by=admin, epochs=2, batch_size=8, lr=3e-3, img_size=32,
        device="cpu", augmentation="none", enqueue=False,
    )  # fmt: skip
    succeeded(job_execute(training.job_id))
    model = TrainedModel.objects.get(run=training)
    evaluation = evaluation_run_create(
        trained_model=model, version=version, suites=["clean", "corruptions", "adversarial", "attributes"],
        params={"device": "cpu", "corruptions": ["fog"], "severities": [1], "eps": [0.0, 2 / 255],
                "edits": ["null", "background_swap"]},
        requested_by=admin, enqueue=False,
    )  # fmt: skip
    succeeded(job_execute(evaluation.job_id))
    explanation = explanation_run_create(
        trained_model=model, version=version, params={"device": "cpu"}, requested_by=admin, enqueue=False
    )
    succeeded(job_execute(explanation.job_id))
    spurious = spurious_report_create(
        trained_model=model, version=version, params={"device": "cpu", "min_support": 2, "swaps_per_image": 2},
        requested_by=admin, enqueue=False,
    )  # fmt: skip
    succeeded(job_execute(spurious.job_id))
    slices = slice_report_create(
        trained_model=model, version=version, params={"device": "cpu", "min_size": 2}, requested_by=admin, enqueue=False
    )
    succeeded(job_execute(slices.job_id))
    confidence = run_create(
        kind="confidence_report", requested_by=admin, enqueue=False, trained_model=model, version=version,
        params={"device": "cpu"},
    )  # fmt: skip
    succeeded(job_execute(confidence.job_id))
    masks = mask_set_start(version=version, provider="estimated", requested_by=admin, enqueue=False)
    succeeded(job_execute(masks.job_id))
    batch = synthetic_batch_create(
        params=plan_params_validate(version_id=version.pk, mode="composite", per_class=1), user=admin
    )
    run_job("synthetic_generate", {"batch_id": batch.pk}, admin)
    export = export_create_inline(version=version, format="imagefolder-zip", options=None, requested_by=admin)
    succeeded(job_execute(export.job_id))
    return Populated(version=version, embedding_set=embedding_set, model=model)
