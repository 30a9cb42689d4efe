"""Fixtures of the generic-report tests: the evaluation tests' tiny versions and stored small CNNs, a real worker."""

import torch

from tests.robustness.evaluation.conftest import eval_version, stored_model  # noqa: F401
from tests.worker import celery_worker, worker_job_modules  # noqa: F401

# Two shared cores: one intra-op thread avoids oversubscription stalls (tiny models gain nothing from more).
torch.set_num_threads(1)
