"""An architecture registered only in tests: `test-no-conv`, a classifier without any convolution.

Its spec names no cam_layer, so explaining it without an override must fail with a clear message.
"""

import torch
from torch import nn

from robustness.ml.models import Classifier, ModelSpec, register_model

NO_CONV = "test-no-conv"
NO_CONV_SPEC = ModelSpec(NO_CONV, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 16, "random init", "")


class PooledMlpBody(nn.Module):
    """Average-pool to 4×4, flatten, one hidden layer: image features without a spatial conv map."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, hidden), nn.ReLU())
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.pool(x))


@register_model(NO_CONV, default_img_size=16)
def build_no_conv(num_classes: int, **kwargs: object) -> Classifier:
    body = PooledMlpBody()
    return Classifier(NO_CONV_SPEC, body, nn.Linear(body.out_features, num_classes))
