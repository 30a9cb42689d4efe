"""Named augmentation presets: what each does, without importing torch (forms and APIs list them).

The batch operations themselves live in ``robustness.ml.augmentations``, imported when a preset is applied.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class AugmentationPreset:
    name: str
    description: str
    crop_padding: float = 0.0
    horizontal_flip: bool = False
    color_jitter: float = 0.0

    def spec(self) -> dict[str, object]:
        return asdict(self)

    def apply(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment a batch of [0, 1] pixels (N, 3, H, W) on any device; returns a new tensor."""
        from robustness.ml.augmentations import augment  # noqa: PLC0415 - augmentations (kornia/torch) loaded on use

        return augment(self, pixels, generator)


AUGMENTATIONS: dict[str, AugmentationPreset] = {
    preset.name: preset
    for preset in (
        AugmentationPreset("none", "No augmentation."),
        AugmentationPreset("flip", "Horizontal flip.", horizontal_flip=True),
        AugmentationPreset("flip-crop", "Random crop (1/8 reflect padding) and horizontal flip.", 0.125, True),
        AugmentationPreset(
            "flip-crop-color", "Random crop, horizontal flip and colour jitter (0.3).", 0.125, True, 0.3
        ),
    )
}
DEFAULT_AUGMENTATION = "flip-crop"


def augmentation_get(name: str) -> AugmentationPreset:
    try:
        return AUGMENTATIONS[name]
    except KeyError:
        raise KeyError(f"unknown augmentation {name!r}; known: {', '.join(AUGMENTATIONS)}") from None
