import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from curation.ml.embedding import EmbeddedImages, decode_image, embed_arrays, embed_images, split_preprocess
from curation.ml.encoders import Encoder, EncoderSpec, create_encoder
from curation.ml.encoders.efficientnet import center_crop_transform
from tests.curation.ml.tiny_clip import TINY_ARCH, build_tiny_clip

EXIF_ORIENTATION = 0x0112
ROTATED_90_CW = 6


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    tiny = build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))
    return create_encoder(f"open_clip:{TINY_ARCH}:{tiny.pt_file}")


def jpeg_bytes(seed: int, size: tuple[int, int] = (48, 40)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def direct_embeddings(encoder: Encoder, blobs: list[bytes]) -> np.ndarray:
    batch = torch.stack([encoder.preprocess(Image.open(io.BytesIO(blob)).convert("RGB")) for blob in blobs])
    return encoder.encode_images(batch).numpy()


@pytest.mark.parametrize("num_workers", [0, 1])
def test_pipeline_embeds_every_source_kind_like_encoding_directly(
    encoder: Encoder, tmp_path: Path, num_workers: int
) -> None:
    blobs = [jpeg_bytes(seed) for seed in range(5)]
    (tmp_path / "three.jpg").write_bytes(blobs[3])
    items = [(10, blobs[0]), (11, lambda: blobs[1]), (12, lambda: io.BytesIO(blobs[2])), (13, tmp_path / "three.jpg")]
    items.append((14, str(tmp_path / "three.jpg")))

    result = embed_images(encoder, items, batch_size=2, num_workers=num_workers, jpeg_draft=False)

    assert result.ids.tolist() == [10, 11, 12, 13, 14]
    assert result.ids.dtype == np.int64
    assert result.embeddings.dtype == np.float16
    assert result.failures == []
    expected = direct_embeddings(encoder, [blobs[0], blobs[1], blobs[2], blobs[3], blobs[3]])
    np.testing.assert_allclose(result.embeddings.astype(np.float32), expected, atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(result.embeddings.astype(np.float32), axis=1), 1.0, atol=2e-3)


def test_in_memory_arrays_embed_like_their_encoded_files(encoder: Encoder) -> None:
    pixels = [np.asarray(Image.open(io.BytesIO(jpeg_bytes(seed)))) for seed in (1, 2)]
    png = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        png.append(buffer.getvalue())

    vectors = embed_arrays(encoder, np.stack(pixels))

    assert vectors.dtype == np.float32 and vectors.shape == (2, encoder.spec.dim)
    np.testing.assert_allclose(vectors, direct_embeddings(encoder, png), atol=2e-3)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_unreadable_images_are_skipped_and_reported(encoder: Encoder, tmp_path: Path, num_workers: int) -> None:
    truncated = jpeg_bytes(7, size=(300, 200))[:300]
    items = [
        ("good-a", jpeg_bytes(1)),
        ("garbage", b"this is not an image"),
        ("truncated", truncated),
        ("missing", tmp_path / "missing.jpg"),
        ("good-b", jpeg_bytes(2)),
    ]

    result = embed_images(encoder, items, batch_size=2, num_workers=num_workers)

    assert result.ids.tolist() == ["good-a", "good-b"]
    assert result.embeddings.shape == (2, encoder.spec.dim)
    assert [item_id for item_id, _ in result.failures] == ["garbage", "truncated", "missing"]
    reasons = dict(result.failures)
    assert reasons["garbage"].startswith("UnidentifiedImageError")
    assert reasons["truncated"].startswith("OSError")
    assert reasons["missing"].startswith("FileNotFoundError")


def test_a_batch_of_only_unreadable_images_yields_nothing(encoder: Encoder) -> None:
    result = embed_images(encoder, [(1, b"x"), (2, b"y")], num_workers=0)

    assert result.ids.tolist() == []
    assert result.embeddings.shape == (0, encoder.spec.dim)
    assert [item_id for item_id, _ in result.failures] == [1, 2]


def test_progress_is_reported_after_each_batch_and_raising_cancels(encoder: Encoder) -> None:
    items = [(i, jpeg_bytes(i)) for i in range(5)]
    seen: list[tuple[int, int]] = []

    embed_images(encoder, items, batch_size=2, num_workers=0, on_batch=lambda done, total: seen.append((done, total)))

    assert seen == [(2, 5), (4, 5), (5, 5)]

    def cancel_after_first(done: int, total: int) -> None:
        raise InterruptedError("cancel requested")

    with pytest.raises(InterruptedError):
        embed_images(encoder, items, batch_size=2, num_workers=0, on_batch=cancel_after_first)


def test_decode_turns_exif_rotated_and_non_rgb_images_upright_rgb() -> None:
    image = Image.new("L", (60, 20), 128)
    exif = image.getexif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CW
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)

    decoded = decode_image(buffer.getvalue())

    assert (decoded.size, decoded.mode) == ((20, 60), "RGB")


def test_jpeg_draft_decodes_large_photos_at_a_reduced_scale_no_smaller_than_asked() -> None:
    blob = jpeg_bytes(3, size=(1600, 1200))

    assert decode_image(blob).size == (1600, 1200)
    assert decode_image(blob, draft=256).size == (400, 300)  # 1/4 scale: short side 300 >= 256


def test_workers_ship_uint8_and_the_batch_stage_finishes_the_preprocessing_exactly(encoder: Encoder) -> None:
    lite_spec = EncoderSpec("lite", "lite", "lite", "w", 8, (0.5,) * 3, (0.5,) * 3, (224, 224), False, crop_pct=0.875)
    image = decode_image(jpeg_bytes(4, size=(300, 260)))

    for preprocess in (encoder.preprocess, center_crop_transform(lite_spec)):  # open_clip's and torchvision's
        per_image, per_batch = split_preprocess(preprocess)
        pixels = per_image(image)

        assert pixels.dtype == torch.uint8
        assert per_batch is not None
        torch.testing.assert_close(per_batch(pixels.unsqueeze(0))[0], preprocess(image), atol=1e-6, rtol=0)


def test_a_preprocessing_without_a_trailing_normalize_runs_whole_in_the_workers() -> None:
    def preprocess(image: Image.Image) -> torch.Tensor:
        return torch.zeros(3, 4, 4)

    assert split_preprocess(preprocess) == (preprocess, None)


def test_the_pipeline_restores_torch_threads(encoder: Encoder) -> None:
    before = torch.get_num_threads()

    result = embed_images(encoder, [(1, jpeg_bytes(1))], num_workers=0)

    assert isinstance(result, EmbeddedImages)
    assert torch.get_num_threads() == before


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_the_pipeline_autocasts_from_pinned_batches_and_agrees_with_cpu(encoder: Encoder) -> None:
    items = [(i, jpeg_bytes(i)) for i in range(6)]
    on_cpu = embed_images(encoder, items, batch_size=4, num_workers=1)

    on_cuda = embed_images(encoder, items, batch_size=4, num_workers=1, device="cuda")

    try:
        assert encoder.autocast_dtype in (torch.bfloat16, torch.float16)
        assert on_cuda.ids.tolist() == on_cpu.ids.tolist()
        assert on_cuda.embeddings.dtype == np.float16
        cosines = (on_cuda.embeddings.astype(np.float32) * on_cpu.embeddings.astype(np.float32)).sum(axis=1)
        assert cosines.min() > 0.99
    finally:
        encoder.to("cpu")
