"""Training on CUDA: autocast (bf16, and fp16 with a GradScaler), a real out-of-memory error, the job on cuda.

Run on the device machine (`pytest -m gpu tests/robustness`); skipped where there is no CUDA.
"""

import pytest
import torch

from jobs.models import JobStatus
from jobs.services import job_execute
from robustness.ml.devices import seed_everything
from robustness.ml.models import create_model
from robustness.ml.training import LabelledImages, TrainingConfig, TrainingOutOfMemory, train_classifier
from robustness.services import load_trained_model
from robustness.services.training import training_run_start

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

CUDA = torch.device("cuda")


def coloured_images(count: int, size: int, seed: int) -> LabelledImages:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 3
    images = (torch.rand(count, 3, size, size, generator=generator) * 120).to(torch.uint8)
    images[torch.arange(count), labels] += 120  # the class is the brightest channel
    return LabelledImages(images, labels)


@pytest.mark.parametrize("precision", ["auto", "fp16", "fp32"])
def test_the_loop_trains_on_cuda_under_autocast_and_learns(precision):
    expected = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if precision == "auto" else precision
    generator = seed_everything(0)
    model = create_model("small-cnn", 3)
    config = TrainingConfig(epochs=4, batch_size=32, lr=3e-3, precision=precision, augmentation="flip-crop-color")
    ends = []

    outcome = train_classifier(
        model, coloured_images(512, 32, 0), coloured_images(96, 32, 1), config, device=CUDA, generator=generator,
        on_epoch_end=ends.append,
    )  # fmt: skip

    assert outcome.precision == expected
    assert next(model.parameters()).device.type == "cuda"
    assert outcome.history[-1]["train_loss"] < outcome.history[0]["train_loss"]
    assert max(row["val_accuracy"] for row in outcome.history) >= 0.9
    scaler_state = ends[-1].training_state["scaler"]
    assert bool(scaler_state) == (expected == "fp16")  # a GradScaler only for fp16


def test_a_real_cuda_out_of_memory_becomes_the_clear_error():
    generator = seed_everything(0)
    model = create_model("resnet18", 3, pretrained=False)
    huge = LabelledImages(torch.zeros(4096, 3, 512, 512, dtype=torch.uint8), torch.zeros(4096, dtype=torch.long))

    with pytest.raises(TrainingOutOfMemory) as error:
        train_classifier(
            model, huge, LabelledImages(huge.images[:0], huge.labels[:0]), TrainingConfig(epochs=1, batch_size=4096),
            device=CUDA, generator=generator, on_epoch_end=lambda end: None,
        )  # fmt: skip

    assert str(error.value).startswith("CUDA ran out of memory with batch size 4096 at 512 px on cuda")
    assert "try --batch-size 2048" in str(error.value)


@pytest.mark.django_db
def test_the_training_job_runs_on_cuda_with_mixed_precision(labelled_version, admin_user):
    version = labelled_version(train={"cat": 16, "dog": 16}, val={"cat": 4, "dog": 4})
    run = training_run_start(
        version=version, arch="efficientnet-lite0", requested_by=admin_user, epochs=2, batch_size=8, img_size=64,
        device="cuda", enqueue=False,
    )  # fmt: skip

    job = job_execute(run.job.pk)

    run.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert run.device_used.startswith("cuda (")
    assert run.precision == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    model, classes, _ = load_trained_model(run.trained_model)
    assert classes == ["cat", "dog"]
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 2)
