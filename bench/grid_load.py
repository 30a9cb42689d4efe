"""Issue #19 item 5: the sample grid, the sample page and the sample list API at 1M samples, 20 clients.

    DATABASE_URL=postgres://.../winnow_bench python bench/grid_load.py                 # 1M samples, the target
    DATABASE_URL=... python bench/grid_load.py --rows 100000 --seconds 20                # while developing

Setup (not timed; reused by later runs): one dataset version of --rows samples, filled by INSERT ... SELECT
over generate_series (10 classes, 1% unlabeled; 80/10/10 train/val/test; 5% synthetic), a cluster run
(k = 1000, its assignment blob, its cluster table and per-sample member rows), a duplicate run of 5,000 near
groups (with member rows) and a review queue of 20,000 items (60% open, 30% agreed, 10% disputed). The fill is
skipped when a complete one of that size is there (one made before the runs' member rows gets them); a complete
fill whose cluster file is not under --var stops the bench with a message (--refill deletes it and fills again).

Timed: gunicorn (gthread, --workers x --threads) in a subprocess; --clients threads in this process, each
with its own logged-in session, cycle for --seconds through: the grid page (first page, a page deep in the
version, a label filter), the sample page of a random member, and the sample list API unfiltered, deep, and
with each filter (label, split, cluster, duplicate group, review state). p50/p95 per operation.

Plans: EXPLAIN (ANALYZE, BUFFERS) of the member query of each filtered operation (first path), with the indexes
it walks and any Seq Scan named; --plans-only stops there.

Floor, in the same process: the SQL each request ran (captured once through Django's test client) replayed
by psycopg from --clients threads for --seconds, no HTTP, no Python view code: p50/p95 per operation.
Target (issue #19): p95 <= 150 ms for each at 20 clients. The load average is printed before and after.

CPU per request (as bench/review_load.py measures it): the CPU time of the server's processes, of the bench
database's PostgreSQL backends and of the clients over the timed run, divided by the requests served; and the
backends' CPU per replayed request of the floor. On a machine shared with other work these, not the latencies,
compare runs.

--profile N: no server; each operation's paths requested N times through Django's test client in this process:
CPU ms and statements per request, then cProfile's top functions (where the time goes).
"""

# ruff: noqa: S608 - SQL built from model table names, values bound as parameters
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_load import REPO_ROOT, free_port, gunicorn_start, load_run, percentiles, server_stop
from review_load import CpuMeter

BENCH_DATASET = "grid-bench-{rows}"
CLASSES = [f"class{i}" for i in range(10)]
N_CLUSTERS = 1000
DUPLICATE_GROUPS = 5000
REVIEW_ITEMS = 20_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="timed run of each phase (server, floor)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per gunicorn worker (2 x 4: lowest p95 on 2 cores)"
    )
    parser.add_argument("--var", type=Path, default=Path(tempfile.gettempdir()) / "winnow-grid-bench")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--refill", action="store_true", help="delete this database's fill of --rows samples and fill again"
    )
    parser.add_argument("--plans-only", action="store_true", help="fill, print the filters' query plans, stop")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile N requests of each operation in process (test client, cProfile), then stop",
    )
    parser.add_argument("--only", default="", help="with --profile: only the operations whose name starts so")
    return parser.parse_args()


def django_setup(var_dir: Path) -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a migrated PostgreSQL database for the bench (it holds a million rows).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    os.environ["WINNOW_MEDIA_ROOT"] = str(var_dir / "media")
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- setup ---------------------------------------------------------------------------------------------


def world_find(rows: int) -> dict[str, int] | None:
    """The ids of a complete earlier fill of this size whose blobs are still there, or None."""
    from django.core.files.storage import default_storage

    from curation.models import DatasetVersion
    from curation.pruning.models import ClusterRun
    from curation.review.models import ReviewQueue

    version = DatasetVersion.objects.filter(dataset__name=BENCH_DATASET.format(rows=rows), number=1).first()
    queue = ReviewQueue.objects.filter(version=version, name="grid bench").first() if version else None
    run = ClusterRun.objects.filter(version=version).first() if version else None
    if queue is None or run is None:
        return None
    if not default_storage.exists(run.assignment_key):
        raise SystemExit(
            f"This database holds a complete fill of {rows} samples, but its cluster assignment file "
            f"({run.assignment_key}) is not under this --var's media ({default_storage.location}): pass the --var it "
            "was filled with (or copy its media folder here), or --refill to delete that fill and make a new one."
        )
    duplicate_run = version.embedding_sets.get().duplicate_runs.get()  # type: ignore[union-attr]
    return {"dataset": version.dataset_id, "version": version.pk, "cluster_run": run.pk,  # type: ignore[union-attr]
            "duplicate_run": duplicate_run.pk, "queue": queue.pk}  # fmt: skip


