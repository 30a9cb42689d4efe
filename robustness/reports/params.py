"""What the generic reports take, declared once (core.params): their start API, start page and `manage.py report`
options are generated from these dataclasses (jobs.runs), and the default prepare checks a request against them.
Imported at start-up: no services, no torch."""

from dataclasses import dataclass

from core.params import param
from robustness.params import SPLITS, ModelOnVersionParams

DEVICE_HELP = "auto, cpu, cuda or cuda:N (checked where the job runs)."


@dataclass(frozen=True)
class ConfidenceParams(ModelOnVersionParams):
    """The confidence-threshold report: the model and the version (the report's own fields), then its parameters."""

    split: str = param(
        "auto",
        choices=(("auto", "held out: test, else val, else all"), *SPLITS),
        api_enum=False,
        cli_enum=False,
        help="The members whose predictions are measured; auto: test, else val, else every member.",
    )
    target_accuracy: float = param(
        0.95,
        min=0,
        max=1,
        min_exclusive=True,
        help="The accuracy the predictions kept must reach: the report finds the lowest confidence that keeps it.",
    )
    max_samples: int | None = param(None, min=1, help="Measure a seeded subset of at most this many samples.")
    batch_size: int = param(64, min=1, max=4096, help="Images per forward pass.")
    device: str = param("auto", help=DEVICE_HELP)
    seed: int = param(0, min=0, help="Seed of the subset.")
