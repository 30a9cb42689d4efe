"""Issue #20 item 14: how soon a chart page is usable, cold and with a warm browser cache.

    DATABASE_URL=postgres://.../winnow_bench python bench/chart_pages_bench.py
    DATABASE_URL=... python bench/chart_pages_bench.py --rounds 3

Setup (not timed), each run in a new dataset: a dataset version of --samples samples (3 classes, 2 splits) with an
embedding set of random vectors, made the way the tests make them (tests/curation/pruning/factories.py), and over
it a duplicate run of 20 near groups, a PCA embedding map (the `embedding_map` job run in this process) and a
SemDeDup-then-DBP prune run of its train split (the prune service); a demo dataset of --demo-size images
(build_demo_dataset's builder), a small CNN trained on it for --epochs epochs at 32 px (the `train` job in this
process: its page draws the loss and accuracy curves) and an evaluation of that model with every suite (clean,
3 corruptions x 3 severities, FGSM/PGD at 3 epsilons, the attribute edits: the `evaluate` job in this process);
an admin to log in as.

Timed: `manage.py runserver --noreload` with the development settings (what `make run` starts), headless
Debian Chromium. Each page is opened in a fresh browser context (cold: empty cache) and then again in the same
context (warm). The figure is the time from navigation start to the end of the last network response or the
load event, whichever is later (what Playwright's "networkidle" waits for, less its 500 ms quiet window;
the charts are drawn by then: plotly draws in the scripts' load handlers). The baseline is the datasets list,
a page without plotly, measured the same way in the same run. Target (issue #20): chart pages usable in <= 1.5 s
with a warm cache; not asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_load import free_port, server_stop  # noqa: E402

USERNAME, PASSWORD = "chart-bench", "chart-bench-pw"

# Navigation start -> later of the load event's end and the last resource's response end, in ms.
LAST_NETWORK_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const ends = performance.getEntriesByType('resource').map(r => r.responseEnd);
  return Math.max(nav.loadEventEnd, ...ends);
}"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--demo-size", type=int, default=240, help="images of the demo dataset the model trains on")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the small CNN (its curves' points)")
    parser.add_argument("--rounds", type=int, default=3, help="cold + warm visits of every page, best kept")
    parser.add_argument("--var", type=Path, default=Path(tempfile.gettempdir()) / "winnow-chart-bench")
    return parser.parse_args()


def django_setup(var_dir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(args: argparse.Namespace) -> dict[str, str]:
    """The chart pages to time, by name: URL path."""
    import numpy as np
    from django.contrib.auth.models import User
    from django.urls import reverse

    from curation.embeddings.models import DuplicateGroup, DuplicateRun, EmbeddingMap
    from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, map_params_validate
    from curation.pruning.services.params import prune_params_validate
    from curation.pruning.services.pruning import prune_run_create
    from jobs.services import job_create, job_execute
    from tests.curation.pruning.factories import embedding_set_create, member_ids, version_with_samples
    from tests.factories import DatasetFactory

    user = User.objects.filter(username=USERNAME).first() or User.objects.create_superuser(USERNAME, "", PASSWORD)
    user.set_password(PASSWORD)
    user.save()
    dataset = DatasetFactory(name=f"chart-bench-{time.time_ns()}")  # a new one each run
    version = version_with_samples(
        args.samples, labels=["cat", "dog", "bird"], splits=["train", "val"], dataset=dataset
    )
    ids = [int(i) for i in member_ids(version)]
    embedding_set = embedding_set_create(
        version=version, vectors=np.random.default_rng(0).normal(size=(len(ids), 8)).astype(np.float32), sample_ids=ids
    )
    duplicates = DuplicateRun.objects.create(
        embedding_set=embedding_set, version=version, threshold=0.9, threshold_source="given", near_group_count=20
    )
    for number in range(20):
        DuplicateGroup.objects.create(
            run=duplicates, number=number + 1, kind="near", size=3, sample_ids=ids[3 * number : 3 * number + 3]
        )
    map_job = job_create(
        kind=EMBEDDING_MAP_JOB_KIND,
        params=map_params_validate(embedding_set_id=embedding_set.pk, method="pca").as_job_params(),
        requested_by=user,
    )
    succeeded(job_execute(map_job.pk))
    embedding_map = EmbeddingMap.objects.get(job=map_job)
    prune_params = prune_params_validate(
        version_id=version.pk, method="semdedup+dbp", keep_fraction=0.5, embedding_set_id=embedding_set.pk
    )
    prune_run = prune_run_create(params=prune_params, user=user)
    training, evaluation = seed_model_runs(user, args)
    return {
        "baseline: datasets list (no plotly)": "/",
        "dataset page": reverse("frontend:dataset_detail", args=[version.dataset_id]),
        "duplicates": reverse("frontend:duplicate_run", args=[duplicates.pk]),
        "embedding map": reverse("frontend:embedding_map", args=[embedding_map.pk]),
        "prune run": reverse("frontend:prune_run_detail", args=[prune_run.pk]),
        "training curves": reverse("frontend:training_run_detail", args=[training.pk]),
        "evaluation report": reverse("frontend:evaluation_report", args=[evaluation.pk]),
    }


def succeeded(job) -> None:
    if job.status != "succeeded":
        raise RuntimeError(f"setup job {job.pk} ({job.kind}) {job.status}: {job.error}")


def seed_model_runs(user, args: argparse.Namespace):
    """A small demo dataset, a small CNN trained on it and its evaluation with every suite, each job run in this
    process as `manage.py train` / `evaluate` run them: (training run, evaluation run)."""
    from curation.demo.plan import DemoConfig
    from curation.services.demo import demo_dataset_build
    from jobs.services import job_execute
    from robustness.evaluation.services import evaluation_run_create
    from robustness.models import TrainedModel
    from robustness.services.training import training_run_start

    demo = demo_dataset_build(config=DemoConfig(seed=0, size=args.demo_size), name=f"chart-bench-demo-{time.time_ns()}")
    training = training_run_start(
        version=demo.version, arch="small-cnn", requested_by=user, epochs=args.epochs, batch_size=32, lr=3e-3,
        img_size=32, device="cpu", augmentation="none", enqueue=False,
    )  # fmt: skip
    succeeded(job_execute(training.job_id))
    params = {
        "device": "cpu",
        "corruptions": ["gaussian_noise", "fog", "contrast"],
        "severities": [1, 3, 5],
        "eps": [0.0, 2 / 255, 8 / 255],
    }
    evaluation = evaluation_run_create(
        trained_model=TrainedModel.objects.get(run=training), version=demo.version,
        suites=["clean", "corruptions", "adversarial", "attributes"], params=params, requested_by=user, enqueue=False,
    )  # fmt: skip
    succeeded(job_execute(evaluation.job_id))
    return training, evaluation


def runserver_start(port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    server = subprocess.Popen(
        command, cwd=REPO_ROOT, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=30)
            return server
        except requests.ConnectionError:
            time.sleep(0.5)
    server_stop(server)
    raise RuntimeError(f"runserver did not answer; see {log}")


def visit(page, url: str) -> tuple[float, int]:
    """(ms from navigation start to the last network response, the number of plotly charts drawn)."""
    page.goto(url, wait_until="networkidle")
    return page.evaluate(LAST_NETWORK_JS), page.locator(".js-plotly-plot").count()


def measure(
    base_url: str, pages: dict[str, str], rounds: int, charts: dict[str, int]
) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    figures: dict[str, dict[str, list[float]]] = {name: {"cold": [], "warm": []} for name in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(rounds):
                for name, path in pages.items():
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    page.set_default_timeout(60_000)
                    page.goto(f"{base_url}/accounts/login/?next=/")
                    page.get_by_label("Username").fill(USERNAME)
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Log in").click()
                    page.wait_for_url(f"{base_url}/")
                    # the login page loaded no plotly: the first visit is cold for it
                    cold_ms, charts[name] = visit(page, f"{base_url}{path}")
                    warm_ms, _ = visit(page, f"{base_url}{path}")
                    figures[name]["cold"].append(cold_ms)
                    figures[name]["warm"].append(warm_ms)
                    context.close()
        finally:
            browser.close()
    return figures


def main() -> None:
    args = parse_args()
    args.var.mkdir(parents=True, exist_ok=True)
    django_setup(args.var)
    pages = seed(args)
    with open("/proc/loadavg") as loadavg:
        print(f"load average before: {loadavg.read().split()[:3]}")
    port = free_port()
    server = runserver_start(port, args.var / "runserver.log")
    try:
        charts: dict[str, int] = {}
        figures = measure(f"http://127.0.0.1:{port}", pages, args.rounds, charts)
    finally:
        server_stop(server)
    baseline = figures["baseline: datasets list (no plotly)"]
    base_cold, base_warm = min(baseline["cold"]), min(baseline["warm"])
    print(f"{'page':38} {'charts':>6} {'cold ms':>9} {'warm ms':>9} {'cold/base':>10} {'warm/base':>10}")
    for name, by_cache in figures.items():
        cold, warm = min(by_cache["cold"]), min(by_cache["warm"])
        print(
            f"{name:38} {charts[name]:6} {cold:9.0f} {warm:9.0f} {cold / base_cold:10.2f} {warm / base_warm:10.2f}"
            f"   (best of {args.rounds}; median warm {statistics.median(by_cache['warm']):.0f})"
        )
    with open("/proc/loadavg") as loadavg:
        print(f"load average after: {loadavg.read().split()[:3]}")


if __name__ == "__main__":
    main()
