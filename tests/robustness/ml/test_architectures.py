"""The architectures forms offer are the registry's production entries, with the input sizes their specs record."""

from robustness.ml.augmentation_presets import AUGMENTATIONS
from robustness.ml.augmentations import AUGMENTATIONS as AUGMENTATIONS_WITH_OPS
from robustness.ml.models import create_model, model_default_img_size, model_names
from robustness.ml.registry import architecture_names

PRODUCTION_SIZES = {"efficientnet-lite0": 224, "resnet18": 224, "small-cnn": 64}


def test_architecture_names_are_the_registry_without_test_models():
    registered = [name for name in model_names() if not name.startswith("test-")]

    assert architecture_names() == registered == sorted(PRODUCTION_SIZES)


def test_the_registered_default_image_size_is_the_one_the_built_model_records():
    for name in architecture_names():
        model = create_model(name, 2, pretrained=False)

        assert model_default_img_size(name) == model.spec.default_img_size == PRODUCTION_SIZES[name]


def test_augmentation_presets_are_one_table():
    assert AUGMENTATIONS_WITH_OPS is AUGMENTATIONS
