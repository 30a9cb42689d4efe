"""What an evaluation run takes, declared once: the start API, the start page and `manage.py evaluate` are
generated from EvaluationParams (jobs.runs); services/params.py checks the values and fills these defaults."""

from dataclasses import dataclass
from typing import Any

from core.params import param
from robustness.evaluation.models import EvaluationRun, Suite
from robustness.ml.corruptions import COMMON_CORRUPTIONS, SEVERITIES, corruption_names
from robustness.ml.registry import ATTACKS, DEFAULT_EDITS, EDITS
from robustness.params import SPLITS, ModelOnVersionParams

SUITES = (
    (Suite.CLEAN.value, "Clean (always)"),
    (Suite.CORRUPTIONS.value, "Corruptions (15 × 5 severities)"),
    (Suite.ADVERSARIAL.value, "Adversarial (FGSM, PGD)"),
    (Suite.ATTRIBUTES.value, "Attribute edits (needs masks)"),
)


def _baselines() -> Any:
    return EvaluationRun.objects.select_related("version")


def _corruptions() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in corruption_names("all")]


@dataclass(frozen=True)
class EvaluationParams(ModelOnVersionParams):
    """The model, the version, the suites and the baseline (the run's own fields), then every parameter, with
    its default (None: chosen by the job, by input size). The service refuses a value with its own codes."""

    suites: tuple[str, ...] = param(
        (Suite.CLEAN.value,), row=True, choices=SUITES, cli="--suite", cli_enum=False, help="clean always runs."
    )
    baseline: int | None = param(
        None,
        row=True,
        queryset=_baselines,
        label="Baseline run for mCE",
        help="Id of a finished run on the same dataset with corruption results; without one, errors stay unnormalised.",
    )
    split: str = param(
        "auto",
        choices=(("auto", "test (else val, else all)"), *SPLITS),
        api_enum=False,
        cli_enum=False,
        help="auto: test, else val, else all.",
    )
    max_samples: int | None = param(None, min=1, help="Evaluate a seeded subset of at most this many samples.")
    seed: int = param(0, min=0, help="Seed of the subset, the corruptions, PGD's random starts and the edits.")
    batch_size: int = param(64, min=1, help="Images per forward pass.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N.")
    ece_bins: int = param(15, min=1, help="Bins of the expected calibration error.")
    corruptions: tuple[str, ...] = param(
        COMMON_CORRUPTIONS,
        choices=_corruptions,
        cli_enum=False,
        help="Fewer corruptions finish sooner; mCE over a subset is not comparable with the full benchmark.",
        default_text="the 15 of ImageNet-C",
    )
    severities: tuple[int, ...] = param(SEVERITIES, choices=SEVERITIES, cli_enum=False, help="Corruption severities.")
    attacks: tuple[str, ...] = param(
        ("fgsm", "pgd"), choices=ATTACKS.names, cli_enum=False, help="Attacks of the adversarial suite."
    )
    eps: tuple[float, ...] | None = param(
        None,
        min=0,
        max=1,
        label="Attack ε values",
        help="ε of the attacks, pixels in [0, 1]; fractions allowed: 0, 2/255, 8/255.",
        default_text="chosen by input size",
    )
    default_eps: float | None = param(None, help="The ε the headline robust accuracy is read at.")
    alpha_ratio: float | None = param(None, help="PGD step size as a fraction of ε.")
    pgd_steps: int | None = param(None, min=1, help="PGD steps of the ε sweep.")
    pgd_long_steps: int | None = param(None, min=1, help="PGD steps of the long attack at the default ε.")
    random_start: bool = param(True, help="PGD starts at a random point of the ε-ball.")
    adversarial_max_samples: int = param(500, min=1, help="Samples attacked at most (a seeded subset).")
    edits: tuple[str, ...] = param(
        DEFAULT_EDITS, choices=EDITS.names, cli_enum=False, help="Attribute edits, with the null control."
    )
    background_source: str = param("auto", help="auto, demo_bank or version_images.")
    include_synthetic: bool = param(False, help="Evaluate synthetic samples too.")
    masks: str = param("auto", help="Object masks of the edits: auto, dataset or a provider of estimated masks.")
    slice_reports: tuple[int, ...] = param(
        (), help="Failure-slice reports of this dataset whose slices are scored as groups (accuracy per slice)."
    )
