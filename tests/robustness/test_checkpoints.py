"""Checkpoints in storage and load_trained_model (the evaluation app's entry point)."""

import pytest
import torch

from core.storage import blob_delete
from robustness.ml.checkpoints import CheckpointInvalid, checkpoint_build, checkpoint_write
from robustness.ml.models import create_model
from robustness.services import load_trained_model
from robustness.services.checkpoints import checkpoint_store
from tests.robustness.factories import TrainedModelFactory

pytestmark = pytest.mark.django_db


def stored_checkpoint(tmp_path, model, *, run_id: int, name: str, classes: list[str]) -> str:
    path = tmp_path / f"{name}.pt"
    checkpoint_write(checkpoint_build(model=model, arch="small-cnn", classes=classes, img_size=16, epoch=1), path)
    return checkpoint_store(run_id=run_id, name=name, local_path=path)


def test_load_trained_model_returns_the_stored_weights_classes_and_preprocessing(tmp_path):
    torch.manual_seed(0)
    original = create_model("small-cnn", 3, width=16).eval()
    trained = TrainedModelFactory(classes=["a", "b", "c"], img_size=16)
    key = stored_checkpoint(tmp_path, original, run_id=trained.run.pk, name="best", classes=["a", "b", "c"])
    trained.checkpoint_best_key = trained.checkpoint_last_key = key
    trained.save()

    model, classes, preprocessing = load_trained_model(trained)

    pixels = torch.rand(2, 3, 16, 16)
    assert classes == ["a", "b", "c"]
    assert (preprocessing.img_size, preprocessing.mean, preprocessing.std) == (16, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert not model.training
    assert torch.equal(model(pixels), original(pixels))


def test_load_trained_model_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    trained = TrainedModelFactory()
    path = tmp_path / "junk.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    trained.checkpoint_best_key = checkpoint_store(run_id=trained.run.pk, name="best", local_path=path)
    trained.save()

    with pytest.raises(CheckpointInvalid, match="not a Winnow checkpoint"):
        load_trained_model(trained)
    blob_delete(trained.checkpoint_best_key)
