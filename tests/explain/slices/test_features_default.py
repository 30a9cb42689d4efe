"""What a failure-slice report clusters (params `features`): by default the embedding set named, else the model's
own features, even when the version has a ready set (encoder embeddings did not win on held-out composite probes,
docs/METHODS.md §13); `features=embeddings` takes the version's newest ready set; `features=model` refuses a named
set; the report and its page say how the features were chosen."""

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


def test_features_embeddings_clusters_the_versions_newest_ready_set(eval_version, stored_model, admin_user):
    # given a version with an older ready set, the newest ready set (planted groups) and a newer one still running
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    ids = member_ids(version)
    older = embedding_set_create(version=version, vectors=np.ones((ids.size, 8)))
    vectors, group = planted_vectors(ids.size)
    newest = embedding_set_create(version=version, vectors=vectors, encoder_name="test:planted")
    embedding_set_create(version=version, vectors=np.ones((ids.size, 8)), status=EmbeddingSetStatus.EMBEDDING)

    # when a report is started with features=embeddings, naming no set
    report = finished(slice_report_create(trained_model=stored_model(["cat", "dog"]), version=version,
                                          params={**QUICK, "features": "embeddings"}, requested_by=admin_user,
                                          enqueue=False))  # fmt: skip

    # then the newest ready set was clustered: each slice is one planted group of its class
    assert report.embedding_set == newest != older and report.params["features"] == "embeddings"
    source = report.results["embeddings"]
    assert source["kind"] == "encoder" and "test:planted" in source["description"]
    assert source["chosen"] == "features=embeddings"
    group_of = dict(zip(ids.tolist(), group.tolist(), strict=True))
    assert len(report.results["slices"]) == 4
    for entry in report.results["slices"]:
        assert len({group_of[i] for i in entry["sample_ids"]}) == 1
    # and the page says so
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/slices/{report.pk}/").content.decode()
    assert "(features: features=embeddings)" in page


def test_by_default_and_when_asked_the_models_features_are_clustered(eval_version, stored_model, admin_user):
    # given a version with a ready embedding set
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    trained = stored_model(["cat", "dog"])
    embedding_set_create(version=version, vectors=planted_vectors(12)[0])
    # when reports name no set, with the default features and with features=model
    default = finished(slice_report_create(trained_model=trained, version=version, params=QUICK,
                                           requested_by=admin_user, enqueue=False))  # fmt: skip
    asked = finished(slice_report_create(trained_model=trained, version=version, params={**QUICK, "features": "model"},
                                         requested_by=admin_user, enqueue=False))  # fmt: skip
    # then both cluster the model's own features and say why
    for report, chosen in ((default, "default"), (asked, "features=model")):
        assert report.embedding_set is None and report.results["embeddings"]["kind"] == "model"
        assert report.results["embeddings"]["chosen"] == chosen


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
    assert report.embedding_set == named and report.params["features"] == "auto"
    assert report.results["embeddings"]["chosen"] == "the set named"
