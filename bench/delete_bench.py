"""Issue #19 item 8's benchmark: deleting a 1M-sample dataset through the deletion job, on PostgreSQL.

    DATABASE_URL=postgres://.../winnow_bench python bench/delete_bench.py              # 1M rows, the target
    DATABASE_URL=... python bench/delete_bench.py --rows 200000                        # on a busy machine

Setup (not timed; in a child process, so this process's peak RSS is the deletion's): a dataset filled by
bench/prune_db_bench.py's code (imported: version 1 of --rows samples and members COPYed in, a float16
embedding set of --dim columns written through the storage API), plus a prune run of one decision per
sample COPYed in by the prune job's own writer; then VACUUM ANALYZE, as a settled database would be.

Timed, in this process:
1. the deletion job's batch path, inline: `dataset_delete_start` then `job_execute` (plan and checks,
   temporary tables of doomed ids, keyset batches of --batch-size rows per table, one set-based DELETE and
   commit each, then the blob collector over every batch's sample keys): seconds, peak RSS (getrusage,
   the whole process), where the time went;
2. the floor, on a second dataset filled the same way: one bare DELETE per table, children first, in one
   transaction (no plan, no batches, no blob collection): what PostgreSQL itself needs to remove these rows,
   foreign-key checks included;
3. the floor of the job's own path, on a third dataset: the same bare DELETEs in one transaction, each table that
   foreign keys point at deleted the way the job does (curation/deletion/integrity.py): its doomed rows locked,
   one set-based check per foreign key read from the catalog, the DELETE under session_replication_role =
   replica (no RI trigger per row).
Prints the ratios 1 / 2 and 1 / 3, and where the floor's time goes: the DELETE statements, and the COMMIT, which
runs the deferred foreign-key checks (Django's constraints are DEFERRABLE INITIALLY DEFERRED): one RI trigger per
deleted row and per constraint pointing at its table, empty referencing tables included, with the constraints
counted. The job's own commits, row locks and set-based checks are timed too.
Targets (issue #19 item 8): <= 60 s and <= 1 GB peak RSS at 1M samples.

The bench's sample rows name keys with no stored file behind them (prune_db_bench's fill): the collector
does all of its database work per key (try-lock; claims and rows still naming it, one statement per chunk of keys)
and one unlink of a missing file (core.storage.blobs_delete), but removes no image file.
DATABASE_URL must name a migrated database that holds no real data.
"""

# SQL here is built from the bench's own table names and the catalog's (quoted); every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import prune_db_bench  # bench/ is on sys.path when this file runs as a script
from prune_db_bench import django_setup, embedding_set_create, rss_gb, version_create

BENCH_DATASET = "delete-bench-{rows}-{role}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="samples in the deleted dataset (1M: the target)")
    parser.add_argument("--batch-size", type=int, default=None, help="rows per batch (default: the job's)")
    parser.add_argument("--dim", type=int, default=16, help="embedding columns of the bench's embedding set")
    parser.add_argument("--var", type=Path, default=None, help="bench var folder (default: a temporary one)")
    parser.add_argument("--skip-floor", action="store_true", help="measure the deletion job only")
    parser.add_argument(
        "--per-key",
        action="store_true",
        help="instead: the cost of each foreign key pointing at curation_sample (one DELETE of the samples per key)",
    )
    parser.add_argument("--fill", choices=["ours", "floor", "checked", "keys"], help=argparse.SUPPRESS)  # the child's
    return parser.parse_args()


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


# --- setup (a child process) ------------------------------------------------------------------------------


def fill(rows: int, role: str, dim: int) -> int:
    """A dataset of `rows` samples with an embedding set and a prune run deciding every sample; its id."""
    import numpy as np
    from django.db import connection, transaction

    from curation.models import Dataset
    from curation.pruning.models import PruneRun
    from curation.pruning.services.decisions import DecisionArrays, decisions_write
    from curation.pruning.services.embeddings import version_member_ids

    name = BENCH_DATASET.format(rows=rows, role=role)
    if Dataset.objects.filter(name=name).exists():
        sys.exit(f"dataset {name!r} exists (a bench that stopped midway): delete it first")
    started = time.perf_counter()
    version = version_create(name, rows)
    embedding_args = argparse.Namespace(n=rows, d=dim, concepts=100, seed=0)
    embedding_set = embedding_set_create(version, embedding_args)
    ids = version_member_ids(version)
    with transaction.atomic():
        run = PruneRun.objects.create(
            version=version, embedding_set=embedding_set, method="random", n_candidates=rows, n_kept=rows // 2
        )
        keep = np.arange(ids.size) % 2 == 0
        none = np.full(ids.size, -1, dtype=np.int64)
        decisions = DecisionArrays(
            ids, keep, np.where(keep, 0, 6).astype(np.int16), np.full(ids.size, np.nan), none, none
        )
        decisions_write(run.pk, decisions)
    with connection.cursor() as cursor:
        for table in ("curation_sample", "curation_versionsample", "pruning_prunedecision"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"setup ({role}): {rows} samples, members and decisions in {time.perf_counter() - started:.1f} s")
    return version.dataset_id


