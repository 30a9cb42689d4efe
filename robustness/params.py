"""What a training run takes, declared once (core.params): the train API's input serializer, the training
page's start form (robustness.forms) and `manage.py train` come from TrainParams. Torch-free: the defaults
are TrainingConfig's (robustness.ml.training_options), the choices the registries' listings.

`ModelOnVersionParams` is the start of every run kind's params (jobs.runs): the trained model and the
dataset version it is applied to, the run's own fields (`row=True`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from core.params import param
from curation.models import DatasetVersion
from robustness.ml.augmentation_presets import AUGMENTATIONS, DEFAULT_AUGMENTATION
from robustness.ml.registry import architecture_names
from robustness.ml.training_options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_OPTIMIZER,
    DEFAULT_PRECISION,
    DEFAULT_WEIGHT_DECAY,
    OPTIMIZERS,
    PRECISIONS,
)
from robustness.models import TrainedModel

MAX_SEED = 2**63 - 1


def _augmentation_names() -> list[str]:
    return sorted(AUGMENTATIONS)


@dataclass(frozen=True)
class TrainParams:
    """training_run_start's keywords but the requester (see `start_kwargs`)."""

    version_id: int = param(
        name="version",
        cli="version_id",
        help="Id of the dataset version: trains on its train split, validates on its val split (or a seeded 20% "
        "of train).",
    )
    arch: str = param(choices=architecture_names, label="Architecture", help="A registered architecture.")
    epochs: int = param(DEFAULT_EPOCHS, min=1, max=1000, api_bounds=True, help="Passes over the train split.")
    batch_size: int = param(DEFAULT_BATCH_SIZE, min=1, max=4096, api_bounds=True, help="Images per step.")
    lr: float = param(
        DEFAULT_LR, min=0, api_bounds=True, label="Learning rate", help="Peak learning rate (cosine schedule)."
    )
    img_size: int | None = param(
        None,
        min=8,
        max=1024,
        api_bounds=True,
        label="Image size",
        help="Side of the square input in pixels.",
        default_text="the architecture's",
    )
    seed: int = param(0, min=0, max=MAX_SEED, api_bounds=True, help="Seeds the split, the init and the batches.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N (checked where the job runs).")
    augmentation: str = param(DEFAULT_AUGMENTATION, choices=_augmentation_names, help="An augmentation preset.")
    optimizer: str = param(DEFAULT_OPTIMIZER, choices=OPTIMIZERS, help="adamw or sgd (momentum 0.9).")
    weight_decay: float = param(DEFAULT_WEIGHT_DECAY, min=0, api_bounds=True, help="Decoupled weight decay.")
    precision: str = param(
        DEFAULT_PRECISION, choices=PRECISIONS, help="Mixed precision (bf16, fp16) applies on CUDA only."
    )

    def start_kwargs(self) -> dict[str, Any]:
        """The parameters but the version, as training_run_start's keywords."""
        values = dataclasses.asdict(self)
        del values["version_id"]
        return values


# The splits a run's start page offers after its own "auto" (the API and the command take any string: the
# kind's service refuses another with invalid_params).
SPLITS: tuple[tuple[str, str], ...] = (
    ("test", "test"),
    ("val", "val"),
    ("train", "train"),
    ("unassigned", "unassigned"),
)
SPLITS += (("all", "all members"),)


def _trained_models() -> Any:
    return TrainedModel.objects.order_by("-id")


def _versions() -> Any:
    return DatasetVersion.objects.select_related("dataset").order_by("dataset__name", "-number")


@dataclass(frozen=True)
class ModelOnVersionParams:
    """What every run kind's request starts with: a trained model applied to a dataset version (by id)."""

    trained_model: int = param(
        row=True, queryset=_trained_models, cli="model_id", label="Trained model", help="Id of the trained model."
    )
    version: int = param(
        row=True, queryset=_versions, cli="version_id", label="Dataset version", help="Id of the dataset version."
    )
