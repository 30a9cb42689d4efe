"""The architectures a training run can name, without importing torch.

Forms, admin pages and API serializers offer these choices in every web process; the registry in
``robustness.ml.models`` (which imports torch) builds them in the worker. A test keeps the two equal.
"""

# name -> the input size the architecture is usually trained at (``model_default_img_size``)
ARCHITECTURES: dict[str, int] = {
    "efficientnet-lite0": 224,
    "resnet18": 224,
    "small-cnn": 64,
}


def architecture_names() -> list[str]:
    """The production architectures, sorted (the registry's ``model_names()`` without test models)."""
    return sorted(ARCHITECTURES)