def fill_in_child(args: argparse.Namespace, var_dir: Path, role: str) -> int:
    """Run `fill` in a child process (its memory is not this process's peak); returns the dataset id."""
    command = [
        sys.executable,
        __file__,
        "--fill",
        role,
        "--rows",
        str(args.rows),
        "--dim",
        str(args.dim),
        "--var",
        str(var_dir),
    ]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(output.strip().splitlines()[-2])
    return int(output.strip().splitlines()[-1])


# --- timed ------------------------------------------------------------------------------------------------


class Totals:
    """Cumulative wall time of functions called many times (per batch), by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, module: Any, attribute: str, label: str) -> None:
        original: Callable[..., Any] = getattr(module, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        setattr(module, attribute, timed)


def delete_through_the_job(dataset_id: int, batch_size: int | None) -> tuple[float, dict[str, Any], Totals]:
    import threading

    from django.db.backends.base.base import BaseDatabaseWrapper

    from curation.deletion import files, plan, services
    from curation.models import Dataset
    from jobs.services import job_create, job_execute

    # The modules that call them (curation/deletion/services became a package: start.py and job.py).
    start_module, job_module = getattr(services, "start", services), getattr(services, "job", services)
    totals = Totals()
    totals.wrap(start_module, "deletion_start", "request: checks, mark, audit row, job")
    totals.wrap(plan.DeletionPlan, "materialize", "job: temporary tables of doomed ids")
    totals.wrap(plan.DeletionPlan, "blockers", "checks (request and job)")
    totals.wrap(job_module, "_rows_delete", "job: DELETE … RETURNING ids, keys, per batch")
    if hasattr(job_module, "batch_lock"):  # the set-based foreign-key check (deletion/integrity.py)
        totals.wrap(job_module, "batch_lock", "job: referenced rows locked FOR UPDATE")
        totals.wrap(job_module, "batch_unreferenced_check", "job: set-based foreign-key checks")
    totals.wrap(files, "files_remove", "job: blob collector (own thread, overlaps)")
    commit: Callable[..., Any] = BaseDatabaseWrapper._commit

    def timed_commit(self: Any) -> Any:  # the main thread's commits: where deferred FK checks run
        if threading.current_thread() is not threading.main_thread():
            return commit(self)
        started = time.perf_counter()
        try:
            return commit(self)
        finally:
            totals.seconds["job: COMMIT per batch (deferred FK checks)"] += time.perf_counter() - started

    BaseDatabaseWrapper._commit = timed_commit  # type: ignore[method-assign]

    def create_job(**kwargs: Any) -> Any:
        if batch_size:
            kwargs["params"] = {**kwargs["params"], "batch_size": batch_size}
        return job_create(**kwargs)

    started = time.perf_counter()
    try:
        deletion = start_module.dataset_delete_start(
            dataset=Dataset.objects.get(pk=dataset_id), requested_by=None, create_job=create_job
        )
        job = job_execute(deletion.job_id)
    finally:
        BaseDatabaseWrapper._commit = commit  # type: ignore[method-assign]
    elapsed = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"deletion job {job.pk} {job.status}: {job.error}")
    return elapsed, job.result, totals


BARE_TABLES = (
    "pruning_prunedecision",
    "pruning_prunerun",
    "embeddings_embeddingset",
    "curation_versionsample",
    "curation_sample",
    "curation_datasetversion",
    "curation_dataset",
)


def foreign_keys_checked() -> dict[str, int]:
    """How many foreign-key constraints point at each table the floor deletes from: every deleted row of such a
    table runs one check per constraint (an RI trigger: a lookup in the referencing table, and for NO ACTION one
    in the deleted table), whether or not the referencing table holds a row."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT confrelid::regclass::text, count(*) FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid::regclass::text = ANY(%s) GROUP BY 1",
            [list(BARE_TABLES)],
        )
        return dict(cursor.fetchall())


def delete_bare(dataset_id: int) -> tuple[float, float]:
    """The floor: one plain DELETE per table of the bench's dataset, children first, one transaction.

    Returns (seconds in all, of which the COMMIT: the deferred foreign-key checks of every deleted row).
    """
    from django.db import connection, transaction

    statements = bare_statements()
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, [dataset_id])
        statements_done = time.perf_counter()
    return time.perf_counter() - started, time.perf_counter() - statements_done


