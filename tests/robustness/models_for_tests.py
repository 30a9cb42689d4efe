"""Architectures registered only in tests (a worker started by a test imports this module too).

- test-slow-cnn: the small CNN, sleeping 0.3 s per training batch, so a test can act mid-epoch;
- test-nan-from-batch-5: the small CNN whose 5th training forward (and later ones) returns NaN;
- test-cuda-oom: raises torch.cuda.OutOfMemoryError on its first training forward, as CUDA does.
"""

import time

import torch

from robustness.ml.models import Classifier, build_small_cnn, register_model

SLOW = "test-slow-cnn"
NAN_FROM_BATCH_5 = "test-nan-from-batch-5"
CUDA_OOM = "test-cuda-oom"


class SlowClassifier(Classifier):
    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.training:
            time.sleep(0.3)
        return super().forward(pixels)


class NanFromBatch5(Classifier):
    training_forwards = 0

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        logits = super().forward(pixels)
        if self.training:
            self.training_forwards += 1
            if self.training_forwards >= 5:
                return logits * float("nan")
        return logits


class OutOfMemory(Classifier):
    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.training:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return super().forward(pixels)


def _small(cls: type[Classifier], num_classes: int) -> Classifier:
    model = build_small_cnn(num_classes, width=4)
    return cls(model.spec, model.body, model.head)


@register_model(SLOW, default_img_size=16)
def build_slow(num_classes: int, **kwargs: object) -> Classifier:
    return _small(SlowClassifier, num_classes)


@register_model(NAN_FROM_BATCH_5, default_img_size=16)
def build_nan(num_classes: int, **kwargs: object) -> Classifier:
    return _small(NanFromBatch5, num_classes)


@register_model(CUDA_OOM, default_img_size=16)
def build_oom(num_classes: int, **kwargs: object) -> Classifier:
    return _small(OutOfMemory, num_classes)
