"""Image (and text) encoders created by name: ``create_encoder("open_clip:ViT-B-32:laion2b_s34b_b79k")``."""

from curation.ml.encoder_registry import DEFAULT_ENCODER
from curation.ml.encoders.base import (
    Encoder,
    EncoderSpec,
    NoTextTower,
    WeightsUnavailable,
    create_encoder,
    register_encoder,
    registered_encoder_builders,
    registered_encoder_families,
)

__all__ = [
    "DEFAULT_ENCODER",
    "Encoder",
    "EncoderSpec",
    "NoTextTower",
    "WeightsUnavailable",
    "create_encoder",
    "register_encoder",
    "registered_encoder_builders",
    "registered_encoder_families",
]
