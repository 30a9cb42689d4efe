"""The explanation methods, listed without importing torch or pytorch-grad-cam (``core.registry``).

Each entry is ``builder(model, layer_path) -> CamExplainer`` in ``explain.ml.cams``; the first
``get`` imports it. ``explain.models.CamMethod`` holds the same names as database choices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from explain.ml.cams import CamExplainer

EXPLAINERS: Registry[Callable[[nn.Module, str], CamExplainer]] = Registry("explanation method")
EXPLAINERS.register_lazy("gradcam", "explain.ml.cams:build_gradcam")
EXPLAINERS.register_lazy("gradcam++", "explain.ml.cams:build_gradcam_plusplus")
EXPLAINERS.register_lazy("eigencam", "explain.ml.cams:build_eigencam")
