"""A deletion job on a real worker that is SIGKILLed midway: the reaper's retry finishes it (tests/worker.py)."""

import pytest
from django.core.files.storage import default_storage

from curation.deletion.models import Deletion
from curation.deletion.services import dataset_delete_start
from curation.models import Dataset, DatasetVersion, Sample, VersionSample
from jobs.models import JobStatus
from jobs.services import job_submit
from tests.curation.pruning.factories import version_with_samples
from tests.factories import SampleFactory, VersionSampleFactory
from tests.worker import celery_worker, wait_for_job  # noqa: F401  (celery_worker: the fixture)

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_job_modules() -> str:
    return "tests.curation.slow_deletes"


def test_a_deletion_whose_worker_is_killed_is_finished_by_the_retry(celery_worker, curator):  # noqa: F811
    version = version_with_samples(300)
    blobs = [SampleFactory(dataset=version.dataset) for _ in range(2)]
    for sample in blobs:
        VersionSampleFactory(version=version, sample=sample)
    first = celery_worker(WINNOW_TEST_SLOW_DELETES="0.1")

    def create_job(**kwargs):  # type: ignore[no-untyped-def]  # batches of 20 from the job's first run on
        return job_submit(**{**kwargs, "params": {**kwargs["params"], "batch_size": 20}})

    # (Saving the batch size after the request raced the worker, which may start the job at once with the default
    # size: one batch per table, the progress window below never seen.)
    deletion = dataset_delete_start(dataset=version.dataset, requested_by=curator, create_job=create_job)
    job = deletion.job
    assert job.params["batch_size"] == 20
    wait_for_job(job.pk, lambda j: j.status == JobStatus.RUNNING and 0.2 <= j.progress < 0.6, timeout=30)
    first.kill()
    halfway = Deletion.objects.get(pk=deletion.pk).rows
    celery_worker()
    job = wait_for_job(job.pk, lambda j: j.is_finished, timeout=60)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert 0 < sum(halfway.values()) < 605
    assert job.result["rows"] == {
        "curation.VersionSample": 302,
        "curation.Sample": 302,
        "curation.DatasetVersion": 1,
        "curation.Dataset": 1,
    }
    assert not Dataset.objects.filter(pk=version.dataset_id).exists()
    assert (Sample.objects.count(), VersionSample.objects.count(), DatasetVersion.objects.count()) == (0, 0, 0)
    assert [default_storage.exists(s.image_key) for s in blobs] == [False, False]