def bare_statements() -> list[str]:
    """One DELETE per table of BARE_TABLES (in its order) removing the rows of dataset %s."""
    return [
        "DELETE FROM pruning_prunedecision d USING pruning_prunerun r, curation_datasetversion v "
        "WHERE d.prune_run_id = r.id AND r.version_id = v.id AND v.dataset_id = %s",
        "DELETE FROM pruning_prunerun r USING curation_datasetversion v "
        "WHERE r.version_id = v.id AND v.dataset_id = %s",
        "DELETE FROM embeddings_embeddingset WHERE dataset_id = %s",
        "DELETE FROM curation_versionsample m USING curation_datasetversion v "
        "WHERE m.version_id = v.id AND v.dataset_id = %s",
        "DELETE FROM curation_sample WHERE dataset_id = %s",
        "DELETE FROM curation_datasetversion WHERE dataset_id = %s",
        "DELETE FROM curation_dataset WHERE id = %s",
    ]


# The doomed ids of each table that foreign keys point at, for the checked floor (the other tables: BARE's DELETE).
REFERENCED_ROWS = {
    "pruning_prunerun": "SELECT r.id FROM pruning_prunerun r JOIN curation_datasetversion v ON r.version_id = v.id "
    "WHERE v.dataset_id = %s",
    "embeddings_embeddingset": "SELECT id FROM embeddings_embeddingset WHERE dataset_id = %s",
    "curation_sample": "SELECT id FROM curation_sample WHERE dataset_id = %s",
    "curation_datasetversion": "SELECT id FROM curation_datasetversion WHERE dataset_id = %s",
    "curation_dataset": "SELECT id FROM curation_dataset WHERE id = %s",
}


def delete_bare_checked(dataset_id: int) -> tuple[float, float, float]:
    """The job's own floor: `delete_bare`'s DELETEs in one transaction, each table that foreign keys point at deleted
    as the job does (integrity.py) in one go: rows locked, one check per foreign key, the DELETE with the RI
    triggers off. Returns (seconds in all, of which the locks and checks, of which the COMMIT)."""
    from django.db import connection, transaction

    from curation.deletion.integrity import references_to, replica_role

    checks = 0.0
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for table, sql in zip(BARE_TABLES, bare_statements(), strict=True):
                references = references_to(table) if table in REFERENCED_ROWS else []
                if not references:
                    assert references == [], f"{table}: no set-based check possible"
                    cursor.execute(sql, [dataset_id])
                    continue
                doomed = REFERENCED_ROWS[table]
                checked = time.perf_counter()
                cursor.execute(
                    f"SELECT count(*) FROM (SELECT id FROM {table} WHERE id IN ({doomed}) FOR UPDATE) l", [dataset_id]
                )
                for reference in references:
                    column = f"c.{reference.column}"
                    cursor.execute(
                        f"SELECT 1 FROM {reference.table} c WHERE {column} IN ({doomed}) LIMIT 1", [dataset_id]
                    )
                    if cursor.fetchone():
                        raise SystemExit(f"{reference} references a doomed row of {table}")
                checks += time.perf_counter() - checked
                with replica_role():
                    cursor.execute(f"DELETE FROM {table} WHERE id IN ({doomed})", [dataset_id])
        statements_done = time.perf_counter()
    return time.perf_counter() - started, checks, time.perf_counter() - statements_done


