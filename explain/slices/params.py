"""The parameters of a failure-slice report, declared once (checked by services/params.py)."""

from dataclasses import dataclass

from core.params import param


@dataclass(frozen=True)
class SliceParams:
    """Every parameter of a failure-slice report, with its default (the embedding set is the request's own field)."""

    split: str = param("auto", help="test, val, train, unassigned or all; auto: test, else val.")
    max_samples: int | None = param(None, help="Search a seeded subset of at most this many samples.")
    min_size: int = param(5, help="Samples a slice needs to be ranked.")
    max_slices_per_class: int = param(8, help="k-means clusters per class at most.")
    prediction_weight: float = param(0.0, help="Weight of the prediction in the clustering (0 to 10).")
    gallery_size: int = param(8, help="Typical images shown per slice.")
    batch_size: int = param(64, help="Images per forward pass.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N.")
    seed: int = param(0, help="Seed of the subset and of k-means.")
