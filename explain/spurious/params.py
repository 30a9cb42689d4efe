"""The parameters of a spurious-feature report, declared once (checked by services/params.py)."""

from dataclasses import dataclass

from core.params import param


@dataclass(frozen=True)
class SpuriousParams:
    """Every parameter of a spurious-feature report, with its default."""

    split: str = param("auto", help="train, val, test, unassigned or all; auto: train, else all.")
    max_samples: int | None = param(None, help="Probe a seeded subset of at most this many samples.")
    seed: int = param(0, help="Seed of the subset and of the swapped-in backgrounds.")
    swaps_per_image: int = param(3, help="Background swaps per image.")
    min_support: int = param(5, help="Images of a class a feature needs to be ranked.")
    pull: bool = param(True, help="Measure the background pull.")
    pull_max_samples: int = param(200, help="Images the background pull uses at most.")
    batch_size: int = param(64, help="Images per forward pass.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N.")
    example_features: int = param(3, help="Top features of each class shown with example edits.")
    examples_per_feature: int = param(2, help="Example edits per feature (0 to 10).")
    masks: str = param("auto", help="auto, dataset or a provider of masks stored by estimate_masks.")
