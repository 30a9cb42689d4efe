"""Deleting datasets, versions and runs as a job (curation/deletion): what goes, what stays, who may."""

import json
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from rest_framework.test import APIClient

from core.api_errors import ApplicationError
from core.roles import Role
from curation.deletion.files import KEYS_NOT_OWNED, STORED_FILES
from curation.deletion.models import Deletion
from curation.deletion.plan import DeletionPlan, links_to
from curation.deletion.services import (
    RUN_KINDS,
    dataset_delete_start,
    deletion_run,
    run_delete_start,
    version_delete_start,
)
from curation.embeddings.models import EmbeddingSet
from curation.exports.models import Export
from curation.models import Dataset, DatasetVersion, Sample, SampleAlias, VersionOperation, VersionSample
from curation.pruning.models import Cluster, ClusterRun, PruneDecision, PruneRun
from curation.selectors import dataset_list, dataset_versions
from explain.models import ExplanationRun
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from robustness.evaluation.models import EvaluationRun
from robustness.reports.models import ModelReport
from tests.curation.pruning.factories import embedding_set_create, stored_files
from tests.factories import (
    DatasetFactory,
    DatasetVersionFactory,
    ExportFactory,
    JobFactory,
    SampleFactory,
    UserFactory,
    VersionSampleFactory,
)
from tests.robustness.factories import TrainedModelFactory

PROJECT_PACKAGES = ("core", "jobs", "curation", "robustness", "explain")


def version_of(dataset: Dataset, samples: list[Sample], *, number: int = 1, parent: DatasetVersion | None = None):
    version = DatasetVersionFactory(
        dataset=dataset,
        number=number,
        parent=parent,
        sample_count=len(samples),
        operation=VersionOperation.PRUNE if parent else VersionOperation.IMPORT,
    )
    for sample in samples:
        VersionSampleFactory(version=version, sample=sample, label="cat")
    return version


def sample_blobs(samples: list[Sample]) -> list[str]:
    return [key for s in samples for key in (s.image_key, s.thumbnail_key, s.mask_key) if key]


def run_inline(deletion: Deletion) -> Job:
    return job_execute(deletion.job_id)


@pytest.fixture
def doomed(db):
    """Dataset "doomed": v1 of 6 samples (real blobs, one with a mask, one alias), v2 pruned from it by an
    applied prune run (with its embedding set and cluster run), an export of v1; dataset "other" holds a
    sample with the same bytes as doomed's first (one blob for both)."""
    dataset = DatasetFactory(name="doomed")
    samples = [SampleFactory(dataset=dataset) for _ in range(5)] + [
        SampleFactory(dataset=dataset, mask_box=(2, 2, 9, 9))
    ]
    SampleAlias.objects.create(dataset=dataset, sample=samples[0], original_name="copy.png")
    v1 = version_of(dataset, samples)
    v2 = version_of(dataset, samples[:4], number=2, parent=v1)
    from curation.pruning.services.clustering import cluster_run_create
    from curation.pruning.services.params import cluster_params_validate, prune_params_validate
    from curation.pruning.services.pruning import prune_run_create

    vectors = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    embedding_set = embedding_set_create(version=v1, vectors=vectors)
    cluster_run = cluster_run_create(
        params=cluster_params_validate(version_id=v1.pk, embedding_set_id=embedding_set.pk, n_clusters=1)
    )
    prune_run = prune_run_create(params=prune_params_validate(version_id=v1.pk, method="random", keep_fraction=0.7))
    PruneRun.objects.filter(pk=prune_run.pk).update(resulting_version=v2, status="applied")
    export = ExportFactory(version=v1)
    other = DatasetFactory(name="other")
    shared = SampleFactory(dataset=other, sha256=samples[0].sha256)
    version_of(other, [shared])
    run_files = [
        embedding_set.embeddings_key,
        embedding_set.row_ids_key,
        cluster_run.assignment_key,
        cluster_run.centroids_key,
        *stored_files(f"exports/{export.pk}"),
    ]
    return {
        "dataset": dataset,
        "samples": samples,
        "versions": [v1, v2],
        "embedding_set": embedding_set,
        "cluster_run": cluster_run,
        "prune_run": prune_run,
        "export": export,
        "other": other,
        "shared": shared,
        "run_files": run_files,
    }


