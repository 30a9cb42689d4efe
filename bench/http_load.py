"""A small HTTP load client shared by the web benches: a gunicorn server in a subprocess, N client threads that
start together and cycle through a list of requests for a fixed time, and p50/p95 per operation.

Used by bench/grid_load.py; bench/review_load.py keeps its own reviewer clients (they follow a protocol).
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(
    port: int, log: Path, *, workers: int, threads: int, probe_path: str, prefix: Sequence[str] = ()
) -> subprocess.Popen:
    """gunicorn (gthread workers) on 127.0.0.1:port, once `probe_path` answers; the caller stops it.
    `prefix` goes before the command (e.g. `taskset -c 0` to pin the server)."""
    command = [
        *prefix, str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
        "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=REPO_ROOT, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}{probe_path}", timeout=30)
            return server
        except (requests.ConnectionError, requests.Timeout):
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.3)
    server_stop(server)
    raise RuntimeError("gunicorn did not answer within 120 s")


def server_stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """count, p50, p95 and max in milliseconds (inclusive quantiles)."""
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


@dataclass
class LoadResult:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, status: int) -> None:
        with self.lock:
            self.times[operation].append(seconds)
            if status >= 400:
                self.errors[f"{operation} {status}"] += 1


class KeepAliveClient:
    """One keep-alive HTTP/1.1 connection with fixed headers and cookies: GET a path, read the whole body, return the
    status. http.client directly rather than a requests.Session: the clients share the server's 2 cores, and a
    Session's cookie jar, adapters and hooks cost about as much CPU per request as a light API call (measured in
    grid_load's "clients" CPU per request). A dropped connection is reopened once per request."""

    def __init__(self, base: str, *, headers: dict[str, str] | None, cookies: dict[str, str] | None) -> None:
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.headers = dict(headers or {})
        if cookies:
            self.headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> int:
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request("GET", path, headers=self.headers)
                response = self.connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
                continue
            if response.will_close:
                self.connection.close()
                self.connection = None
            return response.status
        raise AssertionError("unreachable")


def load_run(
    base: str,
    requests_by_operation: dict[str, list[str]],
    *,
    clients: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    on_start: Callable[[], None] | None = None,
) -> LoadResult:
    """`clients` threads, each with its own keep-alive connection, take the operations in turn (client i starts at
    operation i; each operation's paths in turn) for `seconds`, after one untimed request each; every request's wall
    time is recorded. Each operation gets about the same number of requests, whatever its number of paths.
    `on_start` is called once everyone is warm, as the timed run starts (e.g. to read the server's CPU time)."""
    names = list(requests_by_operation)
    result = LoadResult()
    barrier = threading.Barrier(clients + 1)
    until = [time.monotonic() + 3600]  # set for real once everyone is warm

    def client(index: int) -> None:
        connection = KeepAliveClient(base, headers=headers, cookies=cookies)
        connection.get(requests_by_operation[names[0]][0])
        barrier.wait()
        step = index
        while time.monotonic() < until[0]:
            name = names[step % len(names)]
            paths = requests_by_operation[name]
            path = paths[(step // len(names)) % len(paths)]
            step += 1
            started = time.perf_counter()
            try:
                status = connection.get(path)
            except (OSError, http.client.HTTPException) as exc:  # e.g. a worker killed by gunicorn's timeout
                status = 599
                result.errors[f"{name} {type(exc).__name__}"] += 1
            result.record(name, time.perf_counter() - started, status)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    if on_start is not None:
        on_start()
    until[0] = time.monotonic() + seconds
    for thread in threads:
        thread.join()
    return result
