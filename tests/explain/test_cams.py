"""The CAM registry against slow obvious references on a tiny conv net (docs/METHODS.md §8).

Grad-CAM by hand: A = the target layer's activations, α_k = mean over cells of ∂y^c/∂A^k for the
pre-softmax score y^c, L = ReLU(Σ_k α_k A^k); the scaled map is L min-max scaled, then resized.
"""

import numpy as np
import pytest
import torch
from pytorch_grad_cam.utils.image import scale_cam_image
from torch import nn

from explain.ml.cams import (
    EXPLAINERS,
    TargetLayerError,
    create_explainer,
    explainer_names,
    target_layer_resolve,
)
from robustness.ml.models import Classifier, ModelSpec, create_model
from tests.explain.models_for_tests import NO_CONV

TINY_SPEC = ModelSpec("tiny", (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 8, "random init", "body.conv")


class TinyBody(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.out_features = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3))


def tiny_model() -> Classifier:
    torch.manual_seed(3)
    return Classifier(TINY_SPEC, TinyBody(), nn.Linear(4, 3)).eval()


def grad_cam_by_hand(model: Classifier, pixels: torch.Tensor, classes: list[int]) -> np.ndarray:
    """One image at a time: activations and gradients with autograd, then ReLU(Σ α_k A^k)."""
    maps = []
    for image, target in zip(pixels, classes, strict=True):
        normalized = (image[None] - model.mean) / model.std
        activations = model.body.conv(normalized)
        score = model.head(activations.mean(dim=(2, 3)))[0, target]
        (gradients,) = torch.autograd.grad(score, activations)
        alpha = gradients[0].mean(dim=(1, 2))
        maps.append(torch.relu((alpha[:, None, None] * activations[0]).sum(dim=0)).detach().numpy())
    return np.stack(maps)


def test_grad_cam_raw_map_equals_the_hand_computed_map_of_the_predicted_class():
    model, pixels = tiny_model(), torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    predicted = model(pixels).argmax(dim=1).tolist()

    with create_explainer("gradcam", model=model) as explainer:
        batch = explainer.explain(pixels)

    expected = grad_cam_by_hand(model, pixels, predicted)
    assert batch.targets.tolist() == predicted
    assert batch.raw.shape == (5, 8, 8)
    np.testing.assert_allclose(batch.raw, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batch.maps, scale_cam_image(expected, (8, 8)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(batch.logits, model(pixels).detach().numpy(), rtol=1e-6)


def test_grad_cam_of_a_chosen_class_differs_from_the_predicted_one_and_matches_the_reference():
    model, pixels = tiny_model(), torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    other = [(c + 1) % 3 for c in model(pixels).argmax(dim=1).tolist()]

    with create_explainer("gradcam", model=model) as explainer:
        batch = explainer.explain(pixels, other)

    assert batch.targets.tolist() == other
    np.testing.assert_allclose(batch.raw, grad_cam_by_hand(model, pixels, other), rtol=1e-5, atol=1e-6)


def test_the_raw_map_keeps_the_scale_that_the_scaled_map_drops():
    model, pixels = tiny_model(), torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    with create_explainer("gradcam", model=model) as explainer:
        weak = explainer.explain(pixels)
    with torch.no_grad():
        model.head.weight.mul_(10)  # every score gradient, hence α and the raw map, ten times larger
    with create_explainer("gradcam", model=model) as explainer:
        strong = explainer.explain(pixels, weak.targets.tolist())

    np.testing.assert_allclose(strong.raw, 10 * weak.raw, rtol=1e-4)
    np.testing.assert_allclose(strong.maps, weak.maps, atol=1e-5)


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_every_registered_method_gives_raw_maps_at_layer_size_and_scaled_maps_at_input_size(name):
    model = create_model("small-cnn", 3, width=4).eval()
    pixels = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))

    with create_explainer(name, model=model) as explainer:
        batch = explainer.explain(pixels)

    assert explainer.layer_path == "body.blocks.3"
    assert batch.raw.shape == (2, 4, 4) and batch.raw.dtype == np.float32 and (batch.raw >= 0).all()
    assert batch.maps.shape == (2, 32, 32) and batch.maps.min() >= 0 and batch.maps.max() <= 1 + 1e-6
    assert batch.logits.shape == (2, 3)


def test_registry_names_and_unknown_method():
    assert explainer_names() == ["eigencam", "gradcam", "gradcam++"]
    with pytest.raises(KeyError, match="unknown explanation method 'scorecam'; known: eigencam, gradcam, gradcam"):
        create_explainer("scorecam", model=tiny_model())


def test_target_layer_is_the_override_else_the_spec_layer_else_the_last_conv():
    model = tiny_model()
    bare = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.Flatten())

    assert target_layer_resolve(model, None) == "body.conv"
    assert target_layer_resolve(model, "body.conv.0") == "body.conv.0"
    assert target_layer_resolve(bare, None) == "2"
    assert target_layer_resolve(create_model("resnet18", 2), None) == "body.layer4"


def test_an_architecture_without_conv_layer_and_no_override_fails_with_a_clear_message():
    model = create_model(NO_CONV, 2)

    with pytest.raises(TargetLayerError) as raised:
        create_explainer("gradcam", model=model)

    assert str(raised.value) == (
        "architecture 'test-no-conv' has no convolutional layer and no target layer was given: Grad-CAM needs a "
        "spatial feature map; name a layer that outputs (N, C, H, W) with --target-layer (a dotted module path)"
    )


def test_an_unknown_override_names_the_conv_modules_that_exist():
    with pytest.raises(TargetLayerError, match=r"the model has no module 'body.block9'; .*body\.conv"):
        create_explainer("gradcam", model=tiny_model(), target_layer="body.block9")


def test_an_override_whose_output_is_not_a_feature_map_fails_when_explaining():
    model = create_model(NO_CONV, 2).eval()
    with (
        create_explainer("gradcam", model=model, target_layer="body.hidden") as explainer,
        pytest.raises(TargetLayerError, match=r"the target layer gives \(2, 16\), not an \(N, C, H, W\) feature map"),
    ):
        explainer.explain(torch.rand(2, 3, 16, 16))


def test_the_explainer_removes_its_hooks_on_exit():
    model = tiny_model()
    with create_explainer("gradcam", model=model):
        assert model.body.conv._forward_hooks
    assert not model.body.conv._forward_hooks
