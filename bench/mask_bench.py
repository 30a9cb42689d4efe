"""Mask estimation throughput: the `estimate_masks` job against a bare loop of the same estimator.

    python bench/mask_bench.py [--n 200] [--rounds 3] [--provider estimated]

Builds a demo dataset of N images (seed 0, true masks included) in a temporary SQLite database and
media folder, then for each of --rounds rounds (the best round of each counts, which filters out noise
from neighbours on a shared machine):
1. bare: the provider's ``masks`` over the N images, already decoded in memory, one image per call: the floor;
2. job: ``mask_set_start`` + ``job_execute`` inline, as `manage.py estimate_masks` runs it: images read from
   storage and decoded, masks estimated in batches, PNGs stored, rows written, progress after each batch,
   and the IoU against the true masks at the end (the set is deleted between rounds).
Prints images/s of both and their ratio (job / bare) in wall time and in CPU time (on a shared machine the
CPU-time ratio says what the wall ratio would be on idle cores), and the median IoU the job measured.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="demo images (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds; the best counts (default 3)")
    parser.add_argument("--provider", default="estimated", help="mask provider name (default estimated)")
    return parser.parse_args()


def django_setup(var_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ["WINNOW_VAR_DIR"] = str(var_dir)
    os.environ["WINNOW_MEDIA_ROOT"] = str(var_dir / "media")
    os.environ.pop("DATABASE_URL", None)  # always the temporary SQLite database
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def timed(work: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="mask-bench-") as folder:
        django_setup(Path(folder))
        from PIL import Image

        from core.storage import blob_read
        from curation.demo.plan import DemoConfig
        from curation.masks.models import MaskSet
        from curation.masks.services import mask_set_start
        from curation.ml.masks import create_mask_provider
        from curation.models import DatasetVersion, VersionSample
        from curation.services.demo import demo_dataset_build
        from jobs.services import job_execute

        demo_dataset_build(config=DemoConfig(seed=0, size=args.n), name="mask-bench")
        version = DatasetVersion.objects.get()
        members = VersionSample.objects.filter(version=version).select_related("sample").order_by("sample_id")
        images = [np.asarray(Image.open(io.BytesIO(blob_read(m.sample.image_key))).convert("RGB")) for m in members]
        labels = [m.label for m in members]
        provider = create_mask_provider(args.provider)

        def bare() -> None:
            for image, label in zip(images, labels, strict=True):
                provider.masks([image], class_names=[label])

        quality: dict = {}

        def job() -> None:
            MaskSet.objects.all().delete()
            mask_set = mask_set_start(version=version, provider=args.provider, requested_by=None, enqueue=False)
            assert mask_set.job_id is not None and job_execute(mask_set.job_id).status == "succeeded"
            mask_set.refresh_from_db()
            quality.update(mask_set.quality or {})

        best: dict[str, tuple[float, float]] = {}
        for round_number in range(1, args.rounds + 1):
            for name, work in (("bare", bare), ("job", job)):
                wall, cpu = timed(work)
                print(f"round {round_number} {name}: {len(images) / wall:.2f} images/s wall, "
                      f"{len(images) / cpu:.2f} images/s CPU", flush=True)  # fmt: skip
                previous = best.get(name, (np.inf, np.inf))
                best[name] = (min(previous[0], wall), min(previous[1], cpu))
        n = len(images)
        bare_wall, bare_cpu = n / best["bare"][0], n / best["bare"][1]
        job_wall, job_cpu = n / best["job"][0], n / best["job"][1]
        print(f"{args.provider} on {n} demo images (best of {args.rounds}):")
        print(f"  bare loop  {bare_wall:8.2f} images/s wall  {bare_cpu:8.2f} images/s CPU")
        print(f"  job        {job_wall:8.2f} images/s wall  {job_cpu:8.2f} images/s CPU")
        print(f"  ratio job/bare: {job_wall / bare_wall:.3f} wall, {job_cpu / bare_cpu:.3f} CPU (target >= 0.85)")
        if quality:
            print(f"  median IoU against the true masks: {quality['median_iou']:.3f} over {quality['compared']} images")


if __name__ == "__main__":
    main()
