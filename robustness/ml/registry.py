"""What robustness builds by name, listed without importing torch, OpenCV or imagecorruptions.

Forms, API serializers and parameter checks read the names and metadata in every web process;
the worker's first ``get`` imports the module that builds them (``core.registry``). Tests register
more architectures with ``robustness.ml.models.register_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.registry import Registry

if TYPE_CHECKING:
    from robustness.ml.attacks import Attack
    from robustness.ml.attribute_edits import AttributeEdit
    from robustness.ml.models import Classifier

# builder(num_classes, **options) -> Classifier; default_img_size: the usual training input size
ARCHITECTURES: Registry[Callable[..., Classifier]] = Registry("architecture")
ARCHITECTURES.register_lazy("efficientnet-lite0", "robustness.ml.models:build_efficientnet_lite0", default_img_size=224)
ARCHITECTURES.register_lazy("resnet18", "robustness.ml.models:build_resnet18", default_img_size=224)
ARCHITECTURES.register_lazy("small-cnn", "robustness.ml.models:build_small_cnn", default_img_size=64)
# the production architectures (tests register test-only ones later)
BUILTIN_ARCHITECTURES = ARCHITECTURES.names()


def architecture_names() -> list[str]:
    """The production architectures, sorted: what forms and the API offer."""
    return sorted(BUILTIN_ARCHITECTURES)


# attack(**parameters) -> a callable (model, images, labels) -> adversarial images
ATTACKS: Registry[Callable[..., Attack]] = Registry("attack")
ATTACKS.register_lazy("fgsm", "robustness.ml.attacks:FGSM")
ATTACKS.register_lazy("pgd", "robustness.ml.attacks:PGD")

# edit(**parameters) -> AttributeEdit; the registration order is the order a report shows them in
EDITS: Registry[Callable[..., AttributeEdit]] = Registry("attribute edit")
for _name, _class in (
    ("null", "NullEdit"),
    ("background_swap", "BackgroundSwap"),
    ("object_scale", "ObjectScale"),
    ("object_position", "ObjectPosition"),
    ("object_rotation", "ObjectRotation"),
):
    EDITS.register_lazy(_name, f"robustness.ml.attribute_edits:{_class}")
DEFAULT_EDITS = EDITS.names()

# The 15 corruptions of the ImageNet-C benchmark (mCE) and the 4 held-out ones, each the library's
# function(PIL image, severity) -> array, except frost, which is our faster copy.
COMMON_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
HELD_OUT_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
OWN_CORRUPTIONS = {"frost": "robustness.ml.corruptions:frost"}
CORRUPTIONS: Registry[Callable[..., Any]] = Registry("corruption")
for _name in (*COMMON_CORRUPTIONS, *HELD_OUT_CORRUPTIONS):
    CORRUPTIONS.register_lazy(_name, OWN_CORRUPTIONS.get(_name, f"imagecorruptions:{_name}"))
