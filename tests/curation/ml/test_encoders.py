import time

import numpy as np
import open_clip
import pytest
import skimage.data
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.models import ResNet18_Weights

from curation.ml.encoders import (
    DEFAULT_ENCODER,
    Encoder,
    EncoderSpec,
    NoTextTower,
    WeightsUnavailable,
    create_encoder,
    registered_encoder_builders,
)
from tests.curation.ml.tiny_clip import (
    LOCAL_DIR_PREPROCESS,
    TINY_ARCH,
    TINY_TAG,
    TinyClip,
    build_tiny_clip,
    tiny_tag_config,
)

IMAGENET_CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


def production_families() -> tuple[str, ...]:
    """The registry's families built by Winnow's code (other test modules may register test-only ones)."""
    builders = registered_encoder_builders()
    return tuple(sorted(family for family, build in builders.items() if build.__module__.startswith("curation.")))


FAMILIES = production_families()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def encoder_for(tiny: TinyClip) -> dict[str, Encoder]:
    """One encoder per registered family, built by name; families without an entry here fail the tests."""
    names = {"open_clip": f"open_clip:{TINY_ARCH}:{tiny.pt_file}", "efficientnet-lite0": "efficientnet-lite0"}
    return {family: create_encoder(names[family]) for family in FAMILIES}


@pytest.fixture
def chelsea() -> Image.Image:
    return Image.fromarray(skimage.data.chelsea())


def reference_image_embeddings(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return F.normalize(model.encode_image(batch), dim=-1)


def test_registry_holds_the_production_families() -> None:
    assert FAMILIES == ("efficientnet-lite0", "open_clip")
    assert DEFAULT_ENCODER == "open_clip:ViT-B-32:laion2b_s34b_b79k"


@pytest.mark.parametrize("family", FAMILIES)
def test_encoder_embeds_preprocessed_images_as_unit_vectors_of_spec_dim(
    family: str, encoder_for: dict[str, Encoder], chelsea: Image.Image
) -> None:
    encoder = encoder_for[family]
    batch = torch.stack([encoder.preprocess(chelsea), encoder.preprocess(chelsea.rotate(90, expand=True))])

    embeddings = encoder.encode_images(batch)

    assert batch.shape == (2, 3, *encoder.spec.input_size)
    assert embeddings.shape == (2, encoder.spec.dim)
    assert embeddings.dtype == torch.float32
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(2))
    assert encoder.spec.family == family


@pytest.mark.parametrize("family", FAMILIES)
def test_spec_round_trips_through_a_dict(family: str, encoder_for: dict[str, Encoder]) -> None:
    spec = encoder_for[family].spec

    assert EncoderSpec.from_dict(spec.to_dict()) == spec
    assert spec.dtype == "float16"


@pytest.mark.parametrize("family", FAMILIES)
def test_text_embeddings_exist_exactly_when_the_spec_says_so(family: str, encoder_for: dict[str, Encoder]) -> None:
    encoder = encoder_for[family]

    if encoder.spec.has_text_tower:
        texts = encoder.encode_texts(["a photo of a cat", "a photo of a dog"])
        assert texts.shape == (2, encoder.spec.dim)
        torch.testing.assert_close(texts.norm(dim=1), torch.ones(2))
    else:
        with pytest.raises(NoTextTower):
            encoder.encode_texts(["a photo of a cat"])
        with pytest.raises(NoTextTower):
            encoder.tokenizer  # noqa: B018


@pytest.mark.parametrize("layout", ["pt_file", "safetensors_file", "local_dir", "bare_dir"])
def test_tiny_open_clip_saved_to_disk_loads_back_to_identical_embeddings(tiny: TinyClip, layout: str) -> None:
    encoder = create_encoder(f"open_clip:{TINY_ARCH}:{getattr(tiny, layout)}")
    batch = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))

    torch.testing.assert_close(encoder.encode_images(batch), reference_image_embeddings(tiny.model, batch))
    tokens = open_clip.get_tokenizer(TINY_ARCH)(["a cat"])
    with torch.inference_mode():
        expected_text = F.normalize(tiny.model.encode_text(tokens), dim=-1)
    torch.testing.assert_close(encoder.encode_texts(["a cat"]), expected_text)
    assert encoder.spec.weights == str(getattr(tiny, layout))
    assert encoder.spec.dim == 16


def test_local_dir_preprocessing_comes_from_its_own_config(tiny: TinyClip) -> None:
    encoder = create_encoder(f"open_clip:{TINY_ARCH}:{tiny.local_dir}")

    assert encoder.spec.mean == tuple(LOCAL_DIR_PREPROCESS["mean"])
    assert encoder.spec.std == tuple(LOCAL_DIR_PREPROCESS["std"])
    white = encoder.preprocess(Image.new("RGB", (40, 40), "white"))
    torch.testing.assert_close(white, torch.full((3, 32, 32), 2.0))  # (1 - 0.5) / 0.25


