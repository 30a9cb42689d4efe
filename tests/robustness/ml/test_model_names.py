"""The torch-free architecture list that forms offer is the registry's list, with the same default sizes."""

from robustness.ml.augmentation_presets import AUGMENTATIONS
from robustness.ml.augmentations import AUGMENTATIONS as AUGMENTATIONS_WITH_OPS
from robustness.ml.model_names import ARCHITECTURES, architecture_names
from robustness.ml.models import model_default_img_size, model_names


def test_architecture_names_equal_the_registry_without_test_models():
    registered = [name for name in model_names() if not name.startswith("test-")]

    assert architecture_names() == registered


def test_default_image_sizes_equal_the_registry():
    assert {name: model_default_img_size(name) for name in architecture_names()} == ARCHITECTURES


def test_augmentation_presets_are_one_table():
    assert AUGMENTATIONS_WITH_OPS is AUGMENTATIONS
