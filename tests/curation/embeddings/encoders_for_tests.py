"""Encoder families that exist only in tests; a worker started by a test imports this module through
WINNOW_EXTRA_JOB_MODULES so that it knows them too.

``test_slow:<seconds>:<inner encoder name>`` wraps a real encoder (the tiny open_clip saved to disk)
and sleeps before each batch: a real-worker test needs chunks slow enough to kill a worker mid-run.
"""

import time
from dataclasses import replace

import torch

from curation.ml.encoders import Encoder, create_encoder, register_encoder

SLOW_FAMILY = "test_slow"


class SlowEncoder(Encoder):
    def __init__(self, inner: Encoder, *, delay_s: float, name: str) -> None:
        super().__init__(replace(inner.spec, name=name), inner.module, inner.preprocess, device=inner.device)
        self._inner = inner
        self._delay_s = delay_s

    def _image_features(self, batch: torch.Tensor) -> torch.Tensor:
        time.sleep(self._delay_s)
        return self._inner._image_features(batch)


@register_encoder(SLOW_FAMILY)
def build_slow_encoder(argument: str, *, device: torch.device, precision: str) -> SlowEncoder:
    delay, _, inner_name = argument.partition(":")
    inner = create_encoder(inner_name, device=device, precision=precision)
    return SlowEncoder(inner, delay_s=float(delay), name=f"{SLOW_FAMILY}:{argument}")


def slow_encoder_name(delay_s: float, inner_name: str) -> str:
    return f"{SLOW_FAMILY}:{delay_s}:{inner_name}"
