"""The deletion job's set-based foreign-key check (curation/deletion/integrity.py): samples deleted without their
per-row RI triggers only after proving nothing references the batch; refused, blocked or failed, never orphaned,
when something does; per-row triggers again when the role may not set session_replication_role."""

import os
import threading
import time
from typing import Any

import pytest
from django.db import connection
from psycopg import errors
from rest_framework.test import APIClient

from curation.deletion.integrity import Mode, replica_role
from curation.deletion.models import Deletion
from curation.deletion.services import dataset_delete_start, deletion_run
from curation.models import Dataset, Sample, SampleAlias, VersionSample
from jobs.models import Job, JobStatus
from jobs.runtime import JobFailed
from jobs.services import job_create, job_execute
from tests.curation.test_deletion import version_of
from tests.factories import DatasetFactory, SampleFactory

SAMPLE = "curation.Sample"


def dangling_references() -> list[str]:
    """Every foreign-key constraint of the database with a row naming a row that does not exist: `table.column (n)`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, quote_ident(a.attname), c.confrelid::regclass::text, "
            "quote_ident(p.attname) FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute p ON p.attrelid = c.confrelid AND p.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1"
        )
        constraints = cursor.fetchall()
        assert len(constraints) > 100  # the whole schema's, not one table's
        found = []
        for table, column, parent, key in constraints:
            cursor.execute(
                f"SELECT count(*) FROM {table} c WHERE c.{column} IS NOT NULL "  # noqa: S608 (catalog names)
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})"
            )
            if dangling := cursor.fetchone()[0]:
                found.append(f"{table}.{column} ({dangling})")
    return found


def two_datasets() -> tuple[Dataset, list[Sample], Sample]:
    """Dataset "doomed" (5 samples in a version, the first with an alias) and dataset "kept" (1 sample)."""
    doomed, kept = DatasetFactory(name="doomed"), DatasetFactory(name="kept")
    samples = [SampleFactory(dataset=doomed) for _ in range(5)]
    version_of(doomed, samples)
    SampleAlias.objects.create(dataset=doomed, sample=samples[0], original_name="copy.jpg")
    survivor = SampleFactory(dataset=kept)
    version_of(kept, [survivor])
    return doomed, samples, survivor


def small_batches(**kwargs: Any) -> Job:
    return job_create(**{**kwargs, "params": {**kwargs["params"], "batch_size": 2}})


class WritingContext:
    """A JobContext that, at the first progress report of the sample batches, runs `write` (a row written by
    someone else while the deletion runs, after its plan)."""

    def __init__(self, job: Job, write: Any):
        self.job, self.write, self.written = job, write, False

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def progress(self, done: int, total: int, message: str = "") -> None:
        if message.startswith("samples:") and not self.written:
            self.written = True
            self.write()

    def log(self, line: str) -> None: ...

    def check_cancelled(self) -> None: ...


@pytest.mark.django_db
def test_the_orphan_check_sees_a_row_left_pointing_at_a_sample_deleted_with_the_triggers_off():
    sample = SampleFactory()
    SampleAlias.objects.create(dataset=sample.dataset, sample=sample, original_name="copy.jpg")
    assert dangling_references() == []

    with connection.cursor() as cursor, replica_role():
        cursor.execute("DELETE FROM curation_sample WHERE id = %s", [sample.pk])

    assert dangling_references() == ["curation_samplealias.sample_id (1)"]
    SampleAlias.objects.all().delete()  # else the alias's own deferred check fails the test's teardown


@pytest.mark.django_db
def test_the_job_deletes_samples_checked_set_based_and_leaves_nothing_dangling(curator):
    doomed, _, survivor = two_datasets()

    deletion = dataset_delete_start(dataset=doomed, requested_by=curator, create_job=small_batches)
    job = job_execute(deletion.job_id)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"][SAMPLE] == 5 and job.result["rows"]["curation.SampleAlias"] == 1
    assert Deletion.objects.get(pk=deletion.pk).integrity[SAMPLE] == Mode.SET_CHECK
    assert job.result["integrity"][SAMPLE] == Mode.SET_CHECK
    client = APIClient()
    client.force_authenticate(curator)
    assert client.get("/api/deletions/").json()["results"][0]["integrity"][SAMPLE] == "set_check"
    assert list(Sample.objects.values_list("pk", flat=True)) == [survivor.pk]
    assert dangling_references() == []
    with connection.cursor() as cursor:  # the replica role was for each DELETE only
        cursor.execute("SELECT current_setting('session_replication_role')")
        assert cursor.fetchone()[0] == "origin"


@pytest.mark.django_db
def test_a_reference_written_after_the_plan_fails_the_job_and_keeps_its_batch(curator):
    doomed, samples, _ = two_datasets()
    deletion = dataset_delete_start(dataset=doomed, requested_by=curator)
    job = Job.objects.get(pk=deletion.job_id)
    job.params = {**job.params, "batch_size": 2}
    last = samples[-1]  # in the third batch of samples; the aliases went before the samples

    def write() -> None:
        SampleAlias.objects.create(dataset=doomed, sample=last, original_name="late.jpg")

    with pytest.raises(JobFailed, match=r"curation_samplealias\.sample_id .*references id .*Nothing of this batch"):
        deletion_run(WritingContext(job, write))

    assert list(Sample.objects.filter(dataset=doomed).values_list("pk", flat=True)) == [last.pk]
    assert SampleAlias.objects.get(original_name="late.jpg").sample_id == last.pk
    assert Deletion.objects.get(pk=deletion.pk).rows[SAMPLE] == 4
    assert dangling_references() == []


def _other_connection() -> Any:
    return connection.get_new_connection(connection.get_connection_params())


@pytest.mark.django_db(transaction=True)
def test_an_insert_holding_a_doomed_sample_blocks_the_batch_which_then_refuses(curator):
    doomed, samples, _ = two_datasets()
    target = samples[2]
    deletion = dataset_delete_start(dataset=doomed, requested_by=curator, create_job=small_batches)
    inserted, outcome = threading.Event(), {}

    def writer() -> None:  # another session: an immediate foreign-key check locks the sample (FOR KEY SHARE)
        other, watcher = _other_connection(), _other_connection()
        watcher.autocommit = True
        try:
            other.execute("SET CONSTRAINTS ALL IMMEDIATE")
            other.execute(
                "INSERT INTO curation_samplealias (dataset_id, sample_id, original_name, job_id) "
                "VALUES (%s, %s, 'concurrent.jpg', NULL)",
                [doomed.pk, target.pk],
            )
            inserted.set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until the job waits for this transaction's lock
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> %s "
                    "AND datname = current_database()",
                    [other.info.backend_pid],
                ).fetchone()[0]
                if waiting:
                    outcome["blocked"] = True
                    break
                time.sleep(0.05)
            other.commit()
        finally:
            other.close()
            watcher.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert inserted.wait(30)
    job = job_execute(deletion.job_id)
    thread.join(90)

    assert outcome.get("blocked"), "the job never waited for the inserting transaction"
    assert job.status == JobStatus.FAILED
    assert "curation_samplealias.sample_id" in job.error and "Nothing of this batch" in job.error
    batch = [s.pk for s in samples[2:4]]  # the blocked batch: both of its samples stay
    assert sorted(Sample.objects.filter(pk__in=batch).values_list("pk", flat=True)) == batch
    assert not Sample.objects.filter(pk__in=[s.pk for s in samples[:2]]).exists()
    assert dangling_references() == []


@pytest.mark.django_db(transaction=True)
def test_an_insert_committed_after_the_batch_fails_its_own_foreign_key_check(curator):
    doomed, samples, survivor = two_datasets()
    target = samples[2]
    deletion = dataset_delete_start(dataset=doomed, requested_by=curator, create_job=small_batches)
    other = _other_connection()
    try:  # a deferred check (Django's constraints): the insert locks nothing until its COMMIT
        other.execute(
            "INSERT INTO curation_samplealias (dataset_id, sample_id, original_name, job_id) "
            "VALUES (%s, %s, 'late.jpg', NULL)",
            [doomed.pk, target.pk],
        )
        job = job_execute(deletion.job_id)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert not Sample.objects.filter(pk=target.pk).exists()
        with pytest.raises(errors.ForeignKeyViolation):
            other.commit()
    finally:
        other.close()

    assert list(Sample.objects.values_list("pk", flat=True)) == [survivor.pk]
    assert not SampleAlias.objects.filter(original_name="late.jpg").exists()
    assert dangling_references() == []


@pytest.fixture
def limited_role(db):
    """A role that is no superuser, with every privilege on the tables (what an ordinary deployment's role holds);
    the test's connection takes it with SET ROLE (rolled back with the test's transaction)."""
    name = f"winnow_test_limited_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOSUPERUSER NOLOGIN")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {name}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {name}")
    yield name
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


@pytest.mark.parametrize("granted, mode", [(False, Mode.TRIGGERS), (True, Mode.SET_CHECK)])
def test_a_role_may_skip_the_triggers_only_when_granted_set_on_session_replication_role(
    limited_role, curator, granted, mode, caplog
):
    doomed, samples, survivor = two_datasets()
    with connection.cursor() as cursor:
        if granted:
            cursor.execute(f"GRANT SET ON PARAMETER session_replication_role TO {limited_role}")
        cursor.execute(f"SET ROLE {limited_role}")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0] is False

    deletion = dataset_delete_start(dataset=doomed, requested_by=curator, create_job=small_batches)
    job = job_execute(deletion.job_id)

    assert job.status == JobStatus.SUCCEEDED, job.error
    integrity = Deletion.objects.get(pk=deletion.pk).integrity
    assert integrity[SAMPLE] == mode and set(integrity.values()) == {mode}
    assert ("per-row foreign-key triggers" in caplog.text) is (mode is Mode.TRIGGERS)
    assert list(Sample.objects.values_list("pk", flat=True)) == [survivor.pk]
    assert not VersionSample.objects.filter(sample__in=samples).exists()
    assert dangling_references() == []


@pytest.mark.django_db
def test_a_table_with_a_trigger_of_its_own_is_deleted_with_its_triggers_on(curator):
    doomed, samples, survivor = two_datasets()
    with connection.cursor() as cursor:  # the replica role would skip this trigger too: the job must not take it
        cursor.execute("CREATE TABLE test_samples_deleted (id bigint)")
        cursor.execute(
            "CREATE FUNCTION test_sample_deleted() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO test_samples_deleted VALUES (OLD.id); RETURN OLD; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_sample_deleted AFTER DELETE ON curation_sample "
            "FOR EACH ROW EXECUTE FUNCTION test_sample_deleted()"
        )

    deletion = dataset_delete_start(dataset=doomed, requested_by=curator, create_job=small_batches)
    job = job_execute(deletion.job_id)

    assert job.status == JobStatus.SUCCEEDED, job.error
    integrity = Deletion.objects.get(pk=deletion.pk).integrity
    assert integrity[SAMPLE] == Mode.TRIGGERS and integrity["curation.DatasetVersion"] == Mode.SET_CHECK
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM test_samples_deleted ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == [s.pk for s in samples]
    assert list(Sample.objects.values_list("pk", flat=True)) == [survivor.pk]
    assert dangling_references() == []