def per_key_costs(dataset_id: int) -> None:
    """What each foreign key pointing at curation_sample costs the DELETE of the dataset's samples: in one
    transaction (rolled back: the dataset is deleted by `delete_bare` after), the children deleted, then the samples
    deleted again and again under savepoints, with their RI triggers all off, one on at a time, all on (constraints
    IMMEDIATE: each statement runs its checks). A key's cost is its run's time less the run with all off. Superuser
    only (ALTER TABLE … DISABLE TRIGGER on internal triggers)."""
    from django.db import connection, transaction

    def timed(cursor: Any, enabled: list[str]) -> float:
        cursor.execute("SAVEPOINT probe")
        cursor.execute("ALTER TABLE curation_sample DISABLE TRIGGER ALL")
        for name in enabled:
            cursor.execute(f'ALTER TABLE curation_sample ENABLE TRIGGER "{name}"')
        started = time.perf_counter()
        cursor.execute("DELETE FROM curation_sample WHERE dataset_id = %s", [dataset_id])
        seconds = time.perf_counter() - started
        cursor.execute("ROLLBACK TO SAVEPOINT probe")
        return seconds

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in bare_statements()[: BARE_TABLES.index("curation_sample")]:
            cursor.execute(sql, [dataset_id])
        cursor.execute(  # the referenced side's triggers that fire on DELETE (tgtype bit 3), one per constraint
            "SELECT t.tgname, c.conrelid::regclass::text || '.' || a.attname, "
            "(SELECT reltuples::bigint FROM pg_class WHERE oid = c.conrelid) FROM pg_trigger t "
            "JOIN pg_constraint c ON c.oid = t.tgconstraint "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE t.tgrelid = 'curation_sample'::regclass AND t.tgisinternal AND t.tgtype & 8 <> 0 ORDER BY 2"
        )
        triggers = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM curation_sample WHERE dataset_id = %s", [dataset_id])
        rows = cursor.fetchone()[0]
        base = timed(cursor, [])
        print(f"DELETE of {rows} samples, every RI trigger off: {base:.2f} s")
        for name, key, tuples in triggers:
            seconds = timed(cursor, [name]) - base
            print(f"  + {key:<44} {seconds:6.2f} s, {seconds / rows * 1e6:5.1f} µs a row (~{max(tuples, 0)} rows)")
        every = timed(cursor, [name for name, _, _ in triggers]) - base
        print(f"  + all {len(triggers)} keys together {every:6.2f} s, {every / rows * 1e6:5.1f} µs a row")
        print(f"  every RI trigger off, again: {timed(cursor, []):.2f} s")
        transaction.set_rollback(True)


def main() -> None:
    args = parse_args()
    var_dir = args.var or Path(tempfile.mkdtemp(prefix="winnow-delete-bench-"))
    if args.fill:
        django_setup(var_dir)
        print(fill(args.rows, args.fill, args.dim))
        return
    django_setup(var_dir)
    print(f"cores {os.cpu_count()}, load {os.getloadavg()}, prune_db_bench fill from {prune_db_bench.__file__}")
    if args.per_key:
        keys_id = fill_in_child(args, var_dir, "keys")
        per_key_costs(keys_id)
        delete_bare(keys_id)
        print(f"load {os.getloadavg()}")
        return
    dataset_id = fill_in_child(args, var_dir, "ours")
    baseline = peak_rss_gb()
    print(f"before deleting: rss {rss_gb():.2f} GB, peak {baseline:.2f} GB (Django and every app's imports)")
    ours, result, totals = delete_through_the_job(dataset_id, args.batch_size)
    peak = peak_rss_gb()
    rows = sum(result["rows"].values())
    print(
        f"deletion job: {ours:.1f} s for {rows} rows ({rows / ours:,.0f} rows/s), peak RSS {peak:.2f} GB "
        f"(+{peak - baseline:.2f} GB), {result['files']} files removed"
    )
    for label, seconds in sorted(totals.seconds.items(), key=lambda item: -item[1]):
        print(f"  {label:<40} {seconds:7.1f} s")
    print(f"  rows: {json.dumps(result['rows'])}")
    print(f"  foreign keys (deletion/integrity.py): {json.dumps(result.get('integrity', {}))}")
    summary: dict[str, Any] = {
        "rows": args.rows,
        "seconds": round(ours, 1),
        "peak_rss_gb": round(peak, 2),
        "target_met": ours <= 60 and peak <= 1.0,
    }
    if not args.skip_floor:
        floor_id = fill_in_child(args, var_dir, "floor")
        floor, checks = delete_bare(floor_id)
        print(
            f"floor (bare DELETE per table, one transaction): {floor:.1f} s;  deletion job / floor: {ours / floor:.2f}"
        )
        keys = foreign_keys_checked()
        print(
            f"  of which the COMMIT (deferred foreign-key checks) {checks:.1f} s, the DELETE statements "
            f"{floor - checks:.1f} s; foreign keys pointing at the deleted tables: {json.dumps(keys)}"
        )
        summary.update(
            floor_seconds=round(floor, 1), floor_fk_checks_seconds=round(checks, 1), ratio=round(ours / floor, 2)
        )
        print(f"load {os.getloadavg()}")
        checked_id = fill_in_child(args, var_dir, "checked")
        checked_floor, set_checks, commit = delete_bare_checked(checked_id)
        print(
            f"floor with the same set-based check and replica role (bare DELETEs, one transaction): "
            f"{checked_floor:.1f} s, of which the row locks and set-based checks {set_checks:.1f} s, the COMMIT "
            f"{commit:.1f} s;  deletion job / this floor: {ours / checked_floor:.2f}"
        )
        summary.update(checked_floor_seconds=round(checked_floor, 1), checked_ratio=round(ours / checked_floor, 2))
    print(f"load {os.getloadavg()}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