def world_delete(rows: int) -> None:
    """An incomplete earlier fill of this size, by set-based SQL (the ORM would cascade row by row)."""
    from django.db import connection, transaction

    from curation.embeddings.models import DuplicateMember, DuplicateRun
    from curation.models import Dataset, DatasetVersion, VersionSample
    from curation.pruning.models import Cluster, ClusterMember, ClusterRun
    from curation.review.models import ReviewItem, ReviewQueue

    dataset = Dataset.objects.filter(name=BENCH_DATASET.format(rows=rows)).first()
    if dataset is None:
        return
    versions = f"SELECT id FROM {DatasetVersion._meta.db_table} WHERE dataset_id = %(d)s"
    cluster_runs = f"SELECT id FROM {ClusterRun._meta.db_table} WHERE version_id IN ({versions})"
    duplicate_runs = f"SELECT id FROM {DuplicateRun._meta.db_table} WHERE version_id IN ({versions})"
    statements = [
        f"DELETE FROM {ClusterMember._meta.db_table} WHERE cluster_run_id IN ({cluster_runs})",
        f"DELETE FROM {Cluster._meta.db_table} WHERE cluster_run_id IN ({cluster_runs})",
        f"DELETE FROM {DuplicateMember._meta.db_table} WHERE run_id IN ({duplicate_runs})",
        f"DELETE FROM {ReviewItem._meta.db_table} WHERE queue_id IN "
        f"(SELECT id FROM {ReviewQueue._meta.db_table} WHERE version_id IN ({versions}))",
        f"DELETE FROM {ReviewQueue._meta.db_table} WHERE version_id IN ({versions})",
        f"DELETE FROM {ClusterRun._meta.db_table} WHERE version_id IN ({versions})",
        f"DELETE FROM {VersionSample._meta.db_table} WHERE version_id IN ({versions})",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, {"d": dataset.pk})
        dataset.delete()  # the rest cascades: embedding sets, duplicate runs and groups, samples


def world_create(rows: int, seed: int) -> dict[str, int]:
    """The dataset version, cluster run, duplicate run and review queue (see the module docstring)."""
    from django.db import connection, transaction

    from curation.models import Dataset, DatasetVersion, Sample, VersionSample
    from curation.review.models import ReviewItem

    with transaction.atomic():
        dataset = Dataset.objects.create(name=BENCH_DATASET.format(rows=rows), classes=CLASSES)
        version = DatasetVersion.objects.create(dataset=dataset, number=1, operation="import", sample_count=rows)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Sample._meta.db_table} (dataset_id, sha256, image_key, thumbnail_key, mask_key, "
                "original_name, width, height, format, mode, file_size, source, caption, provenance, created_at) "
                "SELECT %s, lpad(to_hex(i), 64, '0'), 'bench/' || i || '.png', 'bench/' || i || '.png', '', "
                "i || '.png', 32, 32, 'PNG', 'RGB', 1, CASE WHEN i %% 20 = 0 THEN 'synthetic' ELSE 'real' END, "
                "'', '{}'::jsonb, now() FROM generate_series(0, %s - 1) AS i",
                [dataset.pk, rows],
            )
            label = "CASE WHEN id % 100 = 99 THEN '' ELSE 'class' || ((id / 10) % 10) END"
            cursor.execute(
                f"INSERT INTO {VersionSample._meta.db_table} (version_id, sample_id, split, label, label_origin, "
                f"labels) SELECT %s, id, CASE id %% 10 WHEN 8 THEN 'val' WHEN 9 THEN 'test' ELSE 'train' END, "
                f"{label.replace('%', '%%')}, 'import', CASE WHEN id %% 100 = 99 THEN '[]'::jsonb ELSE "
                f"jsonb_build_array(jsonb_build_object('label', {label.replace('%', '%%')}, 'origin', 'import')) "
                f"END FROM {Sample._meta.db_table} WHERE dataset_id = %s",
                [version.pk, dataset.pk],
            )
            cursor.execute(f"SELECT sample_id FROM {VersionSample._meta.db_table} WHERE version_id = %s", [version.pk])
            sample_ids = np.sort(np.array([row[0] for row in cursor.fetchall()], dtype=np.int64))
        ids = {"dataset": dataset.pk, "version": version.pk}
        ids |= runs_create(version, sample_ids, np.random.default_rng(seed))
    with connection.cursor() as cursor:
        for model in (Sample, VersionSample, ReviewItem):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return ids


