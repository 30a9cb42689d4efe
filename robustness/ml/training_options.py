"""The precisions and optimizers a training run can name, without importing torch.

The API and the ``train`` command offer them as choices in every process; ``robustness.ml.devices``
and ``robustness.ml.training`` (which import torch) check them where the run is trained.
"""

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
OPTIMIZERS = ("adamw", "sgd")

# TrainingConfig's defaults, readable without torch (the train API, page and command declare them in TrainParams).
DEFAULT_EPOCHS = 10
DEFAULT_BATCH_SIZE = 64
DEFAULT_LR = 1e-3
DEFAULT_WEIGHT_DECAY = 1e-4
DEFAULT_OPTIMIZER = "adamw"
DEFAULT_PRECISION = "auto"