def test_a_dataset_is_deleted_with_its_rows_and_the_blobs_no_other_dataset_uses(doomed, curator):
    samples, shared = doomed["samples"], doomed["shared"]
    assert all(default_storage.exists(key) for key in sample_blobs(samples) + doomed["run_files"])

    deletion = dataset_delete_start(dataset=doomed["dataset"], requested_by=curator)
    assert Dataset.objects.get(pk=doomed["dataset"].pk).deleting
    assert list(dataset_list()) == [doomed["other"]]
    job = run_inline(deletion)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"] == {
        "pruning.PruneDecision": 6,
        "pruning.ClusterMember": 6,
        "pruning.Cluster": 1,
        "pruning.PruneRun": 1,
        "pruning.ClusterRun": 1,
        "exports.Export": 1,
        "embeddings.EmbeddingSet": 1,
        "curation.SampleAlias": 1,
        "curation.VersionSample": 10,
        "curation.Sample": 6,
        "curation.DatasetVersion": 2,
        "curation.Dataset": 1,
    }
    assert not Dataset.objects.filter(pk=doomed["dataset"].pk).exists()
    assert not Sample.objects.filter(pk__in=[s.pk for s in samples]).exists()
    assert not DatasetVersion.objects.filter(pk__in=[v.pk for v in doomed["versions"]]).exists()
    assert not VersionSample.objects.filter(version__in=doomed["versions"]).exists()
    for model in (PruneDecision, Cluster, PruneRun, ClusterRun, EmbeddingSet, Export, SampleAlias):
        assert model.objects.count() == 0, model
    # The other dataset is whole, and the blob it shares survives; every other blob and run file is gone.
    assert Sample.objects.get(pk=shared.pk).image_key == samples[0].image_key
    assert VersionSample.objects.filter(sample=shared).count() == 1
    assert {key for key in sample_blobs(samples) if default_storage.exists(key)} == {
        shared.image_key,
        shared.thumbnail_key,
    }
    assert [key for key in doomed["run_files"] if default_storage.exists(key)] == []
    deletion.refresh_from_db()
    assert (deletion.target, deletion.target_id, deletion.target_name) == ("dataset", doomed["dataset"].pk, "doomed")
    assert (deletion.requested_by, deletion.requested_by_name, deletion.status) == (curator, curator.username, "done")
    assert deletion.rows == job.result["rows"]
    assert deletion.files == len(sample_blobs(samples)) - 2 + len(doomed["run_files"])
    assert deletion.finished_at is not None


def test_asking_again_while_the_job_waits_returns_the_same_deletion(doomed, curator, admin_user):
    first = dataset_delete_start(dataset=doomed["dataset"], requested_by=curator)
    again = dataset_delete_start(dataset=doomed["dataset"], requested_by=admin_user)

    assert again.pk == first.pk
    assert Deletion.objects.count() == 1


def test_a_version_others_depend_on_is_refused_with_the_list_of_dependants(doomed, curator):
    v1 = doomed["versions"][0]

    with pytest.raises(ApplicationError) as refused:
        version_delete_start(version=v1, requested_by=curator)

    error = refused.value
    assert (error.code, error.status_code) == ("deletion_blocked", 409)
    blockers = {(b["model"], b["link"]): (b["count"], b["ids"], b["reason"]) for b in error.details["blockers"]}
    assert blockers == {
        ("curation.DatasetVersion", "curation.DatasetVersion.parent"): (1, [doomed["versions"][1].pk], "depends"),
        ("pruning.ClusterRun", "pruning.ClusterRun.version"): (1, [doomed["cluster_run"].pk], "depends"),
        ("pruning.PruneRun", "pruning.PruneRun.version"): (1, [doomed["prune_run"].pk], "depends"),
        ("pruning.ClusterRun", "pruning.ClusterRun.embedding_set"): (1, [doomed["cluster_run"].pk], "depends"),
    }
    assert f"1 prune run (id {doomed['prune_run'].pk}) depend on it (through pruning.PruneRun.version)" in error.message
    assert not DatasetVersion.objects.get(pk=v1.pk).deleting  # nothing marked, nothing written
    assert Deletion.objects.count() == 0


