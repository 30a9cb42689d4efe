"""Issue 6's benchmark: concurrent reviewer clients over HTTP on loopback against PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow_review_bench python bench/review_load.py
    DATABASE_URL=... python bench/review_load.py --reviewers 20 --items 4000 --seconds 30 --workers 2 --threads 10

Setup (not timed): the database is created if missing and migrated; a dataset version of --items samples
(rows only: the API never reads pixels), one label proposal per sample, a review queue with every
reviewer assigned (--reviewers-per-item, default 2, so reviewers meet on items and consensus is
computed), an API token per reviewer, and fresh planner statistics of the review tables (ANALYZE, as
autovacuum would soon gather). The server is gunicorn (gthread workers) in a subprocess on 127.0.0.1,
DEBUG off. Each client is a thread with its own keep-alive HTTP session that loops for --seconds: GET
next item, POST a vote on each candidate (yes on the proposal, no on the current label, each with a
fresh request id), POST submit; when time is up it closes the queue (POST release: its prefetched
claims go back). Every request is timed at the client (loopback, so this is the server's time plus a
few hundred microseconds of client and socket work).

Pinning (--pin): `auto` (the default) pins where the machine allows separate cores for server and clients with
cores left for PostgreSQL, i.e. 4+ usable cores: the server on the first half of them (taskset), the clients (this
process) on the last one, PostgreSQL (a shared system service, never pinned here) on whatever the scheduler gives it,
in practice the cores between. On fewer cores `auto` does not pin: server, clients and PostgreSQL are three
parties, and pinning the server to one of two cores halves its share while PostgreSQL takes from both (on the 2-core
machine of issue 19, 2026-12-07, 2 workers x 4 threads: p95 next/vote/submit 170/160/166 ms pinned against
128-136/113-131/123-140 unpinned). `split` forces the 2-core layout (server on core 0, clients on core 1); `none`
never pins. How it was pinned is printed. Threads: 2 workers x 4 threads by default (same day and machine: 2 x 10
gave 160/146/171 ms, 4 x 2 192/186/192; fewer threads cost less CPU per request, less GIL hand-over).

Floor (same process, before the HTTP run, on its own queue): the claim path's own SQL (serve a claim,
or claim a batch with SELECT ... FOR UPDATE SKIP LOCKED, then mark it submitted) by --reviewers
threads over psycopg, without Django or HTTP: what a "next item" costs the database at this
concurrency. Skipped for code without batch claims.

Printed: the load average before and after the run, p50 / p95 / max in ms of "next item", of a vote round trip
and of submit, requests per second,
errors by code; then the audit: every vote the API accepted (201) is one row, no (item, reviewer, label)
has two current votes, every item whose quorum was met is closed, no item is held (submitted or
claimed) by more than --reviewers-per-item reviewers, and no claim without a vote is left after the
clients closed the queue; "every accepted vote stored once: yes/no". The last line is one JSON object.
Target (docs/ARCHITECTURE.md §11): p95 <= 150 ms at 20 concurrent clients.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from http_load import gunicorn_start

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["cat", "dog", "bird", "fox", "owl"]


AUTO_PIN_MIN_CORES = 4  # server, clients and PostgreSQL each get a core or more


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviewers", type=int, default=20, help="concurrent reviewer clients")
    parser.add_argument("--items", type=int, default=4000, help="items in the queue (more than the run can use)")
    parser.add_argument("--reviewers-per-item", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients work")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--pin",
        choices=["auto", "split", "none"],
        default="auto",
        help="auto: pin on 4+ cores (server first half, clients last core); split: server core 0, clients core 1",
    )
    parser.add_argument("--floor-seconds", type=float, default=5.0, help="0: no bare-SQL floor")
    return parser.parse_args()


def django_setup(var_dir: Path) -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for the bench (it is created if missing).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    sys.path.insert(0, str(REPO_ROOT))
    database_create_if_missing(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def database_create_if_missing(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def world_create(args: argparse.Namespace) -> tuple[int, list[str]]:
    """A queue of --items samples with one proposal each and --reviewers assigned reviewers; their tokens."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from core.roles import Role, user_role_assign
    from curation.models import Dataset, DatasetVersion, Sample, VersionSample
    from curation.review.models import LabelProposal, ProposalRun, ReviewAssignment, ReviewItem, ReviewVote
    from curation.review.services.queues import review_queue_create

    tag = uuid.uuid4().hex[:8]
    dataset = Dataset.objects.create(name=f"review-bench-{tag}", classes=CLASSES)
    samples = Sample.objects.bulk_create(
        [
            Sample(
                dataset=dataset, sha256=f"{tag}{i:056d}", image_key=f"bench/{i}.png", thumbnail_key=f"bench/{i}.png",
                width=32, height=32, format="PNG", mode="RGB", file_size=1,
            )
            for i in range(args.items)
        ],
        batch_size=5000,
    )  # fmt: skip
    version = DatasetVersion.objects.create(dataset=dataset, number=1, operation="import", sample_count=args.items)
    labels = [CLASSES[i % len(CLASSES)] for i in range(args.items)]
    VersionSample.objects.bulk_create(
        [
            VersionSample(version=version, sample=s, label=label, labels=[{"label": label, "origin": "import"}])
            for s, label in zip(samples, labels, strict=True)
        ],
        batch_size=5000,
    )
    run = ProposalRun.objects.create(version=version, source="confident_learning", proposal_count=args.items)
    LabelProposal.objects.bulk_create(
        [
            LabelProposal(
                run=run, version=version, sample=s, label=CLASSES[(CLASSES.index(label) + 1) % len(CLASSES)],
                source=run.source, score=0.5 + (i % 50) / 100, issue_score=(i % 97) / 97,
            )
            for i, (s, label) in enumerate(zip(samples, labels, strict=True))
        ],
        batch_size=5000,
    )  # fmt: skip
    users = []
    for i in range(args.reviewers):
        user = get_user_model().objects.create_user(username=f"bench-{tag}-{i}", password=uuid.uuid4().hex)
        user_role_assign(user=user, role=Role.REVIEWER)
        users.append(user)
    queue = review_queue_create(
        version=version, name=f"bench {tag}", filter={"limit": args.items},
        reviewers_per_item=args.reviewers_per_item, reviewer_ids=[u.pk for u in users],
    )  # fmt: skip
    tokens = [Token.objects.create(user=u).key for u in users]
    # Fresh statistics, as autovacuum would gather soon after a queue is made: plans do not hinge on stale ones.
    with connection.cursor() as cursor:
        for model in (ReviewItem, ReviewAssignment, ReviewVote, VersionSample):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return queue.pk, tokens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pinning(args: argparse.Namespace) -> tuple[list[str], str]:
    """The server's command prefix and a sentence saying how server, clients and database are pinned."""
    cores = sorted(os.sched_getaffinity(0))
    enough = len(cores) >= AUTO_PIN_MIN_CORES if args.pin == "auto" else len(cores) >= 2
    if args.pin == "none" or not enough or not shutil.which("taskset"):
        if args.pin == "none":
            why = "--pin none"
        elif not shutil.which("taskset"):
            why = "no taskset"
        else:
            why = f"{len(cores)} usable core(s): --pin auto pins from {AUTO_PIN_MIN_CORES}, --pin split forces it"
        return [], f"not pinned ({why}): server, clients and PostgreSQL share cores {cores}"
    if args.pin == "split":
        server_cores, client_core = cores[:1], cores[1]
    else:
        server_cores, client_core = cores[: len(cores) // 2], cores[-1]
    os.sched_setaffinity(0, {client_core})  # this process: the clients (and the floor's threads)
    server_list = ",".join(map(str, server_cores))
    rest = sorted(set(cores) - set(server_cores) - {client_core})
    return ["taskset", "-c", server_list], (
        f"server (gunicorn, all workers) on core(s) {server_list} by taskset; clients (this process, all threads) "
        f"on core {client_core} by sched_setaffinity; PostgreSQL not pinned (a shared system service): "
        f"the scheduler places it{f', free cores {rest}' if rest else f' on any of cores {cores}'}"
    )


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.accepted_votes: list[int] = []

    def record(self, operation: str, seconds: float, response: requests.Response) -> dict[str, Any]:
        body = response.json() if response.content else {}
        with self.lock:
            self.times[operation].append(seconds)
            if response.status_code >= 400:
                self.errors[f"{operation} {response.status_code} {body.get('error', {}).get('code', '')}"] += 1
            if operation == "vote" and response.status_code == 201:
                self.accepted_votes.append(body["id"])
        return body


class CpuMeter:
    """CPU seconds used so far by the server (gunicorn and its workers), the PostgreSQL backends of the bench
    database, and this process (the clients): what a request costs, whatever else runs on the machine."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def sample(self) -> dict[str, dict[int, float]]:
        import psutil
        import psycopg

        server = psutil.Process(self.server_pid)
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            backends = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        groups = {
            "server": [server, *server.children(recursive=True)],
            "postgres": [psutil.Process(pid) for (pid,) in backends if psutil.pid_exists(pid)],
            "clients": [psutil.Process()],
        }
        used: dict[str, dict[int, float]] = {}
        for name, processes in groups.items():
            used[name] = {}
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                used[name][process.pid] = times.user + times.system
        return used

    @staticmethod
    def per_request(start: dict[str, dict[int, float]], end: dict[str, dict[int, float]], requests: int) -> dict:
        """Milliseconds of CPU per request by side, and the request rate that many cores could sustain."""
        spent = {name: sum(seconds - start[name].get(pid, 0.0) for pid, seconds in end[name].items()) for name in end}
        per = {name: round(1000 * seconds / max(requests, 1), 2) for name, seconds in spent.items()}
        total = sum(per.values())
        cores = os.cpu_count() or 1
        return {**per, "total": round(total, 2), "cores": cores, "capacity_rps": round(1000 * cores / total, 1)}


class Start:
    """Clients warm up (an untimed GET /api/me/ each: the server's threads, connections and imports), then start
    together; the timed run lasts --seconds from then."""

    def __init__(self, clients: int, seconds: float) -> None:
        self.seconds = seconds
        self.at = self.until = 0.0
        self.barrier = threading.Barrier(clients + 1, action=self.go)  # and the main thread, which measures

    def go(self) -> None:
        self.at = time.monotonic()
        self.until = self.at + self.seconds


def reviewer_client(base: str, queue_id: int, token: str, start: Start, recorder: Recorder) -> None:
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})
    session.get(f"{base}/api/me/", timeout=120).raise_for_status()
    start.barrier.wait()
    until = start.until

    def timed(operation: str, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response = session.request(method, base + url, timeout=30, **kwargs)
        return recorder.record(operation, time.perf_counter() - started, response)

    while time.monotonic() < until:
        item = timed("next", "GET", f"/api/review-queues/{queue_id}/next/").get("item")
        if not item:
            break
        for candidate in item["candidates"]:
            value = "no" if candidate["current"] else "yes"
            payload = {"label": candidate["label"], "vote": value, "request_id": uuid.uuid4().hex}
            timed("vote", "POST", f"/api/review-items/{item['id']}/votes/", json=payload)
        timed("submit", "POST", f"/api/review-items/{item['id']}/submit/")
    # Done: close the queue, so that the claims prefetched for this reviewer go back (code without it: 404).
    session.post(f"{base}/api/review-queues/{queue_id}/release/", timeout=30)


def claim_floor(args: argparse.Namespace) -> dict[str, Any] | None:
    """The claim path's own SQL (claims.py) by --reviewers threads over psycopg, without Django or HTTP.

    Each thread loops: serve its own claim or claim a batch (SKIP LOCKED), then mark it submitted (closing
    the item at the quorum, as submit does) so that the queue moves. Timed: the "next item" part alone.
    """
    from types import SimpleNamespace

    import psycopg

    try:
        from curation.review.services import claims
    except ImportError:
        return None  # code without batch claims
    from curation.review.models import ReviewQueue

    queue = ReviewQueue.objects.get(pk=world_create(args)[0])
    reviewer_ids = list(queue.reviewers.values_list("pk", flat=True))
    until = time.monotonic() + args.floor_seconds
    times: list[float] = []
    lock = threading.Lock()

    def floor_client(reviewer_id: int) -> None:
        reviewer = SimpleNamespace(pk=reviewer_id)
        url = os.environ["DATABASE_URL"]
        with psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor) as connection:
            while time.monotonic() < until:
                started = time.perf_counter()
                params = {**claims._params(queue, reviewer, [], None), "prefetch": claims.PREFETCH}  # type: ignore[arg-type]
                row = connection.execute(claims._SERVE_SQL, params).fetchone()
                if row is None:
                    with connection.transaction():
                        candidates = claims._CANDIDATES_SQL.format(wait="SKIP LOCKED")
                        locked = [r[0] for r in connection.execute(candidates, params).fetchall()]
                        if locked:
                            row = connection.execute(claims._INSERT_SQL, {**params, "locked": locked}).fetchone()
                elapsed = time.perf_counter() - started
                with lock:
                    times.append(elapsed)
                if row is None:
                    return
                floor_submit(connection, row[0], reviewer_id, queue.quorum)

    threads = [threading.Thread(target=floor_client, args=(r,)) for r in reviewer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return percentiles(times)


def floor_submit(connection: Any, item_id: int, reviewer_id: int, quorum: int) -> None:
    with connection.transaction():
        connection.execute("SELECT 1 FROM review_reviewitem WHERE id = %s FOR UPDATE", [item_id])
        connection.execute(
            "UPDATE review_reviewassignment SET state = 'submitted', finished_at = now() "
            "WHERE item_id = %s AND reviewer_id = %s",
            [item_id, reviewer_id],
        )
        connection.execute(
            "UPDATE review_reviewitem SET submitted_count = submitted_count + 1, "
            "state = CASE WHEN submitted_count + 1 >= %s THEN 'agreed' ELSE state END WHERE id = %s",
            [quorum, item_id],
        )


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 99
    return {
        "count": len(ordered),
        "p50_ms": round(1000 * q[49], 1),
        "p95_ms": round(1000 * q[94], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def audit(queue_id: int, accepted: list[int]) -> dict[str, Any]:
    from django.db.models import Count, Exists, OuterRef

    from curation.review.models import AssignmentState, ItemState, ReviewAssignment, ReviewQueue, ReviewVote, VoteOrigin

    queue = ReviewQueue.objects.get(pk=queue_id)
    review_votes = ReviewVote.objects.filter(item__queue=queue, origin=VoteOrigin.REVIEW)
    doubled = (
        ReviewVote.objects.filter(item__queue=queue, is_current=True)
        .values("item_id", "reviewer_id", "label")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    unclosed = queue.items.filter(state=ItemState.OPEN, submitted_count__gte=queue.quorum).count()
    assignments = ReviewAssignment.objects.filter(item__queue=queue)
    over_held = (
        assignments.filter(state__in=[AssignmentState.SUBMITTED, AssignmentState.CLAIMED])
        .values("item_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=queue.reviewers_per_item)
        .count()
    )
    unvoted = ReviewVote.objects.filter(item=OuterRef("item_id"), reviewer=OuterRef("reviewer_id"))
    claims_left = assignments.filter(state=AssignmentState.CLAIMED).exclude(Exists(unvoted)).count()
    return {
        "accepted_votes": len(accepted),
        "vote_rows": review_votes.count(),
        "accepted_votes_missing": len(set(accepted) - set(review_votes.values_list("pk", flat=True))),
        "doubled_current_votes": doubled,
        "items_closed": queue.items.exclude(state=ItemState.OPEN).count(),
        "items_at_quorum_not_closed": unclosed,
        "items_held_by_more_than_reviewers_per_item": over_held,
        "claims_without_votes_left_after_release": claims_left,
    }


def main() -> None:
    args = parse_args()
    prefix, pinned = pinning(args)
    with tempfile.TemporaryDirectory(prefix="review-bench-") as folder:
        django_setup(Path(folder))
        floor = claim_floor(args) if args.floor_seconds > 0 else None
        queue_id, tokens = world_create(args)
        load_before = os.getloadavg()
        port = args.port or free_port()
        server = gunicorn_start(
            port,
            Path(folder) / "gunicorn.log",
            workers=args.workers,
            threads=args.threads,
            probe_path="/api/me/",
            prefix=prefix,
        )
        recorder = Recorder()
        try:
            start = Start(len(tokens), args.seconds)
            base = f"http://127.0.0.1:{port}"
            clients = [
                threading.Thread(target=reviewer_client, args=(base, queue_id, token, start, recorder))
                for token in tokens
            ]
            meter = CpuMeter(server.pid)
            for client in clients:
                client.start()
            start.barrier.wait()
            cpu_start = meter.sample()
            for client in clients:
                client.join()
            elapsed = time.monotonic() - start.at
            cpu_end = meter.sample()
        finally:
            server.terminate()
            server.wait(timeout=30)
        server_log = (Path(folder) / "gunicorn.log").read_text().strip()
        requests_done = sum(len(v) for v in recorder.times.values())
        result = {
            "reviewers": args.reviewers,
            "server": f"gunicorn gthread {args.workers}x{args.threads}",
            "pinning": pinned,
            "seconds": round(elapsed, 1),
            "requests_per_second": round(requests_done / elapsed, 1),
            "cpu_ms_per_request": CpuMeter.per_request(cpu_start, cpu_end, requests_done),
            "next_item": percentiles(recorder.times["next"]),
            "vote": percentiles(recorder.times["vote"]),
            "submit": percentiles(recorder.times["submit"]),
            "errors": dict(recorder.errors),
            "audit": audit(queue_id, recorder.accepted_votes),
            "floor_next_item_bare_sql": floor,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
    audited = result["audit"]
    stored_once = (
        audited["accepted_votes"] == audited["vote_rows"]
        and audited["accepted_votes_missing"] == 0
        and audited["doubled_current_votes"] == 0
    )
    result["every_accepted_vote_stored_once"] = stored_once
    rate = result["requests_per_second"]
    print(f"{args.reviewers} reviewer clients, {result['server']}, {result['seconds']} s, {rate} req/s")
    print(f"  pinning: {pinned}")
    print(f"  load average (1, 5, 15 min) before {result['load_average_before']}, after {result['load_average_after']}")
    cpu = result["cpu_ms_per_request"]
    print(
        f"  CPU per request: server {cpu['server']} ms, PostgreSQL {cpu['postgres']} ms, clients {cpu['clients']} ms; "
        f"{cpu['total']} ms in all, so {cpu['cores']} cores with nothing else to do serve at most "
        f"{cpu['capacity_rps']} requests/s"
    )
    for name in ("next_item", "vote", "submit"):
        row = result[name]
        if row["count"]:
            print(f"  {name:9s} n={row['count']:6d}  {times_line(row)}")
    if floor and floor["count"]:
        print(
            f"  floor: next item as bare SQL (psycopg, {args.reviewers} threads, no Django/HTTP): {times_line(floor)}"
        )
    print(f"  errors: {result['errors'] or 'none'}")
    if server_log:
        print(f"  server log (last lines): {server_log.splitlines()[-5:]}")
    print(f"  audit: {audited}")
    print(f"  every accepted vote stored once: {'yes' if stored_once else 'no'}")
    print(json.dumps(result))


def times_line(row: dict[str, float]) -> str:
    return f"p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  max {row['max_ms']:7.1f} ms"


if __name__ == "__main__":
    main()
