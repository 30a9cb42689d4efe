"""The parameters of an evaluation run, declared once (checked by services/params.py, which fills these defaults)."""

from dataclasses import dataclass

from core.params import param
from robustness.ml.corruptions import COMMON_CORRUPTIONS, SEVERITIES
from robustness.ml.registry import DEFAULT_EDITS


@dataclass(frozen=True)
class EvaluationParams:
    """Every parameter of an evaluation run, with its default (None: chosen by the job, by input size)."""

    split: str = param("auto", help="test, val, train, unassigned or all; auto: test, else val, else all.")
    max_samples: int | None = param(None, help="Evaluate a seeded subset of at most this many samples.")
    seed: int = param(0, help="Seed of the subset, the corruptions, PGD's random starts and the edits.")
    batch_size: int = param(64, help="Images per forward pass.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N.")
    ece_bins: int = param(15, help="Bins of the expected calibration error.")
    corruptions: tuple[str, ...] = param(COMMON_CORRUPTIONS, help="Corruption names (default: the 15 of ImageNet-C).")
    severities: tuple[int, ...] = param(SEVERITIES, help="Corruption severities, among 1-5.")
    attacks: tuple[str, ...] = param(("fgsm", "pgd"), help="Attacks of the adversarial suite.")
    eps: tuple[float, ...] | None = param(None, help="ε of the attacks, pixels in [0, 1].")
    default_eps: float | None = param(None, help="The ε the headline robust accuracy is read at.")
    alpha_ratio: float | None = param(None, help="PGD step size as a fraction of ε.")
    pgd_steps: int | None = param(None, help="PGD steps of the ε sweep.")
    pgd_long_steps: int | None = param(None, help="PGD steps of the long attack at the default ε.")
    random_start: bool = param(True, help="PGD starts at a random point of the ε-ball.")
    adversarial_max_samples: int = param(500, help="Samples attacked at most (a seeded subset).")
    edits: tuple[str, ...] = param(DEFAULT_EDITS, help="Attribute edits, with the null control.")
    background_source: str = param("auto", help="auto, demo_bank or version_images.")
    include_synthetic: bool = param(False, help="Evaluate synthetic samples too.")
    masks: str = param("auto", help="Object masks of the edits: auto, dataset or a provider of estimated masks.")
    slice_reports: tuple[int, ...] = param(
        (), help="Failure-slice reports of this dataset whose slices are scored as groups (accuracy per slice)."
    )
