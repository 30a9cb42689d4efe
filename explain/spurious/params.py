"""What a spurious-feature report takes, declared once: the start API, the start page and `manage.py
find_spurious` are generated from SpuriousParams (jobs.runs); services/params.py checks the values."""

from dataclasses import dataclass

from core.params import param
from explain.params import DEVICE_HELP
from robustness.params import SPLITS, ModelOnVersionParams


@dataclass(frozen=True)
class SpuriousParams(ModelOnVersionParams):
    """The model and the version (its samples need object masks), then every parameter, with its default."""

    split: str = param(
        "auto",
        choices=(("auto", "train (else all)"), *SPLITS),
        api_enum=False,
        cli_enum=False,
        help="train, val, test, unassigned or all; auto: train, else all. The training split shows what the model "
        "learnt to rely on.",
    )
    max_samples: int | None = param(None, min=1, help="Probe a seeded subset of at most this many samples.")
    seed: int = param(0, min=0, help="Seed of the subset and of the swapped-in backgrounds.")
    swaps_per_image: int = param(3, min=1, cli_aliases=("--swaps",), help="Background swaps per image.")
    min_support: int = param(5, min=1, help="Images of a class a feature needs to be ranked.")
    pull: bool = param(True, help="Measure the background pull.")
    pull_max_samples: int = param(200, min=1, help="Images the background pull uses at most.")
    batch_size: int = param(64, min=1, help="Images per forward pass.")
    device: str = param("auto", help=DEVICE_HELP)
    example_features: int = param(3, min=1, help="Top features of each class shown with example edits.")
    examples_per_feature: int = param(2, min=0, max=10, help="Example edits per feature.")
    masks: str = param("auto", help="auto, dataset or a provider of masks stored by estimate_masks.")
