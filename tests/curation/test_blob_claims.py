"""Claims on blob keys: the collector deletes a blob only when no row and no writer's claim needs it,
and a claim being taken while the collector looks either is seen or sees the blob gone."""

import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.storage import blob_key, blob_save, sha256_bytes
from curation.models import BlobClaim
from curation.services.blob_claims import (
    COLLECT_CHUNK,
    blob_claims_drop,
    blob_claims_drop_for_job,
    blob_claims_take,
    blobs_collect,
)
from tests.curation.test_import_helpers import media_files
from tests.factories import SampleFactory

# The key locks are PostgreSQL advisory locks; on SQLite every write transaction excludes the others.
POSTGRESQL_ONLY = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL advisory locks"
)


def stored(n: int) -> str:
    data = f"blob {n}".encode()
    key = blob_key(sha256=sha256_bytes(data), kind="images", extension="jpg")
    blob_save(key=key, data=data)
    return key


@pytest.mark.django_db
def test_the_collector_deletes_only_blobs_no_row_and_no_claim_needs(isolated_media: Path):
    # given four stored blobs: one a row references, one claimed, one whose claim was dropped, one unneeded
    referenced, claimed, dropped, unneeded = stored(1), stored(2), stored(3), stored(4)
    SampleFactory(image_key=referenced)
    blob_claims_take([claimed], job_id=7)
    blob_claims_drop(blob_claims_take([dropped], job_id=8))
    # when they are collected
    deleted = blobs_collect([referenced, claimed, dropped, unneeded, ""])
    # then only the unneeded and the no longer claimed ones are gone
    assert sorted(deleted) == sorted([dropped, unneeded])
    assert [key in media_files() for key in (referenced, claimed, dropped, unneeded)] == [True, True, False, False]


@pytest.mark.django_db
def test_dropping_a_jobs_claims_returns_their_keys_for_collecting():
    blob_claims_take(["images/aa/a.jpg", "thumbnails/aa/a.jpg"], job_id=5)
    blob_claims_take(["images/bb/b.jpg"], job_id=6)

    assert blob_claims_drop_for_job(5) == {"images/aa/a.jpg", "thumbnails/aa/a.jpg"}
    assert list(BlobClaim.objects.values_list("key", "job_id")) == [("images/bb/b.jpg", 6)]


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_key_a_writer_is_claiming_right_now_is_kept(isolated_media: Path):
    # given a writer whose claim is not committed yet (its transaction holds the key's lock)
    key = stored(1)
    claiming, release = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                blob_claims_take([key], job_id=1)
                claiming.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert claiming.wait(10)
    # when the collector runs meanwhile, then it keeps the blob, without waiting for the writer
    started = time.monotonic()
    assert blobs_collect([key]) == []
    assert time.monotonic() - started < 5
    release.set()
    thread.join(10)
    assert key in media_files()
    assert list(BlobClaim.objects.values_list("key", flat=True)) == [key]


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_claim_taken_while_the_collector_deletes_waits_and_then_finds_the_blob_gone(isolated_media: Path):
    # given a collector inside its transaction, the blob just deleted and the transaction not committed
    key = stored(1)
    claimed = threading.Event()

    def writer() -> None:
        try:
            blob_claims_take([key], job_id=1)
            claimed.set()
        finally:
            connection.close()

    with transaction.atomic():
        assert blobs_collect([key]) == [key]
        thread = threading.Thread(target=writer)
        thread.start()
        # then a writer claiming the key waits for the collector's transaction
        assert not claimed.wait(1)
    assert claimed.wait(10)
    thread.join(10)
    # and, once claimed, finds no blob: it stores it again (nothing it relies on can vanish)
    assert key not in media_files()
    assert list(BlobClaim.objects.values_list("key", flat=True)) == [key]


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_the_collector_sends_two_statements_per_chunk_of_keys(isolated_media: Path):
    # given 1.5 chunks of candidate keys: two chunks, one key a row names and one a writer claimed
    keys = [f"images/{n % 256:02x}/gone-{n}.jpg" for n in range(COLLECT_CHUNK * 3 // 2)]
    SampleFactory(image_key=keys[10])
    blob_claims_take([keys[-10]], job_id=3)
    # when they are collected
    with CaptureQueriesContext(connection) as queries:
        deleted = blobs_collect(keys)
    # then each chunk took its keys' locks, then read the claims and the rows naming them in one statement
    statements = [query["sql"] for query in queries if "SAVEPOINT" not in query["sql"]]
    assert [("pg_try_advisory_xact_lock" in sql, "UNION ALL" in sql) for sql in statements] == [
        (True, False),
        (False, True),
    ] * 2
    assert sorted(deleted) == sorted(set(keys) - {keys[10], keys[-10]})