def test_a_leaf_version_goes_with_the_samples_only_it_held(db, curator):
    dataset = DatasetFactory()
    common = [SampleFactory(dataset=dataset) for _ in range(3)]
    own = SampleFactory(dataset=dataset)
    v1 = version_of(dataset, common)
    v2 = version_of(dataset, [*common, own], number=2, parent=v1)

    deletion = version_delete_start(version=v2, requested_by=curator)
    assert list(dataset_versions(dataset)) == [v1]
    job = run_inline(deletion)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"] == {"curation.VersionSample": 4, "curation.Sample": 1, "curation.DatasetVersion": 1}
    assert list(Sample.objects.filter(dataset=dataset).order_by("pk")) == common
    assert VersionSample.objects.filter(version=v1).count() == 3
    assert [default_storage.exists(key) for key in sample_blobs([*common, own])] == [True] * 6 + [False, False]


def test_a_prune_run_is_deleted_with_its_decisions_and_an_embedding_set_in_use_is_refused(doomed, curator):
    prune_run = doomed["prune_run"]

    job = run_inline(run_delete_start(kind="prune_run", run_id=prune_run.pk, requested_by=curator))
    with pytest.raises(ApplicationError) as refused:
        run_delete_start(kind="embedding_set", run_id=doomed["embedding_set"].pk, requested_by=curator)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"] == {"pruning.PruneDecision": 6, "pruning.PruneRun": 1}
    assert DatasetVersion.objects.filter(pk__in=[v.pk for v in doomed["versions"]]).count() == 2
    blockers = refused.value.details["blockers"]
    assert [(b["model"], b["link"]) for b in blockers] == [("pruning.ClusterRun", "pruning.ClusterRun.embedding_set")]


def test_a_deleted_model_leaves_its_explanations_and_the_checkpoints_its_run_still_names(db, curator):
    model = TrainedModelFactory()
    run = model.run
    keys = [
        default_storage.save(f"checkpoints/training-runs/{run.pk}/{name}.pt", ContentFile(b"w"))
        for name in ("best", "last")
    ]
    for row in (run, model):
        type(row).objects.filter(pk=row.pk).update(checkpoint_best_key=keys[0], checkpoint_last_key=keys[1])
    explanation = ExplanationRun.objects.create(
        trained_model=model,
        model_name=model.name,
        model_arch="small-cnn",
        model_img_size=16,
        version=model.trained_on,
        target_layer="features",
    )

    job = run_inline(run_delete_start(kind="trained_model", run_id=model.pk, requested_by=curator))

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"] == {"robustness.TrainedModel": 1}
    assert ExplanationRun.objects.get(pk=explanation.pk).trained_model is None
    assert [default_storage.exists(key) for key in keys] == [True, True]  # the training run names them
    job = run_inline(run_delete_start(kind="training_run", run_id=run.pk, requested_by=curator))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [default_storage.exists(key) for key in keys] == [False, False]


def test_a_generic_report_is_deleted_alone_through_the_api_with_its_files_and_an_audit_line(db, curator, caplog):
    # given two confidence reports of one model, each with a file in its folder (reports/<kind>/<id>/)
    model = TrainedModelFactory()
    doomed_report, kept_report = (
        ModelReport.objects.create(kind="confidence_report", trained_model=model, version=model.trained_on)
        for _ in range(2)
    )
    files = [
        default_storage.save(f"{r.storage_prefix}/curve.json", ContentFile(b"{}")) for r in (doomed_report, kept_report)
    ]
    client = APIClient()
    client.force_authenticate(curator)

    # when a curator deletes the first through DELETE /api/runs/model_report/<id>/ and its job runs
    with caplog.at_level("INFO", logger="winnow.audit"):
        response = client.delete(f"/api/runs/model_report/{doomed_report.pk}/")
    deletion = Deletion.objects.get()
    job = run_inline(deletion)

    # then it goes with its file, the other report stays, and the audit has its row and its log line
    assert response.status_code == 202 and response.json()["deletion"] == deletion.pk
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"] == {"reports.ModelReport": 1}
    assert list(ModelReport.objects.values_list("pk", flat=True)) == [kept_report.pk]
    assert [default_storage.exists(key) for key in files] == [False, True]
    deletion.refresh_from_db()
    assert (deletion.target, deletion.target_id, deletion.requested_by_name, deletion.files) == (
        "model_report",
        doomed_report.pk,
        curator.username,
        1,
    )
    assert f"{curator.username} asked to delete model_report {doomed_report.pk}" in caplog.text
    assert client.get("/api/deletions/", {"target": "model_report"}).json()["results"][0]["id"] == deletion.pk