def runs_create(version: Any, sample_ids: np.ndarray, rng: np.random.Generator) -> dict[str, int]:
    from curation.embeddings.models import DuplicateGroup, DuplicateRun, EmbeddingSet, EmbeddingSetStatus
    from curation.pruning.blobs import arrays_save
    from curation.pruning.models import ClusterRun
    from curation.review.models import ReviewItem, ReviewQueue

    embedding_set = EmbeddingSet.objects.create(
        dataset=version.dataset, version=version, encoder_name="bench:none", dim=512,
        status=EmbeddingSetStatus.READY, planned_rows=sample_ids.size, rows=sample_ids.size,
    )  # fmt: skip
    key = f"grid-bench/{version.pk}/assignment.npz"
    cluster = rng.integers(0, N_CLUSTERS, sample_ids.size)
    arrays_save(key, sample_ids=sample_ids, cluster=cluster, distance=rng.random(sample_ids.size, dtype=np.float32))
    cluster_run = ClusterRun.objects.create(
        version=version, embedding_set=embedding_set, n_clusters=N_CLUSTERS, n_samples=sample_ids.size,
        assignment_key=key, centroids_key="",
    )  # fmt: skip
    duplicate_run = DuplicateRun.objects.create(
        embedding_set=embedding_set, version=version, threshold=0.95, threshold_source="bench",
        near_group_count=DUPLICATE_GROUPS,
    )  # fmt: skip
    chosen = rng.choice(sample_ids, size=3 * DUPLICATE_GROUPS, replace=False).reshape(DUPLICATE_GROUPS, 3)
    DuplicateGroup.objects.bulk_create(
        [DuplicateGroup(run=duplicate_run, number=i + 1, kind="near", size=3, sample_ids=sorted(map(int, group)))
         for i, group in enumerate(chosen)],
        batch_size=5000,
    )  # fmt: skip
    queue = ReviewQueue.objects.create(version=version, name="grid bench", item_count=REVIEW_ITEMS)
    items = np.sort(rng.choice(sample_ids, size=REVIEW_ITEMS, replace=False))
    states = rng.choice(["open", "agreed", "disputed"], size=REVIEW_ITEMS, p=[0.6, 0.3, 0.1])
    ReviewItem.objects.bulk_create(
        [ReviewItem(queue=queue, sample_id=int(s), position=i, state=str(state))
         for i, (s, state) in enumerate(zip(items, states, strict=True))],
        batch_size=5000,
    )  # fmt: skip
    return {"cluster_run": cluster_run.pk, "duplicate_run": duplicate_run.pk, "queue": queue.pk}


def runs_complete(ids: dict[str, int]) -> None:
    """The cluster and duplicate runs as their jobs leave them now: the cluster table (the grid's cluster menu lists
    all k clusters) and the per-sample member rows (the cluster and duplicate-group filters walk them), written by
    the jobs' own writers from the run's assignment blob and groups. A fill made before this step gets it on reuse
    (and is then measured as a current run is)."""
    from django.db import connection, transaction

    from curation.embeddings.models import DuplicateGroup, DuplicateMember, DuplicateRun
    from curation.embeddings.services.duplicates import duplicate_members_write
    from curation.pruning.blobs import arrays_load
    from curation.pruning.models import Cluster, ClusterMember, ClusterRun
    from curation.pruning.services.clustering import cluster_members_write

    cluster_run = ClusterRun.objects.get(pk=ids["cluster_run"])
    duplicate_run = DuplicateRun.objects.get(pk=ids["duplicate_run"])
    if cluster_run.members_stored and duplicate_run.members_stored:
        return
    started = time.perf_counter()
    with transaction.atomic():
        if not cluster_run.members_stored:
            stored = arrays_load(cluster_run.assignment_key)
            sizes = np.bincount(stored["cluster"], minlength=cluster_run.n_clusters)
            Cluster.objects.filter(cluster_run=cluster_run).delete()
            Cluster.objects.bulk_create(
                [Cluster(cluster_run=cluster_run, index=index, size=int(size), complexity=0.0)
                 for index, size in enumerate(sizes)],
                batch_size=5000,
            )  # fmt: skip
            cluster_members_write(cluster_run, stored["sample_ids"], stored["cluster"], stored["distance"])
            cluster_run.members_stored = True
            cluster_run.save(update_fields=["members_stored"])
        if not duplicate_run.members_stored:
            duplicate_members_write(duplicate_run, list(DuplicateGroup.objects.filter(run=duplicate_run)))
            duplicate_run.members_stored = True
            duplicate_run.save(update_fields=["members_stored"])
    with connection.cursor() as cursor:
        for model in (Cluster, ClusterMember, DuplicateGroup, DuplicateMember):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    print(f"setup: the runs' clusters and member rows in {time.perf_counter() - started:.1f} s")


