"""CUDA checks (run on the device machine; skipped without CUDA): attacks and the evaluate job on a GPU."""

import pytest
import torch
from torch import nn

from jobs.models import JobStatus
from jobs.services import job_execute
from robustness.evaluation.services import evaluation_run_create
from robustness.ml.attacks import PGD

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]
EPS = 8 / 255


def test_pgd_on_cuda_respects_the_ball_and_matches_the_cpu_without_random_start():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 3)).eval()
    images, labels = torch.rand(16, 3, 16, 16), torch.randint(0, 3, (16,))
    attack = PGD(eps=EPS, alpha=2 / 255, steps=10, random_start=False)

    on_gpu = attack(model.cuda(), images.cuda(), labels.cuda()).cpu()
    on_cpu = attack(model.cpu(), images, labels)

    assert (on_gpu - images).abs().max().item() <= EPS + 1e-6
    assert on_gpu.min().item() >= 0.0 and on_gpu.max().item() <= 1.0
    assert (on_gpu - on_cpu).abs().gt(1e-4).float().mean().item() < 0.01  # TF32/cuDNN may flip a few signs


@pytest.mark.django_db
def test_the_evaluate_job_runs_every_suite_on_cuda(eval_version, stored_model, admin_user):
    run = evaluation_run_create(
        trained_model=stored_model(["cat", "dog"]), version=eval_version({"cat": 4, "dog": 4}),
        suites=["clean", "corruptions", "adversarial", "attributes"],
        params={"device": "cuda", "corruptions": ["fog"], "severities": [1], "eps": [0.0, EPS]},
        requested_by=admin_user, enqueue=False,
    )  # fmt: skip

    job = job_execute(run.job_id)

    run.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert "cuda" in job.log_tail
    assert all(
        p["robust_accuracy"] <= run.results["clean"]["top1"] for p in run.results["adversarial"]["curves"]["pgd"]
    )