def test_a_deleted_dataset_takes_its_generic_reports_and_their_folders(db, curator):
    model = TrainedModelFactory()
    report = ModelReport.objects.create(kind="confidence_report", trained_model=model, version=model.trained_on)
    key = default_storage.save(f"{report.storage_prefix}/curve.json", ContentFile(b"{}"))

    job = run_inline(dataset_delete_start(dataset=model.trained_on.dataset, requested_by=curator))

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"]["reports.ModelReport"] == 1
    assert not ModelReport.objects.exists() and not default_storage.exists(key)


def test_a_dataset_whose_model_is_evaluated_on_another_dataset_is_refused(db, curator):
    model = TrainedModelFactory()
    elsewhere = DatasetVersionFactory()
    evaluation = EvaluationRun.objects.create(trained_model=model, version=elsewhere)

    with pytest.raises(ApplicationError) as refused:
        dataset_delete_start(dataset=model.trained_on.dataset, requested_by=curator)

    assert [(b["model"], b["ids"], b["reason"], b["link"]) for b in refused.value.details["blockers"]] == [
        ("evaluation.EvaluationRun", [evaluation.pk], "other_dataset", "evaluation.EvaluationRun.version")
    ]


def test_a_member_of_another_dataset_found_by_the_job_stops_it_before_anything_is_deleted(db, curator):
    # given a sample that a version of another dataset lists among its members (rows a request does not check)
    sample = SampleFactory()
    version_of(sample.dataset, [sample])
    elsewhere = DatasetVersionFactory()
    member = VersionSampleFactory(version=elsewhere, sample=sample)

    deletion = dataset_delete_start(dataset=sample.dataset, requested_by=curator)
    job = run_inline(deletion)

    assert job.status == JobStatus.FAILED
    assert (
        f"1 version sample (id {member.pk}) belong to another dataset too (through curation.VersionSample.version)"
        in job.error
    )
    assert Sample.objects.filter(pk=sample.pk).exists()
    assert not Dataset.objects.get(pk=sample.dataset_id).deleting  # listed again: nothing was deleted
    assert Deletion.objects.get(pk=deletion.pk).rows == {}


def test_a_dataset_with_a_job_still_running_on_it_is_refused(db, curator):
    version = DatasetVersionFactory(job=JobFactory(kind="import_dataset", status=JobStatus.RUNNING))

    with pytest.raises(ApplicationError) as refused:
        dataset_delete_start(dataset=version.dataset, requested_by=curator)

    assert [(b["model"], b["ids"], b["reason"]) for b in refused.value.details["blockers"]] == [
        ("curation.DatasetVersion", [version.pk], "busy")
    ]


class StoppingContext:
    """A JobContext whose process dies (an exception) at the `stop_at`-th progress report."""

    def __init__(self, job: Job, stop_at: int | None = None):
        self.job, self.stop_at, self.reports = job, stop_at, 0

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def progress(self, done: int, total: int, message: str = "") -> None:
        self.reports += 1
        if self.stop_at is not None and self.reports >= self.stop_at:
            raise SystemExit("worker killed")

    def log(self, line: str) -> None: ...

    def check_cancelled(self) -> None: ...


def test_a_deletion_stopped_midway_finishes_when_run_again(doomed, curator):
    deletion = dataset_delete_start(dataset=doomed["dataset"], requested_by=curator)
    job = Job.objects.get(pk=deletion.job_id)
    job.params = {**job.params, "batch_size": 2}

    with pytest.raises(SystemExit):
        deletion_run(StoppingContext(job, stop_at=8))
    halfway = Deletion.objects.get(pk=deletion.pk).rows
    assert 0 < sum(halfway.values()) < 38
    assert Dataset.objects.get(pk=doomed["dataset"].pk).deleting
    result = deletion_run(StoppingContext(job))

    assert result["rows"] == {
        "pruning.PruneDecision": 6,
        "pruning.ClusterMember": 6,
        "pruning.Cluster": 1,
        "pruning.PruneRun": 1,
        "pruning.ClusterRun": 1,
        "exports.Export": 1,
        "embeddings.EmbeddingSet": 1,
        "curation.SampleAlias": 1,
        "curation.VersionSample": 10,
        "curation.Sample": 6,
        "curation.DatasetVersion": 2,
        "curation.Dataset": 1,
    }
    assert not Sample.objects.filter(dataset=doomed["dataset"].pk).exists()
    assert deletion_run(StoppingContext(job))["rows"] == result["rows"]  # a third run finds nothing to do


