"""`manage.py build_demo_dataset --seed 0 [--size N] [--name NAME] [--truth PATH] [--if-missing]`."""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from tqdm import tqdm

from core.cli import WinnowCommand
from curation.demo.plan import DemoConfig
from curation.services.demo import DemoDatasetResult, demo_dataset_build


class Command(WinnowCommand):
    help = (
        "Build the demo dataset: object cut-outs composited onto background photos, with spurious backgrounds, "
        "duplicates, label noise and multi-object images recorded in a ground-truth JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = DemoConfig()
        parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default 0)")
        parser.add_argument("--size", type=int, default=defaults.size, help="number of files (default 1500)")
        parser.add_argument("--name", default=None, help="dataset name (default settings.DEMO_DATASET_NAME)")
        parser.add_argument("--truth", type=Path, default=None, help="also write the ground truth JSON here")
        parser.add_argument("--if-missing", action="store_true", help="do nothing when the dataset exists")
        parser.add_argument("--own-background-rate", type=float, default=defaults.own_background_rate)
        parser.add_argument("--label-noise-rate", type=float, default=defaults.label_noise_rate)

    def run(self, **options: Any) -> dict[str, Any]:
        config = DemoConfig(
            seed=options["seed"],
            size=options["size"],
            own_background_rate=options["own_background_rate"],
            label_noise_rate=options["label_noise_rate"],
        )
        bar = _ProgressBar(enabled=options["verbosity"] > 0)
        try:
            result = demo_dataset_build(
                config=config,
                name=options["name"],
                truth_path=options["truth"],
                if_missing=options["if_missing"],
                progress=bar,
            )
        finally:
            bar.close()
        for note in result.notes:
            self.stderr.write(f"note: {note}")
        return _summary(result)


class _ProgressBar:
    """A tqdm bar on stderr, opened at the first report (so a no-op build shows none)."""

    def __init__(self, *, enabled: bool):
        self.enabled = enabled
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc="demo images", unit="img", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _summary(result: DemoDatasetResult) -> dict[str, Any]:
    if not result.created:
        return {
            "created": False,
            "dataset_id": result.dataset.pk,
            "name": result.dataset.name,
            "version_id": result.version.pk if result.version else None,
            "message": f"dataset {result.dataset.name!r} already exists; nothing to do",
        }
    assert result.version is not None
    return {
        "created": True,
        "dataset_id": result.dataset.pk,
        "name": result.dataset.name,
        "version_id": result.version.pk,
        "files": result.files,
        "samples": result.samples,
        "exact_duplicate_aliases": result.exact_duplicate_aliases,
        "classes": result.dataset.classes,
        "source": result.object_source,
        "truth_key": result.truth_key,
        "truth_path": result.truth_path or None,
        "notes": result.notes,
        "seconds": result.seconds,
    }
