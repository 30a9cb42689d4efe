"""Rows of the robustness app for tests."""

import factory

from jobs.models import JobStatus
from robustness.models import TrainedModel, TrainingRun
from tests.factories import DatasetVersionFactory, JobFactory


class TrainingRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingRun

    job = factory.SubFactory(JobFactory, kind="train", status=JobStatus.SUCCEEDED)
    version = factory.SubFactory(DatasetVersionFactory)
    arch = "small-cnn"
    hyperparameters = factory.LazyFunction(lambda: {"epochs": 1, "batch_size": 8, "lr": 0.001, "img_size": 16})
    augmentation = "none"
    seed = 0
    device = "cpu"
    code_version = "test"
    classes = factory.LazyFunction(lambda: ["cat", "dog"])


class TrainedModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainedModel

    name = factory.Sequence(lambda n: f"model-{n}")
    run = factory.SubFactory(TrainingRunFactory)
    arch = factory.SelfAttribute("run.arch")
    classes = factory.SelfAttribute("run.classes")
    img_size = 16
    normalization = factory.LazyFunction(lambda: {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]})
    trained_on = factory.SelfAttribute("run.version")
    checkpoint_best_key = ""
    checkpoint_last_key = ""
