"""The precisions and optimizers a training run can name, without importing torch.

The API and the ``train`` command offer them as choices in every process; ``robustness.ml.devices``
and ``robustness.ml.training`` (which import torch) check them where the run is trained.
"""

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
OPTIMIZERS = ("adamw", "sgd")
