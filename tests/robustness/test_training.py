"""The `train` job run in-process (job_execute): what a run records, its checkpoints and model, bad inputs."""

import pytest
import torch
from django.core.files.storage import default_storage

from core.api_errors import ApplicationError
from jobs.models import Job, JobStatus
from jobs.services import NO_GPU_MESSAGE, job_execute
from robustness.ml.augmentations import augmentation_get
from robustness.models import TrainedModel, TrainingRun
from robustness.services import load_trained_model
from robustness.services.checkpoints import checkpoint_keys_of_run
from robustness.services.training import code_version, training_run_start
from tests.robustness.models_for_tests import CUDA_OOM, NAN_FROM_BATCH_5

pytestmark = pytest.mark.django_db

TINY = {"epochs": 2, "batch_size": 8, "img_size": 16, "device": "cpu", "augmentation": "flip-crop"}
TIMING_KEYS = {"seconds", "train_images_per_s"}


def start(version, user, arch="small-cnn", **overrides):
    return training_run_start(version=version, arch=arch, requested_by=user, enqueue=False, **{**TINY, **overrides})


def without_timings(metrics: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key not in TIMING_KEYS} for row in metrics]


def test_start_records_the_data_version_code_version_seed_and_hyperparameters(labelled_version, admin_user):
    version = labelled_version(train={"cat": 6, "dog": 6}, val={"cat": 2, "dog": 2})

    run = start(version, admin_user, seed=7, lr=0.002)

    assert run.version == version
    assert run.arch == "small-cnn"
    assert run.seed == 7
    assert run.classes == ["cat", "dog"]
    assert run.code_version == code_version() != ""
    assert run.hyperparameters == {
        "epochs": 2, "batch_size": 8, "lr": 0.002, "img_size": 16, "optimizer": "adamw", "weight_decay": 1e-4,
        "momentum": 0.9, "label_smoothing": 0.0, "precision": "auto",
    }  # fmt: skip
    assert run.augmentation == "flip-crop"
    assert run.augmentation_spec == augmentation_get("flip-crop").spec()
    assert (run.job.kind, run.job.status, run.job.params) == ("train", JobStatus.QUEUED, {"run_id": run.pk})
    assert (run.job.queue, run.job.message) == ("default", NO_GPU_MESSAGE)  # no GPU worker configured here


def test_a_run_trains_records_per_epoch_metrics_best_and_last_checkpoints_and_a_loadable_model(
    labelled_version, admin_user
):
    version = labelled_version(train={"cat": 12, "dog": 12}, val={"cat": 4, "dog": 4})
    run = start(version, admin_user)

    job = job_execute(run.job.pk)

    run.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [row["epoch"] for row in run.epoch_metrics] == [1, 2]
    assert [row["attempt"] for row in run.epoch_metrics] == [1, 1]
    assert set(run.epoch_metrics[0]) == {
        "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds", "train_images_per_s",
        "attempt",
    }  # fmt: skip
    assert (run.train_count, run.val_count, run.validation) == (24, 8, "val split (8 samples)")
    assert (run.device_used, run.precision) == ("cpu (1 threads)", "fp32")
    best = max(run.epoch_metrics, key=lambda row: row["val_accuracy"])
    assert run.best_epoch == best["epoch"]
    assert run.checkpoint_last_key == f"checkpoints/training-runs/{run.pk}/last-epoch002.pt"
    assert run.checkpoint_best_key == f"checkpoints/training-runs/{run.pk}/best-epoch{run.best_epoch:03d}.pt"
    assert checkpoint_keys_of_run(run.pk) == sorted({run.checkpoint_best_key, run.checkpoint_last_key})
    trained = TrainedModel.objects.get(run=run)
    assert job.result == {
        "run": run.pk, "trained_model": trained.pk, "epochs": 2, "best_epoch": run.best_epoch,
        "best_val_accuracy": best["val_accuracy"],
    }  # fmt: skip
    assert (trained.arch, trained.classes, trained.img_size, trained.trained_on) == (
        "small-cnn",
        ["cat", "dog"],
        16,
        version,
    )
    assert trained.normalization == {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
    assert trained.metrics["epoch"] == run.best_epoch
    model, classes, preprocessing = load_trained_model(trained)
    assert classes == ["cat", "dog"]
    assert model(torch.rand(3, 3, 16, 16)).shape == (3, 2)
    assert preprocessing.img_size == 16


def test_the_same_seed_on_cpu_gives_identical_metrics(labelled_version, admin_user):
    version = labelled_version(train={"cat": 8, "dog": 8}, val={"cat": 2, "dog": 2})
    first, second = start(version, admin_user, seed=3), start(version, admin_user, seed=3)
    other_seed = start(version, admin_user, seed=4)

    for run in (first, second, other_seed):
        assert job_execute(run.job.pk).status == JobStatus.SUCCEEDED
        run.refresh_from_db()

    assert without_timings(first.epoch_metrics) == without_timings(second.epoch_metrics)
    assert without_timings(first.epoch_metrics) != without_timings(other_seed.epoch_metrics)


def test_a_version_without_val_is_validated_on_a_seeded_stratified_fifth_of_train(labelled_version, admin_user):
    version = labelled_version(train={"cat": 10, "dog": 10})
    run = start(version, admin_user, epochs=1)

    assert job_execute(run.job.pk).status == JobStatus.SUCCEEDED

    run.refresh_from_db()
    assert run.validation == "no val split: a seeded 20% of train (seed 0)"
    assert (run.train_count, run.val_count) == (16, 4)


@pytest.mark.parametrize(
    ("train", "code", "message"),
    [
        ({}, "empty_version", "has no labelled samples in its train split: there is nothing to train on."),
        ({"cat": 5}, "one_class", "has only one class in its train split ('cat'); a classifier needs at least 2."),
    ],
)
def test_an_empty_or_one_class_version_is_refused_at_start_and_nothing_is_created(
    labelled_version, admin_user, train, code, message
):
    version = labelled_version(train=train, val={"dog": 2})

    with pytest.raises(ApplicationError) as refused:
        start(version, admin_user)

    assert refused.value.code == code
    assert refused.value.message == f"{version} {message}"
    assert (TrainingRun.objects.count(), Job.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({"arch": "vgg99"}, "unknown_arch", "Unknown architecture 'vgg99'"),
        ({"lr": 0.0}, "invalid_hyperparameters", "lr must be a positive number, got 0.0"),
        ({"augmentation": "mixup"}, "invalid_hyperparameters", "unknown augmentation 'mixup'"),
        ({"device": "tpu"}, "invalid_hyperparameters", "Unknown device 'tpu'"),
        ({"optimizer": "lbfgs"}, "invalid_hyperparameters", "unknown optimizer 'lbfgs'"),
    ],
)
def test_bad_hyperparameters_are_refused_at_start(labelled_version, admin_user, overrides, code, message):
    version = labelled_version(train={"cat": 3, "dog": 3})

    with pytest.raises(ApplicationError) as refused:
        start(version, admin_user, **overrides)

    assert refused.value.code == code
    assert refused.value.message.startswith(message)
    assert TrainingRun.objects.count() == 0


