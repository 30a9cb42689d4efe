"""Training services: start a run, the training job, checkpoint storage, loading a trained model.

Every module here loads torch (the ML core), so nothing imported at Django start-up imports this package:
the API and pages import `training_run_start` inside the view, the job kinds resolve theirs on first use.
checkpoints.py (stored checkpoints, resuming, loading a model), training.py (start, repeat, the train job,
its cleanup), training_data.py (the version's members decoded into tensors).
"""

from robustness.services.checkpoints import (
    CHECKPOINT_PREFIX,
    checkpoint_delete_unreferenced,
    checkpoint_keys_of_run,
    checkpoint_store,
    load_trained_model,
)
from robustness.services.training import (
    TRAIN_JOB_KIND,
    code_version,
    training_job_cleanup,
    training_run_execute,
    training_run_repeat,
    training_run_start,
)

__all__ = [
    "CHECKPOINT_PREFIX",
    "TRAIN_JOB_KIND",
    "checkpoint_delete_unreferenced",
    "checkpoint_keys_of_run",
    "checkpoint_store",
    "code_version",
    "load_trained_model",
    "training_job_cleanup",
    "training_run_execute",
    "training_run_repeat",
    "training_run_start",
]
