"""The generator registry (Django-free): diffusers pipelines by folder or hub id, compositing on real images."""

import time
from pathlib import Path

import numpy as np
import pytest
from skimage import data as skimage_data

from curation.ml.generators import (
    GenerationRequest,
    WeightsUnavailable,
    create_generator,
    registered_generator_families,
)
from robustness.ml.attribute_edits import fit_background


@pytest.fixture(scope="module")
def tiny(tiny_sd_folder: Path):
    return create_generator(f"diffusers:{tiny_sd_folder}", device="cpu")


def test_registry_lists_both_families_and_refuses_an_unknown_one():
    assert registered_generator_families() == ["composite", "diffusers"]
    with pytest.raises(ValueError, match=r"unknown generator family 'dalle'; known: composite, diffusers \(diffusers:"):
        create_generator("dalle:x")


def test_tiny_pipeline_loads_from_its_folder_and_makes_each_mode(tiny, tiny_sd_folder):
    # Given the tiny pipeline saved by the test and loaded through the production path
    parent = np.asarray(skimage_data.chelsea()[::10, ::10])  # a real photo, 30×45
    mask = np.zeros(parent.shape[:2], bool)
    mask[8:22, 10:30] = True

    # When each mode makes one image
    text = tiny.generate(GenerationRequest(mode="text2img", prompt="a photo of a cat on grass", seed=1, steps=2))
    variation = tiny.generate(GenerationRequest(mode="img2img", prompt="a cat", image=parent, strength=0.5, steps=2))
    inpainted = tiny.generate(
        GenerationRequest(mode="inpaint", prompt="a cat on sand", image=parent, object_mask=mask, steps=2)
    )

    # Then the spec says what ran, and every image has the pipeline's native 32 px size
    assert tiny.spec.to_dict() == {
        "name": f"diffusers:{tiny_sd_folder}", "family": "diffusers", "weights": str(tiny_sd_folder),
        "modes": ("text2img", "img2img", "inpaint"), "scheduler": "DDIMScheduler", "device": "cpu",
        "dtype": "float32",
    }  # fmt: skip
    assert [o.image.size for o in (text, variation, inpainted)] == [(32, 32)] * 3
    assert text.prompt_used == "a photo of a cat on grass" and text.warnings == []


def test_same_seed_gives_the_same_image_and_another_seed_another(tiny):
    def make(seed: int) -> np.ndarray:
        return np.asarray(tiny.generate(GenerationRequest(mode="text2img", prompt="a dog", seed=seed, steps=2)).image)

    first, again, other = make(7), make(7), make(8)

    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_prompt_longer_than_the_tokenizer_limit_is_truncated_with_a_warning(tiny):
    tokenizer = tiny.pipeline("text2img").tokenizer
    prompt = "a photo of a cat on grass " * 20

    def tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False).input_ids)

    output = tiny.generate(GenerationRequest(mode="text2img", prompt=prompt, seed=0, steps=1))

    assert tokenizer.model_max_length == 77 and tokens(prompt) > 120
    assert output.warnings == [
        f"prompt truncated from {tokens(prompt)} to 75 tokens (the tokenizer's limit): {output.prompt_used!r}"
    ]
    assert tokens(output.prompt_used) == 75
    assert prompt.startswith(output.prompt_used)


def test_an_unknown_hub_id_fails_fast_offline_with_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    started = time.monotonic()

    with pytest.raises(WeightsUnavailable) as failure:
        create_generator("diffusers:nobody/no-such-pipeline")

    assert time.monotonic() - started < 5
    message = str(failure.value)
    assert "'nobody/no-such-pipeline' is not in the hub cache" in message
    assert "HF_HUB_OFFLINE is set" in message and "hf download nobody/no-such-pipeline" in message
    assert "diffusers:/path/to/pipeline" in message


def test_a_missing_or_incomplete_folder_is_refused(tmp_path):
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        create_generator(f"diffusers:{tmp_path / 'absent' / 'pipeline'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsUnavailable, match=r"has no model_index\.json"):
        create_generator(f"diffusers:{tmp_path / 'empty'}")


def test_compositing_pastes_the_real_object_onto_another_real_background():
    # Given a real photo with an object mask and another real photo as background
    parent = np.ascontiguousarray(skimage_data.chelsea()[::4, ::4])  # 75×113
    mask = np.zeros(parent.shape[:2], bool)
    mask[20:60, 30:90] = True
    background = skimage_data.coffee()
    compositor = create_generator("composite")

    # When the object is composited
    request = GenerationRequest(mode="composite", image=parent, object_mask=mask, background=background)
    output = compositor.generate(request)

    # Then object pixels are the parent's and the rest is the background, cover-fitted
    result = np.asarray(output.image)
    fitted = fit_background(background, *mask.shape)
    assert compositor.spec.to_dict()["family"] == "composite" and result.shape == parent.shape
    assert np.array_equal(result[mask], parent[mask])
    assert np.array_equal(result[~mask], fitted[~mask])


def test_compositing_refuses_a_request_without_mask_or_background():
    compositor = create_generator("composite")
    image = np.zeros((16, 16, 3), np.uint8)
    mask = np.zeros((16, 16), bool)

    with pytest.raises(ValueError, match="composite needs the parent's object mask"):
        compositor.generate(GenerationRequest(mode="composite", image=image, background=image))
    with pytest.raises(ValueError, match="the object mask marks no usable object"):
        compositor.generate(GenerationRequest(mode="composite", image=image, object_mask=mask, background=image))
