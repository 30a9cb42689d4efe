"""What a failure-slice report takes, declared once: the start API, the start page and `manage.py find_slices`
are generated from SliceParams (jobs.runs); services/params.py checks the values."""

from dataclasses import dataclass
from typing import Any

from core.params import param
from curation.embeddings.models import EmbeddingSet
from explain.params import DEVICE_HELP
from robustness.params import SPLITS, ModelOnVersionParams


def _embedding_sets() -> Any:
    return EmbeddingSet.objects.order_by("-id")


@dataclass(frozen=True)
class SliceParams(ModelOnVersionParams):
    """The model, the version and the embedding set (the report's own fields), then every parameter."""

    embedding_set: int | None = param(
        None,
        row=True,
        queryset=_embedding_sets,
        cli="--embeddings",
        label="Embeddings",
        help="Id of a ready embedding set of the dataset to cluster.",
        default_text="the model's own penultimate features",
    )
    features: str = param(
        "auto",
        choices=(
            ("auto", "auto: the embedding set named, else the model's own penultimate features"),
            ("embeddings", "embeddings: an encoder's embedding set (the one named, else the version's newest ready)"),
            ("model", "model: the model's own penultimate features"),
        ),
        help="What is clustered: auto, embeddings or model (neither won on held-out composite probes: "
        "docs/METHODS.md §13).",
    )
    split: str = param(
        "auto",
        choices=(("auto", "held out: test, else val"), *SPLITS),
        api_enum=False,
        cli_enum=False,
        help="test, val, train, unassigned or all; auto: test, else val (samples the model did not train on).",
    )
    max_samples: int | None = param(None, min=1, help="Search a seeded subset of at most this many samples.")
    min_size: int = param(3, min=1, label="Minimum slice size", help="Samples a slice needs to be ranked.")
    max_slices_per_class: int = param(8, min=1, label="Clusters per class at most", help="k-means clusters per class.")
    prediction_weight: float = param(0.0, min=0, max=10, help="Weight of the prediction in the clustering.")
    true_class_weight: float = param(
        0.0,
        min=0,
        max=100,
        help="Weight of the model's probability for the true class in the clustering (confident errors apart).",
    )
    context_k: int = param(
        20,
        min=0,
        label="Training neighbours (foreign context)",
        help="Training samples each held-out sample's foreign context is read from: the largest share of them "
        "holding one other class (0: no context, no pass over the training split).",
    )
    context_weight: float = param(
        4.0,
        min=0,
        max=100,
        help="Weight of the foreign context in the clustering (held-out samples that look like another class's "
        "training data apart); slices with more of it lead within each tier of the ranking.",
    )
    gallery_size: int = param(8, min=1, help="Typical images shown per slice.")
    batch_size: int = param(64, min=1, help="Images per forward pass.")
    device: str = param("auto", help=DEVICE_HELP)
    seed: int = param(0, min=0, help="Seed of the subset and of k-means.")
