"""Mask providers (curation.ml.masks): the registry contract for every provider, CLIPSeg loaded from disk
through the real loading code, the offline message, and estimated masks against known masks.

The IoU threshold was fixed before measuring: median >= 0.6 (the issue's aim) on demo composites.
"""

import io
import string
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from curation.demo.build import demo_build
from curation.demo.plan import DemoConfig
from curation.demo.sources import demo_sources_load
from curation.ml.mask_registry import BUILTIN_MASK_FAMILIES, MaskProviderSpec, mask_provider_name_check
from curation.ml.masks import MasksUnavailable, create_mask_provider, registered_mask_builders
from curation.ml.masks.clipseg import class_prompt
from curation.ml.masks.estimated import grabcut_foreground, largest_component


def tiny_clipseg(folder: Path) -> Path:
    """A random-init CLIPSeg (2 layers of width 16, 32 px) and its processor, saved with save_pretrained."""
    import torch
    from transformers import (
        CLIPSegConfig,
        CLIPSegForImageSegmentation,
        CLIPSegProcessor,
        CLIPTokenizer,
        ViTImageProcessor,
    )

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for character in string.ascii_lowercase + string.digits:
        vocab[character] = len(vocab)
        vocab[character + "</w>"] = len(vocab)
    processor = CLIPSegProcessor(
        image_processor=ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=CLIPTokenizer(vocab=vocab, merges=[]),
    )
    config = CLIPSegConfig(
        text_config={
            "vocab_size": len(vocab), "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 2, "max_position_embeddings": 32, "bos_token_id": 0, "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "image_size": 32, "patch_size": 8, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        projection_dim=16, reduce_dim=8, extract_layers=[0, 1], decoder_num_attention_heads=2,
        decoder_intermediate_size=16,
    )  # fmt: skip
    torch.manual_seed(0)
    CLIPSegForImageSegmentation(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def clipseg_folder(tmp_path_factory) -> Path:
    return tiny_clipseg(tmp_path_factory.mktemp("clipseg"))


def _images() -> list[np.ndarray]:
    """Two scenes of different sizes: a red disc on a noisy green field, a blue square on grey."""
    rng = np.random.default_rng(0)
    field = np.clip(rng.normal((40, 140, 40), 12, (60, 80, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:60, :80]
    field[(yy - 30) ** 2 + (xx - 40) ** 2 < 18**2] = (210, 30, 30)
    grey = np.full((48, 40, 3), 128, np.uint8)
    grey[12:36, 10:30] = (30, 30, 200)
    return [field, grey]


def _provider(family: str, clipseg_folder: Path):
    return create_mask_provider(f"clipseg:{clipseg_folder}" if family == "clipseg" else family)


@pytest.mark.parametrize("family", sorted(registered_mask_builders()))
def test_every_registered_provider_gives_one_boolean_mask_per_image_of_its_size(family, clipseg_folder):
    # given every family the package registers, built by name
    provider = _provider(family, clipseg_folder)
    images = _images()
    given = [np.zeros(image.shape[:2], bool) for image in images]
    given[0][20:40, 25:55] = True
    # when
    masks = provider.masks(images, class_names=["fruit", "fish"], dataset_masks=given)
    again = provider.masks(images, class_names=["fruit", "fish"], dataset_masks=given)
    # then: a mask per image, boolean, of that image's height and width, the same on a second call
    assert len(masks) == 2
    for mask, image, repeat in zip(masks, images, again, strict=True):
        assert mask is not None and mask.dtype == bool and mask.shape == image.shape[:2]
        assert np.array_equal(mask, repeat)
    assert isinstance(provider.spec, MaskProviderSpec) and provider.spec.family == family
    assert provider.spec.estimated is (family != "dataset")
    assert MaskProviderSpec.from_dict(provider.spec.to_dict()) == provider.spec


def test_the_package_registers_exactly_the_builtin_families():
    assert sorted(registered_mask_builders()) == sorted(BUILTIN_MASK_FAMILIES)


def test_the_dataset_provider_returns_the_dataset_masks_and_none_where_there_is_none():
    provider = create_mask_provider("dataset")
    images = _images()
    mask = np.zeros(images[0].shape[:2], bool)
    mask[5:9, 5:9] = True

    found = provider.masks(images, dataset_masks=[mask, None])

    assert np.array_equal(found[0], mask) and found[1] is None
    assert provider.masks(images)[0] is None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("grabcut", "unknown mask provider"), ("clipseg", "needs its weights"), ("estimated:x", "takes no argument"),
     ("", "non-empty")],
)  # fmt: skip
def test_bad_provider_names_are_refused_with_the_reason(name, fragment):
    with pytest.raises(ValueError, match=fragment):
        mask_provider_name_check(name)


def test_tiny_clipseg_loads_from_disk_through_the_real_loading_code_and_follows_the_prompt(clipseg_folder):
    # given the random-init CLIPSeg saved with save_pretrained
    provider = create_mask_provider(f"clipseg:{clipseg_folder}", threshold=0.5)
    images = _images()
    # when the same image is prompted with two class names
    probabilities = provider._probabilities([images[0], images[0]], [class_prompt("fish"), class_prompt("tree")])
    # then: one map per prompt, and the prompt changes it (the text tower is wired in)
    assert probabilities.shape == (2, 32, 32)
    assert not np.allclose(probabilities[0], probabilities[1])
    assert provider.spec.weights == str(clipseg_folder) and provider.spec.uses_class_names
    with pytest.raises(ValueError, match="one class name per image"):
        provider.masks(images)


def test_class_names_become_prompts():
    assert class_prompt("animals-fish") == "a photo of a animals fish"
    assert class_prompt("food/fruit_red") == "a photo of a food fruit red"


def test_clipseg_offline_without_cached_weights_fails_at_once_saying_what_to_do(monkeypatch, tmp_path):
    # given an empty hub cache and HF_HUB_OFFLINE set
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    # when / then
    with pytest.raises(MasksUnavailable) as missing:
        create_mask_provider("clipseg:CIDAS/clipseg-rd64-refined")
    message = str(missing.value)
    assert "HF_HUB_OFFLINE is set" in message
    assert "hf download CIDAS/clipseg-rd64-refined" in message and "clipseg:/path/to/folder" in message


def test_a_missing_clipseg_folder_is_named(tmp_path):
    with pytest.raises(MasksUnavailable, match="does not exist"):
        create_mask_provider(f"clipseg:{tmp_path / 'nowhere'}")


def test_grabcut_finds_nothing_in_a_flat_image_and_keeps_one_component():
    flat = grabcut_foreground(np.full((30, 30, 3), 90, np.uint8))
    assert flat is None or not flat.any()
    assert grabcut_foreground(np.zeros((4, 4, 3), np.uint8)) is None  # too small to segment
    two = np.zeros((10, 10), bool)
    two[1:3, 1:3] = True
    two[5:9, 5:9] = True
    two[6, 6] = False
    kept = largest_component(two)
    assert kept.sum() == 16 and kept[6, 6] and not kept[1, 1]


@pytest.mark.slow
def test_estimated_masks_reach_a_median_iou_of_0_6_on_demo_composites_with_known_masks():
    # given 60 demo composites (the demo generator's own object masks as truth)
    build = demo_build(DemoConfig(seed=3, size=60), demo_sources_load())
    files = [f for f in build.files if f.mask is not None]
    provider = create_mask_provider("estimated")
    ious = []
    for file in files:
        image = np.asarray(Image.open(io.BytesIO(file.data)).convert("RGB"))
        # when
        mask = provider.masks([image])[0]
        estimated = mask if mask is not None else np.zeros(file.mask.shape, bool)
        union = (estimated | file.mask).sum()
        ious.append((estimated & file.mask).sum() / union)
    print(f"median IoU {np.median(ious):.3f} over {len(ious)} composites")
    # then
    assert len(ious) >= 50
    assert np.median(ious) >= 0.6
