"""Fixtures of the failure-slice tests: the evaluation tests' tiny versions and stored small CNNs."""

import torch

from tests.robustness.evaluation.conftest import eval_version, stored_model  # noqa: F401

# Two shared cores: one intra-op thread avoids oversubscription stalls (tiny models gain nothing from more).
torch.set_num_threads(1)
