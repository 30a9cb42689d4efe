"""The deletion job's bulk paths: batches as ranges of the doomed-ids table, the collector's key lists sent as one
string (a key holding the separator goes as a list), blobs deleted without an existence check."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from core.storage import blob_key, blob_save, blobs_delete, sha256_bytes
from curation.deletion.plan import DeletionPlan
from curation.deletion.services import dataset_delete_start
from curation.models import Dataset, Sample, VersionSample
from curation.services.blob_claims import SEPARATOR, blob_claims_take, blob_keys_referenced, blobs_collect
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from tests.curation.test_deletion import version_of
from tests.factories import DatasetFactory, SampleFactory


def stored(n: int) -> str:
    data = f"batch blob {n}".encode()
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg")
    blob_save(key=key, data=data)
    return key


@pytest.mark.django_db
def test_the_doomed_ids_come_in_ranges_that_cover_each_id_once(curator):
    dataset = DatasetFactory()
    samples = [SampleFactory(dataset=dataset) for _ in range(7)]
    version_of(dataset, samples)
    plan = DeletionPlan(Dataset, [dataset.pk], "dataset")
    plan.materialize()
    try:
        ranges = list(plan.batches(VersionSample, 3))
        seen = []
        with connection.cursor() as cursor:
            for low, high, rows in ranges:
                cursor.execute(plan.batch_sql(VersionSample), [low, high])
                ids = [row[0] for row in cursor.fetchall()]
                assert len(ids) == rows and all(low < pk <= high for pk in ids)
                seen += ids
    finally:
        plan.release()
    assert [rows for _, _, rows in ranges] == [3, 3, 1]
    assert sorted(seen) == sorted(VersionSample.objects.filter(version__dataset=dataset).values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_dataset_deleted_in_small_batches_leaves_the_other_dataset_whole(curator, isolated_media: Path):
    # given two datasets sharing one blob; the doomed one's samples in batches of 2
    doomed, other = DatasetFactory(name="doomed"), DatasetFactory(name="other")
    samples = [SampleFactory(dataset=doomed, image_key=stored(n), thumbnail_key=stored(100 + n)) for n in range(5)]
    version_of(doomed, samples)
    kept = SampleFactory(dataset=other, image_key=samples[0].image_key, thumbnail_key=stored(200))
    version_of(other, [kept])

    def create_job(**kwargs):  # type: ignore[no-untyped-def]
        return job_create(**{**kwargs, "params": {**kwargs["params"], "batch_size": 2}})

    deletion = dataset_delete_start(dataset=doomed, requested_by=curator, create_job=create_job)
    job = job_execute(deletion.job_id)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"]["curation.Sample"] == 5 and job.result["rows"]["curation.VersionSample"] == 5
    assert list(Sample.objects.values_list("pk", flat=True)) == [kept.pk]
    assert VersionSample.objects.get().sample_id == kept.pk
    assert default_storage.exists(kept.image_key) and default_storage.exists(kept.thumbnail_key)
    gone = [s.image_key for s in samples[1:]] + [s.thumbnail_key for s in samples]
    assert not any(default_storage.exists(key) for key in gone)
    assert job.result["files"] == len(gone)


@pytest.mark.django_db
def test_keys_holding_the_separator_are_looked_up_as_a_list(isolated_media: Path):
    odd, plain, claimed, unknown = f"images/odd{SEPARATOR}name.jpg", stored(1), stored(2), stored(3)
    SampleFactory(image_key=odd, thumbnail_key=plain)
    blob_claims_take([claimed], job_id=9)

    assert blob_keys_referenced([odd, plain, unknown]) == {odd, plain}
    assert blob_keys_referenced([plain, unknown]) == {plain}
    assert blobs_collect([odd, plain, claimed, unknown]) == [unknown]
    assert [default_storage.exists(key) for key in (plain, claimed, unknown)] == [True, True, False]


def test_deleting_blobs_ignores_keys_with_nothing_stored(isolated_media: Path):
    key = stored(4)
    blobs_delete([key, "images/zz/missing.jpg", ""])
    assert not default_storage.exists(key)