def world(args: argparse.Namespace) -> dict[str, int]:
    found = None if args.refill else world_find(args.rows)
    if found is not None:
        print(f"reusing the fill of {args.rows} samples: {found}")
        runs_complete(found)
        return found
    world_delete(args.rows)
    started = time.perf_counter()
    ids = world_create(args.rows, args.seed)
    print(f"setup: {args.rows} samples, members, cluster run, duplicate groups, review queue in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    runs_complete(ids)
    return ids


# --- the requests --------------------------------------------------------------------------------------


def request_paths(ids: dict[str, int], rows: int, seed: int) -> dict[str, list[str]]:
    """Operation name -> the paths its clients cycle through (random members and cursors, fixed by seed)."""
    from curation.models import VersionSample

    rng = random.Random(seed)
    members = list(
        VersionSample.objects.filter(version_id=ids["version"]).order_by("?").values_list("sample_id", flat=True)[:50]
    ) if rows <= 200_000 else _members_sampled(ids["version"], rng)  # fmt: skip
    grid = f"/datasets/{ids['dataset']}/v/1/samples/"
    api = f"/api/versions/{ids['version']}/samples/"
    cursor = _cursor
    return {
        "grid page": [grid],
        "grid page, deep (cursor)": [f"{grid}?after={m}" for m in members[:20]],
        "grid page, label filter": [f"{grid}?label={c}" for c in CLASSES],
        "sample page": [f"{grid}{m}/" for m in members],
        "API list": [api],
        "API list, deep (cursor)": [f"{api}?cursor={cursor(m)}" for m in members[:20]],
        "API list, label": [f"{api}?label={c}" for c in CLASSES],
        "API list, split": [f"{api}?split={s}" for s in ("train", "val", "test")],
        "API list, cluster": [f"{api}?cluster_run={ids['cluster_run']}&cluster={rng.randrange(N_CLUSTERS)}"
                              for _ in range(20)],
        "API list, duplicate group": [f"{api}?duplicate_run={ids['duplicate_run']}&duplicate_group="
                                      f"{rng.randrange(1, DUPLICATE_GROUPS + 1)}" for _ in range(20)],
        "API list, review state": [f"{api}?review_state={s}" for s in ("open", "agreed", "disputed")],
        "API list, review state, deep": [f"{api}?review_state={('open', 'agreed', 'disputed')[i % 3]}&cursor="
                                         f"{cursor(m)}" for i, m in enumerate(members[:20])],
    }  # fmt: skip


def _members_sampled(version_id: int, rng: random.Random) -> list[int]:
    from curation.models import VersionSample

    members = VersionSample.objects.filter(version_id=version_id).order_by("sample_id")
    low, high = members.values_list("sample_id", flat=True)[0], members.reverse().values_list("sample_id", flat=True)[0]
    return [int(members.filter(sample_id__gte=rng.randint(low, high)).values_list("sample_id", flat=True)[0])
            for _ in range(50)]  # fmt: skip


def _cursor(sample_id: int) -> str:
    from curation.apis.pagination import sample_cursor_encode

    return sample_cursor_encode(sample_id)


def viewer_login() -> tuple[dict[str, str], dict[str, str], Any]:
    """A viewer with an API token and a session cookie: (API headers, page cookies, the user)."""
    import uuid

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from core.roles import Role, user_role_assign

    user = get_user_model().objects.create_user(username=f"grid-bench-{uuid.uuid4().hex[:8]}")
    user_role_assign(user=user, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    token = Token.objects.create(user=user).key
    session = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    return {"Authorization": f"Token {token}"}, session, user


# --- plans ---------------------------------------------------------------------------------------------


def member_query(statements: list[str]) -> str | None:
    """The statement that reads the page's members (the one the filters shape), or None."""
    found = [sql for sql in statements if 'FROM "curation_versionsample"' in sql and "LIMIT" in sql]
    return max(found, key=len) if found else None


def plans_print(captured: dict[str, list[list[str]]]) -> dict[str, dict[str, Any]]:
    """EXPLAIN ANALYZE of each filtered operation's member query (its first path): the plan, the indexes it
    walks and whether any table is read whole (a Seq Scan)."""
    import re

    from django.db import connection

    plans: dict[str, dict[str, Any]] = {}
    for name, per_url in captured.items():
        if "filter" not in name and not name.startswith("API list,"):
            continue
        sql = member_query(per_url[0])
        if sql is None:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
            lines = [row[0] for row in cursor.fetchall()]
        indexes = sorted(set(re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\w+)", "\n".join(lines))))
        seq = sorted(set(re.findall(r"Seq Scan on (\w+)", "\n".join(lines))))
        took = next((line.split(":")[1].strip() for line in lines if line.startswith("Execution Time")), "?")
        plans[name] = {"indexes": indexes, "seq_scans": seq, "execution": took}
        print(f"EXPLAIN ANALYZE {name}: {took}; indexes {', '.join(indexes) or 'none'}; "
              f"seq scans {', '.join(seq) or 'none'}")  # fmt: skip
        for line in lines:
            print(f"    {line}")
    return plans


# --- profile -------------------------------------------------------------------------------------------


def profile_run(paths: dict[str, list[str]], headers: dict[str, str], user: Any, *, repeat: int, top: int) -> None:
    """Each operation's paths requested `repeat` times in turn through Django's test client, in this process (no
    HTTP, no other clients): CPU ms per request (process time, the SQL's wait on PostgreSQL excluded) and statements
    per request; then cProfile of every operation together, its `top` functions by own and by cumulative time."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    print(f"{'operation (in process)':<28} {'CPU ms':>7} {'wall ms':>8} {'statements':>10}")
    for name, urls in paths.items():
        cpu = wall = 0.0
        statements = 0
        for index in range(repeat):
            url = urls[index % len(urls)]
            extra = headers if url.startswith("/api/") else {}
            started_cpu, started = time.process_time(), time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                client.get(url, headers=extra)
            cpu += time.process_time() - started_cpu
            wall += time.perf_counter() - started
            statements += len(queries.captured_queries)
        print(f"{name:<28} {1000 * cpu / repeat:>7.2f} {1000 * wall / repeat:>8.2f} {statements / repeat:>10.1f}")
    profiler = cProfile.Profile()
    profiler.enable()
    for urls in paths.values():
        for index in range(repeat):
            url = urls[index % len(urls)]
            client.get(url, headers=headers if url.startswith("/api/") else {})
    profiler.disable()
    for order in ("tottime", "cumulative"):
        pstats.Stats(profiler, stream=sys.stdout).sort_stats(order).print_stats(top)


# --- floor ---------------------------------------------------------------------------------------------


def captured_sql(paths: dict[str, list[str]], headers: dict[str, str], user: Any) -> dict[str, list[list[str]]]:
    """The SQL of each request (one list of statements per path), through Django's test client; each path is
    requested once before, so that what the server caches per process (the version's counts) is cached here."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    captured: dict[str, list[list[str]]] = {}
    for name, urls in paths.items():
        captured[name] = []
        for url in urls:
            extra = headers if url.startswith("/api/") else {}
            client.get(url, headers=extra)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, headers=extra)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.content[:300]!r}")
            captured[name].append([q["sql"] for q in queries.captured_queries])
    return captured


def floor_run(
    captured: dict[str, list[list[str]]], *, clients: int, seconds: float
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Each request's statements replayed by psycopg from `clients` threads (own connections) for `seconds`, the
    operations taken in turn as the HTTP clients take them: the times per operation, and the CPU per replayed
    request of the PostgreSQL backends (read before the connections close)."""
    import psycopg

    names = list(captured)
    times: dict[str, list[float]] = {name: [] for name in captured}
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    done, measured = threading.Barrier(clients + 1), threading.Event()
    until = [time.monotonic() + 3600]

    def client(index: int) -> None:
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            barrier.wait()
            step = index
            while time.monotonic() < until[0]:
                name = names[step % len(names)]
                per_url = captured[name]
                statements = per_url[(step // len(names)) % len(per_url)]
                step += 1
                started = time.perf_counter()
                for statement in statements:  # reads only: a session touch or savepoint is not a read
                    if statement.lstrip("( \n").upper().startswith(("SELECT", "WITH")):  # "(": a UNION
                        connection.execute(statement.encode()).fetchall()
                with lock:
                    times[name].append(time.perf_counter() - started)
            done.wait()
            measured.wait()

    meter = CpuMeter(os.getpid())  # its "postgres" side: the backends replaying the SQL
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    cpu_start = meter.sample()
    until[0] = time.monotonic() + seconds
    done.wait()
    cpu = CpuMeter.per_request(cpu_start, meter.sample(), sum(len(values) for values in times.values()))
    measured.set()
    for thread in threads:
        thread.join()
    return times, cpu


def main() -> None:
    args = parse_args()
    args.var.mkdir(parents=True, exist_ok=True)
    django_setup(args.var)
    print(f"cores {os.cpu_count()}, load {os.getloadavg()}")
    ids = world(args)
    paths = request_paths(ids, args.rows, args.seed)
    headers, cookies, user = viewer_login()
    captured = captured_sql(paths, headers, user)
    if args.profile:
        profile_run({name: urls for name, urls in paths.items() if name.startswith(args.only)}, headers, user,
                    repeat=args.profile, top=30)  # fmt: skip
        return
    plans = plans_print(captured)
    if args.plans_only:
        return
    port = free_port()
    log = args.var / "gunicorn.log"
    load_before = os.getloadavg()
    server = gunicorn_start(port, log, workers=args.workers, threads=args.threads, probe_path="/api/me/")
    try:
        print(f"server: gunicorn gthread {args.workers}x{args.threads}; {args.clients} clients for {args.seconds} s")
        meter, cpu_start = CpuMeter(server.pid), {}
        started = [0.0]

        def timed_start() -> None:
            cpu_start.update(meter.sample())
            started[0] = time.monotonic()

        result = load_run(f"http://127.0.0.1:{port}", paths, clients=args.clients, seconds=args.seconds,
                          headers=headers, cookies=cookies, on_start=timed_start)  # fmt: skip
        elapsed = time.monotonic() - started[0]
        served = sum(len(times) for times in result.times.values())
        server_cpu = CpuMeter.per_request(cpu_start, meter.sample(), served)
    finally:
        server_stop(server)
    floor, floor_cpu = floor_run(captured, clients=args.clients, seconds=args.seconds)
    load_after = os.getloadavg()
    report: dict[str, Any] = {"rows": args.rows, "clients": args.clients, "load_before": load_before,
                              "load_after": load_after, "errors": dict(result.errors), "operations": {},
                              "requests_per_second": round(served / max(elapsed, 1e-9), 1),
                              "cpu_ms_per_request": server_cpu, "floor_postgres_cpu_ms_per_request":
                              floor_cpu["postgres"], "plans": plans}  # fmt: skip
    print(f"{'operation':<28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}   floor: {'p50 ms':>7} {'p95 ms':>7}  queries  "
          "p95 / floor p95   (target p95 <= 150 ms)")  # fmt: skip
    for name in paths:
        ours, bare = percentiles(result.times[name]), percentiles(floor[name])
        queries = max(len(statements) for statements in captured[name])
        ratio = ours.get("p95_ms", 0) / max(bare.get("p95_ms", 0), 0.1)
        print(f"{name:<28} {ours['count']:>5} {ours.get('p50_ms', 0):>8.1f} {ours.get('p95_ms', 0):>8.1f}   floor: "
              f"{bare.get('p50_ms', 0):>7.1f} {bare.get('p95_ms', 0):>7.1f}  {queries:>7}  {ratio:6.1f}")  # fmt: skip
        report["operations"][name] = {"server": ours, "floor": bare, "queries": queries}
    print(f"{served} requests in {elapsed:.1f} s ({report['requests_per_second']} requests/s); CPU per request: "
          f"server {server_cpu['server']} ms, PostgreSQL {server_cpu['postgres']} ms, clients {server_cpu['clients']} "
          f"ms; the floor's PostgreSQL {floor_cpu['postgres']} ms per replayed request")  # fmt: skip
    if result.errors:
        print(f"errors: {dict(result.errors)}; server log: {log}")
    print(f"load average before {load_before}, after {load_after}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
