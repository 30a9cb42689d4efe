"""What a failure-slice report clusters (params `features`): by default the version's newest ready embedding set,
else the model's own features; `features=model` and `features=embeddings` ask for one; the report and its page say
which and whether it was the default. The default was chosen on the composite probes (docs/METHODS.md §13)."""

import numpy as np
import pytest
from django.test import Client

from core.api_errors import ApplicationError
from curation.embeddings.models import EmbeddingSetStatus
from explain.slices.services import slice_report_create
from jobs.models import JobStatus
from jobs.services import job_execute
from tests.curation.pruning.factories import embedding_set_create, member_ids

pytestmark = pytest.mark.django_db

QUICK = {"device": "cpu", "min_size": 2, "max_slices_per_class": 2}


def planted_vectors(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows in two tight groups (even and odd positions) far apart: what k = 2 must recover."""
    rng = np.random.default_rng(seed)
    group = np.arange(count) % 2
    vectors = np.eye(8)[group] + 0.01 * rng.standard_normal((count, 8))
    return vectors, group


def finished(report):
    job_execute(report.job_id)
    report.refresh_from_db()
    assert report.status == JobStatus.SUCCEEDED, report.job.error
    return report


def test_by_default_the_versions_newest_ready_embedding_set_is_clustered(eval_version, stored_model, admin_user):
    # given a version with an older ready set, the newest ready set (planted groups) and a newer one still running
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    ids = member_ids(version)
    older = embedding_set_create(version=version, vectors=np.ones((ids.size, 8)))
    vectors, group = planted_vectors(ids.size)
    newest = embedding_set_create(version=version, vectors=vectors, encoder_name="test:planted")
    embedding_set_create(version=version, vectors=np.ones((ids.size, 8)), status=EmbeddingSetStatus.EMBEDDING)

    # when a report is started naming no set
    report = finished(slice_report_create(trained_model=stored_model(["cat", "dog"]), version=version,
                                          params=QUICK, requested_by=admin_user, enqueue=False))  # fmt: skip

    # then the newest ready set was clustered: each slice is one planted group of its class
    assert report.embedding_set == newest != older and report.params["features"] == "auto"
    source = report.results["embeddings"]
    assert source["kind"] == "encoder" and "test:planted" in source["description"]
    assert source["chosen"] == "default: the version's newest ready embedding set"
    group_of = dict(zip(ids.tolist(), group.tolist(), strict=True))
    assert len(report.results["slices"]) == 4
    for entry in report.results["slices"]:
        assert len({group_of[i] for i in entry["sample_ids"]}) == 1
    # and the page says so
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/slices/{report.pk}/").content.decode()
    assert "(features: default: the version&#x27;s newest ready embedding set)" in page


def test_without_a_ready_set_and_when_asked_the_models_features_are_clustered(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    trained = stored_model(["cat", "dog"])
    bare = finished(slice_report_create(trained_model=trained, version=version, params=QUICK,
                                        requested_by=admin_user, enqueue=False))  # fmt: skip
    assert bare.embedding_set is None and bare.results["embeddings"]["kind"] == "model"
    assert bare.results["embeddings"]["chosen"] == "default: the version had no ready embedding set"

    embedding_set_create(version=version, vectors=planted_vectors(12)[0])
    asked = finished(slice_report_create(trained_model=trained, version=version, params={**QUICK, "features": "model"},
                                         requested_by=admin_user, enqueue=False))  # fmt: skip
    assert asked.embedding_set is None and asked.results["embeddings"]["kind"] == "model"
    assert asked.results["embeddings"]["chosen"] == "asked for"


def test_a_named_set_is_asked_for_and_impossible_choices_are_refused(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    trained = stored_model(["cat", "dog"])
    start = {"trained_model": trained, "version": version, "requested_by": admin_user, "enqueue": False}
    with pytest.raises(ApplicationError) as refused:
        slice_report_create(**start, params={**QUICK, "features": "embeddings"})
    assert refused.value.code == "invalid_embeddings" and "no ready embedding set" in refused.value.message
    with pytest.raises(ApplicationError) as refused:
        slice_report_create(**start, params={**QUICK, "features": "pixels"})
    assert refused.value.code == "invalid_params"

    named = embedding_set_create(version=version, vectors=planted_vectors(12)[0])
    embedding_set_create(version=version, vectors=planted_vectors(12, seed=1)[0])  # newer, not named
    with pytest.raises(ApplicationError) as refused:
        slice_report_create(**start, params={**QUICK, "features": "model"}, embedding_set=named)
    assert refused.value.code == "invalid_params"
    report = finished(slice_report_create(**start, params=QUICK, embedding_set=named))
    assert report.embedding_set == named and report.params["features"] == "embeddings"
    assert report.results["embeddings"]["chosen"] == "asked for"
