"""Architectures registered only in tests (a worker started by a test imports this module too).

- test-no-conv: a classifier without any convolution; its spec names no cam_layer, so explaining it
  without an override must fail with a clear message;
- test-slow-cam-cnn: the small CNN sleeping 0.25 s per forward pass, so a test can cancel mid-run.
"""

import time

import torch
from torch import nn

from robustness.ml.models import Classifier, ModelSpec, build_small_cnn, register_model

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


SLOW_CAM = "test-slow-cam-cnn"


class SlowEverywhere(Classifier):
    """The small CNN sleeping 0.25 s per forward pass, in eval mode too: an explanation batch takes a while."""

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        time.sleep(0.25)
        return super().forward(pixels)


@register_model(SLOW_CAM, default_img_size=16)
def build_slow_cam(num_classes: int, **kwargs: object) -> Classifier:
    model = build_small_cnn(num_classes, width=4)
    return SlowEverywhere(model.spec, model.body, model.head)
