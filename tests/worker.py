"""A real Celery worker for tests about the worker (docs/ARCHITECTURE.md §3), and a real broker restart.

The worker is `celery -A config worker -B` in its own process group, on the pytest-django test
database and the test's broker, media root and a private var dir, with fast recovery settings
(heartbeat timeout 6 s, reaper every 1 s). Use it from a transactional test, so the worker sees
committed rows:

    from tests.worker import celery_worker  # noqa: F401  (in your conftest.py)

    @pytest.mark.worker
    @pytest.mark.django_db(transaction=True)
    def test_import_runs_on_a_worker(celery_worker):
        worker = celery_worker()               # returns once the worker says it is ready
        job = job_submit(kind="import_dataset", params={...}, requested_by=user)
        job = wait_for_job(job.pk, lambda j: j.is_finished)
        ...
        worker.kill()                          # SIGKILL the whole process group

Override the `worker_job_modules` fixture to make the worker import modules that register job
kinds defined in tests (WINNOW_EXTRA_JOB_MODULES). Every worker is stopped at teardown, before
the test database is flushed; the broker's database is flushed at setup.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from jobs.models import Job

# Deadlines on state, not durations: a loaded machine only makes them take longer to pass (a worker's start,
# importing Django and the job modules, took over 150 s under six CPU burners).
WORKER_READY_TIMEOUT_S = 120.0
WORKER_STOP_TIMEOUT_S = 5.0
JOB_WAIT_TIMEOUT_S = 60.0
# Fast recovery, so fault tests finish in seconds: a worker is declared lost after 6 s of silence (it beats every
# 1.5 s, a quarter of that). 2 s was too tight for a live worker on a loaded machine: at nice 10 beside six nice-0
# CPU burners on 2 cores, a heartbeat thread whose job holds the GIL beat every 1.14 s (median; max 1.52 s in
# 30 s) instead of 0.5 s, so its row could look 2 s old to the reaper or to a redelivered message's claim. A
# real fault costs 4 s more to detect than with 2 s (each test that kills or freezes a worker).
FAST_RECOVERY_ENV = {
    "WINNOW_JOB_HEARTBEAT_TIMEOUT": "6",
    "WINNOW_JOB_REAP_INTERVAL": "1",
    "WINNOW_JOB_QUEUED_RESEND_AFTER": "3",
    "CELERY_VISIBILITY_TIMEOUT": "3",
}


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def is_running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (main process, pool children, embedded beat)."""
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WORKER_STOP_TIMEOUT_S)

    def freeze(self) -> None:
        """SIGSTOP the whole process group: the worker, heartbeat included, stops as on a starved CPU."""
        _signal_group(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal_group(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL the group if it has not exited in time."""
        self.thaw()  # a frozen worker would not act on SIGTERM
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=WORKER_STOP_TIMEOUT_S)
        _signal_group(self.process.pid, signal.SIGKILL)  # stray children of a stopped worker, too
        if self.is_running():
            self.process.wait(timeout=WORKER_STOP_TIMEOUT_S)


def worker_of(job: Job, workers: list[WorkerProcess]) -> WorkerProcess:
    """The worker whose pool process runs the job (Job.worker is `host:pid`; the pool is in its process group)."""
    pid = int(job.worker.rpartition(":")[2])
    return next(worker for worker in workers if os.getpgid(pid) == worker.process.pid)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def worker_database_url() -> str:
    """The pytest-django test database (test_<name>) as a DATABASE_URL."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(*, var_dir: Path, job_modules: str, overrides: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "WINNOW_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "WINNOW_VAR_DIR": str(var_dir),
        "WINNOW_EXTRA_JOB_MODULES": job_modules,
        "PYTHONUNBUFFERED": "1",
        **FAST_RECOVERY_ENV,
    }
    env.update(overrides)
    return env


def start_worker(*, name: str, env: dict[str, str], log_path: Path, queues: str = "default,gpu") -> WorkerProcess:
    """Start a worker (with embedded beat) and return once it logs that it is ready."""
    celery = str(Path(sys.executable).with_name("celery"))
    command = [celery, "-A", "config", "worker", "-B", "-Q", queues, "--concurrency", "1", "--pool", "prefork"]
    command += ["-n", f"{name}@%h", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(name=name, process=process, log_path=log_path)
    deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
    while f"{name}@" not in worker.log() or " ready." not in worker.log():
        if not worker.is_running() or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker {name} did not become ready; its log:\n{worker.log()[-4000:]}")
        time.sleep(0.1)
    return worker


@pytest.fixture
def worker_job_modules() -> str:
    """Comma-separated modules the worker imports to register job kinds (override per test package)."""
    return ""


@pytest.fixture
def celery_worker(transactional_db: Any, tmp_path: Path, worker_job_modules: str) -> Iterator[Callable[..., Any]]:
    """A function that starts a worker: `celery_worker(**env_overrides) -> WorkerProcess`."""
    broker_flush()
    started: list[WorkerProcess] = []

    def start(**env_overrides: str) -> WorkerProcess:
        name = f"w{len(started) + 1}"
        var_dir = tmp_path / f"{name}-var"
        env = worker_env(var_dir=var_dir, job_modules=worker_job_modules, overrides=env_overrides)
        worker = start_worker(name=name, env=env, log_path=tmp_path / f"{name}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        # pytest shows captured output only for failed tests: there, the worker's side of the story.
        print(f"--- log of worker {worker.name} (last 6000 characters) ---\n{worker.log()[-6000:]}")
    broker_flush()


def broker_client() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def broker_flush() -> None:
    """Empty the test's broker database (only it: other test runs use other database numbers)."""
    broker_client().flushdb()


def wait_for_job(job_id: int, predicate: Callable[[Job], bool], *, timeout: float = JOB_WAIT_TIMEOUT_S) -> Job:
    """Poll the job row until `predicate(job)` holds; fail with the job's state after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job_id)
        if predicate(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} still {job.status} after {timeout} s: {job.message!r} attempts={job.attempts}\n"
                f"{job.log_tail}"
            )
        time.sleep(0.1)


def redis_restart(*, timeout: float = 10.0) -> None:
    """Restart the local Redis server behind the test broker with the options it runs with now.

    It runs without persistence on test machines, so the restart loses every queued message.
    Other test runs share this server: the restart takes well under a second.
    """
    url = urlsplit(settings.CELERY_BROKER_URL)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"refusing to restart a Redis server that is not local: {url.hostname}")
    client = broker_client()
    options = {key: client.config_get(key)[key] for key in ("port", "bind", "dir", "logfile", "save", "appendonly")}
    command = [shutil.which("redis-server") or "redis-server", "--daemonize", "yes", "--port", options["port"]]
    command += ["--bind", *options["bind"].split(), "--save", options["save"], "--appendonly", options["appendonly"]]
    command += ["--dir", options["dir"], "--logfile", options["logfile"]]
    client.shutdown(nosave=True)
    _wait_until(lambda: not _pings(client), timeout, "Redis did not shut down")
    subprocess.run(command, check=True, start_new_session=True)
    _wait_until(lambda: _pings(client), timeout, "Redis did not come back")


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _wait_until(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.02)
