"""Class activation maps created by name: ``create_explainer(name, model=..., target_layer=None)``.

Grad-CAM (Selvaraju et al. 2017), Grad-CAM++ (Chattopadhay et al. 2018) and EigenCAM (Muhammad &
Yeasin 2020) come from pytorch-grad-cam (PyPI ``grad-cam``), one target layer each. Choices made:
- The target layer is the override when one is given (a dotted module path), else the
  architecture's ``ModelSpec.cam_layer`` (its last conv block), else the last ``Conv2d`` found; a
  model with none of these fails with a message saying how to name a layer.
- pytorch-grad-cam min-max scales every map to [0, 1] before returning it, which hides how strong
  a map was. We keep the map before that scaling (``raw``: ReLU(Σ_k α_k A^k) at the layer's
  resolution, docs/METHODS.md §8) next to the scaled, upsampled one the library returns, so maps can be
  compared across models and the mask scores use the unscaled energy.
- Explained classes are the predicted ones unless targets are given (pytorch-grad-cam's argmax).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from explain.ml.registry import EXPLAINERS


class TargetLayerError(ValueError):
    """No usable target layer: the message says which layers exist and how to name one."""


@dataclass(frozen=True)
class CamBatch:
    """What explaining one batch gives, as NumPy arrays (N = batch size, C = classes)."""

    raw: np.ndarray  # N×h×w float32: the map before scaling, at the target layer's resolution
    maps: np.ndarray  # N×H×W float32 in [0, 1]: min-max scaled per image, resized to the input
    logits: np.ndarray  # N×C float32: the model's outputs on the batch
    targets: np.ndarray  # N int64: the class each map explains


def _capturing(cam_class: type[BaseCAM]) -> type[BaseCAM]:
    """A subclass of a pytorch-grad-cam method that keeps its single layer's map before scaling."""

    def compute_cam_per_layer(self: Any, input_tensor: torch.Tensor, targets: list, eigen_smooth: bool) -> list:
        activations = self.activations_and_grads.activations
        gradients = self.activations_and_grads.gradients
        if not activations or activations[0].ndim != 4:
            shape = tuple(activations[0].shape) if activations else "nothing"
            raise TargetLayerError(f"the target layer gives {shape}, not an (N, C, H, W) feature map")
        layer_grads = gradients[0].numpy() if gradients else None
        cam = self.get_cam_image(
            input_tensor, self.target_layers[0], targets, activations[0].numpy(), layer_grads, eigen_smooth
        )
        self.raw = np.maximum(cam, 0).astype(np.float32)
        return [scale_cam_image(self.raw, self.get_target_width_height(input_tensor))[:, None, :]]

    return type(f"Raw{cam_class.__name__}", (cam_class,), {"compute_cam_per_layer": compute_cam_per_layer})


class CamExplainer:
    """One CAM method hooked on one layer of a model; use as a context manager (hooks are released on exit)."""

    def __init__(self, name: str, cam_class: type[BaseCAM], model: nn.Module, layer_path: str):
        self.name, self.model, self.layer_path = name, model, layer_path
        self.uses_gradients = cam_class is not EigenCAM
        self._cam = _capturing(cam_class)(model=model, target_layers=[module_get(model, layer_path)])

    def explain(self, pixels: torch.Tensor, targets: list[int] | None = None) -> CamBatch:
        """Maps for a batch of model inputs; ``targets``: one class per image (default: the predicted class)."""
        chosen = None if targets is None else [ClassifierOutputTarget(int(c)) for c in targets]
        maps = self._cam(input_tensor=pixels, targets=chosen)
        logits = self._cam.outputs.detach().float().cpu().numpy()
        explained = np.asarray(targets if targets is not None else logits.argmax(axis=1), dtype=np.int64)
        return CamBatch(raw=self._cam.raw, maps=np.asarray(maps, np.float32), logits=logits, targets=explained)

    def close(self) -> None:
        self._cam.activations_and_grads.release()

    def __enter__(self) -> CamExplainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ExplainerBuilder = Callable[[nn.Module, str], CamExplainer]


def register_explainer(name: str) -> Callable[[ExplainerBuilder], ExplainerBuilder]:
    """Register ``builder(model, layer_path) -> CamExplainer`` under ``name`` (the built-in methods
    below are declared in ``explain.ml.registry``)."""
    return EXPLAINERS.register(name)


def explainer_names() -> list[str]:
    return sorted(EXPLAINERS.names())


def build_gradcam(model: nn.Module, layer_path: str) -> CamExplainer:
    return CamExplainer("gradcam", GradCAM, model, layer_path)


def build_gradcam_plusplus(model: nn.Module, layer_path: str) -> CamExplainer:
    return CamExplainer("gradcam++", GradCAMPlusPlus, model, layer_path)


def build_eigencam(model: nn.Module, layer_path: str) -> CamExplainer:
    return CamExplainer("eigencam", EigenCAM, model, layer_path)


def create_explainer(name: str, *, model: nn.Module, target_layer: str | None = None) -> CamExplainer:
    """The CAM method registered as ``name`` on ``model`` (put it in eval mode first).

    Args:
        name: a registered method (``explainer_names()``: gradcam, gradcam++, eigencam).
        model: the classifier; it takes [0, 1] pixels and normalizes them itself.
        target_layer: dotted module path of the layer to explain; default ``target_layer_resolve``.
    Raises UnknownNameError (a KeyError) for an unknown method, TargetLayerError when no layer can be used.
    """
    builder = EXPLAINERS.get(name)
    return builder(model, target_layer_resolve(model, target_layer))


def module_get(model: nn.Module, path: str) -> nn.Module:
    """The submodule at a dotted path (``body.blocks.3``), or TargetLayerError naming what exists."""
    try:
        return model.get_submodule(path)
    except AttributeError:
        known = ", ".join(conv_block_paths(model)[-5:]) or "none"
        raise TargetLayerError(
            f"the model has no module {path!r}; modules with convolutions near the output: {known}"
        ) from None


def conv_block_paths(model: nn.Module) -> list[str]:
    """Dotted paths of every module that is or contains a Conv2d, in definition order."""
    return [name for name, module in model.named_modules() if name and _has_conv(module)]


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def target_layer_resolve(model: nn.Module, override: str | None) -> str:
    """The layer to explain: ``override`` if given, else the spec's ``cam_layer``, else the last Conv2d."""
    if override:
        module_get(model, override)
        return override
    spec_layer = getattr(getattr(model, "spec", None), "cam_layer", "")
    if spec_layer:
        module_get(model, spec_layer)
        return str(spec_layer)
    convs = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if not convs:
        arch = getattr(getattr(model, "spec", None), "name", type(model).__name__)
        raise TargetLayerError(
            f"architecture {arch!r} has no convolutional layer and no target layer was given: Grad-CAM needs a "
            "spatial feature map; name a layer that outputs (N, C, H, W) with --target-layer (a dotted module path)"
        )
    return convs[-1]
