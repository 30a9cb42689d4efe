"""Issue 6's benchmark: concurrent reviewer clients over HTTP on loopback against PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow_review_bench python bench/review_load.py
    DATABASE_URL=... python bench/review_load.py --reviewers 20 --items 4000 --seconds 30 --workers 2 --threads 10

Setup (not timed): the database is created if missing and migrated; a dataset version of --items samples
(rows only: the API never reads pixels), one label proposal per sample, a review queue with every
reviewer assigned (--reviewers-per-item, default 2, so reviewers meet on items and consensus is
computed), and an API token per reviewer. The server is gunicorn (gthread workers) in a subprocess on
127.0.0.1, DEBUG off. Each client is a thread with its own keep-alive HTTP session that loops for
--seconds: GET next item, POST a vote on each candidate (yes on the proposal, no on the current
label, each with a fresh request id), POST submit. Every request is timed at the client (loopback, so
this is the server's time plus a few hundred microseconds of client and socket work).

Printed: p50 / p95 / max in ms of "next item", of a vote round trip and of submit, requests per second,
errors by code; then the audit: every vote the API accepted (201) is one row, no (item, reviewer, label)
has two current votes, and every item whose quorum was met is closed. The last line is one JSON object.
Target (DESIGN.md §11): p95 <= 150 ms at 20 concurrent clients.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
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

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["cat", "dog", "bird", "fox", "owl"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviewers", type=int, default=20, help="concurrent reviewer clients")
    parser.add_argument("--items", type=int, default=4000, help="items in the queue (more than the run can use)")
    parser.add_argument("--reviewers-per-item", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients work")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=10, help="threads per gunicorn worker")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
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
    from rest_framework.authtoken.models import Token

    from core.roles import Role, user_role_assign
    from curation.models import Dataset, DatasetVersion, Sample, VersionSample
    from curation.review.models import LabelProposal, ProposalRun
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
    return queue.pk, [Token.objects.create(user=u).key for u in users]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_start(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread", "--workers", str(args.workers), "--threads", str(args.threads),
        "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=REPO_ROOT, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/me/", timeout=30)
            return server
        except (requests.ConnectionError, requests.Timeout):
            if server.poll() is not None:
                sys.exit(f"gunicorn exited: {log.read_text()[-2000:]}")
            time.sleep(0.3)
    server.kill()
    sys.exit("gunicorn did not answer within 120 s")


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


def reviewer_client(base: str, queue_id: int, token: str, until: float, recorder: Recorder) -> None:
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})

    def timed(operation: str, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response = session.request(method, base + url, timeout=30, **kwargs)
        return recorder.record(operation, time.perf_counter() - started, response)

    while time.monotonic() < until:
        item = timed("next", "GET", f"/api/review-queues/{queue_id}/next/").get("item")
        if not item:
            return
        for candidate in item["candidates"]:
            value = "no" if candidate["current"] else "yes"
            payload = {"label": candidate["label"], "vote": value, "request_id": uuid.uuid4().hex}
            timed("vote", "POST", f"/api/review-items/{item['id']}/votes/", json=payload)
        timed("submit", "POST", f"/api/review-items/{item['id']}/submit/")


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
    from django.db.models import Count

    from curation.review.models import ItemState, ReviewQueue, ReviewVote, VoteOrigin

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
    return {
        "accepted_votes": len(accepted),
        "vote_rows": review_votes.count(),
        "accepted_votes_missing": len(set(accepted) - set(review_votes.values_list("pk", flat=True))),
        "doubled_current_votes": doubled,
        "items_closed": queue.items.exclude(state=ItemState.OPEN).count(),
        "items_at_quorum_not_closed": unclosed,
    }


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="review-bench-") as folder:
        django_setup(Path(folder))
        queue_id, tokens = world_create(args)
        port = args.port or free_port()
        server = server_start(args, port, Path(folder) / "gunicorn.log")
        recorder = Recorder()
        try:
            started = time.monotonic()
            until = started + args.seconds
            base = f"http://127.0.0.1:{port}"
            clients = [
                threading.Thread(target=reviewer_client, args=(base, queue_id, token, until, recorder))
                for token in tokens
            ]
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        requests_done = sum(len(v) for v in recorder.times.values())
        result = {
            "reviewers": args.reviewers,
            "server": f"gunicorn gthread {args.workers}x{args.threads}",
            "seconds": round(elapsed, 1),
            "requests_per_second": round(requests_done / elapsed, 1),
            "next_item": percentiles(recorder.times["next"]),
            "vote": percentiles(recorder.times["vote"]),
            "submit": percentiles(recorder.times["submit"]),
            "errors": dict(recorder.errors),
            "audit": audit(queue_id, recorder.accepted_votes),
        }
    rate = result["requests_per_second"]
    print(f"{args.reviewers} reviewer clients, {result['server']}, {result['seconds']} s, {rate} req/s")
    for name in ("next_item", "vote", "submit"):
        row = result[name]
        if row["count"]:
            times = f"p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  max {row['max_ms']:7.1f} ms"
            print(f"  {name:9s} n={row['count']:6d}  {times}")
    print(f"  errors: {result['errors'] or 'none'}")
    print(f"  audit: {result['audit']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