def test_pretrained_tag_loads_from_the_hub_cache_offline(tiny: TinyClip, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY_ARCH, {TINY_TAG: tiny_tag_config()})
    batch = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))

    encoder = create_encoder(f"open_clip:{TINY_ARCH}:{TINY_TAG}", cache_dir=tiny.hub_cache)

    torch.testing.assert_close(encoder.encode_images(batch), reference_image_embeddings(tiny.model, batch))
    assert (encoder.spec.mean, encoder.spec.std) == ((0.25,) * 3, (0.5,) * 3)  # the tag's preprocessing
    assert encoder.spec.weights == TINY_TAG


@pytest.mark.parametrize(
    ("offline", "why"),
    [("1", "the hub is offline (HF_HUB_OFFLINE is set)"), ("", "the hub is unreachable (http://127.0.0.1:9)")],
)
def test_missing_pretrained_weights_fail_within_seconds_saying_how_to_provide_them(
    tmp_path, monkeypatch: pytest.MonkeyPatch, offline: str, why: str
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    started = time.monotonic()

    with pytest.raises(WeightsUnavailable) as raised:
        create_encoder(DEFAULT_ENCODER, cache_dir=tmp_path)

    assert time.monotonic() - started < 5
    assert str(raised.value) == (
        f"open_clip weights 'laion2b_s34b_b79k' for ViT-B-32 are not in the hub cache ({tmp_path}) and {why}; "
        "download them on a connected machine with `hf download laion/CLIP-ViT-B-32-laion2B-s34B-b79K "
        f"open_clip_pytorch_model.bin` and copy its hub cache to {tmp_path} (or point HF_HUB_CACHE at it), "
        "or pass a local path: open_clip:ViT-B-32:/path/to/open_clip_pytorch_model.bin"
    )


def test_hub_cache_location_follows_the_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))

    with pytest.raises(WeightsUnavailable, match=r"not in the hub cache \(.*/elsewhere\)"):
        create_encoder(DEFAULT_ENCODER)


def test_a_missing_local_path_or_a_folder_without_weights_is_unavailable(tmp_path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(WeightsUnavailable, match="does not exist"):
        create_encoder(f"open_clip:ViT-B-32:{tmp_path / 'nope.bin'}")
    with pytest.raises(WeightsUnavailable, match="holds no checkpoint file"):
        create_encoder(f"open_clip:ViT-B-32:{tmp_path / 'empty'}")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("clip:ViT-B-32:openai", {}, "unknown encoder family 'clip'"),
        ("open_clip:ViT-B-32", {}, "expected open_clip:<arch>:<pretrained tag or local path>"),
        ("open_clip:ViT-Z-99:openai", {}, "unknown open_clip arch 'ViT-Z-99'"),
        ("open_clip:ViT-B-32:no_such_tag", {}, "neither a pretrained tag of open_clip ViT-B-32"),
        ("efficientnet-lite0:extra", {}, "takes no argument"),
        ("efficientnet-lite0", {"precision": "fp8"}, "precision must be one of"),
    ],
)
def test_bad_names_are_refused_before_loading(name: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_encoder(name, **options)


def test_efficientnet_lite0_real_weights_see_a_cat_in_chelsea(
    encoder_for: dict[str, Encoder], chelsea: Image.Image
) -> None:
    encoder = encoder_for["efficientnet-lite0"]
    batch = encoder.preprocess(chelsea).unsqueeze(0)

    with torch.inference_mode():
        logits = encoder.module(batch)
    top5 = {ResNet18_Weights.IMAGENET1K_V1.meta["categories"][i] for i in logits[0].topk(5).indices.tolist()}

    assert top5 & IMAGENET_CATS
    assert encoder.spec.dim == 1280
    assert encoder.encode_images(batch).shape == (1, 1280)
    assert (encoder.spec.input_size, encoder.spec.mean, encoder.spec.std) == ((224, 224), (0.5,) * 3, (0.5,) * 3)


def test_penultimate_features_are_the_pooled_head_before_the_classifier(
    encoder_for: dict[str, Encoder], chelsea: Image.Image
) -> None:
    encoder = encoder_for["efficientnet-lite0"]
    batch = encoder.preprocess(chelsea).unsqueeze(0)

    with torch.inference_mode():
        pooled = encoder.module.extract_features(batch).mean(dim=(2, 3))
        logits = encoder.module(batch)

    torch.testing.assert_close(encoder.module._fc(pooled), logits, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(encoder.encode_images(batch).numpy(), F.normalize(pooled, dim=-1).numpy(), atol=1e-6)
