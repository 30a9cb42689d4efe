"""Every registry: each name resolves to what builds it, and each cheap-to-build entry builds.

Entries that need weights saved by a test are built in their own tests, one per registered name:
encoders (tests/curation/ml/test_encoders.py), mask providers (tests/explain/test_mask_providers.py),
generators (tests/curation/synthetic/test_generators.py). The names that database choices hold are
checked against the registry that builds them.
"""

import pytest

from core.registry import Registry, UnknownNameError
from curation.ml.encoder_registry import ENCODERS
from curation.ml.generators.base import GENERATORS
from curation.ml.mask_registry import MASK_PROVIDERS
from curation.pruning.models import PruneMethod
from curation.pruning.services.methods import PRUNE_METHODS
from explain.ml.cams import create_explainer
from explain.ml.registry import EXPLAINERS
from explain.models import CamMethod
from robustness.ml.attacks import create_attack
from robustness.ml.attribute_edits import create_edit
from robustness.ml.corruptions import create_corruption
from robustness.ml.models import Classifier, create_model
from robustness.ml.registry import ARCHITECTURES, ATTACKS, BUILTIN_ARCHITECTURES, CORRUPTIONS, EDITS

REGISTRIES: dict[str, Registry] = {
    "encoders": ENCODERS,
    "mask providers": MASK_PROVIDERS,
    "generators": GENERATORS,
    "architectures": ARCHITECTURES,
    "attacks": ATTACKS,
    "attribute edits": EDITS,
    "corruptions": CORRUPTIONS,
    "explainers": EXPLAINERS,
    "pruning methods": PRUNE_METHODS,
}
# the names Winnow itself registers (test modules add architectures and encoders of their own)
BUILT_IN = {
    "encoders": ("efficientnet-lite0", "open_clip"),
    "mask providers": ("clipseg", "dataset", "estimated"),
    "generators": ("composite", "diffusers"),
    "architectures": ("efficientnet-lite0", "resnet18", "small-cnn"),
    "attacks": ("fgsm", "pgd"),
    "attribute edits": ("null", "background_swap", "object_scale", "object_position", "object_rotation"),
    "corruptions": CORRUPTIONS.names(),
    "explainers": ("gradcam", "gradcam++", "eigencam"),
    "pruning methods": ("random", "semdedup", "dbp", "ssp", "semdedup+dbp"),
}
ENTRIES = [(kind, name) for kind, names in BUILT_IN.items() for name in names]


@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{kind}:{name}" for kind, name in ENTRIES])
def test_every_built_in_name_resolves_to_a_factory(kind, name):
    assert callable(REGISTRIES[kind].get(name))


@pytest.mark.parametrize("kind", REGISTRIES)
def test_every_registry_refuses_an_unknown_name_with_its_choices(kind):
    registry = REGISTRIES[kind]

    with pytest.raises(UnknownNameError) as caught:
        registry.get("no-such-name")

    assert (caught.value.name, caught.value.choices) == ("no-such-name", tuple(sorted(registry.names())))
    assert f"'no-such-name'; known: {', '.join(sorted(registry.names()))}" in str(caught.value)


def test_the_built_in_names_are_registered_in_this_order():
    assert {kind: tuple(n for n in REGISTRIES[kind].names() if n in BUILT_IN[kind]) for kind in REGISTRIES} == BUILT_IN
    assert BUILT_IN["architectures"] == BUILTIN_ARCHITECTURES
    assert len(CORRUPTIONS) == 19


@pytest.mark.parametrize("name", BUILT_IN["architectures"])
def test_every_architecture_builds(name):
    model = create_model(name, 3, pretrained=False)

    assert isinstance(model, Classifier) and model.num_classes == 3 and model.spec.name == name


@pytest.mark.parametrize("name", BUILT_IN["attacks"])
def test_every_attack_builds(name):
    assert create_attack(name, eps=0.01).name == name


@pytest.mark.parametrize("name", BUILT_IN["attribute edits"])
def test_every_attribute_edit_builds(name):
    assert create_edit(name).name == name


@pytest.mark.parametrize("name", BUILT_IN["corruptions"])
def test_every_corruption_builds(name):
    corruption = create_corruption(name)

    assert corruption.name == name and callable(corruption.function)


@pytest.mark.parametrize("name", BUILT_IN["explainers"])
def test_every_explainer_builds(name):
    model = create_model("small-cnn", 2, width=4).eval()

    with create_explainer(name, model=model) as explainer:
        assert explainer.name == name and explainer.layer_path == "body.blocks.3"


def test_the_database_choices_are_the_registered_names():
    assert set(CamMethod.values) == set(EXPLAINERS.names())
    assert set(PruneMethod.values) == set(PRUNE_METHODS.names())
