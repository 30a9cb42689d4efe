import importlib
import os

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Extra modules that register job kinds, e.g. kinds defined by tests for a worker they start.
        for module in os.environ.get("WINNOW_EXTRA_JOB_MODULES", "").split(","):
            if module.strip():
                importlib.import_module(module.strip())