def test_only_admins_may_start_training(labelled_version, curator):
    version = labelled_version(train={"cat": 3, "dog": 3})

    with pytest.raises(ApplicationError) as refused:
        start(version, curator)

    assert (refused.value.code, refused.value.status_code) == ("permission_denied", 403)
    assert TrainingRun.objects.count() == 0


def test_a_huge_learning_rate_fails_the_job_with_the_reason_and_writes_nothing(labelled_version, admin_user):
    version = labelled_version(train={"cat": 12, "dog": 12}, val={"cat": 2, "dog": 2})
    run = start(version, admin_user, lr=1e6, optimizer="sgd")

    job = job_execute(run.job.pk)

    run.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("loss became NaN or infinite in epoch 1 (")
    assert job.error.endswith("with lr 1e+06; no epoch finished before it. Lower the learning rate.")
    assert (run.epoch_metrics, run.checkpoint_last_key, run.checkpoint_best_key) == ([], "", "")
    assert checkpoint_keys_of_run(run.pk) == []
    assert not TrainedModel.objects.exists()


def test_a_nan_loss_in_epoch_2_fails_the_job_and_keeps_the_last_good_checkpoint(labelled_version, admin_user):
    version = labelled_version(train={"cat": 12, "dog": 12}, val={"cat": 2, "dog": 2})
    run = start(version, admin_user, arch=NAN_FROM_BATCH_5, epochs=3)  # 3 batches per epoch: batch 2 of epoch 2

    job = job_execute(run.job.pk)

    run.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == (
        "loss became NaN or infinite in epoch 2 (training batch 3) with lr 0.001; "
        "the last good checkpoint is epoch 1. Lower the learning rate."
    )
    assert [row["epoch"] for row in run.epoch_metrics] == [1]
    assert run.checkpoint_last_key == f"checkpoints/training-runs/{run.pk}/last-epoch001.pt"
    assert checkpoint_keys_of_run(run.pk) == [run.checkpoint_best_key, run.checkpoint_last_key]
    assert default_storage.size(run.checkpoint_last_key) > 0
    assert not TrainedModel.objects.exists()


def test_cuda_out_of_memory_fails_the_job_with_a_smaller_batch_size_to_try(labelled_version, admin_user):
    version = labelled_version(train={"cat": 6, "dog": 6})
    run = start(version, admin_user, arch=CUDA_OOM, batch_size=8)

    job = job_execute(run.job.pk)

    assert job.status == JobStatus.FAILED
    assert (
        job.error
        == "CUDA ran out of memory with batch size 8 at 16 px on cpu; try --batch-size 4 (or a smaller --img-size)."
    )
    assert checkpoint_keys_of_run(run.pk) == []
    assert not TrainedModel.objects.exists()


def test_asking_for_a_cuda_device_this_machine_lacks_fails_the_job_clearly(labelled_version, admin_user):
    version = labelled_version(train={"cat": 3, "dog": 3})
    run = start(version, admin_user, device="cuda:7")

    job = job_execute(run.job.pk)

    devices = f"{torch.cuda.device_count()} CUDA devices" if torch.cuda.is_available() else "no CUDA device"
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        f"device 'cuda:7' was asked for, but this machine has {devices}",
    )