@pytest.mark.parametrize(
    "role, allowed",
    [(None, False), (Role.VIEWER, False), (Role.REVIEWER, False), (Role.CURATOR, True), (Role.ADMIN, True)],
)
def test_only_curators_and_admins_may_delete(doomed, role, allowed):
    client = APIClient()
    client.force_authenticate(UserFactory(role=role))
    dataset, version = doomed["other"], doomed["shared"].memberships.get().version

    responses = [
        client.delete(f"/api/versions/{version.pk}/"),
        client.delete(f"/api/datasets/{dataset.pk}/"),
        client.delete(f"/api/runs/prune_run/{doomed['prune_run'].pk}/"),
    ]

    if allowed:
        assert [r.status_code for r in responses] == [202, 202, 202]
        body = responses[1].json()
        assert body == {
            "deletion": body["deletion"],
            "job": body["job"],
            "status": "queued",
            "url": f"/api/jobs/{body['job']}/",
        }
    else:
        assert [r.status_code for r in responses] == [403, 403, 403]
        assert [r.json()["error"]["code"] for r in responses] == ["permission_denied"] * 3
        assert Deletion.objects.count() == 0
        assert not Dataset.objects.filter(deleting=True).exists()


def test_the_api_answers_409_with_the_blockers_and_404_for_unknown_targets(doomed, curator):
    client = APIClient()
    client.force_authenticate(curator)

    blocked = client.delete(f"/api/versions/{doomed['versions'][0].pk}/")
    missing = [
        client.delete("/api/datasets/999999/"),
        client.delete("/api/runs/prune_run/999999/"),
        client.delete("/api/runs/no_such_kind/1/"),
    ]
    audit = client.get("/api/deletions/")

    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "deletion_blocked"
    assert len(blocked.json()["error"]["details"]["blockers"]) == 4
    assert [(r.status_code, r.json()["error"]["code"]) for r in missing] == [(404, "not_found")] * 3
    assert audit.status_code == 200
    assert audit.json()["results"] == []


def test_the_command_deletes_as_the_named_user_and_prints_json(doomed, curator):
    out = StringIO()

    call_command("delete_run", "prune_run", str(doomed["prune_run"].pk), "--user", curator.username, stdout=out)

    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["rows"] == {"pruning.PruneDecision": 6, "pruning.PruneRun": 1}
    assert Deletion.objects.get().requested_by_name == curator.username


def test_the_admin_action_starts_a_deletion_job(doomed, client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    dataset = doomed["other"]

    response = client.post(
        "/admin/curation/dataset/", {"action": "delete_as_job", "_selected_action": [dataset.pk]}, follow=True
    )

    assert response.status_code == 200
    deletion = Deletion.objects.get()
    assert (deletion.target, deletion.target_id, deletion.requested_by_name) == (
        "dataset",
        dataset.pk,
        admin_user.username,
    )
    assert f"job {deletion.job_id}" in response.content.decode()


# --- the plan over every model -----------------------------------------------------------------------------


def test_every_model_with_storage_keys_says_where_its_files_are():
    unclassified = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_config.name.split(".")[0] in PROJECT_PACKAGES
        and any(field.name.endswith("key") and field.get_internal_type() == "CharField" for field in model._meta.fields)
        and model._meta.label not in STORED_FILES
        and model._meta.label not in KEYS_NOT_OWNED
    ]
    assert unclassified == []
    assert all(apps.get_model(label) for label in RUN_KINDS.values())


@pytest.mark.parametrize("root, scope", [(Dataset, "dataset"), (DatasetVersion, "strict"), (Sample, "strict")])
def test_the_plan_puts_every_parent_before_its_children(root, scope):
    plan = DeletionPlan(root, [1], scope)

    position = {model: index for index, model in enumerate(plan.order)}
    assert plan.order[0] is root
    for model in plan.order:
        for link in links_to(model):
            if plan.follows(link):
                assert position[link.parent] < position[link.child], link
